// Lattice laws and convergence for every CRDT, on seeded random replica histories.
#include <catch2/catch.hpp>

#include "crdt_gen.h"

namespace shoal::crdt {
namespace {

using testing::joined;
using testing::random_history;

constexpr uint64_t kSeeds = 150;

template <typename T>
void check_laws() {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto h = random_history<T>(seed);
    Prng rng(seed * 7919);
    for (int k = 0; k < 20; ++k) {
      const T& a = h.pool[rng.below(h.pool.size())];
      const T& b = h.pool[rng.below(h.pool.size())];
      const T& c = h.pool[rng.below(h.pool.size())];
      INFO("seed " << seed);
      REQUIRE(joined(a, b) == joined(b, a));
      REQUIRE(joined(joined(a, b), c) == joined(a, joined(b, c)));
      REQUIRE(joined(a, a) == a);
      REQUIRE(joined(joined(a, b), b) == joined(a, b));
    }
  }
}

// Three fresh replicas receive every delta (and a few full states) in their own random
// order, with duplicates; all must end equal to each other and to the join of the
// original replicas.
template <typename T>
void check_convergence() {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto h = random_history<T>(seed, 4, 80);
    T expected;
    for (const T& r : h.replicas) expected.join(r);
    std::vector<T> messages = h.deltas;
    messages.insert(messages.end(), h.pool.begin(),
                    h.pool.begin() + static_cast<ptrdiff_t>(h.pool.size() / 4));
    Prng rng(seed ^ 0xfeed);
    std::vector<T> receivers(3);
    for (T& recv : receivers) {
      std::vector<size_t> order;
      for (size_t i = 0; i < messages.size(); ++i) {
        order.push_back(i);
        if (rng.chance(1, 3)) order.push_back(i);  // duplicate
      }
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
      for (size_t i : order) recv.join(messages[i]);
      // Deltas alone reach the join of all states only once every delta arrived.
      for (const T& r : h.replicas) recv.join(r);
    }
    INFO("seed " << seed);
    REQUIRE(receivers[0] == receivers[1]);
    REQUIRE(receivers[1] == receivers[2]);
    REQUIRE(receivers[0] == expected);
  }
}

// The deltas alone, in any order with duplicates, rebuild the join of all replicas.
template <typename T>
void check_deltas_rebuild_state() {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto h = random_history<T>(seed, 3, 80);
    T expected;
    for (const T& r : h.replicas) expected.join(r);
    Prng rng(seed + 99);
    std::vector<size_t> order;
    for (size_t i = 0; i < h.deltas.size(); ++i) order.push_back(i);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    T rebuilt;
    for (size_t i : order) {
      rebuilt.join(h.deltas[i]);
      if (rng.chance(1, 4)) rebuilt.join(h.deltas[i]);
    }
    INFO("seed " << seed);
    REQUIRE(rebuilt == expected);
  }
}

TEMPLATE_TEST_CASE("join is commutative associative and idempotent", "[crdt][laws]", GCounter,
                   PNCounter, LWWRegister, ORSet, DvvSet) {
  check_laws<TestType>();
}

TEMPLATE_TEST_CASE("replicas converge under reordering and duplication", "[crdt][laws]", GCounter,
                   PNCounter, LWWRegister, ORSet, DvvSet) {
  check_convergence<TestType>();
}

TEMPLATE_TEST_CASE("deltas alone rebuild the joined state", "[crdt][laws]", GCounter, PNCounter,
                   LWWRegister, ORSet, DvvSet) {
  check_deltas_rebuild_state<TestType>();
}

TEST_CASE("dot context join is a lattice join", "[crdt][laws]") {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    Prng rng(seed);
    std::vector<DotContext> pool(6);
    for (auto& c : pool) {
      for (int i = 0; i < 12; ++i) c.add(Dot{1 + rng.below(3), 1 + rng.below(8)});
    }
    const auto& a = pool[0];
    const auto& b = pool[1];
    const auto& c = pool[2];
    REQUIRE(joined(a, b) == joined(b, a));
    REQUIRE(joined(joined(a, b), c) == joined(a, joined(b, c)));
    REQUIRE(joined(a, a) == a);
    REQUIRE(joined(a, b).covers(a));
    REQUIRE(joined(a, b).covers(b));
    // Canonical form: adding the same dots in another order gives an equal context.
    DotContext rebuilt;
    std::vector<Dot> dots;
    for (const auto& [actor, n] : a.vv().entries()) {
      for (uint64_t k = 1; k <= n; ++k) dots.push_back(Dot{actor, k});
    }
    dots.insert(dots.end(), a.cloud().begin(), a.cloud().end());
    for (size_t i = dots.size(); i > 1; --i) std::swap(dots[i - 1], dots[rng.below(i)]);
    for (const Dot& d : dots) rebuilt.add(d);
    REQUIRE(rebuilt == a);
  }
}

TEST_CASE("version vector join is a lattice join", "[crdt][laws]") {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    Prng rng(seed);
    VersionVector v[3];
    for (auto& x : v) {
      for (int i = 0; i < 4; ++i) x.set(1 + rng.below(5), rng.below(6));
    }
    REQUIRE(joined(v[0], v[1]) == joined(v[1], v[0]));
    REQUIRE(joined(joined(v[0], v[1]), v[2]) == joined(v[0], joined(v[1], v[2])));
    REQUIRE(joined(v[0], v[0]) == v[0]);
    REQUIRE(joined(v[0], v[1]).descends(v[0]));
  }
}

}  // namespace
}  // namespace shoal::crdt
