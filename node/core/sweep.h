// Sweep: the progress of the ownership handoff sweep (handoff.cc). After a ring change a
// pass walks every data key from the first; keys this node does not own are streamed to
// their owners and dropped once all of them acknowledged (Transfers). Each tick examines
// a bounded batch from the cursor. A pass that finds nothing to hand off under the ring
// it started with makes the ring clean here (gossiped as handoff_ring: joiners wait for
// it); otherwise the next pass comes soon.
//
// Owns: the cursor, the pass's count of not-owned keys and the ring it started under,
// when the next pass is due, and the progress the operator sees. Pure: time comes in as
// arguments. Bounded: one cursor, counters.
#pragma once

#include <cstdint>
#include <string>

namespace shoal::core {

struct HandoffProgress {
  uint64_t keys_sent = 0, keys_dropped = 0;  // since start
  uint64_t inflight = 0;
  uint64_t not_owned = 0;  // found by the last full pass
  bool active = false;
};

class Sweep {
 public:
  // Starts a pass from the first data key under the ring named `ring_fingerprint`.
  // REQUIRES: first_key is not empty (an empty cursor means no pass).
  void start(uint64_t ring_fingerprint, const std::string& first_key);
  // Whether a pass runs at now_ms: starts one if none runs and the next is due.
  bool step_due(uint64_t now_ms, uint64_t ring_fingerprint, const std::string& first_key);
  // A key this node does not own arrived: the next pass within a second. During a pass
  // the key may sort behind the cursor, so that pass does not end clean either.
  void soon(uint64_t now_ms);

  bool running() const { return !cursor_.empty(); }
  // The next key to examine. REQUIRES: running().
  const std::string& cursor() const;
  // The step stopped before `key` (a throttle); the next step resumes there.
  void pause_at(std::string key);
  void found_not_owned() { ++found_; }
  void sent() { ++progress_.keys_sent; }
  void dropped() { ++progress_.keys_dropped; }
  void in_flight(uint64_t transfers) { progress_.inflight = transfers; }

  // The pass reached the last key at now_ms, under the ring `ring_fingerprint`. True when
  // the ring is clean here: nothing left to hand off, no foreign key arrived during the
  // pass, and the ring did not change since it started (the next pass only after
  // recheck_ms). Otherwise the next within 1 s.
  // REQUIRES: running().
  bool finish(uint64_t now_ms, uint64_t ring_fingerprint, uint64_t recheck_ms);
  // The ring the current (or last) pass started under.
  uint64_t pass_ring() const { return pass_ring_; }
  const HandoffProgress& progress() const { return progress_; }

 private:
  std::string cursor_;   // next data key to examine; empty: no pass running
  uint64_t found_ = 0;   // not-owned keys seen this pass
  bool missed_ = false;  // a not-owned key arrived during this pass (maybe behind it)
  uint64_t pass_ring_ = 0;
  uint64_t next_pass_ms_ = 0;
  HandoffProgress progress_;
};

}  // namespace shoal::core
