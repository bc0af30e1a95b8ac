// LevelDbStore: the core::Store over one LevelDB database per node.
//
// Staged writes live in an ordered map (so reads see them) and are committed by flush()
// as one leveldb::WriteBatch. Tests pass a memenv Env to run without touching disk.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "node/core/env.h"

namespace leveldb {
class Cache;
class DB;
class Env;
class FilterPolicy;
}  // namespace leveldb

namespace shoal::store {

class LevelDbStore final : public core::Store {
 public:
  static constexpr int kBloomBitsPerKey = 10;
  static constexpr size_t kBlockCacheBytes = 64u << 20;

  // Opens (creating if missing) the database in `dir`. `env` may be null (the real
  // filesystem) or, in tests, leveldb::NewMemEnv(). REQUIRES: env outlives the store.
  static Result<std::unique_ptr<LevelDbStore>> open(const std::string& dir,
                                                    leveldb::Env* env = nullptr);
  ~LevelDbStore() override;

  Result<std::optional<std::string>> get(std::string_view key) override;
  void put(std::string_view key, std::string_view value) override;
  void erase(std::string_view key) override;
  bool has_staged() const override { return !staged_.empty(); }
  Status flush(bool sync) override;
  Status scan(std::string_view from, std::string_view to, const ScanFn& fn) override;

  // Approximate bytes on disk (for /metrics and status).
  uint64_t approximate_size() const;

 private:
  explicit LevelDbStore(leveldb::DB* db);

  // Declared before db_ so they outlive it.
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<leveldb::DB> db_;
  std::map<std::string, std::optional<std::string>, std::less<>> staged_;  // nullopt: erase
  // A scan flushed staged writes without fsync: the next flush(true) must sync even if
  // nothing is staged by then, or a durable write of that turn would not be on disk.
  bool unsynced_ = false;
};

}  // namespace shoal::store
