// Operation ids (node/core/op_log.h): the log, and objects that cancel duplicate mints.
//
// The property at the heart of it: however often an identified update is applied, on
// however many replicas that did not know of each other, and in whatever order replicas
// then exchange deltas and states, every replica ends with the same object and the
// update counted once. Joins stay commutative, associative and idempotent with the log.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "crdt/prng.h"
#include "node/core/object.h"
#include "node/core/update.h"

namespace shoal::core {
namespace {

Update counter_add(int64_t delta, std::string op_id) {
  Update u;
  u.kind = Update::Kind::kCounterAdd;
  u.delta = delta;
  u.op_id = std::move(op_id);
  return u;
}

Update put(std::string value, std::string op_id) {
  Update u;
  u.kind = Update::Kind::kPut;
  u.type = DataType::kRegister;
  u.value = std::move(value);
  u.op_id = std::move(op_id);
  return u;
}

Update set_add(std::string elem, std::string op_id) {
  Update u;
  u.kind = Update::Kind::kSetAdd;
  u.elements = {std::move(elem)};
  u.op_id = std::move(op_id);
  return u;
}

Mint mint(uint64_t actor, uint64_t counter, uint64_t fp = 7, int64_t delta = 1) {
  Mint m;
  m.id = crdt::Dot{actor, counter};
  m.fingerprint = fp;
  m.delta = delta;
  return m;
}

TEST_CASE("op log: union, the earliest time, losers per fingerprint, pruning, codec", "[oplog]") {
  OpLog a, b;
  a.add(10, 500, mint(1, 3));
  b.add(10, 400, mint(2, 1));
  b.add(11, 900, mint(2, 2));
  std::vector<uint64_t> changed;
  a.join(b, &changed);
  CHECK(changed == std::vector<uint64_t>{10, 11});
  REQUIRE(a.find(10));
  CHECK(a.find(10)->first_ms == 400);
  CHECK(a.find(10)->mints.size() == 2);
  // The smallest mint of a fingerprint wins; another fingerprint is another update.
  auto losers = a.losers(10);
  REQUIRE(losers.size() == 1);
  CHECK(losers[0]->id == crdt::Dot{2, 1});
  a.add(10, 600, mint(3, 1, /*fp=*/8));
  CHECK(a.losers(10).size() == 1);
  // Joining again changes nothing.
  changed.clear();
  a.join(b, &changed);
  CHECK(changed.empty());
  // Codec: the log inside an object, and one record alone.
  Object o(DataType::kCounter);
  o.ops() = a;
  Result<Object> back = Object::decode(o.encode());
  REQUIRE(back.is_ok());
  CHECK(*back == o);
  Result<OpRecord> rec = OpLog::decode_record(OpLog::encode_record(*a.find(10)));
  REQUIRE(rec.is_ok());
  CHECK(*rec == *a.find(10));
  // Pruning by age.
  std::vector<uint64_t> dropped;
  a.prune(800, &dropped);
  CHECK(dropped == std::vector<uint64_t>{10});
  CHECK(a.size() == 1);
}

TEST_CASE("op log: decoders refuse garbage without crashing", "[oplog]") {
  OpLog log;
  for (uint64_t k = 1; k <= 20; ++k) log.add(k * 977, k, mint(k, k, k, -static_cast<int64_t>(k)));
  Object o(DataType::kCounter);
  o.ops() = log;
  const std::string good = o.encode();
  const std::string rec = OpLog::encode_record(*log.find(977));
  Prng rng(1);
  for (int i = 0; i < 20'000; ++i) {
    std::string bad = i % 2 ? good : rec;
    const int flips = 1 + static_cast<int>(rng.below(4));
    for (int f = 0; f < flips; ++f) {
      bad[rng.below(bad.size())] = static_cast<char>(rng.next());
    }
    if (i % 2) {
      Result<Object> got = Object::decode(bad);
      if (got) CHECK(Object::decode(got->encode()).value() == *got);
    } else {
      (void)OpLog::decode_record(bad);
    }
  }
}

TEST_CASE("op ids: a repeat on the same replica is answered, not minted", "[oplog]") {
  Object state(DataType::kCounter);
  Once first, again, other;
  REQUIRE(apply_once(&state, 1, counter_add(5, "a"), 100, &first).is_ok());
  CHECK_FALSE(first.duplicate);
  Result<Object> re = apply_once(&state, 1, counter_add(5, "a"), 200, &again);
  REQUIRE(re.is_ok());
  CHECK(again.duplicate);
  CHECK(state.as<crdt::PNCounter>()->read() == 5);
  // The re-send brings the attempt to a replica that missed it, with its record.
  Object fresh(DataType::kCounter);
  REQUIRE(fresh.join(*re).is_ok());
  CHECK(fresh.as<crdt::PNCounter>()->read() == 5);
  REQUIRE(fresh.ops().find(op_key("a")));
  // The same id for another delta is refused and changes nothing.
  Result<Object> reused = apply_once(&state, 1, counter_add(6, "a"), 300, &other);
  CHECK(reused.status().code() == Code::kInvalidArgument);
  CHECK(state.as<crdt::PNCounter>()->read() == 5);
  // A set add repeated re-sends its dot.
  Object set(DataType::kSet);
  Once s1, s2;
  REQUIRE(apply_once(&set, 1, set_add("x", "s"), 1, &s1).is_ok());
  Result<Object> sre = apply_once(&set, 1, set_add("x", "s"), 2, &s2);
  REQUIRE(sre.is_ok());
  CHECK(s2.duplicate);
  Object empty(DataType::kSet);
  REQUIRE(empty.join(*sre).is_ok());
  CHECK(empty.as<crdt::ORSet>()->read() == std::vector<std::string>{"x"});
}

TEST_CASE("op ids: a repeated remove re-sends what it deferred", "[oplog]") {
  // B holds x; the client read it there. The remove is minted on A, which lags (x never
  // reached it, or went with a rolled-back disk): A removes nothing and defers the
  // remove. The first attempt's delta is lost; the retry finds A's record and is
  // answered from it. Its re-send must still take x out of B.
  Object a(DataType::kSet), b(DataType::kSet);
  Once add;
  REQUIRE(apply_once(&b, 2, set_add("x", "add"), 1, &add).is_ok());
  Update rm;
  rm.kind = Update::Kind::kSetRemove;
  rm.elements = {"x"};
  rm.context = b.as<crdt::ORSet>()->context();
  rm.op_id = "rm";
  Once first, again;
  REQUIRE(apply_once(&a, 1, rm, 2, &first).is_ok());  // its delta is lost
  Result<Object> re = apply_once(&a, 1, rm, 3, &again);
  REQUIRE(re.is_ok());
  CHECK(again.duplicate);
  REQUIRE(b.join(*re).is_ok());
  CHECK(b.as<crdt::ORSet>()->read().empty());
  REQUIRE(b.ops().find(op_key("rm")));
  // The re-send is a valid message (a deferred entry its own context does not cover).
  Result<Object> wire = Object::decode(re->encode());
  REQUIRE(wire.is_ok());
  CHECK(*wire == *re);
  // Once A has caught up (the deferred entry applied and dropped), a repeat still
  // takes x out of a replica that missed both.
  Object lagging(DataType::kSet);
  Once add2;
  REQUIRE(apply_once(&lagging, 2, set_add("x", "add"), 1, &add2).is_ok());
  REQUIRE(a.join(lagging).is_ok());
  CHECK(a.as<crdt::ORSet>()->read().empty());
  CHECK(a.as<crdt::ORSet>()->deferred().empty());
  Once third;
  Result<Object> late = apply_once(&a, 1, rm, 4, &third);
  REQUIRE(late.is_ok());
  CHECK(third.duplicate);
  REQUIRE(lagging.join(*late).is_ok());
  CHECK(lagging.as<crdt::ORSet>()->read().empty());
}

// Replicas that each apply some of the operations (several apply the same one without
// knowing of the others), then exchange deltas and states in a random order.
struct Swarm {
  std::vector<Object> replicas;
  std::vector<Object> messages;  // deltas and snapshots of states, in flight
};

template <typename MakeUpdate>
Swarm run(uint64_t seed, DataType type, int ops, MakeUpdate make) {
  Prng rng(seed);
  Swarm s;
  for (int r = 0; r < 3; ++r) s.replicas.emplace_back(type);
  for (int i = 0; i < ops; ++i) {
    const Update u = make(i);
    const int copies = 1 + static_cast<int>(rng.below(3));
    for (int c = 0; c < copies; ++c) {
      const auto r = static_cast<size_t>(rng.below(3));
      Once once;
      Result<Object> d =
          apply_once(&s.replicas[r], 100 + r, u, 1'000u + static_cast<uint64_t>(i), &once);
      REQUIRE(d.is_ok());
      s.messages.push_back(std::move(d).value());
    }
    if (rng.chance(1, 4)) s.messages.push_back(s.replicas[rng.below(3)]);
  }
  // Deliver everything everywhere, each replica in its own order, with repeats.
  for (Object& replica : s.replicas) {
    std::vector<size_t> order(s.messages.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (size_t i : order) {
      REQUIRE(replica.join(s.messages[i]).is_ok());
      if (rng.chance(1, 5)) REQUIRE(replica.join(s.messages[i]).is_ok());
    }
  }
  // And the replicas' final states with each other.
  for (int round = 0; round < 2; ++round) {
    for (Object& a : s.replicas) {
      for (const Object& b : s.replicas) REQUIRE(a.join(b).is_ok());
    }
  }
  return s;
}

TEST_CASE("op ids: counter adds minted on several replicas converge and count once", "[oplog]") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    int64_t want = 0;
    Prng deltas(seed * 31);
    std::vector<int64_t> amount(40);
    for (int64_t& a : amount) a = deltas.range(-9, 9);
    for (int64_t a : amount) want += a;
    Swarm s = run(seed, DataType::kCounter, 40, [&](int i) {
      return counter_add(amount[static_cast<size_t>(i)], "op-" + std::to_string(i));
    });
    for (const Object& r : s.replicas) {
      CHECK(r == s.replicas[0]);
      CHECK(r.as<crdt::PNCounter>()->read() == want);
    }
  }
}

TEST_CASE("op ids: blind register writes minted on several replicas leave one sibling each",
          "[oplog]") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    Swarm s = run(seed, DataType::kRegister, 12,
                  [](int i) { return put("v" + std::to_string(i), "op-" + std::to_string(i)); });
    std::vector<std::string> values = s.replicas[0].as<crdt::DvvSet>()->values();
    std::sort(values.begin(), values.end());
    std::vector<std::string> want;
    for (int i = 0; i < 12; ++i) want.push_back("v" + std::to_string(i));
    std::sort(want.begin(), want.end());
    CHECK(values == want);
    for (const Object& r : s.replicas) CHECK(r == s.replicas[0]);
  }
}

