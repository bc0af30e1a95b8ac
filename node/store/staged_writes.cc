#include "node/store/staged_writes.h"

#include <xxhash.h>

#include <algorithm>

#include "crdt/assert.h"
#include "crdt/coding.h"

namespace shoal::store {

void StagedWrites::stage(std::string_view key, std::string_view value, bool erased) {
  SHOAL_ASSERT(key.size() < UINT32_MAX && value.size() < UINT32_MAX);
  if ((keys_ + 1) * 2 > index_.size()) grow();
  const uint64_t hash = XXH3_64bits(key.data(), key.size());
  const size_t pos = probe(hash, key);
  const uint64_t offset = buf_.size();
  buf_.push_back(static_cast<char>(erased ? kErased : 0));
  coding::put_be32(&buf_, static_cast<uint32_t>(key.size()));
  coding::put_be32(&buf_, static_cast<uint32_t>(value.size()));
  buf_.append(key);
  buf_.append(value);
  Slot& slot = index_[pos];
  if (slot.record != 0) {
    buf_[slot.record - 1] = static_cast<char>(buf_[slot.record - 1] | kSuperseded);
  } else {
    slot.hash = hash;
    ++keys_;
  }
  slot.record = offset + 1;
}

StagedWrites::Record StagedWrites::record_at(uint64_t offset) const {
  SHOAL_ASSERT(offset + kHeaderBytes <= buf_.size());
  const std::string_view at(buf_.data() + offset, buf_.size() - offset);
  const uint32_t key_size = coding::get_be32(at.substr(1));
  const uint32_t value_size = coding::get_be32(at.substr(5));
  SHOAL_ASSERT(kHeaderBytes + size_t{key_size} + value_size <= at.size());
  return Record{static_cast<uint8_t>(at[0]), at.substr(kHeaderBytes, key_size),
                at.substr(kHeaderBytes + key_size, value_size)};
}

size_t StagedWrites::probe(uint64_t hash, std::string_view key) const {
  SHOAL_ASSERT(!index_.empty());
  const size_t mask = index_.size() - 1;
  for (size_t pos = hash & mask;; pos = (pos + 1) & mask) {
    const Slot& slot = index_[pos];
    if (slot.record == 0) return pos;
    if (slot.hash == hash && record_at(slot.record - 1).key == key) return pos;
  }
}

void StagedWrites::grow() {
  std::vector<Slot> old = std::move(index_);
  index_.assign(std::max<size_t>(64, old.size() * 2), Slot{});
  const size_t mask = index_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.record == 0) continue;
    size_t pos = slot.hash & mask;
    while (index_[pos].record != 0) pos = (pos + 1) & mask;
    index_[pos] = slot;
  }
}

std::optional<std::optional<std::string_view>> StagedWrites::find(std::string_view key) const {
  if (keys_ == 0) return std::nullopt;
  const Slot& slot = index_[probe(XXH3_64bits(key.data(), key.size()), key)];
  if (slot.record == 0) return std::nullopt;
  const Record r = record_at(slot.record - 1);
  if (r.flags & kErased) return std::optional<std::string_view>();
  return std::optional<std::string_view>(r.value);
}

void StagedWrites::for_each(
    const std::function<void(std::string_view key, const std::string_view* value)>& fn) const {
  for (uint64_t offset = 0; offset < buf_.size();) {
    const Record r = record_at(offset);
    if (!(r.flags & kSuperseded)) fn(r.key, (r.flags & kErased) ? nullptr : &r.value);
    offset += r.bytes();
  }
}

// Sorts the records staged since the last scan into the short run (a binary insert each
// when they are few), and merges the short run into the long one when it has grown.
void StagedWrites::sort_new_records() const {
  if (sorted_bytes_ == buf_.size()) return;
  auto by_key = [this](uint64_t a, uint64_t b) { return key_less(a, b); };
  std::vector<uint64_t> fresh;
  for (uint64_t offset = sorted_bytes_; offset < buf_.size();) {
    fresh.push_back(offset);
    const Record r = record_at(offset);
    offset += r.bytes();
  }
  sorted_bytes_ = buf_.size();
  if (fresh.size() <= 8) {
    for (uint64_t offset : fresh) {
      recent_.insert(std::upper_bound(recent_.begin(), recent_.end(), offset, by_key), offset);
    }
  } else {
    std::sort(fresh.begin(), fresh.end(), by_key);
    const size_t old_size = recent_.size();
    recent_.insert(recent_.end(), fresh.begin(), fresh.end());
    std::inplace_merge(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(old_size),
                       recent_.end(), by_key);
  }
  if (recent_.size() * 8 <= order_.size()) return;
  const size_t old_size = order_.size();
  order_.insert(order_.end(), recent_.begin(), recent_.end());
  std::inplace_merge(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(old_size),
                     order_.end(), by_key);
  recent_.clear();
}

std::vector<std::pair<std::string, std::optional<std::string>>> StagedWrites::range(
    std::string_view from, std::string_view to) const {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  if (keys_ == 0) return out;
  sort_new_records();
  auto below = [this](uint64_t a, std::string_view k) { return record_at(a).key < k; };
  auto a = std::lower_bound(order_.begin(), order_.end(), from, below);
  auto b = std::lower_bound(recent_.begin(), recent_.end(), from, below);
  while (a != order_.end() || b != recent_.end()) {
    // The two runs merged by key; a key in both has one record superseded.
    const bool take_a = b == recent_.end() || (a != order_.end() && !key_less(*b, *a));
    const Record r = record_at(take_a ? *a++ : *b++);
    if (!to.empty() && r.key >= to) break;
    if (r.flags & kSuperseded) continue;
    out.emplace_back(std::string(r.key), (r.flags & kErased)
                                             ? std::optional<std::string>()
                                             : std::optional<std::string>(std::string(r.value)));
  }
  return out;
}

void StagedWrites::clear() {
  if (buf_.capacity() > kKeptBytes) {
    std::string().swap(buf_);
  } else {
    buf_.clear();
  }
  // The index stays at most 8 times the keys this turn staged (so clearing it costs what
  // the turn did): after a big turn it starts small again.
  if (index_.size() > 64 && index_.size() > 8 * keys_) {
    std::vector<Slot>().swap(index_);
  } else {
    std::fill(index_.begin(), index_.end(), Slot{});
  }
  order_.clear();
  recent_.clear();
  if (order_.capacity() * sizeof(uint64_t) > kKeptBytes) std::vector<uint64_t>().swap(order_);
  if (recent_.capacity() * sizeof(uint64_t) > kKeptBytes) std::vector<uint64_t>().swap(recent_);
  sorted_bytes_ = 0;
  keys_ = 0;
}

}  // namespace shoal::store
