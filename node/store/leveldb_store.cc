#include "node/store/leveldb_store.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "crdt/assert.h"
#include "node/store/damage.h"

namespace shoal::store {

namespace {
Status from_leveldb(const leveldb::Status& s) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status::corruption(s.ToString());
  if (s.IsNotFound()) return Status::not_found(s.ToString());
  return Status::internal(s.ToString());
}
leveldb::Slice slice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }

leveldb::Options options_for(leveldb::Env* env, const Tuning& tuning = {}) {
  leveldb::Options options;
  options.paranoid_checks = true;
  if (env != nullptr) options.env = env;
  options.write_buffer_size = tuning.write_buffer_bytes;
  options.block_size = tuning.block_bytes;
  options.compression = tuning.compress ? leveldb::kSnappyCompression : leveldb::kNoCompression;
  return options;
}

// A damaged directory says what to run; a held lock says who holds it.
Status explain_open_failure(const std::string& dir, const leveldb::Status& s) {
  const std::string what = s.ToString();
  if (s.IsCorruption()) {
    return Status::corruption("data dir " + dir + " is damaged (" + what +
                              "); run `shoald --repair --data-dir " + dir +
                              "` (docs/operations.md, \"When data is corrupted\")");
  }
  if (what.find("/LOCK") != std::string::npos) {
    return Status::internal("data dir " + dir + " is locked by another process (" + what +
                            "): is another shoald using it?");
  }
  return Status::internal("cannot open data dir " + dir + ": " + what);
}

bool ends_with(const std::string& name, const char* suffix) {
  const std::string_view sfx(suffix);
  return name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0;
}

// The highest number of a LevelDB file in `names` (000123.ldb, MANIFEST-000004, ...).
uint64_t max_file_number(const std::vector<std::string>& names) {
  uint64_t max = 0;
  for (const std::string& name : names) {
    const size_t from = name.rfind('-') == std::string::npos ? 0 : name.rfind('-') + 1;
    uint64_t n = 0;
    size_t i = from;
    for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && i - from < 18; ++i) {
      n = n * 10 + static_cast<uint64_t>(name[i] - '0');
    }
    if (i > from) max = std::max(max, n);
  }
  return max;
}

std::string table_name(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06llu.ldb", static_cast<unsigned long long>(number));
  return buf;
}

// Notes the log records a recovery dropped: LevelDB logs "... dropping N bytes; ...".
class DropWatcher final : public leveldb::Logger {
 public:
  void Logv(const char* format, std::va_list ap) override {
    char line[512];
    std::vsnprintf(line, sizeof line, format, ap);
    std::lock_guard<std::mutex> hold(mu_);
    if (first_.empty() && std::strstr(line, "dropping") != nullptr) first_ = line;
  }
  std::string first() {
    std::lock_guard<std::mutex> hold(mu_);
    return first_;
  }

 private:
  std::mutex mu_;
  std::string first_;
};

Status list(leveldb::Env* env, const std::string& dir, std::vector<std::string>* names) {
  leveldb::Status s = env->GetChildren(dir, names);
  if (!s.ok()) return Status::internal("cannot list " + dir + ": " + s.ToString());
  // The files of `dir` itself: not "." and "..", nor (memenv lists them) nested paths.
  std::erase_if(*names, [](const std::string& n) {
    return n == "." || n == ".." || n.find('/') != std::string::npos;
  });
  std::sort(names->begin(), names->end());
  return Status::ok();
}

// Opens the logs in `wal` as a fresh database of its own, checking every record.
Status recover_apart(const std::string& wal, leveldb::Env* env, Damage* damage) {
  DropWatcher watcher;
  leveldb::Options lenient = options_for(env);
  lenient.paranoid_checks = false;
  lenient.create_if_missing = true;
  lenient.info_log = &watcher;
  leveldb::DB* db = nullptr;
  const leveldb::Status s = leveldb::DB::Open(lenient, wal, &db);
  delete db;
  if (!s.ok()) {
    return Status::internal("cannot recover the write-ahead logs kept in " + wal + ": " +
                            s.ToString());
  }
  if (!watcher.first().empty()) {
    damage->unbounded = true;
    damage->found.push_back("write-ahead log: " + watcher.first());
  }
  return Status::ok();
}

