#include "node/store/leveldb_store.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <vector>

#include "crdt/assert.h"

namespace shoal::store {

namespace {
Status from_leveldb(const leveldb::Status& s) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status::corruption(s.ToString());
  if (s.IsNotFound()) return Status::not_found(s.ToString());
  return Status::internal(s.ToString());
}
leveldb::Slice slice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }

leveldb::Options options_for(leveldb::Env* env) {
  leveldb::Options options;
  options.paranoid_checks = true;
  if (env != nullptr) options.env = env;
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

// Moves every write-ahead log of `dir` to dir/lost/.
Status quarantine_logs(const std::string& dir, leveldb::Env* env) {
  std::vector<std::string> names;
  leveldb::Status s = env->GetChildren(dir, &names);
  if (!s.ok()) return Status::internal("cannot list " + dir + ": " + s.ToString());
  (void)env->CreateDir(dir + "/lost");  // may exist
  for (const std::string& name : names) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".log") != 0) continue;
    s = env->RenameFile(dir + "/" + name, dir + "/lost/" + name);
    if (!s.ok()) return Status::internal("cannot move " + name + " to lost/: " + s.ToString());
  }
  return Status::ok();
}

leveldb::ReadOptions verified(bool verify) {
  leveldb::ReadOptions ro;
  ro.verify_checksums = verify;
  return ro;
}
}  // namespace

Result<std::unique_ptr<LevelDbStore>> LevelDbStore::open(const std::string& dir,
                                                         leveldb::Env* env) {
  auto store = std::unique_ptr<LevelDbStore>(new LevelDbStore(dir, env));
  SHOAL_RETURN_IF_ERROR(store->open_db());
  return store;
}

// RepairDB reads write-ahead logs without checking their records' checksums, so a
// damaged record would come back as data. The logs are first recovered the way an open
// does, checking every record (an open that is not paranoid drops a damaged one and
// keeps the rest) and writing what they hold to a table. Logs that cannot be recovered
// that way go to lost/ unread. Then RepairDB, which does verify tables' checksums,
// rewrites the damaged tables and the manifest.
Status LevelDbStore::repair_dir(const std::string& dir, leveldb::Env* env) {
  leveldb::Options lenient = options_for(env);
  lenient.paranoid_checks = false;
  // RepairDB takes no lock: refuse to repair a directory a running node holds.
  leveldb::FileLock* lock = nullptr;
  if (!lenient.env->LockFile(dir + "/LOCK", &lock).ok()) {
    return Status::internal("data dir " + dir +
                            " is locked by another process: is a shoald using it? Stop it first");
  }
  (void)lenient.env->UnlockFile(lock);
  leveldb::DB* db = nullptr;
  const leveldb::Status recovered = leveldb::DB::Open(lenient, dir, &db);
  delete db;
  // A damaged log record does not fail this open (it is dropped); a damaged manifest or
  // a missing table does, and then the logs cannot be checked here: they go to lost/
  // unread rather than come back unchecked. Their writes come back from the other
  // replicas; a LOCAL or W=1 write only they held is lost (known gap: recovering them
  // in a directory of their own would keep it).
  if (!recovered.ok()) SHOAL_RETURN_IF_ERROR(quarantine_logs(dir, lenient.env));
  leveldb::Status s = leveldb::RepairDB(dir, options_for(env));
  if (!s.ok()) return Status::internal("repair of " + dir + " failed: " + s.ToString());
  return Status::ok();
}

LevelDbStore::LevelDbStore(std::string dir, leveldb::Env* env) : dir_(std::move(dir)), env_(env) {}

LevelDbStore::~LevelDbStore() {
  // Whatever was staged but never flushed was never acknowledged: dropping it is safe.
}

Status LevelDbStore::open_db() {
  SHOAL_ASSERT(db_ == nullptr);
  // Reads of keys a level does not hold skip its table thanks to the bloom filter; the
  // block cache keeps hot blocks decoded (LevelDB's default is 8 MiB).
  if (!filter_) filter_.reset(leveldb::NewBloomFilterPolicy(kBloomBitsPerKey));
  cache_.reset(leveldb::NewLRUCache(kBlockCacheBytes));  // no block of the old files
  leveldb::Options options = options_for(env_);
  options.create_if_missing = true;
  options.filter_policy = filter_.get();
  options.block_cache = cache_.get();
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir_, &db);
  if (!s.ok()) return explain_open_failure(dir_, s);
  db_.reset(db);
  fault_ = Status::ok();
  return Status::ok();
}

Status LevelDbStore::repair() {
  db_.reset();
  Status repaired = repair_dir(dir_, env_);
  if (!repaired.is_ok()) {
    // Open what is there again so reads of the blocks that are intact go on; the fault
    // stays, and the doctor tries the repair again later.
    const Status kept = fault_;
    (void)open_db();
    fault_ = kept;
    return repaired;
  }
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
  if (auto it = staged_.find(key); it != staged_.end()) return it->second;
  if (!db_) return fault_;
  std::string value;
  leveldb::Status s = db_->Get(verified(verify_checksums_), slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return note(from_leveldb(s));
  return std::optional<std::string>(std::move(value));
}

void LevelDbStore::put(std::string_view key, std::string_view value) {
  staged_.insert_or_assign(std::string(key), std::string(value));
}

void LevelDbStore::erase(std::string_view key) {
  staged_.insert_or_assign(std::string(key), std::nullopt);
}

Status LevelDbStore::flush(bool sync) {
  if (staged_.empty() && !(sync && unsynced_)) return Status::ok();
  leveldb::WriteBatch batch;
  for (const auto& [key, value] : staged_) {
    if (value) {
      batch.Put(key, *value);
    } else {
      batch.Delete(key);
    }
  }
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

Status LevelDbStore::scan(std::string_view from, std::string_view to, const ScanFn& fn) {
  SHOAL_RETURN_IF_ERROR(flush(false));
  if (!db_) return fault_;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(verified(verify_checksums_)));
  for (it->Seek(slice(from)); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!to.empty() && key >= to) break;
    if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
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
