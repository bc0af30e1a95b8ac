// StoreDoctor and LevelDbStore's faults over a real LevelDB in memory (memenv): a table
// damaged on "disk", a disk that refuses writes, a free-space floor.
#include "node/store/store_doctor.h"

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "node/store/leveldb_store.h"
#include "noise.h"

namespace shoal::store {
namespace {

// Writes fail with "No space left on device" while `full` is set.
class FullDiskEnv final : public leveldb::EnvWrapper {
 public:
  explicit FullDiskEnv(leveldb::Env* base) : leveldb::EnvWrapper(base) {}
  bool full = false;

  leveldb::Status NewWritableFile(const std::string& f, leveldb::WritableFile** r) override {
    if (full) return leveldb::Status::IOError(f, "No space left on device");
    leveldb::Status s = target()->NewWritableFile(f, r);
    if (s.ok()) *r = new File(*r, full);
    return s;
  }

 private:
  class File final : public leveldb::WritableFile {
   public:
    File(leveldb::WritableFile* inner, const bool& full) : inner_(inner), full_(full) {}
    ~File() override { delete inner_; }
    leveldb::Status Append(const leveldb::Slice& data) override {
      if (full_) return leveldb::Status::IOError("append", "No space left on device");
      return inner_->Append(data);
    }
    leveldb::Status Close() override { return inner_->Close(); }
    leveldb::Status Flush() override { return inner_->Flush(); }
    leveldb::Status Sync() override {
      if (full_) return leveldb::Status::IOError("sync", "No space left on device");
      return inner_->Sync();
    }

