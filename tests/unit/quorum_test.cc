// The quorum tally against a naive twin that tries every way the outstanding replies
// could still turn out.
#include "node/core/quorum.h"

#include <catch2/catch.hpp>

#include "crdt/prng.h"
#include "node/core/options.h"

namespace shoal::core {
namespace {

Outcome naive(const QuorumGoal& g, const Tally& t) {
  auto met = [&](uint32_t ok, uint32_t okp) {
    return ok >= g.required && okp >= g.required_primaries;
  };
  if (met(t.ok, t.ok_primaries)) return Outcome::kSucceeded;
  const uint32_t rest_p = g.primary_targets - t.ok_primaries - t.failed_primaries;
  const uint32_t rest_f =
      (g.targets - g.primary_targets) - (t.ok - t.ok_primaries) - (t.failed - t.failed_primaries);
  for (uint32_t mask = 0; mask < (1u << (rest_p + rest_f)); ++mask) {
    uint32_t ok = t.ok, okp = t.ok_primaries;
    for (uint32_t i = 0; i < rest_p + rest_f; ++i) {
      if (mask & (1u << i)) {
        ++ok;
        okp += i < rest_p ? 1 : 0;
      }
    }
    if (met(ok, okp)) return Outcome::kPending;  // some future still succeeds
  }
  return Outcome::kFailed;
}

TEST_CASE("quorum tally agrees with a naive twin on random reply sequences", "[core][quorum]") {
  Prng rng(42);
  for (int trial = 0; trial < 20'000; ++trial) {
    QuorumGoal g;
    g.targets = 1 + static_cast<uint32_t>(rng.below(7));
    g.primary_targets = static_cast<uint32_t>(rng.below(g.targets + 1));
    g.required = 1 + static_cast<uint32_t>(rng.below(g.targets));
    g.required_primaries = static_cast<uint32_t>(rng.below(g.primary_targets + 1));
    // Replies arrive in a random order; primaries and fallbacks interleave.
    std::vector<char> is_primary;  // not vector<bool>: its proxies do not swap
    for (uint32_t i = 0; i < g.targets; ++i) is_primary.push_back(i < g.primary_targets);
    for (size_t i = is_primary.size(); i > 1; --i) {
      std::swap(is_primary[i - 1], is_primary[rng.below(i)]);
    }
    Tally t;
    INFO("trial " << trial);
    REQUIRE(evaluate(g, t) == naive(g, t));
    for (bool primary : is_primary) {
      t.record(rng.chance(2, 3), primary);
      REQUIRE(evaluate(g, t) == naive(g, t));
    }
    REQUIRE(evaluate(g, t) != Outcome::kPending);  // all replies in: always decided
  }
}

TEST_CASE("options: presets resolve to the documented counts", "[core][options]") {
  auto res = [](std::string_view name) { return resolve(preset(name).value()).value(); };
  REQUIRE(res("QUORUM").r == 2);
  REQUIRE(res("quorum").w == 2);
  REQUIRE(res("ONE").r == 1);
  REQUIRE(res("ALL").w == 3);
  REQUIRE(res("LOCAL").local);
  REQUIRE(preset("SOME").status().code() == Code::kInvalidArgument);
}

TEST_CASE("options: invalid combinations fail with invalid_argument", "[core][options]") {
  RequestOptions o;
  o.r = QuorumSpec::of(4);
  REQUIRE(resolve(o).status().code() == Code::kInvalidArgument);
  o = {};
  o.w = QuorumSpec::of(0);
  REQUIRE(resolve(o).status().code() == Code::kInvalidArgument);
  o = {};
  o.n = 0;
  REQUIRE(resolve(o).status().code() == Code::kInvalidArgument);
  o = {};
  o.n = kMaxReplicas + 1;
  REQUIRE(resolve(o).status().code() == Code::kInvalidArgument);
  o = {};
  o.pw = QuorumSpec::of(5);
  REQUIRE(resolve(o).status().code() == Code::kInvalidArgument);
  o = {};
  o.timeout_ms = 0;
  REQUIRE(resolve(o).status().code() == Code::kInvalidArgument);
  REQUIRE(parse_quorum("two").status().code() == Code::kInvalidArgument);
  REQUIRE(parse_quorum("").status().code() == Code::kInvalidArgument);
  REQUIRE(parse_quorum("-1").status().code() == Code::kInvalidArgument);
  REQUIRE(parse_quorum("99999999999").status().code() == Code::kInvalidArgument);
  REQUIRE(parse_quorum("All").value() == QuorumSpec::all());
  REQUIRE(parse_quorum("2").value() == QuorumSpec::of(2));
  o = {};
  o.n = 5;
  o.r = QuorumSpec::quorum();
  o.w = QuorumSpec::all();
  const auto r = resolve(o).value();
  REQUIRE(r.r == 3);
  REQUIRE(r.w == 5);
}

TEST_CASE("symbolic quorums count the replicas a small cluster has and counts stay", "[options]") {
  RequestOptions o;  // QUORUM, n = 3
  auto r = fit_to_replicas(o, resolve(o).value(), 1);
  CHECK(r.r == 1);
  CHECK(r.w == 1);
  r = fit_to_replicas(o, resolve(o).value(), 2);
  CHECK(r.r == 2);  // majority of the 2 copies
  CHECK(r.w == 2);
  RequestOptions all = preset("ALL").value();
  CHECK(fit_to_replicas(all, resolve(all).value(), 2).r == 2);
  RequestOptions counted;
  counted.r = QuorumSpec::of(2);
  CHECK(fit_to_replicas(counted, resolve(counted).value(), 1).r == 2);  // kept: unavailable
  CHECK(fit_to_replicas(o, resolve(o).value(), 5).r == 2);              // enough nodes: unchanged
}

}  // namespace
}  // namespace shoal::core
