// HeldMessages: outgoing peer messages a chaos delay rule (fault_filter.h) holds back,
// each until its timer fires. Owns the messages; bounded by `max` (a busy link under a
// delay rule is lossy: hold() refuses beyond it and the caller counts a drop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "crdt/assert.h"
#include "node/core/messages.h"

namespace shoal::core {

class HeldMessages {
 public:
  explicit HeldMessages(size_t max) : max_(max) {}

  // Holds a copy of `m` for `to` under `timer_id`. False (nothing held) when full.
  // REQUIRES: timer_id is not held already.
  bool hold(uint64_t timer_id, const ring::NodeId& to, const Message& m) {
    if (held_.size() >= max_) return false;
    const bool fresh = held_.emplace(timer_id, std::make_pair(to, m)).second;
    SHOAL_ASSERT(fresh);
    return true;
  }
  // The message held under `timer_id`, now released; nullopt if none is.
  std::optional<std::pair<ring::NodeId, Message>> release(uint64_t timer_id) {
    auto it = held_.find(timer_id);
    if (it == held_.end()) return std::nullopt;
    std::pair<ring::NodeId, Message> out = std::move(it->second);
    held_.erase(it);
    return out;
  }
  size_t size() const { return held_.size(); }

 private:
  size_t max_;
  std::map<uint64_t, std::pair<ring::NodeId, Message>> held_;
};

}  // namespace shoal::core
