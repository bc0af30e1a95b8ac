// Quorum counting as a pure function (tested against a naive twin, as etcd raft does).
//
// A request is sent to `targets` replicas, `primary_targets` of them primaries (the rest
// are sloppy fallbacks). It succeeds once `required` replies are ok and at least
// `required_primaries` of those came from primaries; it fails as soon as the replies
// still outstanding can no longer make that happen.
#pragma once

#include <cstdint>

#include "crdt/assert.h"

namespace shoal::core {

struct QuorumGoal {
  uint32_t required = 0;            // r or w (already max(r, pr) / max(w, pw))
  uint32_t required_primaries = 0;  // pr or pw
  uint32_t targets = 0;             // replicas the request was sent to
  uint32_t primary_targets = 0;     // of which primaries
};

struct Tally {
  uint32_t ok = 0, ok_primaries = 0, failed = 0, failed_primaries = 0;

  void record(bool success, bool primary) {
    if (success) {
      ++ok;
      ok_primaries += primary ? 1 : 0;
    } else {
      ++failed;
      failed_primaries += primary ? 1 : 0;
    }
  }
};

enum class Outcome { kPending, kSucceeded, kFailed };

inline Outcome evaluate(const QuorumGoal& g, const Tally& t) {
  // One reply per target at most (the coordinator drops duplicates), primaries among them.
  SHOAL_ASSERT(g.primary_targets <= g.targets && t.ok + t.failed <= g.targets);
  SHOAL_ASSERT(t.ok_primaries <= t.ok && t.failed_primaries <= t.failed);
  SHOAL_ASSERT(t.ok_primaries + t.failed_primaries <= g.primary_targets);
  if (t.ok >= g.required && t.ok_primaries >= g.required_primaries) return Outcome::kSucceeded;
  // Best case: every outstanding reply is ok.
  const uint32_t can_ok = g.targets - t.failed;
  const uint32_t can_ok_primaries = g.primary_targets - t.failed_primaries;
  if (can_ok < g.required || can_ok_primaries < g.required_primaries) return Outcome::kFailed;
  return Outcome::kPending;
}

}  // namespace shoal::core
