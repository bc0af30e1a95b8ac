#include "node/core/transfers.h"

#include "crdt/assert.h"

namespace shoal::core {

Transfers::Transfers(size_t max_in_flight) : max_in_flight_(max_in_flight) {
  SHOAL_ASSERT(max_in_flight_ >= 1);
}

void Transfers::start(uint64_t id, Transfer t) {
  SHOAL_ASSERT(in_flight_.size() < max_in_flight_, "room for one more transfer");
  const bool new_key = keys_.insert(t.store_key).second;
  SHOAL_ASSERT(new_key, "a key is in at most one transfer");
  const bool new_id = in_flight_.emplace(id, std::move(t)).second;
  SHOAL_ASSERT(new_id);
}

std::optional<Transfers::Transfer> Transfers::answered(uint64_t id, const ring::NodeId& from,
                                                       bool ok) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return std::nullopt;
  if (ok) {
    it->second.waiting.erase(from);
    if (!it->second.waiting.empty()) return std::nullopt;
  }
  Transfer done = std::move(it->second);
  keys_.erase(done.store_key);
  in_flight_.erase(it);
  SHOAL_ASSERT(keys_.size() == in_flight_.size());
  if (!ok) return std::nullopt;
  return done;
}

void Transfers::expire(uint64_t now_ms) {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.deadline_ms <= now_ms) {
      keys_.erase(it->second.store_key);
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace shoal::core
