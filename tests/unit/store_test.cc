// LevelDbStore on LevelDB's in-memory Env and on real files; actor identity.
#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>

#include "node/core/identity.h"
#include "node/core/keys.h"
#include "node/store/leveldb_store.h"

namespace shoal::store {
namespace {

struct MemEnv {
  std::unique_ptr<leveldb::Env> env{leveldb::NewMemEnv(leveldb::Env::Default())};
};

TEST_CASE("store: staged writes are visible then committed by flush", "[store]") {
  MemEnv m;
  auto s = LevelDbStore::open("/db", m.env.get()).value();
  s->put("a", "1");
  s->put("b", "2");
  REQUIRE(s->has_staged());
  REQUIRE(s->get("a").value() == "1");
  s->erase("a");
  REQUIRE_FALSE(s->get("a").value().has_value());
  REQUIRE(s->flush(false).is_ok());
  REQUIRE_FALSE(s->has_staged());
  REQUIRE(s->get("b").value() == "2");
  REQUIRE_FALSE(s->get("a").value().has_value());
}

TEST_CASE("store: unflushed writes are lost on close flushed ones survive", "[store]") {
  MemEnv m;
  {
    auto s = LevelDbStore::open("/db", m.env.get()).value();
    s->put("kept", "yes");
    REQUIRE(s->flush(true).is_ok());
    s->put("lost", "never acknowledged");
  }
  auto s = LevelDbStore::open("/db", m.env.get()).value();
  REQUIRE(s->get("kept").value() == "yes");
  REQUIRE_FALSE(s->get("lost").value().has_value());
}

TEST_CASE("store: scan visits a half-open range in key order", "[store]") {
  MemEnv m;
  auto s = LevelDbStore::open("/db", m.env.get()).value();
  for (const char* k : {"c", "a", "e", "b", "d"}) s->put(k, k);
  std::vector<std::string> seen;
  REQUIRE(s->scan("b", "e", [&](std::string_view k, std::string_view) {
             seen.emplace_back(k);
             return true;
           }).is_ok());
  REQUIRE(seen == std::vector<std::string>{"b", "c", "d"});
  seen.clear();
  REQUIRE(s->scan("", "", [&](std::string_view k, std::string_view) {
             seen.emplace_back(k);
             return seen.size() < 2;
           }).is_ok());
  REQUIRE(seen == std::vector<std::string>{"a", "b"});
}

// The knobs reach LevelDB: 800 KB of compressible rows stay in the memtable under the
// default 4 MiB write buffer (no table yet); a 64 KiB buffer writes them out as tables,
// which snappy shrinks and --compression=none leaves whole (Debian builds LevelDB with snappy).
uint64_t table_bytes_after_writes(const Tuning& tuning) {
  MemEnv m;
  auto s = LevelDbStore::open("/db", m.env.get(), tuning).value();
  std::string row;
  for (int i = 0; row.size() < 4096; ++i) row += "compressible " + std::to_string(i % 8);
  for (int i = 0; i < 200; ++i) {
    s->put("row" + std::to_string(1000 + i), row);
    if (i % 10 == 9) REQUIRE(s->flush(false).is_ok());
  }
  REQUIRE(s->get("row1100").value() == row);
  return s->approximate_size();
}

TEST_CASE("store: the write buffer and compression reach LevelDB", "[store]") {
  CHECK(table_bytes_after_writes(Tuning{}) == 0);
  const uint64_t plain = table_bytes_after_writes(Tuning{64u << 10, 4u << 10, false});
  const uint64_t snappy = table_bytes_after_writes(Tuning{64u << 10, 4u << 10, true});
  CHECK(plain > 500'000);
  CHECK(snappy < plain / 4);
}

TEST_CASE("store: real LevelDB files in a directory reopen with their data", "[store]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("shoal-store-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto s = LevelDbStore::open(dir.string()).value();
    s->put("k", std::string(1000, 'x'));
    REQUIRE(s->flush(true).is_ok());
  }
  {
    auto s = LevelDbStore::open(dir.string()).value();
    REQUIRE(s->get("k").value() == std::string(1000, 'x'));
  }
  REQUIRE(std::filesystem::exists(dir / "CURRENT"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("identity: every start takes a new actor and never mints under the stored one again",
          "[store]") {
  MemEnv m;
  core::SeededRng rng(1);
  crdt::Actor first = 0, second = 0;
  {
    auto s = LevelDbStore::open("/node1", m.env.get()).value();
    first = core::new_incarnation(*s, rng).value();
    REQUIRE(first != 0);
  }
  {
    // A restart (or a restored copy of the directory) never mints under `first` again.
    auto s = LevelDbStore::open("/node1", m.env.get()).value();
    second = core::new_incarnation(*s, rng).value();
    REQUIRE(second != 0);
    REQUIRE(second != first);
    REQUIRE(s->get(core::meta_key("starts")).value()->size() == 8);
  }
  {
    // The injected bug of the simulator: the stored actor is reused.
    auto s = LevelDbStore::open("/node1", m.env.get()).value();
    REQUIRE(core::new_incarnation(*s, rng, /*bug_reuse_stored=*/true).value() == second);
  }
  auto wiped = LevelDbStore::open("/node1-wiped", m.env.get()).value();
  REQUIRE(core::new_incarnation(*wiped, rng).value() != first);
  // A corrupt identity record is reported, not replaced.
  wiped->put(core::meta_key("actor"), "short");
  REQUIRE(wiped->flush(false).is_ok());
  REQUIRE(core::new_incarnation(*wiped, rng).status().code() == Code::kCorruption);
}

}  // namespace
}  // namespace shoal::store
