#include "node/core/object_cache.h"

#include "crdt/coding.h"

namespace shoal::core {

// Per-entry overhead beyond the encoded bytes (list node, index slot, key), so a cache of
// many tiny objects is still bounded in memory.
constexpr size_t kEntryOverheadBytes = 128;

uint64_t ObjectCache::slot(std::string_view key) {
  uint64_t h = 0;
  if (key.size() >= 9 && key[0] == 'd') {
    return coding::get_be64(key.substr(1));
  }
  h = 0xcbf29ce484222325ULL;
  for (char c : key) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return h;
}

ObjectPtr ObjectCache::find(std::string_view key) {
  auto it = index_.find(slot(key));
  if (it == index_.end() || it->second->key != key) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->object;
}

bool ObjectCache::contains(std::string_view key) const {
  auto it = index_.find(slot(key));
  return it != index_.end() && it->second->key == key;
}

void ObjectCache::put(std::string_view key, std::shared_ptr<Object> object, size_t bytes) {
  const size_t cost = bytes + key.size() + kEntryOverheadBytes;
  const uint64_t s = slot(key);
  drop(s);
  if (cost > capacity_bytes_) return;
  lru_.push_front(Entry{std::string(key), s, std::move(object), cost});
  index_.emplace(s, lru_.begin());
  bytes_ += cost;
  while (bytes_ > capacity_bytes_) drop(lru_.back().slot);
}

void ObjectCache::erase(std::string_view key) {
  auto it = index_.find(slot(key));
  if (it != index_.end() && it->second->key == key) drop(it->first);
}

void ObjectCache::drop(uint64_t s) {
  auto it = index_.find(s);
  if (it == index_.end()) return;
  bytes_ -= it->second->bytes;
  lru_.erase(it->second);
  index_.erase(it);
}

}  // namespace shoal::core
