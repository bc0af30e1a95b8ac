// KeyFilter (node/core/key_filter.h): never forgets a key, rarely answers "maybe" for
// others, is trusted only after its walk of the store found every key on disk; and the
// ObjectStore reads of keys it never heard of skip the store. Over a real LevelDB in
// memory.
#include "node/core/key_filter.h"

#include <catch2/catch.hpp>
#include <memory>

#include "crdt/prng.h"
#include "node/core/object_store.h"
#include "recording_store.h"
#include "ring/ring.h"

namespace shoal::core {
namespace {

struct Fixture : testing::MemStore {
  testing::FixedClock clock;
  Turn turn;
  // An ObjectStore over the same rows, as a node starting on this disk has it.
  std::unique_ptr<ObjectStore> objects(size_t filter_bytes) {
    return std::make_unique<ObjectStore>(
        store, turn, clock, 0, 4096, 8, [](uint64_t) {}, filter_bytes);
  }
};

std::shared_ptr<Object> counter(int64_t v) {
  crdt::PNCounter c;
  return std::make_shared<Object>(*c.add(1, v));
}

TEST_CASE("the key filter never forgets a key and rarely says maybe for others", "[key_filter]") {
  Fixture f;
  KeyFilter filter(size_t{1} << 20);               // 8 Mbit for 800,000 keys: 10 bits each
  REQUIRE(filter.build_step(f.store, 1).is_ok());  // an empty store: built at once
  REQUIRE(filter.built());
  Prng rng(7);
  std::vector<uint64_t> added(800'000);
  for (uint64_t& h : added) filter.add(h = rng.next());
  for (uint64_t h : added) REQUIRE(filter.may_hold(h));
  size_t maybe = 0;
  for (int i = 0; i < 800'000; ++i) maybe += filter.may_hold(rng.next());
  INFO(maybe << " of 800000 never added answered maybe");
  CHECK(maybe < 800'000 * 3 / 100);
  CHECK(filter.spared() == 800'000 - maybe);
}

TEST_CASE("the key filter is trusted only after its walk found every key on disk", "[key_filter]") {
  Fixture f;
  auto writer = f.objects(0);
  for (int i = 0; i < 50; ++i) {
    writer->save("b", "k" + std::to_string(i), counter(i), ObjectStore::Rows{}, false);
  }
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  KeyFilter filter(4096);
  CHECK(filter.may_hold(ring::key_hash("b", "absent")));  // unbuilt: maybe, for any key
  int steps = 0;
  while (!filter.built()) {
    REQUIRE(filter.build_step(f.store, 7).is_ok());
    REQUIRE(++steps <= 8);  // 50 rows, 7 a step: the eighth step reaches the end
  }
  CHECK(steps == 8);
  for (int i = 0; i < 50; ++i) CHECK(filter.may_hold(ring::key_hash("b", "k" + std::to_string(i))));
  size_t maybe = 0;
  for (int i = 0; i < 1000; ++i)
    maybe += filter.may_hold(ring::key_hash("b", "x" + std::to_string(i)));
  CHECK(maybe < 100);

  SECTION("a failed scan leaves it unbuilt; the walk goes on") {
    KeyFilter again(4096);
    f.store.fail_scans = true;
    CHECK_FALSE(again.build_step(f.store, 100).is_ok());
    CHECK_FALSE(again.built());
    f.store.fail_scans = false;
    REQUIRE(again.build_step(f.store, 100).is_ok());
    CHECK(again.built());
  }
  SECTION("restart forgets everything and walks again") {
    filter.restart();
    CHECK_FALSE(filter.built());
    CHECK(filter.may_hold(ring::key_hash("b", "x0")));
    REQUIRE(filter.build_step(f.store, 100).is_ok());
    CHECK(filter.built());
    CHECK(filter.may_hold(ring::key_hash("b", "k49")));
  }
  SECTION("disabled, it is never built and says maybe for every key") {
    KeyFilter off(0);
    REQUIRE(off.build_step(f.store, 100).is_ok());
    CHECK_FALSE(off.built());
    CHECK(off.may_hold(ring::key_hash("b", "x0")));
  }
}

TEST_CASE("the key filter's walk passes over a data row too short to name a key", "[key_filter]") {
  Fixture f;
  f.store.put(std::string(1, kDataPrefix) + "\x01", "junk");  // a damaged store's row
  f.store.put(data_key(ring::key_hash("b", "k"), "b", "k"), "not decoded by the walk");
  REQUIRE(f.store.flush(false).is_ok());
  KeyFilter filter(4096);
  REQUIRE(filter.build_step(f.store, 100).is_ok());
  CHECK(filter.built());
  CHECK(filter.may_hold(ring::key_hash("b", "k")));
}

TEST_CASE("an object store reads no key its built filter never heard of", "[key_filter]") {
  Fixture f;
  auto first = f.objects(4096);
  first->build_key_filter(100);
  REQUIRE(first->key_filter().built());
  first->save("b", "k", counter(5), ObjectStore::Rows{.absent = true}, false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  // A node starting on this disk: until its walk is done it asks the store for any key.
  auto restarted = f.objects(4096);
  f.store.gets = 0;
  REQUIRE(restarted->load("b", "k").value() != nullptr);
  CHECK(restarted->load("b", "never").value() == nullptr);
  CHECK(f.store.gets == 2);
  restarted->build_key_filter(100);
  REQUIRE(restarted->key_filter().built());
  f.store.gets = 0;
  size_t read = 0;
  for (int i = 0; i < 100; ++i) {
    CHECK(restarted->load("b", "new" + std::to_string(i)).value() == nullptr);
    read += f.store.gets;
    f.store.gets = 0;
  }
  CHECK(read < 10);  // only the filter's false positives reach the store
  CHECK(restarted->load("b", "k").value()->as<crdt::PNCounter>()->read() == 5);
  // A save adds its key at once: the store is asked for it again.
  restarted->save("b", "new0", counter(1), ObjectStore::Rows{.absent = true}, false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  CHECK(restarted->load("b", "new0").value() != nullptr);
  // The store changed behind the node (forget_cache): trusted again only after a walk.
  restarted->forget_cache();
  CHECK_FALSE(restarted->key_filter().built());
}

}  // namespace
}  // namespace shoal::core
