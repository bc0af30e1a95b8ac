// StoreDoctor: what a node does when its LevelDB fails (docs/operations.md, "When data is
// corrupted", "When the disk fills"). Owns the store's treatment state, not the store.
//
// A corruption (a checksum mismatch on a read, a compaction that hit a damaged table,
// after which LevelDB refuses every write) is treated by LevelDB's RepairDB: damaged
// tables are rewritten without their unreadable blocks and the originals kept in
// dir/lost/ (the quarantine). Any other fault (an I/O error: disk full, EIO) is
// treated by closing and opening the database again, which clears LevelDB's sticky
// background error. A treatment that fails is tried again on a back-off (1 s doubling
// to 60 s); a fault is treated at once the first time, unless another was treated less
// than 60 s before (a flapping disk): then the back-off goes on doubling.
//
// A free-space floor (shoald --min-free-mb) is checked once a second: below it the store
// refuses writes (LevelDbStore::set_space, so the node answers `unavailable`) before
// LevelDB fails on them; reads go on, and writes come back when space does.
//
// After a treatment that succeeded the store may hold less than before (repair drops
// unreadable rows): the caller must tell the node (core::Node::on_store_reset), whose
// anti-entropy then brings the lost rows back from the other replicas.
#pragma once

#include <cstdint>
#include <functional>

#include "crdt/status.h"
#include "node/store/leveldb_store.h"

namespace shoal::store {

class StoreDoctor {
 public:
  static constexpr uint64_t kFirstRetryMs = 1'000;
  static constexpr uint64_t kMaxRetryMs = 60'000;

  enum class Action { kNone, kRepaired, kReopened, kFailed };
  struct Outcome {
    Action action = Action::kNone;
    Status fault;   // what was treated (kNone: ok)
    Status result;  // kFailed: why the treatment failed
  };
  struct Counters {
    uint64_t faults = 0;   // distinct faults seen (a fault that persists counts once)
    uint64_t repairs = 0;  // RepairDB runs that succeeded
    uint64_t reopens = 0;  // reopens that succeeded
    uint64_t failed = 0;   // treatments that failed
  };

  static constexpr uint64_t kSpaceCheckMs = 1'000;
  enum class Space { kSame, kLow, kRecovered };
  using FreeBytesFn = std::function<Result<uint64_t>()>;

  // min_free_bytes 0: no floor. free_bytes: the free space of the store's disk (default:
  // statvfs of its directory). REQUIRES: store outlives the doctor.
  explicit StoreDoctor(LevelDbStore& store, uint64_t min_free_bytes = 0,
                       FreeBytesFn free_bytes = {});

  // At most once per kSpaceCheckMs: the free space against the floor. kLow and
  // kRecovered report a crossing (to log it once).
  Space check_space(uint64_t now_ms);
  uint64_t free_bytes() const { return free_bytes_; }  // as last measured

  // Looks at the store's fault (after each loop turn) and treats it when it is due.
  Outcome tick(uint64_t now_ms);

  // Healthy: no fault, or none since the last treatment that succeeded.
  bool healthy() const { return store_.fault().is_ok(); }
  const Status& fault() const { return store_.fault(); }
  // fault(), else the free-space floor not met: what /ping and /status report.
  Status health() const { return store_.health(); }
  const Counters& counters() const { return counters_; }

 private:
  LevelDbStore& store_;
  Counters counters_;
  bool sick_ = false;         // a fault is being treated
  bool repair_next_ = false;  // the last attempt failed with a corruption: repair
  uint64_t due_ms_ = 0;
  uint64_t backoff_ms_ = kFirstRetryMs;
  bool treated_ = false;  // a treatment succeeded at treated_ms_
  uint64_t treated_ms_ = 0;
  const uint64_t min_free_bytes_;
  FreeBytesFn free_bytes_fn_;
  uint64_t free_bytes_ = 0;
  uint64_t next_space_check_ms_ = 0;
  bool space_low_ = false;
};

}  // namespace shoal::store
