// ElementIndex: a hash index over the keys of a std::map<std::string, V>, so that finding
// a member of a big ORSet costs ~2 cache misses instead of ~20 dependent string compares
// down a red-black tree (a third of a replica's CPU for adds to a 500,000-member set).
//
// Open addressing with linear probing over 16-byte slots (the name's hash and the map
// iterator), at most 70% full; erase shifts the run back, so there are no tombstones.
// Owns nothing but the slots: the map owns the entries, and every iterator indexed must
// stay valid (std::map's do until their entry is erased, and through a move of the map).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "crdt/assert.h"
#include "crdt/linear_probe.h"

namespace shoal::crdt {

template <typename Map>
class ElementIndex {
 public:
  using Iterator = typename Map::iterator;

  // Member names are the client's choice, and the hash has no secret: names made to share
  // a hash, or neighbouring homes, could make every lookup walk the whole table (an add
  // O(n), building a set O(n^2)). A walk past this many slots drops the index for good;
  // the owner then finds members down its tree, O(log n), as before there was an index.
  // Honest names at 70% load never come near it.
  static constexpr size_t kMaxProbeSlots = 512;

  ElementIndex() = default;
  // A copy would point into the other map: the owner rebuilds instead. A move leaves the
  // source empty, as the map it indexes is left.
  ElementIndex(const ElementIndex&) = delete;
  ElementIndex& operator=(const ElementIndex&) = delete;
  ElementIndex(ElementIndex&& other) noexcept { *this = std::move(other); }
  ElementIndex& operator=(ElementIndex&& other) noexcept {
    if (this == &other) return *this;
    slots_ = std::move(other.slots_);
    size_ = std::exchange(other.size_, 0);
    dropped_ = std::exchange(other.dropped_, false);
    other.slots_.clear();
    return *this;
  }

  // Whether it indexes every entry of the map (else the owner searches the map).
  bool active() const { return size_ > 0; }
  // Whether a walk past kMaxProbeSlots dropped it; rebuild() does nothing then.
  bool dropped() const { return dropped_; }
  size_t size() const { return size_; }
  size_t slots() const { return slots_.size(); }

  // The entry named `name`, or `end` when it is not indexed. A lookup that drops the
  // index answers `end` too: check active() after it.
  Iterator find(const std::string& name, Iterator end) const {
    if (slots_.empty()) return end;
    const size_t pos = position(name, hash_of(name));
    if (pos == kNone || slots_[pos].hash == 0) return end;
    return slots_[pos].it;
  }
  // Hints, no effect: start fetching what a find() of the name with this hash (hash_of)
  // reads, one step per stage: 0 its home slot; 1 (the slot has arrived) the entry the
  // slot names, if its hash matches; 2 (the entry has arrived) that entry's name.
  void prefetch(uint64_t h, int stage) const {
    if (slots_.empty()) return;
    const Slot& s = slots_[static_cast<size_t>(h) & (slots_.size() - 1)];
    if (stage == 0) {
      __builtin_prefetch(&s);
    } else if (s.hash == h) {
      if (stage == 1) __builtin_prefetch(&*s.it);
      if (stage == 2) __builtin_prefetch(s.it->first.data());
    }
  }
  // FNV-1a over 8-byte words, then splitmix64's finaliser to spread them. Not std::hash:
  // the core computes the same everywhere (tests/layering_test.sh).
  static uint64_t hash_of(const std::string& name) {
    uint64_t h = 0xcbf29ce484222325ULL ^ name.size();
    size_t i = 0;
    for (; i + 8 <= name.size(); i += 8) {
      uint64_t word = 0;
      std::memcpy(&word, name.data() + i, 8);
      h = (h ^ word) * 0x100000001b3ULL;
    }
    uint64_t tail = 0;
    std::memcpy(&tail, name.data() + i, name.size() - i);
    h = (h ^ tail) * 0x100000001b3ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return (h ^ (h >> 31)) | (uint64_t{1} << 63);
  }
  // REQUIRES: active() or building, it->first not indexed yet.
  void insert(Iterator it) {
    if (dropped_) return;
    if ((size_ + 1) * 10 > slots_.size() * 7) grow();
    if (dropped_) return;
    const uint64_t h = hash_of(it->first);
    const size_t pos = position(it->first, h);
    if (pos == kNone) return;
    SHOAL_ASSERT(slots_[pos].hash == 0, "an element is indexed once");
    slots_[pos] = Slot{h, it};
    ++size_;
  }
  // REQUIRES: `name` is indexed.
  void erase(const std::string& name) {
    if (slots_.empty()) return;
    const size_t hole = position(name, hash_of(name));
    if (hole == kNone) return;
    SHOAL_ASSERT(slots_[hole].hash != 0, "an erased element was indexed");
    const size_t mask = slots_.size() - 1;
    erase_shifting_back(
        slots_, hole, [](const Slot& s) { return s.hash == 0; },
        [mask](const Slot& s) { return static_cast<size_t>(s.hash) & mask; });
    --size_;
  }
  void rebuild(Map& map) {
    clear();
    if (dropped_) return;
    size_t n = 16;
    while (map.size() * 10 > n * 7) n *= 2;
    slots_.resize(n);
    for (auto it = map.begin(); it != map.end() && !dropped_; ++it) insert(it);
  }
  void clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = 0;
  }

 private:
  static constexpr size_t kNone = ~size_t{0};
  struct Slot {
    uint64_t hash = 0;  // 0: empty (hash_of never gives 0)
    Iterator it{};
  };

  // The slot holding `name`, or the empty slot ending its run; kNone (and the index
  // dropped) when that is more than kMaxProbeSlots away.
  size_t position(const std::string& name, uint64_t h) const {
    const size_t mask = slots_.size() - 1;
    size_t pos = static_cast<size_t>(h) & mask;
    for (size_t walked = 0; slots_[pos].hash != 0; ++walked) {
      if (slots_[pos].hash == h && slots_[pos].it->first == name) return pos;
      if (walked == kMaxProbeSlots) {
        drop();
        return kNone;
      }
      pos = (pos + 1) & mask;
    }
    return pos;
  }
  void drop() const {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = 0;
    dropped_ = true;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.hash != 0 && !dropped_) insert(s.it);
    }
  }

  // Mutable: a lookup that walks too far drops the index (a const find may).
  mutable std::vector<Slot> slots_;  // a power of two long, or empty
  mutable size_t size_ = 0;
  mutable bool dropped_ = false;
};

}  // namespace shoal::crdt