// Moves the tables of `wal` into `dir`, numbered after every file there (they hold the
// newest rows), and removes every other file of `wal` but its logs (`keep_logs`) or all.
Status drain_apart(const std::string& dir, const std::string& wal, leveldb::Env* env,
                   bool keep_logs) {
  std::vector<std::string> names, here;
  SHOAL_RETURN_IF_ERROR(list(env, dir, &here));
  SHOAL_RETURN_IF_ERROR(list(env, wal, &names));
  uint64_t next = std::max(max_file_number(here), max_file_number(names)) + 1;
  for (const std::string& name : names) {
    if (keep_logs && ends_with(name, ".log")) continue;
    const std::string from = wal + "/" + name;
    leveldb::Status s = ends_with(name, ".ldb") || ends_with(name, ".sst")
                            ? env->RenameFile(from, dir + "/" + table_name(next++))
                            : env->RemoveFile(from);
    if (!s.ok()) return Status::internal("cannot move " + from + ": " + s.ToString());
  }
  return Status::ok();
}

Status keep(leveldb::Env* env, const std::string& marker, const Damage& damage) {
  const leveldb::Status s = leveldb::WriteStringToFile(env, encode(damage), marker);
  if (!s.ok()) return Status::internal("cannot write " + marker + ": " + s.ToString());
  return Status::ok();
}

// Step 2 of repair_dir. Crash-safe: at every point each row is in a table of `dir`, a
// log in `wal`, or a table in `wal`, and while `wal` exists the node does not open (open
// says to run the repair again), which goes on from there: tables a cut-short run left
// in `wal` go in first, its database files (a manifest that may name tables already
// moved) are dropped, and the logs left are recovered afresh.
Status recover_logs(const std::string& dir, leveldb::Env* env, Damage* damage) {
  const std::string wal = dir + "/" + LevelDbStore::kWalRecoveryDir;
  std::vector<std::string> names;
  SHOAL_RETURN_IF_ERROR(list(env, dir, &names));
  (void)env->CreateDir(wal);  // may exist
  for (const std::string& name : names) {
    if (!ends_with(name, ".log")) continue;
    leveldb::Status s = env->RenameFile(dir + "/" + name, wal + "/" + name);
    if (!s.ok()) {
      return Status::internal("cannot move " + name + " to " + wal + ": " + s.ToString());
    }
  }
  SHOAL_RETURN_IF_ERROR(drain_apart(dir, wal, env, /*keep_logs=*/true));
  SHOAL_RETURN_IF_ERROR(recover_apart(wal, env, damage));
  SHOAL_RETURN_IF_ERROR(drain_apart(dir, wal, env, /*keep_logs=*/false));
  return Status::ok();
}

leveldb::ReadOptions verified(bool verify) {
  leveldb::ReadOptions ro;
  ro.verify_checksums = verify;
  return ro;
}
}  // namespace

Result<std::unique_ptr<LevelDbStore>> LevelDbStore::open(const std::string& dir, leveldb::Env* env,
                                                         const Tuning& tuning) {
  SHOAL_ASSERT(tuning.write_buffer_bytes >= (64u << 10) && tuning.block_bytes >= 1024);
  auto store = std::unique_ptr<LevelDbStore>(new LevelDbStore(dir, env, tuning));
  SHOAL_RETURN_IF_ERROR(store->open_db());
  return store;
}

