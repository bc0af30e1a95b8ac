// LevelDbStore: the core::Store over one LevelDB database per node.
//
// Staged writes live in a StagedWrites (so reads and scans see them) and are committed
// by flush() as one leveldb::WriteBatch. Tests pass a memenv Env to run without touching disk.
//
// Every read verifies LevelDB's block checksums, so a damaged block is an error, never
// a value. The store remembers the first fault LevelDB reported (fault()): a corruption
// (a checksum mismatch, or a compaction that hit a damaged table, after which LevelDB
// refuses every write) or an I/O error (disk full, EIO). What to do about it is the
// StoreDoctor's (store_doctor.h): repair() or reopen() clear it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/core/env.h"
#include "node/store/damage.h"
#include "node/store/staged_writes.h"

namespace leveldb {
class Cache;
class DB;
class Env;
class FilterPolicy;
}  // namespace leveldb

namespace shoal::store {

// What a repair found and did.
struct RepairReport {
  std::vector<std::string> found;  // the damage found, one line each (damage.h)
  bool unbounded = false;          // some of it could not be bounded to key ranges
  Erased erased;                   // the objects erased whole for it
};
// One line for the log: "no damage found", or what was found (the first few places) and
// how many objects were erased.
std::string describe(const RepairReport& report);

// LevelDB's knobs a node sets (shoald --write-buffer-mb, --block-kb, --compression). The
// defaults are LevelDB's, the best of what was measured (docs/storage.md, "Tuning"). Each
// may change between two opens of a directory: a table records how its blocks are packed.
struct Tuning {
  size_t write_buffer_bytes = 4u << 20;  // a memtable's size before it is written as a table
  size_t block_bytes = 4u << 10;         // a table block's size before compression
  bool compress = true;                  // snappy per block
};

class LevelDbStore final : public core::Store {
 public:
  static constexpr int kBloomBitsPerKey = 10;
  static constexpr size_t kBlockCacheBytes = 64u << 20;

  // Opens (creating if missing) the database in `dir`. `env` may be null (the real
  // filesystem) or, in tests, leveldb::NewMemEnv(). REQUIRES: env outlives the store.
  // Errors: internal naming the LOCK when another process holds the directory,
  // corruption (with how to repair) when LevelDB finds it damaged.
  // REQUIRES: tuning.write_buffer_bytes >= 64 KiB, tuning.block_bytes >= 1 KiB.
  static Result<std::unique_ptr<LevelDbStore>> open(const std::string& dir,
                                                    leveldb::Env* env = nullptr,
                                                    const Tuning& tuning = {});
  // Repairs a closed directory (leveldb_store.cc has the steps; docs/operations.md):
  // LevelDB's RepairDB rewrites damaged tables without their unreadable blocks (the
  // originals go to dir/lost/), and every object the damage may have left with some of
  // its rows only is erased whole, for anti-entropy to bring back from the replicas.
  // Errors: internal when another process holds `dir`, or a step failed (`dir` may then
  // be left partly repaired; a later repair_dir goes on from there).
  // `erase_damaged` false is the injected bug "partial-repair" (tests/sim): the objects
  // are left as RepairDB leaves them, as before. Never in shoald. The tables a repair
  // rewrites take the default Tuning.
  static Result<RepairReport> repair_dir(const std::string& dir, leveldb::Env* env = nullptr,
                                         bool erase_damaged = true);
  ~LevelDbStore() override;

  Result<std::optional<std::string>> get(std::string_view key) override;
  void put(std::string_view key, std::string_view value) override;
  void erase(std::string_view key) override;
  bool has_staged() const override { return !staged_.empty(); }
  void discard_staged() override { staged_.clear(); }
  // fault(), else a free-space floor not met (set_space_low).
  Status health() const override;
  Status flush(bool sync) override;
  Status scan(std::string_view from, std::string_view to, const ScanFn& fn) override;
  Status walk(std::string_view from, std::string_view to, const ScanFn& fn) override;

  // Approximate bytes on disk (for /metrics and status).
  uint64_t approximate_size() const;

  // The first corruption or I/O error LevelDB reported since the store was (re)opened;
  // ok when none. Not-found is not a fault.
  const Status& fault() const { return fault_; }
  // Closes the database, runs repair_dir and opens it again; staged writes stay staged.
  // On failure the store stays closed (every call answers the error) until a later
  // repair() or reopen() succeeds.
  Status repair();
  // What the last repair() that succeeded found and did.
  const RepairReport& last_repair() const { return last_repair_; }
  // Closes and opens the database again (LevelDB keeps a write error until then), once a
  // probe write of kProbeBytes succeeds: while the disk still refuses writes the open
  // database stays open, so reads keep working.
  Status reopen();
  static constexpr size_t kProbeBytes = 64u << 10;
  // Where a repair recovers the logs, and the file that says a repair is under way (the
  // store does not open while it exists: repair_dir goes on from where it stopped).
  static constexpr const char* kWalRecoveryDir = "wal-recovery";
  static constexpr const char* kRepairMarker = "REPAIRING";
  // The shell's free-space check: not ok while the disk is below its floor, so writes
  // are refused (health()) before LevelDB fails on them.
  void set_space(Status low) { space_ = std::move(low); }
  const std::string& dir() const { return dir_; }
  // Test hook (tests/sim, the injected bug "no-checksums"): false makes reads skip the
  // block checksums, as before issue #14, to show the simulator catches it. Never in shoald.
  void set_verify_checksums(bool on) { verify_checksums_ = on; }
  // Test hook (the injected bug "partial-repair"): repair() leaves partial objects.
  void set_repair_erases(bool on) { repair_erases_ = on; }

 private:
  // scan(), keeping the blocks read in the block cache or not.
  Status scan_with(bool fill_cache, std::string_view from, std::string_view to, const ScanFn& fn);
  LevelDbStore(std::string dir, leveldb::Env* env, const Tuning& tuning);
  Status open_db();
  Status note(const Status& s);  // remembers a fault, returns s
  Status probe_writable();

  // Declared before db_ so they outlive it.
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<leveldb::DB> db_;  // null while closed (a failed repair or reopen)
  std::string dir_;
  leveldb::Env* env_;
  Tuning tuning_;
  Status fault_;
  Status space_;
  StagedWrites staged_;
  // The last commit was not fsynced: the next flush(true) syncs even if nothing is staged
  // by then, so a durable commit makes every earlier write durable.
  bool unsynced_ = false;
  bool verify_checksums_ = true;
  bool repair_erases_ = true;
  RepairReport last_repair_;
};

}  // namespace shoal::store
