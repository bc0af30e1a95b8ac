// TimerQueue: the core's one-shot timers (core::Timers) as deadlines on one monotonic
// clock, so the shell needs a single libuv timer, armed for the earliest deadline.
//
// Owns the deadlines: one per timer id (scheduling an id again replaces its deadline).
// Its size is bounded by what the core schedules: one per pending request (at most
// ServerConfig::max_pending_requests) plus the core's tick.
//
// Arming: `arm(deadline_ms)` is called whenever the earliest deadline is not the one last
// armed (the shell starts its timer for it); after fire_due() nothing counts as armed.
// A cancelled earliest deadline stays armed: its timer fires, finds nothing due and
// re-arms for the next one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

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
  size_t size() const { return index_.size(); }

 private:
  void arm_first();

  core::Clock& clock_;
  ArmFn arm_;
  std::multimap<uint64_t, uint64_t> deadlines_;  // deadline_ms -> timer id
  std::unordered_map<uint64_t, std::multimap<uint64_t, uint64_t>::iterator> index_;
  std::optional<uint64_t> armed_ms_;
};

}  // namespace shoal::uvshell
