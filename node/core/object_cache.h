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

  // The cached object, now most recently used; nullptr on a miss.
  ObjectPtr find(std::string_view key);
  // Inserts or replaces; evicts least recently used entries beyond the capacity. An
  // object larger than the whole capacity is not cached.
  void put(std::string_view key, ObjectPtr object, size_t encoded_bytes);
  void erase(std::string_view key);

  size_t bytes() const { return bytes_; }
  size_t entries() const { return lru_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  struct Entry {
    std::string key;
    ObjectPtr object;
    size_t bytes = 0;
  };
  using List = std::list<Entry>;

  size_t capacity_bytes_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
  // Data keys start with a tag byte and the key's XXH3 hash (keys.h): reuse it rather
  // than hashing the whole key again; shorter keys fall back to FNV-1a.
  struct KeyHash {
    size_t operator()(std::string_view k) const noexcept {
      uint64_t h = 0;
      if (k.size() >= 9) {
        for (size_t i = 1; i < 9; ++i) h = (h << 8) | static_cast<uint8_t>(k[i]);
        return static_cast<size_t>(h);
      }
      h = 0xcbf29ce484222325ULL;
      for (char c : k) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
      return static_cast<size_t>(h);
    }
  };
  List lru_;  // front: most recently used
  std::unordered_map<std::string_view, List::iterator, KeyHash> index_;  // keys point into lru_
};

}  // namespace shoal::core
