// FaultFilter: the chaos one node applies to its own peer traffic (DESIGN.md §5).
//
// Set through the admin API (`shoal chaos`, docs/chaos.md) or by the simulator; the
// node core consults it for every peer message it sends or receives, so the simulator
// and real processes run the same code. Rules live in memory only: `heal` or a restart
// clears them. Client traffic is never touched unless `clients refuse` asks for it.
//
// Rules (one per call, whitespace-separated words; NODES is a comma-separated list):
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
#include <string_view>

#include "crdt/status.h"
#include "node/core/env.h"

namespace shoal::core {

class FaultFilter {
 public:
  static constexpr uint32_t kMaxDelayMs = 60'000;

  struct Verdict {
    bool drop = false;
    uint32_t copies = 1;
    uint64_t delay_ms = 0;
  };

  // Applies one rule. `known`: the node ids a rule may name (others are an error, and
  // nothing changes). REQUIRES: nothing.
  Status apply(std::string_view rule, const std::set<std::string>& known);
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
