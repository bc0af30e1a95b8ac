// ObjectCache: a bounded cache of decoded objects by store key, in front of the Store.
//
// Every write of an object goes through the node core, which updates the cache as it
// stages the write, so the cache never disagrees with what the Store (including staged
// writes) holds. A hit saves a LevelDB lookup and a decode. Bounded by the encoded size
// of its entries (capacity_bytes); 0 disables it.
//
// Every request looks keys up here, at random, so a lookup is a few cache misses at
// best: the index is open addressing (linear probing) over 16-byte slots that hold the
// key's hash, and eviction is CLOCK (second chance: a hit sets a bit, the hand clears
// it or evicts), which approximates LRU without moving list nodes on every hit (a
// std::unordered_map + std::list LRU spent 6-10% of a node's CPU here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/core/object.h"

namespace shoal::core {

class ObjectCache {
 public:
  explicit ObjectCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // The cached object, marked used (it survives the next pass of the clock hand);
  // nullptr on a miss. The node changes a
  // cached object in place only while nothing but the cache and itself hold it (no
  // pending request, message or reply can see the change), then put()s it again.
  ObjectPtr find(std::string_view key);
  // Hints, no effect on what is cached: start fetching what find() of the data key with
  // this key hash (keys.h) reads first, its index slot; then, once the slot has had time
  // to arrive, the entry and the object it names. A batch that prefetches every slot,
  // then every entry, before its first find() overlaps those cache misses.
  void prefetch_slot(uint64_t key_hash) const;
  void prefetch_entry(uint64_t key_hash) const;
  // For hints only: the object cached under a key with this key hash, by the hash alone
  // (another key of the same hash may answer), without marking it used; null if none.
  const Object* peek(uint64_t key_hash) const;
  // Whether `key` is cached (no effect on recency or the hit counts).
  bool contains(std::string_view key) const;
  // Inserts or replaces; evicts entries not used since the hand last passed them while
  // over the capacity. An
  // object larger than the whole capacity is not cached. `bytes`: its encoded size, or
  // an estimate of its memory. Both answer whether `key` was cached before the call.
  bool put(std::string_view key, std::shared_ptr<Object> object, size_t bytes);
  bool erase(std::string_view key);
  // Forgets every entry (the store under it changed behind the node's back).
  void clear() {
    entries_.clear();
    index_.clear();
    bytes_ = 0;
    hand_ = 0;
  }

  // What an entry costs beyond its object's bytes and its key (the entry, its index
  // slots), so a cache of many tiny objects is still bounded in memory.
  static constexpr size_t kEntryOverheadBytes = 160;

  size_t bytes() const { return bytes_; }
  size_t entries() const { return entries_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  // Keys up to kInlineKeyBytes (a data key of a 16-byte key in a 5-byte bucket is 34)
  // live in the entry itself: a lookup then compares bytes it has already fetched instead
  // of following a pointer to a string on the heap (one cache miss less per request).
  static constexpr size_t kInlineKeyBytes = 48;
  struct Entry {
    uint64_t slot = 0;
    std::shared_ptr<Object> object;  // handed out as ObjectPtr, changed only when exclusive
    uint32_t key_size = 0;
    bool used = false;  // found since the hand last passed
    size_t bytes = 0;
    char key_inline[kInlineKeyBytes];
    std::unique_ptr<char[]> key_heap;  // the key when it is longer than kInlineKeyBytes

    Entry(std::string_view key, uint64_t slot_hash, std::shared_ptr<Object> o, size_t cost);
    std::string_view key() const {
      return {key_size <= kInlineKeyBytes ? key_inline : key_heap.get(), key_size};
    }
  };
  // One index slot: the key's hash, the entry's object and the entry's position + 1 (0:
  // empty). The object's address in the slot lets find() fetch the object while it
  // fetches the entry to compare the key: two cache misses in parallel instead of a chain
  // of three (slot, entry, object). The whole 64-bit hash stays: with 32 bits a client
  // could find keys that share a hot key's slot by brute force and keep evicting it.
  struct Slot {
    uint64_t hash = 0;
    const Object* object = nullptr;
    uint32_t entry = 0;
  };

  size_t capacity_bytes_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
  // Indexed by a 64-bit hash of the key: for data keys the XXH3 they embed (keys.h),
  // otherwise FNV-1a. Two keys with the same hash share a slot: the newer evicts the
  // older, and find() checks the full key, so a collision only costs a miss.
  static uint64_t slot(std::string_view key);
  // Where `hash` sits in index_, or where it would go (an empty slot).
  size_t probe(uint64_t hash) const;
  void remove_at(size_t pos);  // REQUIRES: index_[pos] holds an entry
  void grow();
  void evict_over_capacity(uint64_t keep);

  std::vector<Entry> entries_;  // dense; a removed entry's place takes the last one
  std::vector<Slot> index_;     // power-of-two size, at most half full
  size_t hand_ = 0;             // the clock hand, into entries_
};

}  // namespace shoal::core
