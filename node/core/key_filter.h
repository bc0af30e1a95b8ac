// KeyFilter: which keys this node's store may hold, in memory, so that the first write of
// a new key (and a read of a key never written here) does not search LevelDB to learn it
// is absent: that search walks the memtable's skiplist and every level's filter, a chain
// of cache misses that cost ~9-20% of a replicated write (docs/benchmarks.md, "Ninth
// session").
//
// A blocked Bloom filter over data-key hashes (keys.h), and over the whole stored key of
// every set element row, so that adding a new member to a big set (one loaded in part,
// object_store.h) does not search LevelDB either (that miss was ~25% of a replica's CPU
// per SADD at 700,000 members: docs/benchmarks.md, "Tenth session"). Every bit of one
// entry falls in one 64-byte block, so a lookup is one cache miss. It never forgets an
// entry it was told of; one it was not told of may still be answered "maybe" (a false
// positive costs the search it saves otherwise, nothing more). Deleted rows stay in it.
//
// It is trusted only once built: from start (or restart()) a build walks every data row
// of the store a bounded step at a time (build_step), while every head and member row a
// save writes is added as it is staged (ObjectStore::save skips a key its cache holds,
// and a member row the save learnt was there: a member the set held before the change,
// or a row a big set's kept digest read; each came from the store or an earlier save, so
// it is here or the walk will reach it); when the walk reaches the end, every key the store holds
// was added, and may_hold()/may_hold_row() start answering. Before that, and when disabled (0
// bytes), it answers "maybe" for every key.
//
// Owns: the bits (allocated zeroed, resident as keys land: the keys spread evenly over it,
// so past ~10,000 keys all of it is) and the build cursor. Pure: the store comes in as an
// argument.
//
// Errors: build_step() answers the store's scan error; the walk resumes where it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "crdt/status.h"
#include "node/core/env.h"

namespace shoal::core {

class KeyFilter {
 public:
  static constexpr size_t kMaxBytes = size_t{1} << 30;  // the block index takes 24 bits
  // What one build step reads at most (besides its row limit), so a store of big values
  // does not stall the node's loop: 4 MiB, a few ms.
  static constexpr size_t kMaxStepBytes = size_t{4} << 20;
  // REQUIRES: bytes is 0 (disabled) or in [64, kMaxBytes]. It is rounded down to a power
  // of two times 64 bytes. ~10 bits per key keep false positives near 1-2%: 16 MiB serves ~13
  // million keys; past that the filter answers "maybe" more often, never wrongly.
  explicit KeyFilter(size_t bytes);

  // A head of the key with this hash is being staged (or was found by the build).
  void add(uint64_t key_hash);
  // False only when the store certainly holds no head of the key: the filter is built
  // and never heard of it.
  bool may_hold(uint64_t key_hash) const;
  // Starts fetching the block add() or may_hold() of this hash reads (a hint, no effect).
  void prefetch(uint64_t key_hash) const;
  // The same for a set's element row, by its whole stored key (element_prefix + member).
  void add_row(std::string_view element_row);
  bool may_hold_row(std::string_view element_row) const;

  // Build again (the store was repaired or reopened: it may hold keys no save added). The
  // bits stay (what left the store only makes the filter say "maybe").
  void restart();
  // Walks data rows from the cursor, adding each one's key hash and each element row,
  // until max_rows rows or max_bytes of keys and values were read (a key's operation
  // records past its first 64 are skipped); the walk that reaches the end makes the
  // filter trusted. No effect once built or when disabled.
  Status build_step(Store& store, size_t max_rows, size_t max_bytes = kMaxStepBytes);

  bool enabled() const { return blocks_ > 0; }
  bool built() const { return built_; }
  // The filter's memory (its bits), as configured.
  size_t bytes() const { return blocks_ * kBlockBytes; }
  // Lookups answered "absent" (each spared a store search), since start.
  uint64_t spared() const { return spared_; }
  // Deliberate bug (FaultPoints::bug_key_filter_trusted_unbuilt): trusted at once, before
  // its walk found the keys already on disk.
  void trust_unbuilt() { built_ = enabled(); }
  // Deliberate bug (FaultPoints::bug_key_filter_skips_members): the walk adds no element
  // row, as before element rows were in the filter.
  void skip_members_in_walk() { walk_skips_members_ = true; }

 private:
  static constexpr size_t kBlockBytes = 64;
  static constexpr size_t kWordsPerBlock = kBlockBytes / sizeof(uint64_t);
  struct Free {
    void operator()(uint64_t* p) const { std::free(p); }
  };
  uint64_t* block(uint64_t mixed) const;
  std::string walk_row(std::string_view k);

  size_t blocks_ = 0;  // a power of two, or 0 (disabled)
  std::unique_ptr<uint64_t[], Free> bits_;
  bool built_ = false;
  bool walk_skips_members_ = false;
  std::string cursor_;        // the next data row the build walks from; empty: from the first
  uint64_t op_run_hash_ = 0;  // the hash of the operation records the walk is in
  size_t op_run_ = 0;         // how many of them it read
  mutable uint64_t spared_ = 0;
};

}  // namespace shoal::core
