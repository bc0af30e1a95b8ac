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
  std::unique_ptr<ObjectStore> objects(size_t filter_bytes, size_t whole_set_max_members = 4096) {
    return std::make_unique<ObjectStore>(
        store, turn, clock, 0, whole_set_max_members, 8, [](uint64_t) {}, filter_bytes);
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
  // A lost turn leaves the filter as it is (it holds more than the store, never less);
  // a store repaired or reopened behind the node restarts it (Node::on_store_reset).
  restarted->forget_cache();
  CHECK(restarted->key_filter().built());
  restarted->key_filter().restart();
  CHECK_FALSE(restarted->key_filter().built());
}

// A save of a cached key does not add it again (ObjectStore::save): the cache only holds
// keys the filter holds, so one the cache lets go is still found in the store.
TEST_CASE("a key saved while cached stays known to the filter", "[key_filter]") {
  Fixture f;
  ObjectStore objects(
      f.store, f.turn, f.clock, 1 << 20, 4096, 8, [](uint64_t) {}, 4096);
  objects.build_key_filter(100);
  REQUIRE(objects.key_filter().built());
  for (int i = 0; i < 50; ++i) {
    const std::string key = "k" + std::to_string(i);
    objects.save("b", key, counter(1), ObjectStore::Rows{.absent = true}, false);
    if (i % 2 == 0) continue;
    auto cached = objects.writable("b", key).value();  // found in the cache, saved again
    REQUIRE(cached != nullptr);
    objects.save("b", key, std::move(cached), ObjectStore::Rows{}, false);
  }
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  objects.forget_cache();
  f.store.gets = 0;
  for (int i = 0; i < 50; ++i) {
    CHECK(objects.load("b", "k" + std::to_string(i)).value() != nullptr);
  }
  CHECK(f.store.gets == 50);
}

// A store whose walk passes over some rows without showing them (an unreadable block) and
// reports it only at the end, as LevelDB's iterator does.
struct HidingStore final : Store {
  explicit HidingStore(Store& s) : inner(s) {}
  Result<std::optional<std::string>> get(std::string_view k) override { return inner.get(k); }
  void put(std::string_view k, std::string_view v) override { inner.put(k, v); }
  void erase(std::string_view k) override { inner.erase(k); }
  bool has_staged() const override { return inner.has_staged(); }
  Status flush(bool sync) override { return inner.flush(sync); }
  void discard_staged() override { inner.discard_staged(); }
  Status scan(std::string_view from, std::string_view to, const ScanFn& fn) override {
    return inner.scan(from, to, fn);
  }
  Status walk(std::string_view from, std::string_view to, const ScanFn& fn) override {
    if (!hide) return inner.walk(from, to, fn);
    size_t row = 0;
    Status s = inner.walk(from, to, [&](std::string_view k, std::string_view v) {
      return ++row <= 3 || fn(k, v);  // the first three rows are in the bad block
    });
    return s.is_ok() ? Status::corruption("a block could not be read") : s;
  }
  Store& inner;
  bool hide = true;
};

TEST_CASE("a walk that failed goes on from where it was, not past what it could not read",
          "[key_filter]") {
  Fixture f;
  auto writer = f.objects(0);
  for (int i = 0; i < 20; ++i) {
    writer->save("b", "k" + std::to_string(i), counter(i), ObjectStore::Rows{}, false);
  }
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  HidingStore hiding(f.store);
  KeyFilter filter(4096);
  CHECK_FALSE(filter.build_step(hiding, 10).is_ok());
  CHECK_FALSE(filter.built());
  hiding.hide = false;  // repaired
  while (!filter.built()) REQUIRE(filter.build_step(hiding, 10).is_ok());
  for (int i = 0; i < 20; ++i) CHECK(filter.may_hold(ring::key_hash("b", "k" + std::to_string(i))));
}

std::shared_ptr<Object> set_of(int members, const std::string& prefix = "m") {
  crdt::ORSet set;
  for (int i = 0; i < members; ++i) set.add(1, prefix + std::to_string(i));
  return std::make_shared<Object>(std::move(set));
}

TEST_CASE("a walk adds a big set's members and passes over a key's many records", "[key_filter]") {
  Fixture f;
  auto writer = f.objects(0);
  writer->save("s", "big", set_of(1000), ObjectStore::Rows{.all = true}, false);
  writer->save("s", "small", counter(1), ObjectStore::Rows{}, false);
  // A set of 20 members with 5,000 operation records, as rows (the walk reads no value):
  // its records sort between its head and its members.
  const uint64_t hash = ring::key_hash("s", "logged");
  writer->save("s", "logged", set_of(20, "x"), ObjectStore::Rows{.all = true}, false);
  for (uint64_t op = 1; op <= 5000; ++op)
    f.store.put(op_row_key(op_prefix(hash, "s", "logged"), op), "r");
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  REQUIRE(f.store.rows_under(std::string(1, kDataPrefix)) > 6000);
  KeyFilter filter(1 << 16);
  // Every head and member row is read, a key's records past its 64th are not (the run
  // goes on across steps): 1,087 rows, 11 steps of 100.
  int steps = 0;
  while (!filter.built()) {
    REQUIRE(filter.build_step(f.store, 100).is_ok());
    REQUIRE(++steps <= 11);
  }
  CHECK(steps == 11);
  CHECK(filter.may_hold(ring::key_hash("s", "big")));
  CHECK(filter.may_hold(ring::key_hash("s", "small")));
  CHECK(filter.may_hold(hash));
  for (int i = 0; i < 20; ++i) {
    CHECK(filter.may_hold_row(element_prefix(hash, "s", "logged") + "x" + std::to_string(i)));
  }
  const std::string prefix = element_prefix(ring::key_hash("s", "big"), "s", "big");
  size_t maybe = 0;
  for (int i = 0; i < 1000; ++i) {
    CHECK(filter.may_hold_row(prefix + "m" + std::to_string(i)));
    maybe += filter.may_hold_row(prefix + "new" + std::to_string(i));
  }
  CHECK(maybe < 50);
  // A byte budget smaller than one row still reads one row a step.
  KeyFilter slow(4096);
  REQUIRE(slow.build_step(f.store, 100, 1).is_ok());
  CHECK_FALSE(slow.built());
}

