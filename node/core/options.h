// Per-request consistency options (DESIGN.md §3), their presets and validation.
//
// Every API parses into RequestOptions, then resolve() checks the combination and turns
// symbolic quorums into counts. An invalid combination fails with invalid_argument
// before anything is sent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crdt/status.h"

namespace shoal::core {

// A quorum as the caller wrote it: a count, or one / quorum / all of n.
struct QuorumSpec {
  enum class Kind : uint8_t { kCount, kOne, kQuorum, kAll };
  Kind kind = Kind::kQuorum;
  uint32_t count = 0;  // for kCount

  static QuorumSpec of(uint32_t c) { return {Kind::kCount, c}; }
  static QuorumSpec one() { return {Kind::kOne, 0}; }
  static QuorumSpec quorum() { return {Kind::kQuorum, 0}; }
  static QuorumSpec all() { return {Kind::kAll, 0}; }
  bool operator==(const QuorumSpec&) const = default;
};

constexpr uint32_t kMaxReplicas = 16;          // largest n a request may ask for
constexpr uint32_t kDefaultTimeoutMs = 5'000;  // per request
constexpr uint32_t kMaxTimeoutMs = 600'000;

struct RequestOptions {
  uint32_t n = 3;
  QuorumSpec r = QuorumSpec::quorum();
  QuorumSpec w = QuorumSpec::quorum();
  QuorumSpec pr = QuorumSpec::of(0);  // primaries that must answer a read
  QuorumSpec pw = QuorumSpec::of(0);  // primaries that must acknowledge a write
  bool durable = false;               // fsync before acknowledging
  bool sloppy = true;                 // allow fallback nodes for down primaries
  bool local = false;                 // LOCAL: the receiving node alone
  uint32_t timeout_ms = kDefaultTimeoutMs;
  bool operator==(const RequestOptions&) const = default;
};

// Options with every quorum a concrete count. For LOCAL, n = r = w = 1.
struct ResolvedOptions {
  uint32_t n = 3, r = 2, w = 2, pr = 0, pw = 0;
  bool durable = false, sloppy = true, local = false;
  uint32_t timeout_ms = kDefaultTimeoutMs;
  bool operator==(const ResolvedOptions&) const = default;
};

// "one", "quorum", "all" (any case) or a decimal count.
Result<QuorumSpec> parse_quorum(std::string_view text);
// Presets ONE, QUORUM (the default), ALL, LOCAL (any case).
Result<RequestOptions> preset(std::string_view name);
// Checks: 1 <= n <= kMaxReplicas; 1 <= r, w <= n; pr, pw <= n; 1 <= timeout_ms <=
// kMaxTimeoutMs. A read waits for max(r, pr) replies, a write for max(w, pw) (as Riak).
// pr/pw > 0 with sloppy fallbacks still counts only primaries toward pr/pw.
Result<ResolvedOptions> resolve(const RequestOptions& options);

// A key has min(n, ring size) replicas. When that is below n, the symbolic quorums
// (one, quorum, all) count the replicas that exist: QUORUM on a 1-node cluster is 1 of
// 1, on 2 nodes 2 of 2 (R + W > replicas still holds). Explicit counts stay as given, so
// r=2 on one node is unavailable.
ResolvedOptions fit_to_replicas(const RequestOptions& options, ResolvedOptions resolved,
                                uint32_t replicas);

// Majority of n: n/2 + 1.
constexpr uint32_t majority(uint32_t n) { return n / 2 + 1; }

}  // namespace shoal::core
