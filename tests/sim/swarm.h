// The swarm: one seed chooses a whole run (TigerBeetle's VOPR style). The seed picks
// the cluster size, a latency distribution, loss and duplication, which partition kinds
// occur (random halves, isolate one, majorities ring, bridge, one-way), link clogging,
// kill and restart, power loss (unsynced writes lost), process pauses, clock drift and
// wall-clock skew, the core's own fault points (late hint replay, one-target gossip,
// shuffled outgoing messages), and the workload's consistency mix.
//
// A run is a safety phase (10 s of simulated time: clients and faults), then a liveness
// phase: everything heals, loss and duplication stop, and every replica of every key must
// agree, with no hints or handoff left, within kLivenessBoundMs. The history (the same
// JSON-lines events `shoal check` writes) then goes through tools/checker.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim.h"
#include "tools/checker.h"

namespace shoal::sim {

constexpr uint64_t kSafetyMs = 10'000;
constexpr uint64_t kLivenessBoundMs = 60'000;

struct Swarm {
  uint64_t seed = 1;
  SimOptions sim;                   // nodes, latency, loss, dup, drift, core fault points
  std::vector<std::string> faults;  // halves isolate ring bridge one-way clog kill power pause
  uint64_t fault_interval_ms = 500;
  std::vector<std::string> consistency;  // drawn per request: ONE QUORUM ALL LOCAL W1
  bool durable = false;                  // writes fsync (always with power loss)
  uint32_t keys = 6;
};

Swarm choose_swarm(uint64_t seed);
std::string describe(const Swarm& s);
// The swarm with a deliberate bug that runs must catch (the test suite and
// `shoal-sim --inject-bug` use it): "no-hint-replay" (fallbacks keep their hints; R=W=1,
// kills, isolation) or "no-fsync" (durable writes are acknowledged without fsync; R=W=1,
// power loss, isolation). Unknown names leave it unchanged.
Swarm with_bug(Swarm s, const std::string& bug);

struct SwarmRun {
  check::Verdict verdict;
  bool converged = false;
  uint64_t converge_ms = 0;  // after the heal
  uint64_t digest = 0;       // the simulation's trace: equal for equal runs
  std::vector<check::Event> history;
  bool ok() const { return verdict.valid && converged; }
};

SwarmRun run_swarm(const Swarm& s);

// A failure report: the seed, how to replay it, the options and the violations.
std::string report(const Swarm& s, const SwarmRun& r);

}  // namespace shoal::sim
