// Turn over a real LevelDB in memory: a commit fsyncs only when a durable write asked
// for it, a failed write fails the whole commit (nothing may be acknowledged) and the
// next turn starts clean.
#include "node/core/turn.h"

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <catch2/catch.hpp>
#include <memory>

#include "node/store/leveldb_store.h"
#include "recording_store.h"

namespace shoal::core {
namespace {

struct Fixture {
  std::unique_ptr<leveldb::Env> mem{leveldb::NewMemEnv(leveldb::Env::Default())};
  std::unique_ptr<store::LevelDbStore> db = store::LevelDbStore::open("/db", mem.get()).value();
  testing::RecordingStore store{*db};
  Turn turn;
};

TEST_CASE("a turn fsyncs only when a durable write asked, and only if fsync is allowed", "[turn]") {
  Fixture f;
  f.store.put("a", "1");
  f.turn.need_sync(false);
  CHECK(f.turn.commit(f.store, true).is_ok());
  f.store.put("b", "2");
  f.turn.need_sync();
  CHECK(f.turn.commit(f.store, true).is_ok());
  f.turn.need_sync();
  CHECK(f.turn.commit(f.store, false).is_ok());  // the never-fsync fault point
  CHECK(f.store.synced == std::vector<bool>{false, true, false});
  CHECK(f.store.get("b").value() == std::optional<std::string>("2"));
}

TEST_CASE("a failed write fails its turn's commit, the first failure wins, the next is clean",
          "[turn]") {
  Fixture f;
  f.store.put("a", "1");
  f.turn.fail(Status::internal("could not list the old rows"));
  f.turn.fail(Status::timeout("second"));
  Status s = f.turn.commit(f.store, true);
  CHECK(s.code() == Code::kInternal);
  CHECK(s.message() == "could not list the old rows");
  CHECK(f.turn.commit(f.store, true).is_ok());
}

TEST_CASE("a commit the store refuses discards the turn's writes instead of keeping them",
          "[turn]") {
  Fixture f;
  f.store.put("kept", "1");
  CHECK(f.turn.commit(f.store, true).is_ok());
  f.store.put("refused", "2");
  f.store.fail_flushes = true;
  CHECK_FALSE(f.turn.commit(f.store, true).is_ok());
  CHECK(f.store.discards == 1);
  CHECK_FALSE(f.store.has_staged());  // nothing refused stays in memory to be retried
  f.store.fail_flushes = false;
  CHECK(f.turn.commit(f.store, true).is_ok());
  CHECK(f.store.get("kept").value() == std::optional<std::string>("1"));
  CHECK_FALSE(f.store.get("refused").value().has_value());
}

}  // namespace
}  // namespace shoal::core