   private:
    leveldb::WritableFile* inner_;
    const bool& full_;
  };
};

struct World {
  std::unique_ptr<leveldb::Env> mem{leveldb::NewMemEnv(leveldb::Env::Default())};
  FullDiskEnv env{mem.get()};
};

using test::noise;

// Keys k0..k(n-1) in a table: written, then the store reopened (the log becomes a table).
void fill_table(World& w, int n) {
  {
    auto s = LevelDbStore::open("/db", &w.env).value();
    for (int i = 0; i < n; ++i) s->put("k" + std::to_string(i), noise(i, 1'000));
    REQUIRE(s->flush(true).is_ok());
  }
  REQUIRE(LevelDbStore::open("/db", &w.env).is_ok());  // recovers the log into a table
}

// Flips 32 bytes in the middle of every table of /db.
void damage_tables(World& w) {
  std::vector<std::string> names;
  REQUIRE(w.mem->GetChildren("/db", &names).ok());
  int damaged = 0;
  for (const std::string& name : names) {
    if (name.size() < 4 || name.substr(name.size() - 4) != ".ldb") continue;
    std::string bytes;
    REQUIRE(leveldb::ReadFileToString(w.mem.get(), "/db/" + name, &bytes).ok());
    for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 32; ++i) bytes[i] = ~bytes[i];
    REQUIRE(leveldb::WriteStringToFile(w.mem.get(), bytes, "/db/" + name).ok());
    ++damaged;
  }
  REQUIRE(damaged > 0);
}

TEST_CASE("store: a damaged block is a corruption error never a value and repair clears it",
          "[store][doctor]") {
  World w;
  constexpr int kKeys = 200;
  fill_table(w, kKeys);
  damage_tables(w);
  auto s = LevelDbStore::open("/db", &w.env).value();
  int errors = 0;
  for (int i = 0; i < kKeys; ++i) {
    auto got = s->get("k" + std::to_string(i));
    if (!got) {
      CHECK(got.status().code() == Code::kCorruption);
      ++errors;
      continue;
    }
    REQUIRE(got->has_value());
    CHECK(**got == noise(i, 1'000));  // never other bytes
  }
  CHECK(errors > 0);
  CHECK(s->fault().code() == Code::kCorruption);
  CHECK_FALSE(s->health().is_ok());

  StoreDoctor doctor(*s);
  const StoreDoctor::Outcome out = doctor.tick(0);
  CHECK(out.action == StoreDoctor::Action::kRepaired);
  CHECK(out.fault.code() == Code::kCorruption);
  CHECK(doctor.healthy());
  CHECK(doctor.counters().repairs == 1);
  std::vector<std::string> lost;
  CHECK(w.mem->GetChildren("/db/lost", &lost).ok());
  CHECK_FALSE(lost.empty());
  // What survived reads back intact; what the damaged block held is gone, not garbage.
  int kept = 0;
  for (int i = 0; i < kKeys; ++i) {
    auto got = s->get("k" + std::to_string(i));
    REQUIRE(got.is_ok());
    if (!got->has_value()) continue;
    CHECK(**got == noise(i, 1'000));
    ++kept;
  }
  CHECK(kept >= kKeys - errors * 8);
  CHECK(kept < kKeys);
  s->put("after", "repair");
  CHECK(s->flush(true).is_ok());
  CHECK(doctor.tick(1).action == StoreDoctor::Action::kNone);
}

TEST_CASE(
    "store: a disk that refuses writes keeps reads working and is reopened when it takes "
    "them again",
    "[store][doctor]") {
  World w;
  auto s = LevelDbStore::open("/db", &w.env).value();
  s->put("old", "value");
  REQUIRE(s->flush(true).is_ok());
  StoreDoctor doctor(*s);

  w.env.full = true;
  s->put("new", "value");
  CHECK_FALSE(s->flush(true).is_ok());
  s->discard_staged();
  CHECK_FALSE(s->has_staged());
  CHECK_FALSE(s->health().is_ok());

  // The first treatment is at once; it fails while the disk is full, and the open
  // database stays open for reads.
  StoreDoctor::Outcome out = doctor.tick(1'000);
  CHECK(out.action == StoreDoctor::Action::kFailed);
  CHECK(s->get("old").value() == "value");
  // Retries back off: 1 s, then 2 s.
  CHECK(doctor.tick(1'999).action == StoreDoctor::Action::kNone);
  CHECK(doctor.tick(2'000).action == StoreDoctor::Action::kFailed);
  CHECK(doctor.tick(3'999).action == StoreDoctor::Action::kNone);
  CHECK(doctor.counters().failed == 2);

  w.env.full = false;  // space is back
  out = doctor.tick(4'000);
  CHECK(out.action == StoreDoctor::Action::kReopened);
  CHECK(doctor.healthy());
  CHECK(s->health().is_ok());
  CHECK(s->get("old").value() == "value");
  CHECK_FALSE(s->get("new").value().has_value());  // refused, and not retried
  s->put("new", "value");
  CHECK(s->flush(true).is_ok());
  CHECK(doctor.counters().faults == 1);
  CHECK(doctor.counters().reopens == 1);

  // A disk that fails again soon after (flapping) is not reopened at once again: the
  // back-off goes on (each reopen costs the node its caches and its actor).
  w.env.full = true;
  s->put("flap", "1");
  CHECK_FALSE(s->flush(true).is_ok());
  s->discard_staged();
  w.env.full = false;
  CHECK(doctor.tick(4'100).action == StoreDoctor::Action::kNone);
  CHECK(doctor.tick(12'100).action == StoreDoctor::Action::kReopened);
  CHECK(doctor.counters().faults == 2);
}

TEST_CASE("store: below the free-space floor writes are refused until space returns",
          "[store][doctor]") {
  World w;
  auto s = LevelDbStore::open("/db", &w.env).value();
  uint64_t free_bytes = 500u << 20;
  StoreDoctor doctor(*s, 100u << 20, [&] { return Result<uint64_t>(free_bytes); });
  CHECK(doctor.check_space(0) == StoreDoctor::Space::kSame);
  CHECK(s->health().is_ok());

  free_bytes = 50u << 20;
  CHECK(doctor.check_space(500) == StoreDoctor::Space::kSame);  // checked once a second
  CHECK(doctor.check_space(1'000) == StoreDoctor::Space::kLow);
  CHECK(s->health().code() == Code::kUnavailable);
  CHECK(s->health().message().find("disk full") != std::string::npos);
  CHECK(doctor.healthy());  // no fault: LevelDB itself is fine
  CHECK(s->get("x").is_ok());
  CHECK(doctor.check_space(2'000) == StoreDoctor::Space::kSame);  // logged once

  free_bytes = 200u << 20;
  CHECK(doctor.check_space(3'000) == StoreDoctor::Space::kRecovered);
  CHECK(s->health().is_ok());
}

TEST_CASE(
    "store: a damaged write-ahead log fails the open with how to repair and repair_dir "
    "keeps its intact records only",
    "[store][doctor]") {
  World w;
  {
    auto s = LevelDbStore::open("/db", &w.env).value();
    for (int i = 0; i < 100; ++i) {  // ten batches: ten log records
      s->put("k" + std::to_string(i), noise(i, 1'000));
      if (i % 10 == 9) REQUIRE(s->flush(true).is_ok());
    }
  }
  std::vector<std::string> names;
  REQUIRE(w.mem->GetChildren("/db", &names).ok());
  std::string log;
  for (const std::string& n : names) {
    if (n.size() > 4 && n.substr(n.size() - 4) == ".log") log = "/db/" + n;
  }
  REQUIRE(!log.empty());
  std::string bytes;
  REQUIRE(leveldb::ReadFileToString(w.mem.get(), log, &bytes).ok());
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 32; ++i) bytes[i] = ~bytes[i];
  REQUIRE(leveldb::WriteStringToFile(w.mem.get(), bytes, log).ok());

  auto opened = LevelDbStore::open("/db", &w.env);
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == Code::kCorruption);
  CHECK(opened.status().message().find("shoald --repair --data-dir /db") != std::string::npos);

  REQUIRE(LevelDbStore::repair_dir("/db", &w.env).is_ok());
  auto s = LevelDbStore::open("/db", &w.env).value();
  int kept = 0;
  for (int i = 0; i < 100; ++i) {
    auto got = s->get("k" + std::to_string(i));
    REQUIRE(got.is_ok());
    if (!got->has_value()) continue;
    CHECK(**got == noise(i, 1'000));  // RepairDB alone would bring back the damaged record
    ++kept;
  }
  CHECK(kept > 0);
  CHECK(kept < 100);
}

TEST_CASE(
    "store: a scan sees staged writes without committing them, so a turn commits whole or not at "
    "all",
    "[store][doctor]") {
  World w;
  auto s = LevelDbStore::open("/db", &w.env).value();
  s->put("a1", "old");
  s->put("a3", "gone");
  REQUIRE(s->flush(true).is_ok());
  // One turn: stages rows, scans them (as a set's load does), stages more, and fails.
  s->put("a0", "new");
  s->put("a1", "new");
  s->erase("a3");
  std::vector<std::string> seen;
  REQUIRE(s->scan("a", "b", [&](std::string_view k, std::string_view v) {
             seen.push_back(std::string(k) + "=" + std::string(v));
             if (k == "a0") s->put("a2", "staged-during-scan");  // not visited
             return true;
           }).is_ok());
  CHECK(seen == std::vector<std::string>{"a0=new", "a1=new"});
  w.env.full = true;
  s->put("a4", "last");
  CHECK_FALSE(s->flush(true).is_ok());
  s->discard_staged();
  w.env.full = false;
  REQUIRE(s->reopen().is_ok());
  // Nothing of the failed turn is on disk: the scan committed none of it.
  CHECK(s->get("a0").value() == std::nullopt);
  CHECK(s->get("a1").value() == "old");
  CHECK(s->get("a3").value() == "gone");
  seen.clear();
  REQUIRE(s->scan("a", "", [&](std::string_view k, std::string_view) {
             seen.emplace_back(k);
             return k != "a1";  // stops early
           }).is_ok());
  CHECK(seen == std::vector<std::string>{"a1"});
}

TEST_CASE("store: repair_dir refuses a directory an open store holds", "[store][doctor]") {
  const std::string dir = std::filesystem::temp_directory_path() / "shoal-repair-lock-test";
  std::filesystem::remove_all(dir);
  {
    auto s = LevelDbStore::open(dir).value();  // real files: LevelDB's lock is fcntl
    const Status refused = LevelDbStore::repair_dir(dir).status();
    CHECK_FALSE(refused.is_ok());
    CHECK(refused.message().find("locked") != std::string::npos);
    s->put("still", "here");
    CHECK(s->flush(true).is_ok());
  }
  CHECK(LevelDbStore::repair_dir(dir).is_ok());
  CHECK(LevelDbStore::open(dir).value()->get("still").value() == "here");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shoal::store
