// A core::Store over a real one (LevelDB in memory in the unit tests) that records what
// each commit was asked (fsync or not), fails every scan while `fail_scans` is set and
// every flush while `fail_flushes` is, counts point reads, and reports `health` as the
// store's.
#pragma once

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/core/env.h"
#include "node/store/leveldb_store.h"

namespace shoal::core::testing {

struct RecordingStore final : Store {
  explicit RecordingStore(Store& wrapped) : inner(wrapped) {}
  Result<std::optional<std::string>> get(std::string_view k) override {
    ++gets;
    return inner.get(k);
  }
  void put(std::string_view k, std::string_view v) override { inner.put(k, v); }
  void erase(std::string_view k) override { inner.erase(k); }
  bool has_staged() const override { return inner.has_staged(); }
  Status flush(bool sync) override {
    synced.push_back(sync);
    if (fail_flushes) return Status::internal("injected flush failure");
    return inner.flush(sync);
  }
  void discard_staged() override {
    ++discards;
    inner.discard_staged();
  }
  Status health() const override { return health_status; }
  Status scan(std::string_view from, std::string_view to, const ScanFn& fn) override {
    if (fail_scans) return Status::internal("injected scan failure");
    return inner.scan(from, to, fn);
  }
  Status walk(std::string_view from, std::string_view to, const ScanFn& fn) override {
    if (fail_scans) return Status::internal("injected scan failure");
    return inner.walk(from, to, fn);
  }
  // How many committed rows start with `prefix` (read around the scan failures).
  size_t rows_under(const std::string& prefix) {
    size_t n = 0;
    Status s = inner.scan(prefix, "", [&](std::string_view k, std::string_view) {
      if (k.substr(0, prefix.size()) != prefix) return false;
      ++n;
      return true;
    });
    return s.is_ok() ? n : SIZE_MAX;
  }

  Store& inner;
  std::vector<bool> synced;  // each flush's sync argument, in order
  bool fail_scans = false;
  bool fail_flushes = false;
  int discards = 0;
  size_t gets = 0;  // point reads asked
  Status health_status;
};

// A RecordingStore over a LevelDB in memory (leveldb's MemEnv).
struct MemStore {
  std::unique_ptr<leveldb::Env> mem{leveldb::NewMemEnv(leveldb::Env::Default())};
  std::unique_ptr<store::LevelDbStore> db = store::LevelDbStore::open("/db", mem.get()).value();
  RecordingStore store{*db};
};

// A clock that stands still at 1,000 ms.
struct FixedClock final : Clock {
  uint64_t now_ms() override { return 1'000; }
  uint64_t wall_ms() override { return 1'000; }
};

}  // namespace shoal::core::testing
