// LevelDbStore::repair_dir over a real LevelDB in memory (memenv): a repair never leaves
// an object with part of its rows (damage.h). The objects are stored as the node stores
// them (node/core/keys.h): a set is a head row and element rows sharing its key's hash.
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "node/core/keys.h"
#include "node/core/object.h"
#include "node/store/leveldb_store.h"
#include "noise.h"

namespace shoal::store {
namespace {

constexpr int kObjects = 200;
constexpr int kMembers = 20;

uint64_t hash_of(int i) {
  return (uint64_t{0xff'ffff'ffff'ffff} / kObjects) * static_cast<uint64_t>(i) << 8;
}
std::string head_key(int i) { return core::data_key(hash_of(i), "b", "o" + std::to_string(i)); }
std::string member_key(int i, int m) {
  return core::element_prefix(hash_of(i), "b", "o" + std::to_string(i)) + "m" + std::to_string(m);
}
bool is_set(int i) { return i % 2 == 0; }  // odd ones are single-row registers

using test::noise;

std::string head_value(int i) {
  // A set head says it has element rows; a register is one row (Object::encode_stored).
  return is_set(i) ? core::Object(core::DataType::kSet).encode_stored()
                   : core::Object().encode_stored();
}

struct World {
  std::unique_ptr<leveldb::Env> mem{leveldb::NewMemEnv(leveldb::Env::Default())};
};

// Every object written, each in its own batch (one log record), then the log made a
// table by reopening.
void fill(World& w) {
  {
    auto s = LevelDbStore::open("/db", w.mem.get()).value();
    for (int i = 0; i < kObjects; ++i) {
      s->put(head_key(i), head_value(i));
      if (is_set(i)) {
        for (int m = 0; m < kMembers; ++m) s->put(member_key(i, m), noise(i * 100 + m, 100));
      }
      REQUIRE(s->flush(true).is_ok());
    }
  }
}

std::string only_file(World& w, const std::string& suffix) {
  std::vector<std::string> names;
  REQUIRE(w.mem->GetChildren("/db", &names).ok());
  std::string found;
  for (const std::string& n : names) {
    if (n.size() > suffix.size() && n.substr(n.size() - suffix.size()) == suffix) {
      REQUIRE(found.empty());
      found = "/db/" + n;
    }
  }
  REQUIRE(!found.empty());
  return found;
}

void flip(World& w, const std::string& path, size_t at, size_t len) {
  std::string bytes;
  REQUIRE(leveldb::ReadFileToString(w.mem.get(), path, &bytes).ok());
  REQUIRE(at + len < bytes.size());
  for (size_t i = at; i < at + len; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  REQUIRE(leveldb::WriteStringToFile(w.mem.get(), bytes, path).ok());
}

struct Census {
  int whole = 0, absent = 0, partial = 0;
};

// Each object is whole (its head and every member, bytes intact), absent, or partial.
Census census(World& w) {
  auto s = LevelDbStore::open("/db", w.mem.get()).value();
  Census c;
  for (int i = 0; i < kObjects; ++i) {
    auto head = s->get(head_key(i)).value();
    int members = 0;
    for (int m = 0; is_set(i) && m < kMembers; ++m) {
      auto got = s->get(member_key(i, m)).value();
      if (!got) continue;
      CHECK(*got == noise(i * 100 + m, 100));
      ++members;
    }
    if (head && *head == head_value(i) && members == (is_set(i) ? kMembers : 0)) {
      ++c.whole;
    } else if (!head && members == 0) {
      ++c.absent;
    } else {
      ++c.partial;
    }
  }
  return c;
}

TEST_CASE("repair: an intact store is repaired without erasing anything", "[store][repair]") {
  World w;
  fill(w);
  Result<RepairReport> r = LevelDbStore::repair_dir("/db", w.mem.get());
  REQUIRE(r.is_ok());
  CHECK(r->found.empty());
  CHECK(r->erased.objects == 0);
  CHECK(census(w).whole == kObjects);
}

TEST_CASE("repair: the objects a damaged table block held rows of are erased whole, no other",
          "[store][repair]") {
  for (const bool erase : {true, false}) {  // false: the injected bug "partial-repair"
    World w;
    fill(w);
    REQUIRE(LevelDbStore::open("/db", w.mem.get()).is_ok());  // the log becomes a table
    const std::string table = only_file(w, ".ldb");
    uint64_t size = 0;
    REQUIRE(w.mem->GetFileSize(table, &size).ok());
    flip(w, table, size / 3, 8);  // one data block
    Result<RepairReport> r = LevelDbStore::repair_dir("/db", w.mem.get(), erase);
    REQUIRE(r.is_ok());
    INFO(describe(*r));
    CHECK(r->found.size() == 1);
    CHECK_FALSE(r->unbounded);
    const Census c = census(w);
    if (!erase) {
      CHECK(c.partial > 0);  // what the check below catches
      continue;
    }
    CHECK(c.partial == 0);
    CHECK(c.absent > 0);
    CHECK(c.absent <= 8);  // one 4 KiB block holds ~30 rows: a few objects, no more
    CHECK(r->erased.objects >= 1);
    CHECK(c.whole + c.absent == kObjects);
  }
}

TEST_CASE("repair: a damaged log record erases every object stored in several rows",
          "[store][repair]") {
  World w;
  fill(w);  // 200 records in the log, each one object
  const std::string log = only_file(w, ".log");
  uint64_t size = 0;
  REQUIRE(w.mem->GetFileSize(log, &size).ok());
  flip(w, log, size / 2, 8);
  Result<RepairReport> r = LevelDbStore::repair_dir("/db", w.mem.get());
  REQUIRE(r.is_ok());
  INFO(describe(*r));
  CHECK(r->unbounded);  // the dropped record's keys cannot be known
  const Census c = census(w);
  CHECK(c.partial == 0);
  CHECK(c.whole > 0);  // registers outside the dropped records stay
  CHECK(c.whole < kObjects / 2);
  CHECK(c.absent >= kObjects / 2);  // every set
}

TEST_CASE("repair: a table that does not open at all is unbounded damage", "[store][repair]") {
  World w;
  fill(w);
  REQUIRE(LevelDbStore::open("/db", w.mem.get()).is_ok());
  const std::string table = only_file(w, ".ldb");
  uint64_t size = 0;
  REQUIRE(w.mem->GetFileSize(table, &size).ok());
  flip(w, table, size - 60, 4);  // the index block, just before the 48-byte footer
  Result<RepairReport> r = LevelDbStore::repair_dir("/db", w.mem.get());
  REQUIRE(r.is_ok());
  INFO(describe(*r));
  CHECK(r->unbounded);
  CHECK(census(w).partial == 0);
}

// Moves /db's log into /db/wal-recovery with the marker, as a repair does before it is
// cut short; `opened_apart` also recovers it there (a cut after that step).
void cut_short_repair(World& w, bool opened_apart) {
  const std::string log = only_file(w, ".log");
  const std::string wal = "/db/" + std::string(LevelDbStore::kWalRecoveryDir);
  REQUIRE(w.mem->CreateDir(wal).ok());
  REQUIRE(
      leveldb::WriteStringToFile(w.mem.get(), "", "/db/" + std::string(LevelDbStore::kRepairMarker))
          .ok());
  REQUIRE(w.mem->RenameFile(log, wal + log.substr(log.rfind('/'))).ok());
  if (!opened_apart) return;
  leveldb::Options o;
  o.env = w.mem.get();
  o.create_if_missing = true;
  leveldb::DB* db = nullptr;
  REQUIRE(leveldb::DB::Open(o, wal, &db).ok());
  delete db;
}

TEST_CASE(
    "repair: a repair cut short keeps the store closed until a repair finishes it, and "
    "nothing is lost",
    "[store][repair]") {
  for (const bool opened_apart : {false, true}) {
    World w;
    fill(w);  // every row is in the log only
    cut_short_repair(w, opened_apart);
    auto opened = LevelDbStore::open("/db", w.mem.get());
    REQUIRE_FALSE(opened.is_ok());
    CHECK(opened.status().code() == Code::kCorruption);
    CHECK(opened.status().message().find("cut short") != std::string::npos);
    Result<RepairReport> r = LevelDbStore::repair_dir("/db", w.mem.get());
    INFO("opened apart: " << opened_apart);
    REQUIRE(r.is_ok());
    CHECK(census(w).whole == kObjects);
  }
}

}  // namespace
}  // namespace shoal::store
