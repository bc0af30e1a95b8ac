#include "node/store/leveldb_store.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

namespace shoal::store {

namespace {
Status from_leveldb(const leveldb::Status& s) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status::corruption(s.ToString());
  if (s.IsNotFound()) return Status::not_found(s.ToString());
  return Status::internal(s.ToString());
}
leveldb::Slice slice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }
}  // namespace

Result<std::unique_ptr<LevelDbStore>> LevelDbStore::open(const std::string& dir,
                                                         leveldb::Env* env) {
  // Reads of keys a level does not hold skip its table thanks to the bloom filter; the
  // block cache keeps hot blocks decoded (LevelDB's default is 8 MiB).
  std::unique_ptr<const leveldb::FilterPolicy> filter(
      leveldb::NewBloomFilterPolicy(kBloomBitsPerKey));
  std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(kBlockCacheBytes));
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.filter_policy = filter.get();
  options.block_cache = cache.get();
  if (env != nullptr) options.env = env;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (!s.ok()) return from_leveldb(s);
  auto store = std::unique_ptr<LevelDbStore>(new LevelDbStore(db));
  store->filter_ = std::move(filter);
  store->cache_ = std::move(cache);
  return store;
}

LevelDbStore::LevelDbStore(leveldb::DB* db) : db_(db) {}

LevelDbStore::~LevelDbStore() {
  // Whatever was staged but never flushed was never acknowledged: dropping it is safe.
}

Result<std::optional<std::string>> LevelDbStore::get(std::string_view key) {
  if (auto it = staged_.find(key); it != staged_.end()) return it->second;
  std::string value;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_leveldb(s);
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
  leveldb::WriteOptions wo;
  wo.sync = sync;
  SHOAL_RETURN_IF_ERROR(from_leveldb(db_->Write(wo, &batch)));
  staged_.clear();
  unsynced_ = !sync;
  return Status::ok();
}

Status LevelDbStore::scan(std::string_view from, std::string_view to, const ScanFn& fn) {
  SHOAL_RETURN_IF_ERROR(flush(false));
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(slice(from)); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!to.empty() && key >= to) break;
    if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return from_leveldb(it->status());
}

uint64_t LevelDbStore::approximate_size() const {
  leveldb::Range all("", "\xff\xff\xff\xff\xff\xff\xff\xff\xff");
  uint64_t size = 0;
  db_->GetApproximateSizes(&all, 1, &size);
  return size;
}

}  // namespace shoal::store
