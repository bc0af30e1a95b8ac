#include "node/uv/timer_queue.h"

#include <algorithm>
#include <bit>

#include "crdt/assert.h"
#include "crdt/linear_probe.h"

namespace shoal::uvshell {

namespace {

constexpr size_t kFirstSlots = 64;
constexpr size_t kSpareDeadEntries = 64;

// Fibonacci hashing: the product's top bits, so every bit of the id counts (request ids
// are an actor's bits above a counter's).
size_t home_of(uint64_t id, size_t slots) {
  const int bits = std::countr_zero(slots);  // slots is a power of two, at least 64
  return static_cast<size_t>((id * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

}  // namespace

TimerQueue::TimerQueue(core::Clock& clock, ArmFn arm)
    : clock_(clock), arm_(std::move(arm)), slots_(kFirstSlots) {}

void TimerQueue::schedule(uint64_t timer_id, uint64_t delay_ms) {
  const uint64_t seq = next_seq_++;
  set_live(timer_id, seq);
  heap_.push_back(Entry{clock_.now_ms() + delay_ms, seq, timer_id});
  std::push_heap(heap_.begin(), heap_.end(), later);
  drop_dead_top();  // the id's earlier deadline, if it was the earliest
  compact_if_sparse();
  arm_first();
}

void TimerQueue::cancel(uint64_t timer_id) {
  erase_live(timer_id);
  drop_dead_top();
  compact_if_sparse();
}

void TimerQueue::fire_due(uint64_t now_ms, const FireFn& fire) {
  armed_ms_.reset();
  while (!heap_.empty() && heap_.front().deadline_ms <= now_ms) {
    const uint64_t id = heap_.front().id;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    erase_live(id);
    drop_dead_top();
    fire(id);
  }
  compact_if_sparse();
  arm_first();
}

std::optional<uint64_t> TimerQueue::first_deadline_ms() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().deadline_ms;
}

void TimerQueue::arm_first() {
  if (heap_.empty()) return;
  const uint64_t first = heap_.front().deadline_ms;
  if (armed_ms_ == first) return;
  armed_ms_ = first;
  arm_(first);
}

bool TimerQueue::later(const Entry& a, const Entry& b) {
  return a.deadline_ms != b.deadline_ms ? a.deadline_ms > b.deadline_ms : a.seq > b.seq;
}

bool TimerQueue::is_live(const Entry& e) const {
  const Slot& s = slots_[slot_of(e.id)];
  return s.seq == e.seq;
}

void TimerQueue::drop_dead_top() {
  while (!heap_.empty() && !is_live(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
  SHOAL_ASSERT(heap_.size() >= live_);
  SHOAL_ASSERT(!heap_.empty() || live_ == 0);
}

// Bounds the dead entries: at most twice the live timers plus a few, so a node that
// finishes its requests early (cancel) does not keep each one's deadline until it passes.
void TimerQueue::compact_if_sparse() {
  if (heap_.size() <= 2 * live_ + kSpareDeadEntries) return;
  std::erase_if(heap_, [this](const Entry& e) { return !is_live(e); });
  std::make_heap(heap_.begin(), heap_.end(), later);
  SHOAL_ASSERT(heap_.size() == live_);
}

size_t TimerQueue::slot_of(uint64_t id) const {
  const size_t mask = slots_.size() - 1;
  size_t i = home_of(id, slots_.size());
  while (slots_[i].seq != 0 && slots_[i].id != id) i = (i + 1) & mask;
  return i;
}

void TimerQueue::set_live(uint64_t id, uint64_t seq) {
  SHOAL_ASSERT(seq != 0);
  Slot& s = slots_[slot_of(id)];
  if (s.seq != 0) {  // scheduled again: the new deadline replaces the old
    s.seq = seq;
    return;
  }
  s = Slot{id, seq};
  ++live_;
  if (2 * live_ > slots_.size()) grow_table();
}

void TimerQueue::erase_live(uint64_t id) {
  const size_t i = slot_of(id);
  if (slots_[i].seq == 0) return;  // unknown, fired or cancelled: a no-op
  crdt::erase_shifting_back(
      slots_, i, [](const Slot& s) { return s.seq == 0; },
      [this](const Slot& s) { return home_of(s.id, slots_.size()); });
  SHOAL_ASSERT(live_ > 0);
  --live_;
}

void TimerQueue::grow_table() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  for (const Slot& s : old) {
    if (s.seq != 0) slots_[slot_of(s.id)] = s;
  }
}

}  // namespace shoal::uvshell
