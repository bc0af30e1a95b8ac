// ObjectStore through its public interface, over a real LevelDB in memory: sets as a
// head row plus member rows, the cache and in-place writes, what a save asks of the
// turn, and failed scans (which must fail the turn or erase nothing).
#include "node/core/object_store.h"

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>

#include "crdt/prng.h"
#include "node/store/leveldb_store.h"
#include "recording_store.h"
#include "ring/ring.h"

namespace shoal::core {
namespace {

using testing::RecordingStore;

struct FakeClock final : Clock {
  uint64_t now = 1'000;
  uint64_t now_ms() override { return now; }
  uint64_t wall_ms() override { return now; }
};

constexpr uint32_t kSpanMembers = 8;

struct Fixture {
  FakeClock clock;
  std::unique_ptr<leveldb::Env> mem{leveldb::NewMemEnv(leveldb::Env::Default())};
  std::unique_ptr<store::LevelDbStore> db = store::LevelDbStore::open("/db", mem.get()).value();
  RecordingStore store{*db};
  Turn turn;
  std::vector<uint64_t> changed;
  std::unique_ptr<ObjectStore> objects = fresh();
  std::unique_ptr<ObjectStore> fresh() {  // a cold cache over the same rows
    return std::make_unique<ObjectStore>(store, turn, clock, 1 << 20, 4096, kSpanMembers,
                                         [this](uint64_t h) { changed.push_back(h); });
  }
};

std::shared_ptr<Object> set_of(std::initializer_list<const char*> elems) {
  crdt::ORSet s;
  for (const char* e : elems) s.add(1, e);
  return std::make_shared<Object>(std::move(s));
}

std::vector<std::string> members(const ObjectPtr& o) { return o->as<crdt::ORSet>()->read(); }

TEST_CASE("a set is stored as a head row and one row per member", "[object_store]") {
  Fixture f;
  f.objects->save("b", "k", set_of({"x", "y", "z"}), ObjectStore::Rows{.all = true}, true);
  REQUIRE(f.turn.commit(f.store, true).is_ok());
  CHECK(f.store.synced == std::vector<bool>{true});  // a durable save asks for an fsync
  CHECK(f.changed == std::vector<uint64_t>{ring::key_hash("b", "k")});
  const uint64_t hash = ring::key_hash("b", "k");
  CHECK(f.store.rows_under(element_prefix(hash, "b", "k")) == 3);
  auto cold = f.fresh();
  Result<ObjectPtr> back = cold->load("b", "k");
  REQUIRE(back);
  REQUIRE(*back);
  CHECK(members(*back) == std::vector<std::string>{"x", "y", "z"});
  CHECK(**back == *set_of({"x", "y", "z"}));
  Result<ObjectPtr> none = cold->load("b", "absent");
  REQUIRE(none);
  CHECK(*none == nullptr);
}

TEST_CASE("a save rewrites only the members it names", "[object_store]") {
  Fixture f;
  f.objects->save("b", "k", set_of({"x", "y"}), ObjectStore::Rows{.all = true}, false);
  std::shared_ptr<Object> o = f.objects->writable("b", "k").value();
  crdt::ORSet::Touched touched;
  o->as<crdt::ORSet>()->add(1, "w", &touched);
  CHECK(touched == crdt::ORSet::Touched{"w"});
  f.objects->save("b", "k", o, ObjectStore::Rows{.elements = &touched}, false);
  REQUIRE(f.turn.commit(f.store, true).is_ok());
  CHECK(f.store.synced == std::vector<bool>{false});  // nothing durable: no fsync
  CHECK(members(f.fresh()->load("b", "k").value()) == std::vector<std::string>{"w", "x", "y"});
}

TEST_CASE("writable() changes the cached object in place unless another holds it",
          "[object_store]") {
  Fixture f;
  f.objects->save("b", "k", set_of({"x"}), ObjectStore::Rows{.all = true}, false);
  std::shared_ptr<Object> a = f.objects->writable("b", "k").value();
  ObjectPtr cached = f.objects->load("b", "k").value();
  CHECK(cached.get() == a.get());  // the cache's own object
  a.reset();
  ObjectPtr reader = f.objects->load("b", "k").value();  // a reply in flight holds it
  std::shared_ptr<Object> b = f.objects->writable("b", "k").value();
  CHECK(b.get() != reader.get());  // so the writer gets a copy
  CHECK(*b == *reader);
}

TEST_CASE("a set of more than kMaxCachedSetMembers members is not cached", "[object_store]") {
  Fixture f;
  const size_t cap = ObjectStore::kMaxCachedSetMembers;
  auto big = std::make_shared<Object>(crdt::ORSet());
  auto* set = big->as<crdt::ORSet>();
  char name[16];
  for (size_t i = 0; i < cap; ++i) {
    std::snprintf(name, sizeof name, "m%07zu", i);
    set->add(1, name);
  }
  // A cache with room for far more than the set: only the member count keeps it out.
  auto roomy = [&f] {
    return std::make_unique<ObjectStore>(f.store, f.turn, f.clock, size_t{1} << 30, 4096,
                                         kSpanMembers, [](uint64_t) {});
  };
  auto objects = roomy();
  objects->save("b", "k", big, ObjectStore::Rows{.all = true}, false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  CHECK(objects->load("b", "k").value().get() == big.get());  // at the cap: cached
  objects = roomy();
  ObjectPtr first = objects->load("b", "k").value();
  CHECK(objects->load("b", "k").value().get() == first.get());  // loaded once, then cached

  auto bigger = std::make_shared<Object>(*first);
  bigger->as<crdt::ORSet>()->add(1, "over");
  const crdt::ORSet::Touched over{"over"};
  objects->save("b", "k", bigger, ObjectStore::Rows{.elements = &over}, false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  ObjectPtr a = objects->load("b", "k").value();
  ObjectPtr b = objects->load("b", "k").value();
  CHECK(a.get() != bigger.get());  // over the cap: read from the rows each time
  CHECK(a.get() != b.get());
  CHECK(a->as<crdt::ORSet>()->size() == cap + 1);
  first.reset();
  a.reset();
  objects = roomy();  // a cold cache: the same from the rows
  CHECK(objects->load("b", "k").value().get() != objects->load("b", "k").value().get());
}

TEST_CASE("a whole rewrite whose old rows cannot be listed fails the turn", "[object_store]") {
  Fixture f;
  f.store.fail_scans = true;
  f.objects->save("b", "k", set_of({"x"}), ObjectStore::Rows{.all = true}, true);
  Status s = f.turn.commit(f.store, true);
  CHECK(s.code() == Code::kInternal);
  CHECK(f.objects->scan_failures() == 2);  // the member rows and the operation rows
  f.store.fail_scans = false;
  CHECK(f.turn.commit(f.store, true).is_ok());  // the next turn starts clean
}

TEST_CASE("erase_object erases every row, or nothing when its scan fails", "[object_store]") {
  Fixture f;
  const uint64_t hash = ring::key_hash("b", "k");
  f.objects->save("b", "k", set_of({"x", "y"}), ObjectStore::Rows{.all = true}, false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  const DataKey dk{hash, "b", "k"};
  f.store.fail_scans = true;
  CHECK_FALSE(f.objects->erase_object(dk).is_ok());
  f.store.fail_scans = false;
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  CHECK(f.objects->load("b", "k").value() != nullptr);
  CHECK(f.store.rows_under(element_prefix(hash, "b", "k")) == 2);
  REQUIRE(f.objects->erase_object(dk).is_ok());
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  CHECK(f.objects->load("b", "k").value() == nullptr);
  CHECK(f.store.rows_under(element_prefix(hash, "b", "k")) == 0);
  CHECK(f.changed.back() == hash);
}

TEST_CASE("a page stops at its until, read from the cache or from the rows", "[object_store]") {
  Fixture f;
  f.objects->save("b", "k", set_of({"a", "b", "c", "d", "e"}), ObjectStore::Rows{.all = true},
                  false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  const SetPage page{"a", 10, "c"};
  REQUIRE(f.objects->load("b", "k").value());  // cached
  CHECK(members(f.objects->load_page("b", "k", page).value()) ==
        std::vector<std::string>{"b", "c"});
  auto cold = f.fresh();  // a cold cache: pages are read from the member rows
  CHECK(members(cold->load_page("b", "k", page).value()) == std::vector<std::string>{"b", "c"});
  CHECK(members(cold->load_page("b", "k", SetPage{"c", 10, "c"}).value()).empty());
  CHECK(members(cold->load_page("b", "k", SetPage{std::nullopt, 1, "c"}).value()) ==
        std::vector<std::string>{"a"});
}

// What anti-entropy would fold for the rows under `prefix`, read from the store.
uint64_t digest_of_rows(Store& store, const std::string& prefix) {
  uint64_t d = 0;
  REQUIRE(store
              .scan(prefix, prefix_end(prefix),
                    [&](std::string_view k, std::string_view v) {
                      d ^= row_digest(k, v);
                      return true;
                    })
              .is_ok());
  return d;
}

// The spans anti-entropy would cut the rows under `prefix` into (set_spans.h).
SpanDigests spans_of_rows(Store& store, const std::string& prefix,
                          uint32_t span_members = kSpanMembers) {
  SpanDigests spans;
  REQUIRE(store
              .scan(prefix, prefix_end(prefix),
                    [&](std::string_view k, std::string_view v) {
                      spans.append(k.substr(prefix.size()), row_digest(k, v), span_members);
                      return true;
                    })
              .is_ok());
  spans.finish();
  return spans;
}

void keep_digests(Fixture& f, const std::string& prefix) {
  f.objects->keep_element_digest(prefix, digest_of_rows(f.store, prefix),
                                 spans_of_rows(f.store, prefix));
}

TEST_CASE(
    "a kept element digest and its spans follow every save: adds, removes, re-adds, whole rewrites",
    "[object_store][digest]") {
  Fixture f;
  const uint64_t hash = ring::key_hash("b", "big");
  const std::string prefix = element_prefix(hash, "b", "big");
  auto set = std::make_shared<Object>(crdt::ORSet());
  for (int i = 0; i < 300; ++i) set->as<crdt::ORSet>()->add(1, "m" + std::to_string(i));
  f.objects->save("b", "big", set, ObjectStore::Rows{.all = true}, false);
  CHECK(!f.objects->element_digest(prefix));
  keep_digests(f, prefix);
  Prng rng(7);
  for (int step = 0; step < 200; ++step) {
    f.clock.now += 10;
    std::shared_ptr<Object> o = f.objects->writable("b", "big").value();
    crdt::ORSet::Touched touched;
    // Some saves write several rows at once (a span cut then reads rows staged beside it).
    std::vector<std::string> names;
    for (uint64_t n = rng.chance(1, 4) ? 1 + rng.below(8) : 1; n > 0; --n) {
      names.push_back("m" + std::to_string(rng.below(400)));
    }
    // Half the saves are told the rows' old values (as a node's are), the rest read them;
    // either way the digest must be the rows'. Told of some names only: the rest are read.
    const bool told = step % 2 == 0;
    const auto half = static_cast<std::ptrdiff_t>((names.size() + 1) / 2);
    const std::vector<std::string> some(names.begin(), names.begin() + half);
    const ObjectStore::RowsBefore before =
        f.objects->rows_before("b", "big", *o->as<crdt::ORSet>(), step % 4 == 0 ? names : some);
    for (const std::string& m : names) {
      if (rng.chance(1, 3)) {
        o->as<crdt::ORSet>()->remove(m, &touched);
      } else {
        o->as<crdt::ORSet>()->add(1 + rng.below(3), m, &touched);
      }
    }
    f.objects->save("b", "big", o,
                    ObjectStore::Rows{.elements = &touched, .before = told ? &before : nullptr},
                    false);
    if (step % 50 == 49) REQUIRE(f.turn.commit(f.store, true).is_ok());
    REQUIRE(f.objects->element_digest(prefix));
    CHECK(*f.objects->element_digest(prefix) == digest_of_rows(f.store, prefix));
    // Its spans too, as a fresh cut of the rows would give them (ends split and joined).
    REQUIRE(f.objects->element_spans(prefix));
    CHECK(*f.objects->element_spans(prefix) == spans_of_rows(f.store, prefix));
    if (!touched.empty()) CHECK(f.objects->hold_while_written(prefix, f.clock.now, 1, 1'000'000));
  }
  // A whole rewrite or an erase drops it (the next exchange reads the rows again).
  f.objects->save("b", "big", f.objects->writable("b", "big").value(),
                  ObjectStore::Rows{.all = true}, false);
  CHECK(!f.objects->element_digest(prefix));
  keep_digests(f, prefix);
  REQUIRE(f.objects->erase_object(DataKey{hash, "b", "big"}).is_ok());
  CHECK(!f.objects->element_digest(prefix));
}

// An ObjectStore with a key filter (64 KiB) over f's store, holding set b/`key` of members
// m0..m99 (actor 1), committed.
std::unique_ptr<ObjectStore> filtered_with_hundred_members(Fixture& f, const std::string& key) {
  auto objects = std::make_unique<ObjectStore>(
      f.store, f.turn, f.clock, 1 << 20, 4096, kSpanMembers, [](uint64_t) {}, size_t{1} << 16);
  auto set = std::make_shared<Object>(crdt::ORSet());
  for (int i = 0; i < 100; ++i) set->as<crdt::ORSet>()->add(1, "m" + std::to_string(i));
  objects->save("b", key, set, ObjectStore::Rows{.all = true}, false);
  REQUIRE(f.turn.commit(f.store, false).is_ok());
  return objects;
}

// A save skips the key filter for a member row that was there before (it is in the filter
// already); a row that was not must still go in, or a later point read of the big set's
// rows (load_part) would skip it as absent: the row's old value, told or read, decides.
// Before the filter is built every row is read from the store; after, a new one is not.
TEST_CASE("a member row new to a set with a kept digest enters the key filter whether told or read",
          "[object_store][digest]") {
  Fixture f;
  std::unique_ptr<ObjectStore> filtered = filtered_with_hundred_members(f, "big");
  ObjectStore& objects = *filtered;
  const std::string prefix = element_prefix(ring::key_hash("b", "big"), "b", "big");
  objects.keep_element_digest(prefix, digest_of_rows(f.store, prefix),
                              spans_of_rows(f.store, prefix));
  auto add = [&](const std::string& name, bool told) {
    std::shared_ptr<Object> o = objects.writable("b", "big").value();
    const ObjectStore::RowsBefore before =
        objects.rows_before("b", "big", *o->as<crdt::ORSet>(), {name});
    crdt::ORSet::Touched touched;
    o->as<crdt::ORSet>()->add(2, name, &touched);
    objects.save("b", "big", o,
                 ObjectStore::Rows{.elements = &touched, .before = told ? &before : nullptr},
                 false);
    REQUIRE(f.turn.commit(f.store, false).is_ok());
    REQUIRE(objects.element_digest(prefix));  // the save went through the kept digest
    CHECK(*objects.element_digest(prefix) == digest_of_rows(f.store, prefix));
  };
  add("early-read", false);  // the filter not built: read from the store
  add("m3", false);
  while (!objects.key_filter().built()) objects.build_key_filter(1000);
  for (const auto& [name, told] : std::vector<std::pair<std::string, bool>>{
           {"new-told", true}, {"new-read", false}, {"m7", true}, {"m8", false}}) {
    add(name, told);
  }
  for (const char* name : {"early-read", "m3", "new-told", "new-read", "m7", "m8"}) {
    CHECK(objects.key_filter().may_hold_row(prefix + name));
  }
}

// A save told which members the set held before (held_before_of) skips the key filter for
// their rows only: a member new to the set still enters it, whether minted here (names) or
// merged from a delta. Caught with HeldBefore::holds answering true for every member.
TEST_CASE("a member new to a set enters the key filter though the save names what was held",
          "[object_store]") {
  const std::string prefix = element_prefix(ring::key_hash("b", "s"), "b", "s");
  Fixture f;
  std::unique_ptr<ObjectStore> filtered = filtered_with_hundred_members(f, "s");
  ObjectStore& objects = *filtered;
  while (!objects.key_filter().built()) objects.build_key_filter(1000);
  crdt::ORSet remote;  // another replica, adding the same two members each round
  for (int i = 0; i < 8; ++i) {
    const std::vector<std::string> names{"m" + std::to_string(i), "new" + std::to_string(i)};
    crdt::ORSet delta = remote.add(2, names[0]);
    delta.join(remote.add(2, names[1]));
    std::shared_ptr<Object> o = objects.writable("b", "s").value();
    auto* mine = o->as<crdt::ORSet>();
    const ObjectStore::HeldBefore held = i % 2 ? ObjectStore::held_before_of(*mine, names)
                                               : ObjectStore::held_before_of(*mine, delta);
    CHECK(held.count == 1);
    CHECK(held.holds(names[0]));
    CHECK_FALSE(held.holds(names[1]));
    crdt::ORSet::Touched touched;
    mine->join(delta, &touched);
    REQUIRE(touched.size() == 2);
    objects.save("b", "s", o, ObjectStore::Rows{.elements = &touched, .held_before = &held}, false);
    REQUIRE(f.turn.commit(f.store, false).is_ok());
  }
  for (int i = 0; i < 8; ++i) {
    INFO("new" << i);
    CHECK(objects.key_filter().may_hold_row(prefix + "new" + std::to_string(i)));
  }
}

// Members are the client's choice: spans it makes costly to keep are dropped (the set's
// repairs read it whole), the digest is kept.
void add_member(ObjectStore& objects, Turn& turn, Store& store, const std::string& m) {
  std::shared_ptr<Object> o = objects.writable("b", "big").value();
  crdt::ORSet::Touched touched;
  o->as<crdt::ORSet>()->add(1, m, &touched);
  objects.save("b", "big", o, ObjectStore::Rows{.elements = &touched}, false);
  REQUIRE(turn.commit(store, false).is_ok());
}

TEST_CASE("spans past kMaxSpans ends, or a cut reading over kMaxSplitRows rows, are dropped",
          "[object_store][digest]") {
  const std::string prefix = element_prefix(ring::key_hash("b", "big"), "b", "big");
  for (const bool too_many_ends : {true, false}) {
    INFO((too_many_ends ? "every member an end" : "one long span"));
    Fixture f;
    const uint32_t span = too_many_ends ? 1 : 1024;  // 1: every member ends a span
    ObjectStore objects(f.store, f.turn, f.clock, 1 << 20, 4096, span, [](uint64_t) {});
    auto set = std::make_shared<Object>(crdt::ORSet());
    const size_t members = too_many_ends ? kMaxSpans : kMaxSplitRows + 10;
    for (size_t i = 0; set->as<crdt::ORSet>()->size() < members; ++i) {
      const std::string m = "a" + std::to_string(i);
      if (too_many_ends || !is_span_end(m, span)) set->as<crdt::ORSet>()->add(1, m);
    }
    objects.save("b", "big", set, ObjectStore::Rows{.all = true}, false);
    REQUIRE(f.turn.commit(f.store, false).is_ok());
    objects.keep_element_digest(prefix, digest_of_rows(f.store, prefix),
                                spans_of_rows(f.store, prefix, span));
    REQUIRE(objects.element_spans(prefix));
    std::string end;  // after every member: its span is the whole set
    for (int i = 0; end.empty() || !is_span_end(end, span); ++i) end = "z" + std::to_string(i);
    add_member(objects, f.turn, f.store, end);
    CHECK(objects.element_spans(prefix) == nullptr);
    REQUIRE(objects.element_digest(prefix));
    CHECK(*objects.element_digest(prefix) == digest_of_rows(f.store, prefix));
  }
}

TEST_CASE(
    "a big set being written is held from anti-entropy until quiet, or let go every "
    "max_hold_ms while written without pause",
    "[object_store][digest]") {
  Fixture f;
  const uint64_t hash = ring::key_hash("b", "busy");
  const std::string prefix = element_prefix(hash, "b", "busy");
  auto set = std::make_shared<Object>(crdt::ORSet());
  for (int i = 0; i < 10; ++i) set->as<crdt::ORSet>()->add(1, "m" + std::to_string(i));
  f.objects->save("b", "busy", set, ObjectStore::Rows{.all = true}, false);
  CHECK_FALSE(f.objects->hold_while_written(prefix, f.clock.now, 1'000, 30'000));  // not kept
  keep_digests(f, prefix);
  // An add every 100 ms for 70 s: held, but let go once per 30 s.
  std::vector<uint64_t> let_go_ms;
  for (int i = 0; i < 700; ++i) {
    f.clock.now += 100;
    std::shared_ptr<Object> o = f.objects->writable("b", "busy").value();
    crdt::ORSet::Touched touched;
    o->as<crdt::ORSet>()->add(1, "n" + std::to_string(i), &touched);
    f.objects->save("b", "busy", o, ObjectStore::Rows{.elements = &touched}, false);
    if (!f.objects->hold_while_written(prefix, f.clock.now, 1'000, 30'000)) {
      let_go_ms.push_back(f.clock.now);
    }
  }
  REQUIRE(let_go_ms.size() == 2);
  CHECK(let_go_ms[1] - let_go_ms[0] == 30'000);
  // Quiet for 1 s: let go at once, and the hold starts afresh with the next write.
  f.clock.now += 1'000;
  CHECK_FALSE(f.objects->hold_while_written(prefix, f.clock.now, 1'000, 30'000));
}

}  // namespace
}  // namespace shoal::core
