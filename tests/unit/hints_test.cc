// Hints through their public interface, over a real LevelDB in memory: one joined row
// per (target, key), the per-target bound, counting rows after a restart, delivery only
// of an unchanged hint, and counts that stay unknown while scans fail.
#include "node/core/hints.h"

#include <catch2/catch.hpp>
#include <memory>

#include "recording_store.h"

namespace shoal::core {
namespace {

struct Fixture : testing::MemStore {
  Turn turn;
  testing::FixedClock clock;
  ObjectStore objects{store, turn, clock, 1 << 20, 4096, 1024, [](uint64_t) {}};
  Hints hints{store, turn, objects, /*max_per_target=*/2};
};

Object add(int64_t n, crdt::Actor actor = 7) { return Object(*crdt::PNCounter().add(actor, n)); }

int64_t value(const ObjectPtr& o) { return o->as<crdt::PNCounter>()->read(); }

TEST_CASE("a target's updates of one key join into one hint", "[hints]") {
  Fixture f;
  REQUIRE(f.hints.store("n3", "b", "k", add(2), true, 1'000).is_ok());
  REQUIRE(f.hints.store("n3", "b", "k", add(5, 8), true, 2'000).is_ok());
  CHECK(f.hints.held() == 1);
  CHECK(value(f.hints.load("n3", "b", "k").value()) == 7);
  CHECK(f.hints.load("n2", "b", "k").value() == nullptr);
  std::vector<Hints::Row> rows;
  REQUIRE(f.hints
              .scan("n3",
                    [&](std::string_view k, std::string_view v) {
                      rows.push_back(Hints::read_row(k, v));
                      return true;
                    })
              .is_ok());
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].key->key == "k");
  CHECK(rows[0].first_ms == 1'000);  // stamped by the first update
}

TEST_CASE("a fallback refuses a new hint beyond the per-target bound", "[hints]") {
  Fixture f;
  REQUIRE(f.hints.store("n3", "b", "k1", add(1), false, 1).is_ok());
  REQUIRE(f.hints.store("n3", "b", "k2", add(1), false, 1).is_ok());
  Status full = f.hints.store("n3", "b", "k3", add(1), false, 1);
  CHECK(full.code() == Code::kOverloaded);
  CHECK(f.hints.store("n3", "b", "k1", add(1, 9), false, 1).is_ok());  // joins: no new row
  CHECK(f.hints.store("n4", "b", "k3", add(1), false, 1).is_ok());     // another target
  CHECK(f.hints.by_target().at("n3") == 2);
}

TEST_CASE("a delivered hint is dropped only if it did not change since it was sent", "[hints]") {
  Fixture f;
  REQUIRE(f.hints.store("n3", "b", "k", add(1), true, 1).is_ok());
  std::string key, sent;
  REQUIRE(f.hints
              .scan("n3",
                    [&](std::string_view k, std::string_view v) {
                      key = k;
                      sent = v;
                      return false;
                    })
              .is_ok());
  REQUIRE(f.hints.store("n3", "b", "k", add(1, 9), true, 2).is_ok());  // changed meanwhile
  f.hints.delivered(key, sent, "n3");
  CHECK(f.hints.held() == 1);
  CHECK(f.hints.replayed() == 0);
  f.hints.delivered(key, f.store.get(key).value().value(), "n3");
  CHECK(f.hints.held() == 0);
  CHECK(f.hints.replayed() == 1);
  CHECK(f.hints.load("n3", "b", "k").value() == nullptr);
}

TEST_CASE("counts come from the rows, and stay unknown while the scan fails", "[hints]") {
  Fixture f;
  REQUIRE(f.hints.store("n3", "b", "k1", add(1), true, 1).is_ok());
  REQUIRE(f.hints.store("n4", "b", "k1", add(1), true, 1).is_ok());
  REQUIRE(f.turn.commit(f.store, true).is_ok());
  Hints restarted{f.store, f.turn, f.objects, 2};
  CHECK_FALSE(restarted.counts_known());
  f.store.fail_scans = true;
  restarted.count();
  CHECK_FALSE(restarted.counts_known());
  CHECK(f.objects.scan_failures() == 1);
  f.store.fail_scans = false;
  restarted.count();
  REQUIRE(restarted.counts_known());
  CHECK(restarted.by_target() == std::map<ring::NodeId, uint64_t>{{"n3", 1}, {"n4", 1}});
  std::string key;
  REQUIRE(restarted
              .scan("n4",
                    [&](std::string_view k, std::string_view) {
                      key = k;
                      return true;
                    })
              .is_ok());
  restarted.drop(key, "n4");
  CHECK(restarted.held() == 1);
}

}  // namespace
}  // namespace shoal::core
