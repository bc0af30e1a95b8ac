#include "node/core/object_cache.h"

namespace shoal::core {

// Per-entry overhead beyond the encoded bytes (list node, index slot, key), so a cache of
// many tiny objects is still bounded in memory.
constexpr size_t kEntryOverheadBytes = 128;

ObjectPtr ObjectCache::find(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->object;
}

void ObjectCache::put(std::string_view key, ObjectPtr object, size_t encoded_bytes) {
  const size_t cost = encoded_bytes + key.size() + kEntryOverheadBytes;
  erase(key);
  if (cost > capacity_bytes_) return;
  lru_.push_front(Entry{std::string(key), std::move(object), cost});
  index_.emplace(lru_.front().key, lru_.begin());
  bytes_ += cost;
  while (bytes_ > capacity_bytes_) {
    Entry& victim = lru_.back();
    bytes_ -= victim.bytes;
    index_.erase(victim.key);
    lru_.pop_back();
  }
}

void ObjectCache::erase(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  bytes_ -= it->second->bytes;
  List::iterator entry = it->second;
  index_.erase(it);
  lru_.erase(entry);
}

}  // namespace shoal::core
