// DiskFaults: the simulator's disk. A leveldb::EnvWrapper over LevelDB's in-memory Env
// (memenv) that injects storage faults per node directory ("/sim/<id>"), and runs
// LevelDB's background work (compactions) so that a seed still replays exactly.
//
// Faults (docs/testing.md, "Storage faults"):
//  - read corruption: chosen bytes of a table file read back with one bit flipped, every
//    time they are read from the file (bit rot), until that file is gone: removed, or
//    renamed away (RepairDB moves a damaged table to lost/ and the damage goes with it;
//    a new file written or renamed over the name is whole). Block checksums catch every
//    such damage (at most 4 bytes: a burst CRC32C always detects); without them a damaged
//    block may fail snappy or block decoding, or decode to different bytes.
//  - disk full: while set for a directory, every write to a file under it fails with
//    IOError "No space left on device". The first Append after the disk filled writes
//    half of its data first (a torn write: the last free bytes, as write(2) may write
//    some before ENOSPC), so a log may end in a partial record; later ones write nothing.
//
// Background work: LevelDB schedules compactions on Env::Schedule. Here they run on this
// Env's own thread, and the simulator calls quiesce() before every store operation and
// before every fault it injects, so each compaction ends before anything else touches
// the disk: which tables exist, and whether a compaction met a full disk, depend on the
// seed alone, not on thread timing.
#pragma once

#include <leveldb/env.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crdt/prng.h"

namespace shoal::sim {

class DiskFaults final : public leveldb::EnvWrapper {
 public:
  DiskFaults();  // over leveldb::NewMemEnv(leveldb::Env::Default())
  ~DiskFaults() override;

  // Reads of [offset, offset + len) of the file now at `path` return those bytes XORed
  // with `mask`, until that file is removed or replaced.
  void damage(const std::string& path, uint64_t offset, uint64_t len, uint8_t mask);
  // Flips one bit (the same) in each of 1..4 bytes of a table (*.ldb) of `dir`, chosen by
  // rng, inside its data area
  // (before the index block: data blocks, and the filter and metaindex blocks, whose
  // damage LevelDB ignores). Returns what it did ("000012.ldb bytes 301-303 of 5120"), or
  // "" when `dir` holds no table.
  std::string damage_table(const std::string& dir, Prng& rng);
  // Disk full: while set, writes to files under `dir` fail.
  void set_full(const std::string& dir, bool full);
  bool full(const std::string& dir) const;
  // Returns once LevelDB's background work scheduled so far (and what it scheduled in
  // turn) has run.
  void quiesce();
  // Tables damaged so far that were then removed or moved away (a repair took them out).
  uint64_t damaged_files_gone() const;

  // leveldb::Env
  leveldb::Status NewRandomAccessFile(const std::string& f, leveldb::RandomAccessFile** r) override;
  leveldb::Status NewWritableFile(const std::string& f, leveldb::WritableFile** r) override;
  leveldb::Status NewAppendableFile(const std::string& f, leveldb::WritableFile** r) override;
  leveldb::Status RemoveFile(const std::string& f) override;
  leveldb::Status RenameFile(const std::string& from, const std::string& to) override;
  void Schedule(void (*fn)(void*), void* arg) override;

  // The damage of one file, shared by every handle open on it: a handle opened before
  // the damage sees it, one opened on a new file of the same name does not.
  struct Damage {
    uint64_t begin, end;
    uint8_t mask;
  };
  struct FileState {
    std::vector<Damage> damaged;
  };
  // For the files' handles: whether a write to `path` fails, and whether it still gets
  // the disk's last free bytes (once each time the disk fills).
  bool full_for(const std::string& path);
  bool take_last_bytes(const std::string& path);

 private:
  struct Space {
    bool full = false;
    bool last_bytes = false;
  };
  explicit DiskFaults(leveldb::Env* mem);
  // The state of the file now at `path` (created when it has none; fresh: a new file).
  std::shared_ptr<FileState> state_of(const std::string& path, bool fresh);
  void forget(const std::string& path);       // REQUIRES: mu_ held
  Space* space_for(const std::string& path);  // REQUIRES: mu_ held
  void work();                                // the background thread

  std::unique_ptr<leveldb::Env> mem_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_;
  std::map<std::string, Space> space_;  // by directory
  uint64_t damaged_gone_ = 0;

  std::mutex bg_mu_;
  std::condition_variable bg_cv_, idle_cv_;
  std::deque<std::pair<void (*)(void*), void*>> bg_queue_;
  uint64_t bg_pending_ = 0;  // queued or running
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace shoal::sim
