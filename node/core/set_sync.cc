#include "node/core/set_sync.h"

#include <algorithm>

#include "crdt/assert.h"

namespace shoal::core {

bool SetSyncs::start(uint64_t id, const ring::NodeId& peer, const std::string& bucket,
                     const std::string& key, uint64_t now_ms) {
  if (syncs_.size() >= kMaxInFlight) return false;
  for (const auto& [other_id, s] : syncs_) {
    if (s.peer == peer && s.bucket == bucket && s.key == key) return false;
  }
  SHOAL_ASSERT(!syncs_.count(id));
  SetSync s;
  s.peer = peer;
  s.bucket = bucket;
  s.key = key;
  s.sent_ms = now_ms;
  syncs_.emplace(id, std::move(s));
  return true;
}

SetSync* SetSyncs::find(uint64_t id) {
  auto it = syncs_.find(id);
  return it == syncs_.end() ? nullptr : &it->second;
}

void SetSyncs::read_regions(uint64_t id, std::vector<SpanRegion> regions, uint64_t now_ms) {
  SetSync* s = find(id);
  SHOAL_ASSERT(s != nullptr && s->spans && !regions.empty());
  s->spans = false;
  s->after = std::move(regions.front().after);
  s->until = std::move(regions.front().until);
  s->regions.assign(std::make_move_iterator(regions.begin() + 1),
                    std::make_move_iterator(regions.end()));
  s->sent_ms = now_ms;
}

void SetSyncs::advance(uint64_t id, uint64_t new_id, std::string after, uint64_t now_ms) {
  auto it = syncs_.find(id);
  SHOAL_ASSERT(it != syncs_.end() && !syncs_.count(new_id) && !it->second.spans);
  SetSync s = std::move(it->second);
  syncs_.erase(it);
  SHOAL_ASSERT(!s.after || *s.after < after, "a sync's cursor only moves forward");
  SHOAL_ASSERT(!s.until || after <= *s.until, "a sync's cursor stays in its region");
  s.after = std::move(after);
  s.sent_ms = now_ms;
  s.asked = false;
  ++s.pages;
  syncs_.emplace(new_id, std::move(s));
}

bool SetSyncs::next_region(uint64_t id, uint64_t new_id, uint64_t now_ms) {
  auto it = syncs_.find(id);
  SHOAL_ASSERT(it != syncs_.end() && !syncs_.count(new_id) && !it->second.spans);
  if (it->second.regions.empty()) return false;
  SetSync s = std::move(it->second);
  syncs_.erase(it);
  SHOAL_ASSERT(s.until && s.regions.front().after && *s.until <= *s.regions.front().after,
               "regions come in member order");
  s.after = std::move(s.regions.front().after);
  s.until = std::move(s.regions.front().until);
  s.regions.erase(s.regions.begin());
  s.sent_ms = now_ms;
  s.asked = false;
  ++s.pages;
  syncs_.emplace(new_id, std::move(s));
  return true;
}

std::vector<uint64_t> SetSyncs::due() const {
  std::vector<uint64_t> ids;
  for (const auto& [id, s] : syncs_) {
    if (!s.asked) ids.push_back(id);
  }
  return ids;
}

void SetSyncs::asked(uint64_t id, uint64_t now_ms) {
  SetSync* s = find(id);
  SHOAL_ASSERT(s != nullptr && !s->asked);
  s->asked = true;
  s->sent_ms = now_ms;
}

size_t SetSyncs::expire(uint64_t now_ms) {
  return std::erase_if(syncs_,
                       [&](const auto& kv) { return now_ms >= kv.second.sent_ms + kTimeoutMs; });
}

}  // namespace shoal::core
