#include "node/core/object_cache.h"

#include <cstring>

#include "crdt/assert.h"
#include "crdt/coding.h"

namespace shoal::core {

constexpr size_t kMinIndexSlots = 16;

ObjectCache::Entry::Entry(std::string_view key, uint64_t slot_hash, std::shared_ptr<Object> o,
                          size_t cost)
    : slot(slot_hash),
      object(std::move(o)),
      key_size(static_cast<uint32_t>(key.size())),
      bytes(cost) {
  SHOAL_ASSERT(key.size() <= UINT32_MAX);
  char* to = key_inline;
  if (key.size() > kInlineKeyBytes) {
    key_heap = std::make_unique<char[]>(key.size());
    to = key_heap.get();
  }
  std::memcpy(to, key.data(), key.size());
}

uint64_t ObjectCache::slot(std::string_view key) {
  if (key.size() >= 9 && key[0] == 'd') return coding::get_be64(key.substr(1));
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : key) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return h;
}

size_t ObjectCache::probe(uint64_t hash) const {
  SHOAL_ASSERT(!index_.empty());
  const size_t mask = index_.size() - 1;
  // The embedded XXH3 is well mixed; FNV-1a's low bits are too.
  size_t pos = static_cast<size_t>(hash) & mask;
  while (index_[pos].entry != 0 && index_[pos].hash != hash) pos = (pos + 1) & mask;
  return pos;
}

ObjectPtr ObjectCache::find(std::string_view key) {
  if (!index_.empty()) {
    const Slot& s = index_[probe(slot(key))];
    if (s.entry != 0) {
      __builtin_prefetch(s.object);  // the caller reads it next
      Entry& e = entries_[s.entry - 1];
      if (e.key() == key) {
        SHOAL_ASSERT(e.object.get() == s.object);
        ++hits_;
        e.used = true;
        return e.object;
      }
    }
  }
  ++misses_;
  return nullptr;
}

void ObjectCache::prefetch_slot(uint64_t key_hash) const {
  if (!index_.empty()) __builtin_prefetch(&index_[key_hash & (index_.size() - 1)]);
}

void ObjectCache::prefetch_entry(uint64_t key_hash) const {
  if (index_.empty()) return;
  const Slot& s = index_[probe(key_hash)];
  if (s.entry == 0) return;
  __builtin_prefetch(&entries_[s.entry - 1]);
  __builtin_prefetch(s.object);
}

const Object* ObjectCache::peek(uint64_t key_hash) const {
  if (index_.empty()) return nullptr;
  const Slot& s = index_[probe(key_hash)];
  return s.entry != 0 ? s.object : nullptr;
}

bool ObjectCache::contains(std::string_view key) const {
  if (index_.empty()) return false;
  const Slot& s = index_[probe(slot(key))];
  return s.entry != 0 && entries_[s.entry - 1].key() == key;
}

bool ObjectCache::put(std::string_view key, std::shared_ptr<Object> object, size_t bytes) {
  // The entry and its share of the index (at most half full: 2-4 slots per entry).
  static_assert(sizeof(Entry) + 8 * sizeof(Slot) / 3 <= kEntryOverheadBytes);
  const size_t cost = bytes + key.size() + kEntryOverheadBytes;
  const uint64_t s = slot(key);
  bool was_cached = false;
  if (!index_.empty()) {
    const size_t pos = probe(s);
    if (index_[pos].entry != 0) {
      Entry& e = entries_[index_[pos].entry - 1];
      was_cached = e.key() == key;
      if (was_cached && cost <= capacity_bytes_) {
        // A write of a cached key (found, changed, put back): it keeps its place and
        // counts as used, so the hand does not take a hot key for a cold one.
        bytes_ = bytes_ - e.bytes + cost;
        index_[pos].object = object.get();
        e.object = std::move(object);
        e.bytes = cost;
        e.used = true;
        evict_over_capacity(s);
        return true;
      }
      remove_at(pos);  // another key in the slot, or this one grown past the capacity
    }
  }
  if (cost > capacity_bytes_) return was_cached;
  if ((entries_.size() + 1) * 2 > index_.size()) grow();
  SHOAL_ASSERT(entries_.size() < UINT32_MAX);
  const Object* raw = object.get();
  entries_.emplace_back(key, s, std::move(object), cost);
  const size_t pos = probe(s);
  SHOAL_ASSERT(index_[pos].entry == 0);  // one entry per hash: `keep` names one entry
  index_[pos] = Slot{s, raw, static_cast<uint32_t>(entries_.size())};
  bytes_ += cost;
  evict_over_capacity(s);
  return was_cached;
}

bool ObjectCache::erase(std::string_view key) {
  if (index_.empty()) return false;
  const size_t pos = probe(slot(key));
  if (index_[pos].entry == 0 || entries_[index_[pos].entry - 1].key() != key) return false;
  remove_at(pos);
  return true;
}

// CLOCK: the hand clears the used bit of an entry found since it last passed, and
// evicts the first one that was not; never the entry just put (`keep`, its slot hash).
void ObjectCache::evict_over_capacity(uint64_t keep) {
  while (bytes_ > capacity_bytes_) {
    SHOAL_ASSERT(entries_.size() > 1);  // `keep` alone fits: put() checked its cost
    if (hand_ >= entries_.size()) hand_ = 0;
    Entry& e = entries_[hand_];
    if (e.slot == keep) {
      ++hand_;
      continue;
    }
    if (e.used) {
      e.used = false;
      ++hand_;
      continue;
    }
    remove_at(probe(e.slot));  // the last entry moves here: the hand looks at it next
  }
}

void ObjectCache::remove_at(size_t pos) {
  const size_t mask = index_.size() - 1;
  const size_t gone = index_[pos].entry - 1;
  SHOAL_ASSERT(index_[pos].entry != 0 && gone < entries_.size());
  bytes_ -= entries_[gone].bytes;
  // Linear probing without tombstones: shift later slots of the run back over the hole
  // when the hole lies between their home and where they sit.
  size_t hole = pos;
  for (size_t next = (pos + 1) & mask; index_[next].entry != 0; next = (next + 1) & mask) {
    const size_t home = static_cast<size_t>(index_[next].hash) & mask;
    if (((next - home) & mask) >= ((next - hole) & mask)) {
      index_[hole] = index_[next];
      hole = next;
    }
  }
  index_[hole] = Slot{};
  if (gone != entries_.size() - 1) {
    entries_[gone] = std::move(entries_.back());
    index_[probe(entries_[gone].slot)].entry = static_cast<uint32_t>(gone + 1);
  }
  entries_.pop_back();
}

void ObjectCache::grow() {
  std::vector<Slot> old = std::move(index_);
  index_.assign(std::max(kMinIndexSlots, old.size() * 2), Slot{});
  for (const Slot& s : old) {
    if (s.entry != 0) index_[probe(s.hash)] = s;
  }
}

}  // namespace shoal::core