// A repair in four steps (docs/operations.md, "When data is corrupted"):
//  1. Every table is read with checksums verified, to find what its damaged blocks held
//     (damage.h): RepairDB drops those rows silently.
//  2. The write-ahead logs are recovered apart, in dir/wal-recovery: RepairDB reads logs
//     without checking their records' checksums, so a damaged record would come back as
//     data. An open that is not paranoid checks every record and drops a damaged one (a
//     drop is noted); apart, it opens even when the main manifest is damaged, and no
//     compaction there can read a damaged table unchecked. The table it writes joins dir
//     numbered after every file there (the newest).
//  3. RepairDB rewrites the damaged tables without their unreadable blocks (the
//     originals go to lost/) and a new manifest.
//  4. The objects the damage may have left with some rows only are erased whole (damage.h)
//     and the database is compacted: RepairDB puts every table in level 0, where a read
//     takes the highest-numbered table that holds a key, which need not hold its newest
//     version (a compaction numbers its output after younger level-0 tables).
Result<RepairReport> LevelDbStore::repair_dir(const std::string& dir, leveldb::Env* env,
                                              bool erase_damaged) {
  leveldb::Env* e = env != nullptr ? env : leveldb::Env::Default();
  // RepairDB takes no lock: refuse to repair a directory a running node holds.
  leveldb::FileLock* lock = nullptr;
  if (!e->LockFile(dir + "/LOCK", &lock).ok()) {
    return Status::internal("data dir " + dir +
                            " is locked by another process: is a shoald using it? Stop it first");
  }
  (void)e->UnlockFile(lock);
  // The marker says a repair is under way (the store does not open meanwhile) and keeps
  // what an earlier run cut short found: its tables are rewritten by now.
  const std::string marker = dir + "/" + kRepairMarker;
  Damage damage;
  std::string earlier;
  if (e->FileExists(marker) && leveldb::ReadFileToString(e, marker, &earlier).ok()) {
    decode(earlier, &damage);
  }
  SHOAL_RETURN_IF_ERROR(find_table_damage(dir, e, &damage));
  SHOAL_RETURN_IF_ERROR(keep(e, marker, damage));
  SHOAL_RETURN_IF_ERROR(recover_logs(dir, e, &damage));
  SHOAL_RETURN_IF_ERROR(keep(e, marker, damage));
  leveldb::Status s = leveldb::RepairDB(dir, options_for(env));
  if (!s.ok()) return Status::internal("repair of " + dir + " failed: " + s.ToString());
  (void)e->RemoveDir(dir + "/" + kWalRecoveryDir);
  RepairReport report;
  report.found = damage.found;
  report.unbounded = damage.unbounded;
  std::unique_ptr<const leveldb::FilterPolicy> filter(
      leveldb::NewBloomFilterPolicy(kBloomBitsPerKey));
  leveldb::Options options = options_for(env);
  options.filter_policy = filter.get();  // the compaction below rewrites every table
  leveldb::DB* raw = nullptr;
  s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) return Status::internal("repaired " + dir + " does not open: " + s.ToString());
  std::unique_ptr<leveldb::DB> db(raw);
  if (!damage.empty() && erase_damaged) {
    Result<Erased> erased = erase_damaged_objects(db.get(), damage);
    if (!erased) return erased.status();
    report.erased = *erased;
  }
  db->CompactRange(nullptr, nullptr);
  std::string level0;
  if (!db->GetProperty("leveldb.num-files-at-level0", &level0) || level0 != "0") {
    return Status::internal("the compaction after repairing " + dir + " did not finish (" + level0 +
                            " tables left in level 0; is the disk full?)");
  }
  db.reset();
  s = e->RemoveFile(marker);
  if (!s.ok()) return Status::internal("cannot finish the repair of " + dir + ": " + s.ToString());
  return report;
}

std::string describe(const RepairReport& report) {
  if (report.found.empty()) return "no damaged table or log record found";
  std::string out = std::to_string(report.found.size()) + " damaged place(s)";
  for (size_t i = 0; i < report.found.size() && i < 3; ++i) out += "; " + report.found[i];
  if (report.found.size() > 3) out += "; ...";
  out += report.unbounded ? "; not all bounded to key ranges, so every object stored in "
                            "several rows was erased"
                          : "";
  return out + "; erased " + std::to_string(report.erased.objects) + " object(s) (" +
         std::to_string(report.erased.rows) + " rows) whole";
}

LevelDbStore::LevelDbStore(std::string dir, leveldb::Env* env, const Tuning& tuning)
    : dir_(std::move(dir)), env_(env), tuning_(tuning) {}

LevelDbStore::~LevelDbStore() {
  // Whatever was staged but never flushed was never acknowledged: dropping it is safe.
}

Status LevelDbStore::open_db() {
  SHOAL_ASSERT(db_ == nullptr);
  // Reads of keys a level does not hold skip its table thanks to the bloom filter; the
  // block cache keeps hot blocks decoded (LevelDB's default is 8 MiB).
  if (!filter_) filter_.reset(leveldb::NewBloomFilterPolicy(kBloomBitsPerKey));
  cache_.reset(leveldb::NewLRUCache(kBlockCacheBytes));  // no block of the old files
  leveldb::Options options = options_for(env_, tuning_);
  options.create_if_missing = true;
  options.filter_policy = filter_.get();
  options.block_cache = cache_.get();
  leveldb::Env* env = env_ != nullptr ? env_ : leveldb::Env::Default();
  if (env->FileExists(dir_ + "/" + kRepairMarker)) {
    // Opening now would drop the tables recovered from the logs (the old manifest does
    // not name them): only finishing the repair is safe.
    return Status::corruption("a repair of " + dir_ + " was cut short; run `shoald --repair " +
                              "--data-dir " + dir_ + "` to finish it");
  }
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir_, &db);
  if (!s.ok()) return explain_open_failure(dir_, s);
  db_.reset(db);
  fault_ = Status::ok();
  return Status::ok();
}

Status LevelDbStore::repair() {
  db_.reset();
  Result<RepairReport> repaired = repair_dir(dir_, env_, repair_erases_);
  if (!repaired.is_ok()) {
    // Open what is there again so reads of the blocks that are intact go on (unless the
    // repair got as far as moving the logs: open_db refuses then, and the store stays
    // closed); the fault stays, and the doctor tries the repair again later.
    const Status kept = fault_;
    (void)open_db();
    fault_ = kept;
    return repaired.status();
  }
  last_repair_ = std::move(*repaired);
  return note(open_db());
}

