// DotOwners: which element of an ORSet holds each dot (Dot -> a pointer to the element's
// name, which the set's std::map owns and keeps in place until the element is erased).
//
// Open addressing with linear probing over 24-byte slots, at most 70% full; erase shifts
// the run back (crdt/linear_probe.h), so there are no tombstones. A std::unordered_map cost a heap
// node per dot and two dependent cache misses per lookup, and every add to a big set looks up,
// erases and inserts a dot (the one it supersedes, and its own). A null owner marks an empty slot
// (a held element's name is never null).
//
// Dots are minted by replicas (a client never names one an element holds), so the hash
// needs no secret, as std::unordered_map's did not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "crdt/assert.h"
#include "crdt/dot.h"
#include "crdt/linear_probe.h"

namespace shoal::crdt {

class DotOwners {
 public:
  DotOwners() = default;
  DotOwners(const DotOwners&) = delete;  // it points into one set's entries: rebuild instead
  DotOwners& operator=(const DotOwners&) = delete;
  DotOwners(DotOwners&& other) noexcept { *this = std::move(other); }
  DotOwners& operator=(DotOwners&& other) noexcept {
    if (this == &other) return *this;
    slots_ = std::move(other.slots_);
    size_ = std::exchange(other.size_, 0);
    other.slots_.clear();
    return *this;
  }

  size_t size() const { return size_; }
  // The element holding `d`, or null.
  const std::string* find(const Dot& d) const {
    if (slots_.empty()) return nullptr;
    return slots_[position(d)].owner;
  }
  size_t count(const Dot& d) const { return find(d) != nullptr ? 1 : 0; }
  // Records that `owner` holds `d`; false (and no change) when some element already does.
  // REQUIRES: owner != nullptr.
  bool emplace(const Dot& d, const std::string* owner) {
    SHOAL_ASSERT(owner != nullptr);
    if ((size_ + 1) * 10 > slots_.size() * 7) resize(slots_.empty() ? 4 : slots_.size() * 2);
    const size_t pos = position(d);
    if (slots_[pos].owner != nullptr) return false;
    slots_[pos] = Slot{d, owner};
    ++size_;
    return true;
  }
  // Forgets `d`; how many were forgotten (0 or 1).
  size_t erase(const Dot& d) {
    if (slots_.empty()) return 0;
    const size_t hole = position(d);
    if (slots_[hole].owner == nullptr) return 0;
    erase_shifting_back(
        slots_, hole, [](const Slot& s) { return s.owner == nullptr; },
        [this](const Slot& s) { return home_of(s.dot); });
    --size_;
    return 1;
  }
  void clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = 0;
  }
  // Room for `dots` without growing.
  void reserve(size_t dots) {
    if (dots == 0) return;  // an empty set's rebuild allocates nothing
    size_t n = 4;
    while (dots * 10 > n * 7) n *= 2;
    if (n > slots_.size()) resize(n);
  }
  // The heap a table of `dots` holds, from the count alone (35-70% full: ~2 slots each),
  // so a set and its rebuild from rows count the same.
  static constexpr size_t approx_bytes_per_dot() { return 2 * sizeof(Slot); }

 private:
  struct Slot {
    Dot dot{};
    const std::string* owner = nullptr;  // null: empty
  };

  static uint64_t hash_of(const Dot& d) {
    // Counters of one actor are dense, actors are random: mix both (splitmix64's finaliser).
    uint64_t x = d.actor ^ (d.counter * 0x9e3779b97f4a7c15ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  size_t home_of(const Dot& d) const {
    return static_cast<size_t>(hash_of(d)) & (slots_.size() - 1);
  }
  // The slot holding `d`, or the empty slot ending its run. REQUIRES: !slots_.empty().
  size_t position(const Dot& d) const {
    const size_t mask = slots_.size() - 1;
    size_t pos = home_of(d);
    while (slots_[pos].owner != nullptr && !(slots_[pos].dot == d)) pos = (pos + 1) & mask;
    return pos;
  }
  void resize(size_t n) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(n, Slot{});
    const size_t mask = n - 1;
    for (const Slot& s : old) {
      if (s.owner == nullptr) continue;
      size_t pos = home_of(s.dot);
      while (slots_[pos].owner != nullptr) pos = (pos + 1) & mask;
      slots_[pos] = s;
    }
  }

  std::vector<Slot> slots_;  // a power of two long, or empty
  size_t size_ = 0;
};

}  // namespace shoal::crdt