TEST_CASE("a walk's run of one key's records goes on across steps", "[key_filter]") {
  Fixture f;
  auto writer = f.objects(0);
  const uint64_t hash = ring::key_hash("s", "logged");
  writer->save("s", "logged", counter(1), ObjectStore::Rows{}, false);
  for (uint64_t op = 1; op <= 5000; ++op)
    f.store.put(op_row_key(op_prefix(hash, "s", "logged"), op), "r");
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  KeyFilter filter(4096);
  // The head and 64 records, then a seek past the rest: 65 rows, two steps of 50 (a run
  // counted afresh each step would never reach 64, and read all 5,000).
  int steps = 0;
  while (!filter.built()) {
    REQUIRE(filter.build_step(f.store, 50).is_ok());
    REQUIRE(++steps <= 2);
  }
  CHECK(filter.may_hold(hash));
}

TEST_CASE("a member saved after the filter was built is found in the store", "[key_filter]") {
  Fixture f;
  auto objects = f.objects(4096, 8);
  objects->build_key_filter(1000);
  REQUIRE(objects->key_filter().built());
  objects->save("s", "big", set_of(100), ObjectStore::Rows{.all = true}, false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  (void)objects->part("s", "big", {"m1"}, {}, false);  // learns the set is big
  auto part = objects->part("s", "big", {"m7"}, {}, true);
  REQUIRE(part.is_ok());
  REQUIRE(part->partial);
  CHECK(part->object->as<crdt::ORSet>()->contains("m7"));
}

TEST_CASE("a walk in a turn whose writes were discarded starts again", "[key_filter]") {
  Fixture f;
  auto writer = f.objects(0);
  for (int i = 0; i < 5; ++i) {
    writer->save("b", "k" + std::to_string(i), counter(i), ObjectStore::Rows{}, false);
  }
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  auto objects = f.objects(4096);
  // A turn erases k3 and walks the whole store (the walk shows the staged erase), then
  // its commit fails and the erase is dropped: k3 is on disk, unseen by the walk.
  const uint64_t k3 = ring::key_hash("b", "k3");
  f.store.erase(data_key(k3, "b", "k3"));
  objects->build_key_filter(1000);
  REQUIRE(objects->key_filter().built());
  CHECK_FALSE(objects->key_filter().may_hold(k3));
  f.store.fail_flushes = true;
  REQUIRE_FALSE(f.turn.commit(f.store, false).is_ok());
  f.store.fail_flushes = false;
  objects->end_turn(f.turn.discarded());
  CHECK_FALSE(objects->key_filter().built());
  objects->build_key_filter(1000);
  REQUIRE(objects->key_filter().built());
  CHECK(objects->load("b", "k3").value() != nullptr);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  objects->end_turn(f.turn.discarded());
  // A turn that walked nothing leaves a built filter as it is, discarded or not.
  objects->build_key_filter(1000);  // built: no step
  f.store.fail_flushes = true;
  REQUIRE_FALSE(f.turn.commit(f.store, false).is_ok());
  objects->end_turn(f.turn.discarded());
  CHECK(objects->key_filter().built());
}

TEST_CASE("a big set's new member is added without a search of the store", "[key_filter]") {
  Fixture f;
  auto writer = f.objects(0);
  writer->save("s", "big", set_of(100), ObjectStore::Rows{.all = true}, false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  // A node starting on this disk, big sets loaded in part (more than 8 members).
  auto objects = f.objects(4096, 8);
  objects->build_key_filter(1000);
  REQUIRE(objects->key_filter().built());
  (void)objects->part("s", "big", {"m1"}, {}, false);  // learns the set is big
  f.store.gets = 0;
  auto part = objects->part("s", "big", {"new", "m7"}, {}, true);
  REQUIRE(part.is_ok());
  REQUIRE(part->partial);
  CHECK(f.store.gets == 2);  // the head and m7's row; not the new member's
  CHECK(part->object->as<crdt::ORSet>()->contains("m7"));
  CHECK_FALSE(part->object->as<crdt::ORSet>()->contains("new"));
}

}  // namespace
}  // namespace shoal::core
