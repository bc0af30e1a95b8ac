// The swarm (swarm.h): 200 seeds, each its own mix of faults, with zero checker
// violations and full convergence; exact replay from a seed; and a deliberately injected
// bug that some seed catches.
#include "swarm.h"

#include <catch2/catch.hpp>

namespace shoal::sim {
namespace {

TEST_CASE("swarm: 200 seeds of random faults lose nothing acknowledged and converge",
          "[sim][swarm]") {
  std::vector<uint64_t> failed;
  for (uint64_t seed : scenario_seeds(200)) {
    const Swarm s = choose_swarm(seed);
    const SwarmRun r = run_swarm(s);
    if (!r.ok()) {
      UNSCOPED_INFO(report(s, r));
      failed.push_back(seed);
    }
  }
  INFO(failed.size() << " seed(s) failed");
  REQUIRE(failed.empty());
}

TEST_CASE("swarm: a seed replays exactly", "[sim][swarm]") {
  for (uint64_t seed : {3u, 17u}) {
    const Swarm s = choose_swarm(seed);
    const SwarmRun a = run_swarm(s);
    const SwarmRun b = run_swarm(s);
    INFO(describe(s));
    REQUIRE(a.digest == b.digest);
    REQUIRE(a.history.size() == b.history.size());
    for (size_t i = 0; i < a.history.size(); ++i) {
      REQUIRE(check::to_json_line(a.history[i]) == check::to_json_line(b.history[i]));
    }
    REQUIRE(describe(choose_swarm(seed + 1)) != describe(s));
  }
}

// The first of seeds 1..20 whose run with `bug` fails, and its report (0: none did).
std::pair<uint64_t, SwarmRun> first_catch(const std::string& bug) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Swarm s = with_bug(choose_swarm(seed), bug);
    SwarmRun r = run_swarm(s);
    if (!r.ok()) {
      UNSCOPED_INFO(report(s, r));
      return {seed, std::move(r)};
    }
  }
  return {0, SwarmRun{}};
}

TEST_CASE("swarm: an injected bug that skips fsync loses acknowledged writes and is caught",
          "[sim][swarm]") {
  const auto [seed, run] = first_catch("no-fsync");
  REQUIRE(seed != 0);
  REQUIRE_FALSE(run.verdict.valid);  // lost adds or counters short: a safety violation
  REQUIRE(run.verdict.summary.lost + run.verdict.summary.out_of_bounds > 0);
}

TEST_CASE("swarm: an injected bug that never replays hints is caught", "[sim][swarm]") {
  // Fallbacks keep the writes they took for down primaries. Nothing acknowledged is lost
  // (a primary minted every write), but the hints never drain: the liveness bound fails.
  const auto [seed, run] = first_catch("no-hint-replay");
  REQUIRE(seed != 0);
  REQUIRE_FALSE(run.converged);
}

}  // namespace
}  // namespace shoal::sim