Status LevelDbStore::reopen() {
  SHOAL_RETURN_IF_ERROR(probe_writable());
  db_.reset();
  return note(open_db());
}

Status LevelDbStore::probe_writable() {
  leveldb::Env* env = env_ != nullptr ? env_ : leveldb::Env::Default();
  const std::string path = dir_ + "/WRITE-PROBE";
  leveldb::WritableFile* file = nullptr;
  leveldb::Status s = env->NewWritableFile(path, &file);
  if (s.ok()) {
    const std::string zeros(kProbeBytes, '\0');
    s = file->Append(zeros);
    if (s.ok()) s = file->Sync();
    const leveldb::Status closed = file->Close();
    if (s.ok()) s = closed;
    delete file;
  }
  (void)env->RemoveFile(path);
  if (!s.ok()) return Status::unavailable("the disk still refuses writes: " + s.ToString());
  return Status::ok();
}

Status LevelDbStore::health() const { return fault_.is_ok() ? space_ : fault_; }

Status LevelDbStore::note(const Status& s) {
  if (!s.is_ok() && s.code() != Code::kNotFound && fault_.is_ok()) fault_ = s;
  return s;
}

Result<std::optional<std::string>> LevelDbStore::get(std::string_view key) {
  if (auto staged = staged_.find(key)) {
    return *staged ? std::optional<std::string>(std::string(**staged))
                   : std::optional<std::string>();
  }
  if (!db_) return fault_;
  std::string value;
  leveldb::Status s = db_->Get(verified(verify_checksums_), slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return note(from_leveldb(s));
  return std::optional<std::string>(std::move(value));
}

void LevelDbStore::put(std::string_view key, std::string_view value) { staged_.put(key, value); }

void LevelDbStore::erase(std::string_view key) { staged_.erase(key); }

Status LevelDbStore::flush(bool sync) {
  if (staged_.empty() && !(sync && unsynced_)) return Status::ok();
  leveldb::WriteBatch batch;
  staged_.for_each([&batch](std::string_view key, const std::string_view* value) {
    if (value) {
      batch.Put(slice(key), slice(*value));
    } else {
      batch.Delete(slice(key));
    }
  });
  // After a write error LevelDB's log writer may hold a torn record: nothing more goes to
  // it until the doctor reopened the database.
  if (!db_ || !fault_.is_ok()) return fault_;
  leveldb::WriteOptions wo;
  wo.sync = sync;
  SHOAL_RETURN_IF_ERROR(note(from_leveldb(db_->Write(wo, &batch))));
  staged_.clear();
  unsynced_ = !sync;
  return Status::ok();
}

// The staged writes are read over the database, not committed first: a turn commits as
// one batch or not at all (a scan that committed the first half of a turn whose commit
// then failed left a set's head without its element rows). They are copied first, so
// writes `fn` stages are not visited, as a database iterator does not see them either.
Status LevelDbStore::scan(std::string_view from, std::string_view to, const ScanFn& fn) {
  return scan_with(true, from, to, fn);
}

Status LevelDbStore::walk(std::string_view from, std::string_view to, const ScanFn& fn) {
  return scan_with(false, from, to, fn);
}

Status LevelDbStore::scan_with(bool fill_cache, std::string_view from, std::string_view to,
                               const ScanFn& fn) {
  if (!db_) return fault_;
  leveldb::ReadOptions options = verified(verify_checksums_);
  options.fill_cache = fill_cache;
  const std::vector<std::pair<std::string, std::optional<std::string>>> staged =
      staged_.range(from, to);
  auto st = staged.begin();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(options));
  it->Seek(slice(from));
  while (true) {
    const bool in_db =
        it->Valid() && (to.empty() || std::string_view(it->key().data(), it->key().size()) < to);
    if (!in_db && st == staged.end()) break;
    const std::string_view key =
        in_db ? std::string_view(it->key().data(), it->key().size()) : std::string_view();
    const int order = !in_db ? 1 : (st == staged.end() ? -1 : key.compare(st->first));
    if (order < 0) {
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
      it->Next();
      continue;
    }
    if (order == 0) it->Next();  // the staged write replaces the committed row
    const bool go_on = !st->second || fn(st->first, *st->second);
    ++st;
    if (!go_on) break;
  }
  return note(from_leveldb(it->status()));
}

uint64_t LevelDbStore::approximate_size() const {
  if (!db_) return 0;
  leveldb::Range all("", "\xff\xff\xff\xff\xff\xff\xff\xff\xff");
  uint64_t size = 0;
  db_->GetApproximateSizes(&all, 1, &size);
  return size;
}

}  // namespace shoal::store
