// Random replica histories for property tests: K replicas apply random mutations and
// random pairwise joins. Every mutation's delta is checked against the mutated state
// as it happens, and kept for convergence tests. All randomness comes from one seed.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "crdt/counter.h"
#include "crdt/dvv_set.h"
#include "crdt/lww_register.h"
#include "crdt/orset.h"
#include "crdt/prng.h"

namespace shoal::crdt::testing {

template <typename T>
struct History {
  std::vector<T> replicas;  // final states
  std::vector<T> pool;      // every state seen along the way
  std::vector<T> deltas;    // every delta minted, in order
};

inline std::string small_elem(Prng& rng) {
  return std::string(1, static_cast<char>('a' + rng.below(6)));
}

// One random mutation at replica i; returns its delta. Other replicas are read-only here
// (they stand for "a context the client read elsewhere").
inline GCounter mutate(Prng& rng, std::vector<GCounter>& r, size_t i) {
  return r[i].increment(i + 1, rng.below(100)).value();
}
inline PNCounter mutate(Prng& rng, std::vector<PNCounter>& r, size_t i) {
  return r[i].add(i + 1, rng.range(-100, 100)).value();
}
inline LWWRegister mutate(Prng& rng, std::vector<LWWRegister>& r, size_t i) {
  const uint64_t ts = 1 + rng.below(20);  // small range: ties are common
  if (rng.chance(1, 5)) return r[i].remove(i + 1, ts);
  return r[i].set(i + 1, ts, "v" + std::to_string(rng.below(4)));
}
inline ORSet mutate(Prng& rng, std::vector<ORSet>& r, size_t i) {
  const std::string e = small_elem(rng);
  switch (rng.below(4)) {
    case 0:
      return r[i].remove(e);
    case 1:  // a remove carrying another replica's view, possibly ahead of this one
      return r[i].remove(e, r[rng.below(r.size())].context());
    default:
      return r[i].add(i + 1, e);
  }
}
inline DvvSet mutate(Prng& rng, std::vector<DvvSet>& r, size_t i) {
  const DotContext seen = rng.chance(1, 4) ? DotContext{} : r[rng.below(r.size())].context();
  if (rng.chance(1, 6)) return r[i].remove(i + 1, seen);
  return r[i].put(i + 1, seen, "v" + std::to_string(rng.below(1000)));
}

template <typename T>
History<T> random_history(uint64_t seed, size_t replicas = 4, int steps = 60) {
  Prng rng(seed);
  History<T> h;
  h.replicas.resize(replicas);
  for (int s = 0; s < steps; ++s) {
    const size_t i = rng.below(replicas);
    if (rng.chance(1, 4)) {
      h.replicas[i].join(h.replicas[rng.below(replicas)]);
    } else {
      T before = h.replicas[i];
      T delta = mutate(rng, h.replicas, i);
      before.join(delta);
      INFO("seed " << seed << " step " << s);
      REQUIRE(before == h.replicas[i]);  // join(state, delta) == mutated state
      h.deltas.push_back(std::move(delta));
    }
    h.pool.push_back(h.replicas[i]);
  }
  return h;
}

template <typename T>
T joined(T a, const T& b) {
  a.join(b);
  return a;
}

}  // namespace shoal::crdt::testing
