// FifoMap: a map that holds at most `capacity` entries and forgets the oldest insert
// beyond that. For remembered answers that only matter for a while (a replica's recent
// mints, so a duplicated mint request is answered again instead of minting twice).
#pragma once

#include <cstddef>
#include <deque>
#include <map>

#include "crdt/assert.h"

namespace shoal::core {

template <typename K, typename V>
class FifoMap {
 public:
  explicit FifoMap(size_t capacity) : capacity_(capacity) { SHOAL_ASSERT(capacity > 0); }

  const V* find(const K& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  V* find(const K& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  // Inserts `key` unless present (an existing entry keeps its value and its age).
  // Returns whether it was inserted.
  bool insert(const K& key, V value) {
    if (!map_.emplace(key, std::move(value)).second) return false;
    order_.push_back(key);
    if (order_.size() > capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
    SHOAL_ASSERT(map_.size() == order_.size() && map_.size() <= capacity_);
    return true;
  }
  // Forgets the `n` newest inserts (or all, when there are fewer).
  void drop_newest(size_t n) {
    for (; n > 0 && !order_.empty(); --n) {
      map_.erase(order_.back());
      order_.pop_back();
    }
  }
  void erase(const K& key) {
    if (map_.erase(key) == 0) return;
    for (auto it = order_.begin(); it != order_.end(); ++it) {
      if (*it == key) {
        order_.erase(it);
        break;
      }
    }
    SHOAL_ASSERT(map_.size() == order_.size());
  }
  void clear() {
    map_.clear();
    order_.clear();
  }
  size_t size() const { return map_.size(); }

 private:
  const size_t capacity_;
  std::map<K, V> map_;
  std::deque<K> order_;  // insertion order, oldest first
};

}  // namespace shoal::core
