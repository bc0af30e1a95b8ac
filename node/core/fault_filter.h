// FaultFilter: the chaos one node applies to its own peer traffic (DESIGN.md §5).
//
// Set through the admin API (`shoal chaos`, docs/chaos.md) or by the simulator; the
// node core consults it for every peer message it sends or receives, so the simulator
// and real processes run the same code. Rules live in memory only: `heal` or a restart
// clears them. Client traffic is never touched unless `clients refuse` asks for it.
//
// Rules arrive typed (FaultRule); their text form is parsed in node/api (fault_rule.h):
//   block-in NODES            drop every message arriving from these peers (a partition
//                             or one-way cut, enforced on the receiving side)
//   unblock-in NODES          undo block-in for these peers
//   delay MS [JITTER_MS] [to NODES]  hold outgoing messages MS ± JITTER_MS
//   drop PCT [to NODES]       drop PCT % of outgoing messages (0..100)
//   dup PCT [to NODES]        send PCT % of outgoing messages twice
//   clients refuse|serve      refuse client requests with `unavailable` (or not)
//   heal                      clear every rule
//   show                      change nothing (the answer lists the rules)
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "crdt/status.h"
#include "node/core/env.h"

namespace shoal::core {

constexpr uint32_t kMaxFaultDelayMs = 60'000;

struct FaultRule {
  enum class Kind { kBlockIn, kUnblockIn, kDelay, kDrop, kDup, kClients, kHeal, kShow };
  Kind kind = Kind::kShow;
  // block-in, unblock-in: the peers (not empty). delay, drop, dup: `to` (empty: all).
  std::set<std::string> nodes;
  uint32_t value = 0;      // delay: ms (<= kMaxFaultDelayMs); drop, dup: percent (<= 100)
  uint32_t jitter_ms = 0;  // delay only (<= kMaxFaultDelayMs)
  bool refuse = false;     // clients: refuse (true) or serve

  static FaultRule of(Kind kind, std::set<std::string> nodes = {}) {
    FaultRule r;
    r.kind = kind;
    r.nodes = std::move(nodes);
    return r;
  }
  static FaultRule heal() { return of(Kind::kHeal); }
  static FaultRule block_in(std::set<std::string> peers) {
    return of(Kind::kBlockIn, std::move(peers));
  }
  static FaultRule delay(uint32_t ms, uint32_t jitter_ms, std::set<std::string> to = {}) {
    FaultRule r = of(Kind::kDelay, std::move(to));
    r.value = ms;
    r.jitter_ms = jitter_ms;
    return r;
  }
};

class FaultFilter {
 public:
  static constexpr uint32_t kMaxDelayMs = kMaxFaultDelayMs;

  struct Verdict {
    bool drop = false;
    uint32_t copies = 1;
    uint64_t delay_ms = 0;
  };

  // Applies one rule. `known`: the node ids a rule may name; naming another is
  // not_found, and nothing changes. REQUIRES: the rule's values are in range and
  // block-in/unblock-in name a peer (as api::parse_fault_rule guarantees).
  Status apply(const FaultRule& rule, const std::set<std::string>& known);
  void clear();

  bool blocks_from(const std::string& from) const { return blocked_in_.count(from) > 0; }
  // What happens to one outgoing message to `to`. Draws from `rng` only when a rule
  // applies to `to`, so a node without rules consumes no randomness.
  Verdict outbound(const std::string& to, Rng& rng) const;
  bool refuses_clients() const { return refuse_clients_; }
  bool active() const;
  // The rules in force, in the form apply() takes, one per line ("" when none).
  std::string describe() const;

  uint64_t dropped = 0;  // messages dropped by the filter, both directions (for /status)

 private:
  struct Link {
    uint32_t delay_ms = 0, jitter_ms = 0, drop_pct = 0, dup_pct = 0;
    bool operator==(const Link&) const = default;
  };
  const Link* link_for(const std::string& to) const;

  std::set<std::string> blocked_in_;
  Link all_;                              // rules without `to`
  std::map<std::string, Link> per_peer_;  // rules with `to` (override all_)
  bool refuse_clients_ = false;
};

}  // namespace shoal::core