TEST_CASE("op ids: joins with logs stay commutative, associative and idempotent", "[oplog]") {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    INFO("seed " << seed);
    Prng rng(seed);
    // Three objects that minted overlapping operations.
    std::vector<Object> o(3, Object(DataType::kCounter));
    for (int i = 0; i < 12; ++i) {
      const Update u =
          counter_add(1 + static_cast<int64_t>(rng.below(5)), "op-" + std::to_string(rng.below(6)));
      Once once;
      // Each object mints under its own actor: one actor never mints on two replicas.
      const size_t r = rng.below(3);
      (void)apply_once(&o[r], 1 + r, u, static_cast<uint64_t>(i), &once);
    }
    auto join = [](Object a, const Object& b) {
      REQUIRE(a.join(b).is_ok());
      return a;
    };
    CHECK(join(o[0], o[1]) == join(o[1], o[0]));
    CHECK(join(join(o[0], o[1]), o[2]) == join(o[0], join(o[1], o[2])));
    CHECK(join(o[0], o[0]) == o[0]);
  }
}

TEST_CASE("op ids: mints of one remove on two replicas are two mints, and joins commute",
          "[oplog]") {
  // Both replicas hold the element under dots (1,1) and (2,1); one has also seen (3,1).
  // Each runs the same identified remove: the dots they take out differ, but start alike.
  auto holding = [](std::vector<crdt::Actor> actors) {
    crdt::ORSet s;
    for (crdt::Actor actor : actors) {
      crdt::ORSet other;
      other.add(actor, "e");
      s.join(other);
    }
    return Object(std::move(s));
  };
  Object a = holding({1, 2});
  Object b = holding({1, 2, 3});
  Update rm;
  rm.kind = Update::Kind::kSetRemove;
  rm.elements = {"e"};
  rm.op_id = "rm-1";
  Once oa, ob;
  REQUIRE(apply_once(&a, 10, rm, 5, &oa).is_ok());
  REQUIRE(apply_once(&b, 20, rm, 6, &ob).is_ok());
  Object ab = a, ba = b;
  REQUIRE(ab.join(b).is_ok());
  REQUIRE(ba.join(a).is_ok());
  CHECK(ab == ba);
  REQUIRE(ab.ops().find(op_key("rm-1")));
  CHECK(ab.ops().find(op_key("rm-1"))->mints.size() == 2);
  CHECK(ab.as<crdt::ORSet>()->read().empty());

  // Given two mints of one name that differ (a log from before removes were named by
  // their minter), the join still commutes: the union of their dots.
  OpLog x, y;
  Mint mx = mint(1, 1, 7, 0), my = mint(1, 1, 7, 0);
  mx.dots = {{1, 1}, {2, 1}};
  my.dots = {{1, 1}, {3, 1}};
  x.add(9, 100, mx);
  y.add(9, 100, my);
  OpLog xy = x, yx = y;
  xy.join(y, nullptr);
  yx.join(x, nullptr);
  CHECK(xy == yx);
  CHECK(xy.find(9)->mints.at(crdt::Dot{1, 1}).dots ==
        std::vector<crdt::Dot>{{1, 1}, {2, 1}, {3, 1}});
}

}  // namespace
}  // namespace shoal::core
