// TimerQueue: the core's one-shot timers (core::Timers) as deadlines on one monotonic
// clock, so the shell needs a single libuv timer, armed for the earliest deadline.
//
// Owns the deadlines: one per timer id (scheduling an id again replaces its deadline).
// Its size is bounded by what the core schedules: one per pending request (at most
// ServerConfig::max_pending_requests) plus the core's tick.
//
// Layout (no allocation per timer, since every request schedules one): a binary min-heap
// of (deadline, sequence, id) in a vector, and an open-addressing table id -> sequence of
// its live entry. A cancelled or replaced entry stays in the heap, dead, until it reaches
// the top or the heap holds more than twice the live timers plus 64 (then it is rebuilt
// from the live ones; the bound holds between calls, not within fire_due's loop). The
// heap's top is always live. The table is at most half full, so a probe always ends.
//
// Arming: `arm(deadline_ms)` is called whenever the earliest deadline is not the one last
// armed (the shell starts its timer for it); after fire_due() nothing counts as armed.
// A cancelled earliest deadline stays armed: its timer fires, finds nothing due and
// re-arms for the next one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "node/core/env.h"

namespace shoal::uvshell {

class TimerQueue final : public core::Timers {
 public:
  using ArmFn = std::function<void(uint64_t deadline_ms)>;
  using FireFn = std::function<void(uint64_t timer_id)>;

  // REQUIRES: `clock` outlives the queue.
  TimerQueue(core::Clock& clock, ArmFn arm);

  void schedule(uint64_t timer_id, uint64_t delay_ms) override;
  void cancel(uint64_t timer_id) override;

  // Runs fire(id) for each timer due at now_ms, earliest first, then arms the next
  // deadline. fire may schedule and cancel; a timer it schedules already due fires in
  // this same call.
  void fire_due(uint64_t now_ms, const FireFn& fire);

  std::optional<uint64_t> first_deadline_ms() const;
  size_t size() const { return live_; }
  // Deadlines held, cancelled and replaced ones included: at most 2 * size() + 64.
  size_t held_entries() const { return heap_.size(); }

 private:
  struct Entry {
    uint64_t deadline_ms = 0;
    uint64_t seq = 0;  // ties fire in the order scheduled
    uint64_t id = 0;
  };
  struct Slot {
    uint64_t id = 0;
    uint64_t seq = 0;  // 0: empty
  };

  void arm_first();
  // The heap's order: true when `a` fires after `b` (so the earliest is on top).
  static bool later(const Entry& a, const Entry& b);
  bool is_live(const Entry& e) const;
  void drop_dead_top();
  void compact_if_sparse();
  // The table: the slot holding `id`, or the empty slot where it would go.
  size_t slot_of(uint64_t id) const;
  void set_live(uint64_t id, uint64_t seq);
  void erase_live(uint64_t id);
  void grow_table();

  core::Clock& clock_;
  ArmFn arm_;
  std::vector<Entry> heap_;  // std::push_heap order with `later` (earliest on top)
  std::vector<Slot> slots_;  // a power of two, at most half full
  size_t live_ = 0;          // timers scheduled and not fired or cancelled
  uint64_t next_seq_ = 1;
  std::optional<uint64_t> armed_ms_;
};

}  // namespace shoal::uvshell
