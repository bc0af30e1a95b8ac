#include "node/core/ae_schedule.h"

#include <algorithm>

#include "crdt/assert.h"

namespace shoal::core {

uint32_t AeSchedule::exchanges_due(uint64_t now_ms, uint32_t interval_ms) {
  if (interval_ms == 0) return 0;
  if (now_ms > next_exchange_ms_ + uint64_t{kMaxCatchUp} * interval_ms) next_exchange_ms_ = now_ms;
  uint32_t due = 0;
  for (; now_ms >= next_exchange_ms_ && due < kMaxCatchUp; ++due) next_exchange_ms_ += interval_ms;
  return due;
}

void AeSchedule::queue(const ring::NodeId& peer, uint32_t segment) {
  SHOAL_ASSERT(segment < kSegments);
  SHOAL_ASSERT(queue_.size() < kMaxQueue);  // (the header: why it holds)
  queue_.emplace_back(peer, segment);
}

std::optional<std::pair<ring::NodeId, uint32_t>> AeSchedule::next_queued() {
  if (queue_.empty()) return std::nullopt;
  std::pair<ring::NodeId, uint32_t> next = std::move(queue_.front());
  queue_.pop_front();
  return next;
}

std::pair<uint32_t, const ring::NodeId*> AeSchedule::next_pair(
    const std::vector<ring::NodeId>& nodes, const ring::NodeId& self) {
  SHOAL_ASSERT(nodes.size() >= 2);
  segment_ = (segment_ + 1) % kSegments;
  if (segment_ == 0) ++peer_;
  if (nodes[peer_ % nodes.size()] == self) ++peer_;
  const ring::NodeId* peer = &nodes[peer_ % nodes.size()];
  SHOAL_ASSERT(*peer != self);  // self appears once in a sorted, distinct list
  return {segment_, peer};
}

void AeSchedule::summary_sent(size_t peer_index, size_t nodes, uint64_t now_ms, uint64_t rows,
                              uint32_t interval_ms, uint64_t rows_per_second) {
  SHOAL_ASSERT(nodes > 0 && peer_index < nodes && rows_per_second > 0);
  summary_peer_ = (peer_index + 1) % nodes;
  next_summary_ms_ = now_ms + std::max<uint64_t>(2ull * interval_ms, rows * 1000 / rows_per_second);
}

}  // namespace shoal::core
