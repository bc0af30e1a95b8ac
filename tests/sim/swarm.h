// The swarm: one seed chooses a whole run (TigerBeetle's VOPR style). The seed picks
// the cluster size, a latency distribution, loss and duplication, which partition kinds
// occur (random halves, isolate one, majorities ring, bridge, one-way), link clogging,
// kill and restart, power loss (unsynced writes lost), process pauses, a node restarted
// from an older copy of its own disk (rollback) or from another node's (clone), nodes
// started from one disk image, storage faults (a damaged table, a full disk, a slow
// disk: disk_faults.h), clock drift and wall-clock skew, the core's own fault
// points (late hint replay, one-target gossip, shuffled outgoing messages), the
// workload's consistency mix, and client retries: an operation whose answer was
// indeterminate or unavailable is sent again, with the same operation id, through
// another node.
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
  // nodes, latency, loss, dup, drift, core fault points, start_from (nodes flashed from
  // one image: a node boots from a copy of n1's disk)
  SimOptions sim;
  // halves isolate ring bridge one-way clog kill power pause rollback clone corrupt
  // diskfull slowdisk
  std::vector<std::string> faults;
  uint64_t fault_interval_ms = 500;
  std::vector<std::string> consistency;  // drawn per request: ONE QUORUM ALL LOCAL W1
  bool durable = false;                  // writes fsync (always with power loss)
  uint32_t keys = 6;
  // Each operation gets 1..max_attempts attempts (drawn per operation); a retry waits
  // 0..retry_delay_ms and goes to another running node with the same operation id.
  uint32_t max_attempts = 1;
  uint32_t retry_delay_ms = 0;
  // rollback, clone and corrupt: the one node whose disk is replaced, by an older copy of
  // its own (rollback) or by another node's (clone), or damaged (corrupt). Only this node
  // ever loses synced writes, and such runs write at QUORUM or ALL only (docs/testing.md,
  // "Rollback and clone").
  std::string victim;
  // Half of the set removes go without a read or a context (a counting remove, as RESP
  // SREM sends: node/core/set_remove.cc).
  bool blind_removes = false;
};

// Whether the run's faults may take writes from the victim's disk (rollback, clone, and
// corrupt: a repair drops the damaged blocks' rows): then every write must reach two
// nodes before it is acknowledged.
bool loses_victim_data(const Swarm& s);

// field_faults: also restored, cloned and twin-started disks and client retries with
// operation ids (issue #12), and storage faults: damaged tables, full and slow disks
// (issue #14). The CI swarm and `shoal-sim` draw them; without, a seed keeps
// its other choices (the injected-bug tests start from that and add what each bug needs).
Swarm choose_swarm(uint64_t seed, bool field_faults = false);
std::string describe(const Swarm& s);
// The swarm with a deliberate bug that runs must catch (the test suite and
// `shoal-sim --inject-bug` use it; kInjectableBugs lists them):
//  - "no-hint-replay": fallbacks keep their hints (R=W=1, kills, isolation);
//  - "no-fsync": durable writes are acknowledged without fsync (R=W=1, power loss,
//    isolation);
//  - "reuse-actor": a node reuses the actor stored on its disk (QUORUM, rollback, clone,
//    nodes started from one image);
//  - "unavailable-after-send": a coordinator answers unavailable after it sent the write
//    (QUORUM/ALL, kills, isolation, halves, no retries);
//  - "ignore-op-ids": replicas ignore operation ids, so retries apply again (QUORUM/ALL,
//    three attempts, clogged links, pauses, kills, isolation);
//  - "counter-gaps": replicas join counter deltas over a gap in the minter's history and
//    reads repair counters without operation logs (QUORUM, rollback, clone, kills,
//    clogged links, three attempts).
//  - "count-duplicate-replies": a coordinator counts duplicated replies (QUORUM/ALL, 10%
//    duplication); its invariant stops the process, naming the seed. Not in the swarm
//    tests' loop (it aborts the process): tests/sim/invariant_test.sh runs it.
//  - "no-checksums": stores read without verifying LevelDB's block checksums (QUORUM,
//    corrupt, kills), so a damaged block that still decodes is served as data.
//  - "partial-repair": a repair leaves objects with part of their rows (QUORUM, corrupt,
//    kills), so a set's head may outlive some of its element rows.
//  - "partial-merge": a big set's replica merges a delta reading only the members it
//    holds entries for (QUORUM, every set big and uncached), so a remove is not applied.
//  - "key-filter-unbuilt": a node trusts its key filter before the filter's walk of the
//    store found the keys on disk (W1/QUORUM, kills, caches off), so a restarted replica
//    takes a key it holds for absent and its next write there replaces what it held.
//  - "key-filter-members": the key filter's walk leaves out set element rows (W1/QUORUM,
//    kills, every set big and uncached), so a restarted node takes a member it holds for
//    absent.
// Unknown names leave it unchanged.
inline const std::vector<std::string> kInjectableBugs = {
    "no-hint-replay",          "no-fsync",           "reuse-actor",
    "unavailable-after-send",  "ignore-op-ids",      "counter-gaps",
    "count-duplicate-replies", "no-checksums",       "partial-repair",
    "partial-merge",           "key-filter-unbuilt", "key-filter-members"};
Swarm with_bug(Swarm s, const std::string& bug);

struct SwarmRun {
  check::Verdict verdict;
  bool converged = false;
  uint64_t converge_ms = 0;   // after the heal
  uint64_t digest = 0;        // the simulation's trace: equal for equal runs
  std::string unsettled;      // not converged: what the last check found
  Sim::StoreStats store;      // store treatments over the run (storage faults)
  uint64_t damaged_gone = 0;  // damaged tables a repair took out of a store
  std::vector<check::Event> history;
  // A store LevelDB would not open: the simulator only ever damages tables, which an open
  // does not read, so the node damaged its log or manifest itself.
  bool ok() const { return verdict.valid && converged && store.damaged_at_open == 0; }
};

SwarmRun run_swarm(const Swarm& s);

// A failure report: the seed, how to replay it, the options and the violations.
std::string report(const Swarm& s, const SwarmRun& r);
// The run's store treatments ("2 repairs, 1 reopens, ...").
std::string storage(const SwarmRun& r);

}  // namespace shoal::sim
