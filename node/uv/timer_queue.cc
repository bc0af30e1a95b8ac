#include "node/uv/timer_queue.h"

#include "crdt/assert.h"

namespace shoal::uvshell {

TimerQueue::TimerQueue(core::Clock& clock, ArmFn arm) : clock_(clock), arm_(std::move(arm)) {}

void TimerQueue::schedule(uint64_t timer_id, uint64_t delay_ms) {
  cancel(timer_id);
  index_[timer_id] = deadlines_.emplace(clock_.now_ms() + delay_ms, timer_id);
  SHOAL_ASSERT(index_.size() == deadlines_.size());
  arm_first();
}

void TimerQueue::cancel(uint64_t timer_id) {
  auto it = index_.find(timer_id);
  if (it == index_.end()) return;
  deadlines_.erase(it->second);
  index_.erase(it);
}

void TimerQueue::fire_due(uint64_t now_ms, const FireFn& fire) {
  armed_ms_.reset();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    const uint64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    index_.erase(id);
    fire(id);
  }
  SHOAL_ASSERT(index_.size() == deadlines_.size());
  arm_first();
}

std::optional<uint64_t> TimerQueue::first_deadline_ms() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void TimerQueue::arm_first() {
  if (deadlines_.empty()) return;
  const uint64_t first = deadlines_.begin()->first;
  if (armed_ms_ == first) return;
  armed_ms_ = first;
  arm_(first);
}

}  // namespace shoal::uvshell
