// ObjectCache: a bounded LRU of decoded objects by store key, in front of the Store.
//
// Every write of an object goes through the node core, which updates the cache as it
// stages the write, so the cache never disagrees with what the Store (including staged
// writes) holds. A hit saves a LevelDB lookup and a decode. Bounded by the encoded size
// of its entries (capacity_bytes); 0 disables it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "node/core/object.h"

namespace shoal::core {

class ObjectCache {
 public:
  explicit ObjectCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // The cached object, now most recently used; nullptr on a miss. The node changes a
  // cached object in place only while nothing but the cache and itself hold it (no
  // pending request, message or reply can see the change), then put()s it again.
  ObjectPtr find(std::string_view key);
  // Whether `key` is cached (no effect on recency or the hit counts).
  bool contains(std::string_view key) const;
  // Inserts or replaces; evicts least recently used entries beyond the capacity. An
  // object larger than the whole capacity is not cached. `bytes`: its encoded size, or
  // an estimate of its memory.
  void put(std::string_view key, std::shared_ptr<Object> object, size_t bytes);
  void erase(std::string_view key);
  // Forgets every entry (the store under it changed behind the node's back).
  void clear() {
    lru_.clear();
    index_.clear();
    bytes_ = 0;
  }

  size_t bytes() const { return bytes_; }
  size_t entries() const { return lru_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  struct Entry {
    std::string key;
    uint64_t slot = 0;
    std::shared_ptr<Object> object;  // handed out as ObjectPtr, changed only when exclusive
    size_t bytes = 0;
  };
  using List = std::list<Entry>;

  size_t capacity_bytes_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
  // Indexed by a 64-bit hash of the key: for data keys the XXH3 they embed (keys.h),
  // otherwise FNV-1a. Integer keys keep the index's chains short and cheap to walk. Two
  // keys with the same hash share a slot: the newer evicts the older, and find() checks
  // the full key, so a collision only costs a miss.
  static uint64_t slot(std::string_view key);
  void drop(uint64_t slot);  // removes whatever entry holds the slot

  List lru_;  // front: most recently used
  std::unordered_map<uint64_t, List::iterator> index_;
};

}  // namespace shoal::core
