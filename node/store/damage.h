// Damage: which rows a store's damaged files lost, found before a repair rewrites them,
// and the objects the repair must then erase whole (docs/operations.md, "When data is
// corrupted").
//
// RepairDB keeps every row it can read, so a damaged block drops some rows of a key and
// keeps the others, and a lower level may bring back an older version of a row whose
// newer version was lost. An object is a head row and, for a set, element rows, and
// operation records in rows of their own (node/core/keys.h). A head kept with some of
// its element rows lost makes those members look removed (its context covers their
// dots), and anti-entropy spreads the removal to every replica; an older head with newer
// element rows does not load at all. So:
//  - before RepairDB, every table is read block by block with checksums verified, and
//    each damaged block's key range is taken from the rows around it;
//  - a write-ahead log record the recovery dropped is noted (its keys cannot be known);
//  - after RepairDB, every object with a row in a damaged range is erased whole, and
//    anti-entropy brings it back whole from the other replicas.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace leveldb {
class DB;
class Env;
}  // namespace leveldb

namespace shoal::store {

struct Damage {
  // Store keys, inclusive; nullopt: open on that side. The rows a damaged block held lay
  // between `first` (the last row read before it) and `last` (the first after it).
  struct Range {
    std::optional<std::string> first, last;
  };
  std::vector<Range> ranges;
  // Rows were lost whose keys cannot be bounded: a table that does not open (its footer
  // or index is damaged), or a dropped write-ahead log record.
  bool unbounded = false;
  std::vector<std::string> found;  // what was found, one line each, for the log

  bool empty() const { return ranges.empty() && !unbounded; }
};

// The damage as text (a repair's marker file keeps it, so a repair cut short and run
// again still erases what the first run found), and back; `decode` adds to `out` and
// skips lines it does not know.
std::string encode(const Damage& damage);
void decode(std::string_view text, Damage* out);

// Reads every table (*.ldb, *.sst) of `dir` through `env` (null: the real filesystem) with
// checksums verified, and appends the damaged blocks' ranges to `out`.
// REQUIRES: no process has `dir` open. Errors: internal when `dir` cannot be listed.
Status find_table_damage(const std::string& dir, leveldb::Env* env, Damage* out);

struct Erased {
  uint64_t objects = 0;
  uint64_t rows = 0;
};
// Erases, in synced batches, every object a repair may have left with some rows only:
//  - for a bounded range, every object whose key hash lies between those of the range's
//    ends (an object's rows all carry its key's hash, so all of its rows go);
//  - when unbounded, every object stored in more than one row (a set with element rows,
//    an object with operation-record rows). A single-row object the damage reached is
//    an older version or absent: anti-entropy heals that by joining.
// Errors: the scan's or the write's (nothing is known erased then).
Result<Erased> erase_damaged_objects(leveldb::DB* db, const Damage& damage);

}  // namespace shoal::store
