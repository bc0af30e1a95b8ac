// What users see: add-wins, context-scoped removes, sibling bounds, counters, LWW ties.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>

#include "crdt/counter.h"
#include "crdt/dvv_set.h"
#include "crdt/lww_register.h"
#include "crdt/orset.h"

namespace shoal::crdt {
namespace {

using Strings = std::vector<std::string>;

TEST_CASE("orset: concurrent add and remove of the same element add wins", "[crdt][orset]") {
  ORSet a, b;
  a.join(a.add(1, "x"));
  b.join(a);
  // a removes x while b, concurrently, adds x again.
  ORSet rm = a.remove("x");
  ORSet add = b.add(2, "x");
  a.join(add);
  b.join(rm);
  REQUIRE(a == b);
  REQUIRE(a.read() == Strings{"x"});
}

TEST_CASE("orset: remove with a context removes only the adds it saw", "[crdt][orset]") {
  ORSet r1, r2;
  r1.add(1, "x");
  const DotContext seen = r1.context();  // a client read r1: it saw the first add only
  r2.add(2, "x");                        // an add the client never saw
  r1.join(r2);
  r1.remove("x", seen);
  REQUIRE(r1.read() == Strings{"x"});
  REQUIRE(r1.entries().at("x").size() == 1);
  REQUIRE(r1.entries().at("x").begin()->actor == 2);
  // Removing with the full context removes it.
  r1.remove("x", r1.context());
  REQUIRE(r1.read().empty());
}

TEST_CASE("orset: a remove whose context is ahead of the replica is deferred", "[crdt][orset]") {
  ORSet ahead, behind;
  ahead.add(1, "x");  // behind has not seen this add yet
  ORSet delta = behind.remove("x", ahead.context());
  REQUIRE(behind.deferred().size() == 1);
  behind.join(ahead);  // the add arrives later: the deferred remove applies to it
  REQUIRE(behind.read().empty());
  REQUIRE(behind.deferred().empty());
  ahead.join(delta);
  REQUIRE(ahead == behind);
  // A later add of x is not affected: its dot was not in the remove's context.
  behind.add(3, "x");
  REQUIRE(behind.read() == Strings{"x"});
}

TEST_CASE("orset: a deferred remove takes out the dots it saw before its whole context arrives",
          "[crdt][orset]") {
  // A client reads x (added by r1) together with an add y that only `lost` holds; `lost`
  // then restarts from an older disk, so y's dot never reaches anyone. The remove of x
  // runs on `behind`, which has seen neither add: it is deferred there.
  ORSet r1, lost, behind;
  r1.add(1, "x");
  lost.add(2, "y");
  DotContext seen = r1.context();
  seen.join(lost.context());
  const ORSet rm = behind.remove("x", seen);
  REQUIRE(behind.deferred().size() == 1);
  // The remove reaches r1, which holds the very dot it observed.
  ORSet a = r1;
  a.join(rm);
  REQUIRE(a.read().empty());
  // The add reaches the remover (anti-entropy): it must not come back there either.
  ORSet b = behind;
  b.join(r1);
  REQUIRE(b.read().empty());
  REQUIRE(a == b);
  // A later add of x is not affected: its dot was not in the remove's context.
  b.add(3, "x");
  a.join(b);
  REQUIRE(a.read() == Strings{"x"});
}

TEST_CASE("orset: a remove minted where the element is gone already still removes it elsewhere",
          "[crdt][orset]") {
  // x lives on r1, r2 and `minter`. A first remove ran on `minter` and its delta never
  // reached the others; a client reads x on r1 and removes it again through `minter`.
  ORSet minter, r1, r2;
  r1.add(1, "x");
  minter.join(r1);
  r2.join(r1);
  (void)minter.remove("x");  // lost in the network
  const DotContext seen = r1.context();
  const ORSet rm = minter.remove("x", seen);
  r1.join(rm);
  r2.join(rm);
  REQUIRE(r1.read().empty());  // the remove is held where it was acknowledged
  REQUIRE(r2.read().empty());
  REQUIRE(r1.deferred().empty());  // applied and dropped: r1 covers what it observed
  REQUIRE(r1 == minter);
  // Without a context (remove every dot seen here) the same holds.
  ORSet r3;
  r3.join(r1.add(2, "y"));
  minter.join(r1);
  (void)minter.remove("y");
  r3.join(minter.remove("y"));
  REQUIRE(r3.read().empty());
  // An add the remover never saw survives the carried remove (add wins).
  ORSet late;
  late.join(r1);
  late.add(3, "x");
  late.join(rm);
  REQUIRE(late.contains("x"));
}

TEST_CASE("orset: remove of an absent element is harmless", "[crdt][orset]") {
  ORSet s;
  ORSet d = s.remove("nope");
  REQUIRE(s.read().empty());
  REQUIRE(d == ORSet{});
}

TEST_CASE("dvvset: 7 concurrent writers keep 7 siblings and the merged context collapses them",
          "[crdt][dvvset]") {
  // Three replicas (actors 1..3); 7 clients write with the same stale (empty) context.
  std::vector<DvvSet> replicas(3);
  for (int w = 0; w < 7; ++w) {
    const auto r = static_cast<size_t>(w % 3);
    replicas[r].put(r + 1, DotContext{}, "w" + std::to_string(w));
  }
  DvvSet merged;
  for (const auto& r : replicas) merged.join(r);
  REQUIRE(merged.values().size() == 7);
  // Many more writes, each from a client that read first: siblings never grow.
  DvvSet s = merged;
  for (int w = 0; w < 50; ++w) {
    s.put(1u + static_cast<unsigned>(w % 3), s.context(), "seq" + std::to_string(w));
    REQUIRE(s.values().size() == 1);
  }
  // Back to the 7-sibling state: one write with the merged context collapses them.
  merged.put(1, merged.context(), "resolved");
  REQUIRE(merged.values() == Strings{"resolved"});
}

TEST_CASE("dvvset: a put supersedes exactly what its context saw", "[crdt][dvvset]") {
  DvvSet a;
  a.put(1, {}, "v1");
  const DotContext saw_v1 = a.context();
  a.put(1, {}, "v2");  // concurrent with whatever a client does with saw_v1
  a.put(1, saw_v1, "v3");
  REQUIRE(a.values() == Strings{"v2", "v3"});
}

TEST_CASE("dvvset: deletes are tombstones that follow the same rule", "[crdt][dvvset]") {
  DvvSet a, b;
  a.put(1, {}, "v1");
  b.join(a);
  a.remove(1, a.context());
  REQUIRE(a.is_deleted());
  REQUIRE(a.values().empty());
  b.put(2, {}, "concurrent");  // did not see the delete
  a.join(b);
  REQUIRE(a.values() == Strings{"concurrent"});
  REQUIRE_FALSE(a.is_deleted());
}

TEST_CASE("dvvset: a write from a context read on another replica", "[crdt][dvvset]") {
  DvvSet r1, r2;
  r1.put(1, {}, "a");
  r2.put(2, r1.context(), "b");  // the client read r1, wrote through r2
  r1.join(r2);
  r2.join(r1);
  REQUIRE(r1.values() == Strings{"b"});
  REQUIRE(r1 == r2);
}

TEST_CASE("pncounter: negative deltas and convergence", "[crdt][counter]") {
  PNCounter a, b;
  REQUIRE(a.add(1, 10).is_ok());
  REQUIRE(a.add(1, -3).is_ok());
  REQUIRE(b.add(2, -20).is_ok());
  a.join(b);
  b.join(a);
  REQUIRE(a.read() == -13);
  REQUIRE(a == b);
}

TEST_CASE("pncounter: overflow is refused locally and saturates when merged", "[crdt][counter]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  PNCounter a;
  REQUIRE(a.add(1, kMax).is_ok());
  PNCounter before = a;
  auto r = a.add(1, 1);
  REQUIRE_FALSE(r.is_ok());
  REQUIRE(r.status().code() == Code::kInvalidArgument);
  REQUIRE(a == before);  // a refused mutation changes nothing
  PNCounter b;
  REQUIRE(b.add(2, kMax).is_ok());  // concurrent on another replica
  a.join(b);
  REQUIRE(a.read() == kMax);  // saturates
  PNCounter c;
  REQUIRE(c.add(3, kMin).is_ok());
  REQUIRE(c.read() == kMin);
  REQUIRE_FALSE(c.add(3, -1).is_ok());
  PNCounter d;
  REQUIRE(d.add(4, kMin).is_ok());
  c.join(d);
  REQUIRE(c.read() == kMin);
}

TEST_CASE("gcounter: per-actor overflow is refused", "[crdt][counter]") {
  GCounter g;
  REQUIRE(g.increment(1, std::numeric_limits<uint64_t>::max()).is_ok());
  REQUIRE_FALSE(g.increment(1, 1).is_ok());
  REQUIRE(g.increment(2, 5).is_ok());
  REQUIRE(g.read() == std::numeric_limits<uint64_t>::max());  // saturating sum
}

TEST_CASE("lww: ties on timestamp are broken by actor id not arrival order", "[crdt][lww]") {
  LWWRegister a, b;
  LWWRegister da = a.set(1, 100, "from-1");
  LWWRegister db = b.set(2, 100, "from-2");
  LWWRegister x, y;
  x.join(da);
  x.join(db);
  y.join(db);
  y.join(da);
  REQUIRE(x == y);
  REQUIRE(x.read() == "from-2");
}

TEST_CASE("lww: a later timestamp wins and a replica never goes back in time", "[crdt][lww]") {
  LWWRegister r;
  r.set(1, 200, "new");
  r.set(1, 100, "written later with a slow clock");
  REQUIRE(r.read() == "written later with a slow clock");
  REQUIRE(r.timestamp() == 201);
  r.remove(2, 50);
  REQUIRE_FALSE(r.read().has_value());
}

// decode_from leaves these checks to reindex(): a dot two elements share, or one outside
// the context, is refused with its message (the bytes of a valid set, one dot changed).
TEST_CASE("orset: a decoded set whose elements share a dot or hold one unseen is refused",
          "[crdt][orset]") {
  ORSet s;
  s.add(1, "a");
  s.add(1, "b");
  const std::string good = s.encode();
  REQUIRE(ORSet::decode(good));
  auto with_b_dot = [&](const std::string& dot) {
    std::string bytes = good;
    const std::string b_dot = std::string("b") + "\x92\x01\x02";
    const size_t at = bytes.find(b_dot);
    REQUIRE(at != std::string::npos);
    REQUIRE(bytes.find(b_dot, at + 1) == std::string::npos);
    bytes.replace(at + 1, 3, dot);
    return ORSet::decode(bytes);
  };
  auto shared = with_b_dot("\x92\x01\x01");
  REQUIRE(!shared);
  CHECK(shared.status().message() == "dot shared by two elements");
  auto unseen = with_b_dot("\x92\x01\x05");
  REQUIRE(!unseen);
  CHECK(unseen.status().message() == "element dot outside the causal context");
}

}  // namespace
}  // namespace shoal::crdt
