// StagedWrites: the writes of one turn not yet committed, in the order they were staged,
// found by key (a read sees them) and in key order (a scan merges them with the database).
//
// One append-only buffer of records and an open-addressing index of each key's latest
// record: a put is a copy into the buffer and a probe, with no allocation once the buffer
// and index have grown to a turn's size (an ordered map of strings cost two allocations,
// a tree walk of key compares and a node per write: ~4% of a replica's CPU per SET,
// docs/benchmarks.md, "Eleventh session"). A key staged again marks its older record
// superseded; for_each() and scans skip those, so every key is committed once.
//
// Owns: the records, the index and the key order built for scans. Bounded by what the
// turn stages; clear() gives back what a large turn grew beyond kKeptBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shoal::store {

class StagedWrites {
 public:
  // What clear() keeps of the buffer's capacity, so the next turns do not grow it again.
  static constexpr size_t kKeptBytes = size_t{4} << 20;
  // REQUIRES (put): key and value shorter than 4 GiB each, and not views into this
  // object (find()'s answers): the buffer may move while they are copied.
  void put(std::string_view key, std::string_view value) { stage(key, value, false); }
  void erase(std::string_view key) { stage(key, {}, true); }

  // nullopt: the key is not staged. Otherwise its latest write: a value, or nullopt for an
  // erase. The view is valid until the next put(), erase() or clear().
  std::optional<std::optional<std::string_view>> find(std::string_view key) const;
  // The latest write of every staged key (value null: an erase), in the order those
  // writes were staged.
  void for_each(
      const std::function<void(std::string_view key, const std::string_view* value)>& fn) const;
  // Copies of the latest writes of keys in [from, to) (to empty: no bound), in key order;
  // nullopt for an erase.
  std::vector<std::pair<std::string, std::optional<std::string>>> range(std::string_view from,
                                                                        std::string_view to) const;

  bool empty() const { return keys_ == 0; }
  size_t keys() const { return keys_; }  // distinct keys staged
  void clear();

 private:
  // A record in buf_: flags (1 byte), key size (4), value size (4), key, value.
  static constexpr size_t kHeaderBytes = 9;
  static constexpr uint8_t kSuperseded = 1;
  static constexpr uint8_t kErased = 2;
  struct Slot {
    uint64_t hash = 0;
    uint64_t record = 0;  // offset in buf_ + 1; 0: empty
  };
  struct Record {
    uint8_t flags;
    std::string_view key;
    std::string_view value;
    // What it takes in buf_: its header, key and value.
    size_t bytes() const { return kHeaderBytes + key.size() + value.size(); }
  };

  void stage(std::string_view key, std::string_view value, bool erased);
  Record record_at(uint64_t offset) const;
  // Where `key` (hashed to `hash`) sits in index_, or the empty slot where it would go.
  size_t probe(uint64_t hash, std::string_view key) const;
  void grow();
  // Brings order_ and recent_ up to date with every record appended since the last scan.
  void sort_new_records() const;
  bool key_less(uint64_t a, uint64_t b) const { return record_at(a).key < record_at(b).key; }

  std::string buf_;
  std::vector<Slot> index_;  // power-of-two size, at most half full
  size_t keys_ = 0;
  // Offsets of records in key order (superseded ones included, skipped when read), in two
  // runs: what scans sorted before (order_), and a shorter run of what was staged since
  // (recent_), merged into order_ once it is an eighth of its size. A scan after every
  // write (a turn that erases objects one by one) then costs a binary insert into the
  // short run, not a merge of everything the turn staged. The records from buf_ offset
  // sorted_bytes_ on are in neither yet.
  mutable std::vector<uint64_t> order_;
  mutable std::vector<uint64_t> recent_;
  mutable size_t sorted_bytes_ = 0;
};

}  // namespace shoal::store
