// Sim: a whole Shoal cluster in one process, driven by one seed.
//
// Node cores run over a simulated network (random delay, loss, duplication,
// partitions) and a simulated clock, each with its own LevelDB on LevelDB's in-memory
// Env. Every event is one loop turn of one node, followed by that node's end_turn().
// The same seed replays the same run: trace_digest() summarises every delivery.
#pragma once

#include <leveldb/env.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "crdt/prng.h"
#include "disk_faults.h"
#include "node/core/node.h"
#include "node/store/leveldb_store.h"

namespace shoal::sim {

struct SimOptions {
  enum class Latency { kUniform, kExponential, kBimodal };

  uint64_t seed = 1;
  int nodes = 3;
  uint32_t min_delay_ms = 1;
  uint32_t max_delay_ms = 20;
  uint32_t loss_pct = 0;
  uint32_t dup_pct = 0;
  uint32_t vnodes = 256;
  // false: every node is given the full member list (all up). true: n1 starts alone and
  // the others join through it by gossip.
  bool join_through_seed = false;
  core::ClusterOptions cluster = default_cluster();
  // uniform in [min, max]; exponential from min with mean (max-min)/3 and a long tail;
  // bimodal: 90% near min, 10% between max and 3*max.
  Latency latency = Latency::kUniform;
  // Each node's clock runs fast or slow by up to drift_ppm, and its wall clock is off by
  // up to wall_skew_ms (LWW timestamps, hint ages).
  uint32_t drift_ppm = 0;
  uint32_t wall_skew_ms = 0;
  // Devices flashed from one image: node -> the node whose disk it starts from. The
  // source must come earlier (n1 before n3); the copy is its disk right after its first
  // turn, so it holds the source's identity (stored actor) and nothing else.
  std::map<std::string, std::string> start_from = {};
  // Client requests each node coordinates at once (NodeConfig::max_pending_requests).
  size_t max_pending_requests = 100'000;
  size_t max_write_bytes_in_flight = 256u << 20;  // NodeConfig's
  // NodeConfig's: small ones make sets "big" (loaded in part, object_store.h).
  size_t object_cache_bytes = 32u << 20;
  size_t whole_set_max_members = 4096;
  size_t key_filter_bytes = 64u << 10;  // NodeConfig's (small: the simulated stores are)
  // The injected bug "no-checksums" (swarm.h): stores read without verifying LevelDB's
  // block checksums (LevelDbStore::set_verify_checksums), as before issue #14.
  bool bug_skip_read_checksums = false;
  // The injected bug "partial-repair" (swarm.h): a repair (the doctor's or the offline
  // one) leaves objects with part of their rows, as before (LevelDbStore::repair_dir).
  bool bug_partial_repair = false;
  // Messages that reach a node in the same millisecond are handled in one turn (as a busy
  // shell reads many frames per loop turn), so the turn's acks travel batched (kMergeAcks).
  bool batch_arrivals = false;
  // Nodes that act as if from before batched acks (FaultPoints::legacy_acks).
  std::set<std::string> legacy_acks = {};
  // Nodes that act as if from before counting deletes (FaultPoints::legacy_deletes).
  std::set<std::string> legacy_deletes = {};

  // Intervals scaled for simulation (the defaults, but heartbeats and gossip every
  // 200 ms, so a dead node is convicted in about 4 s of simulated time).
  static core::ClusterOptions default_cluster() {
    core::ClusterOptions c;
    c.tick_ms = 50;
    c.gossip_interval_ms = 200;
    c.heartbeat_interval_ms = 200;
    c.transfer_timeout_ms = 2000;
    c.handoff_recheck_ms = 5000;
    return c;
  }
};

// A copy of a node's disk: every row of its store. Taken from a running node it is
// crash-consistent (what the disk would hold after a power failure at that moment: the
// writes not yet fsynced are not in it), as a VM snapshot or a block-level backup is.
using DiskImage = std::map<std::string, std::string>;

// The seeds a scenario runs: 1..count, or only $SHOAL_SIM_SEED when it is set (replay).
std::vector<uint64_t> scenario_seeds(uint64_t count);

// A small cluster for a scenario: `nodes` nodes of 16 vnodes, anti-entropy every
// `ae_interval_ms` (often, so scenarios settle in little simulated time).
inline SimOptions small_cluster(uint64_t seed, int nodes, uint32_t ae_interval_ms) {
  SimOptions o;
  o.seed = seed;
  o.nodes = nodes;
  o.vnodes = 16;
  o.cluster.ae_interval_ms = ae_interval_ms;
  return o;
}

class Sim {
 public:
  explicit Sim(SimOptions options);
  ~Sim();

  uint64_t now_ms() const { return now_ms_; }
  // Every node ever started (killed ones too).
  const std::vector<std::string>& node_ids() const { return ids_; }
  // REQUIRES: the node is running.
  core::Node& node(const std::string& id);
  bool running(const std::string& id) const { return nodes_.count(id) > 0; }
  // Stops a node's process: messages to it and its timers are dropped. Its store stays.
  void kill(const std::string& id);
  // Starts a killed node again over its store (a new process: new generation).
  // REQUIRES: it boots (try_restart).
  void restart(const std::string& id);
  // The same; a store that will not open as it is (LevelDB reports it damaged) is first
  // repaired the way an operator would (`shoald --repair`, store_stats().offline_repairs).
  // Not ok: the node could not boot (its store does not open, or it could not record its
  // identity) and stays down.
  Status try_restart(const std::string& id);
  // Starts a new node that joins through `seeds`; returns its id.
  std::string add_node(const std::vector<std::string>& seeds);
  // Wipes a killed node's data directory (it comes back with a new actor).
  void wipe(const std::string& id);
  // Power loss: like kill, and the writes the node committed without fsync are lost too.
  void power_fail(const std::string& id);
  // A copy of a node's disk, taken now (between events). Running or killed.
  DiskImage snapshot(const std::string& id);
  // The same; nullopt when the copy met a read error (a damaged table: the copy fails, as
  // a backup that meets a bad sector does, rather than silently lack rows).
  std::optional<DiskImage> try_snapshot(const std::string& id);
  // Replaces a killed node's disk with `image`: its own older copy (a rollback, a
  // restored backup) or another node's (a clone). The new disk holds no unsynced writes.
  // restart() then starts the node over it.
  void restore(const std::string& id, const DiskImage& image);
  // Freezes a running node for `for_ms`: its messages, timers and clients wait (the
  // process is stopped, its connections stay).
  void pause(const std::string& id, uint64_t for_ms);
  // From now on (across restarts) the node's store scans fail, as on a disk with a read
  // error, until called again with false. Gets and writes still work.
  void fail_scans(const std::string& id, bool failing) {
    if (failing) {
      failing_scans_.insert(id);
    } else {
      failing_scans_.erase(id);
    }
  }
  bool paused(const std::string& id) const;

  // Storage faults (disk_faults.h), on the node's directory whether it runs or not.
  // Damages 1..4 bytes of a random table of the node's store (for good: a repair moves
  // the table away); "" if it has none yet, else what was damaged.
  std::string corrupt(const std::string& id) { return env_->damage_table(dir(id), rng_); }
  // Disk full: every write of the node's store fails until called again with false. The
  // node's StoreDoctor sees its free space as 0 meanwhile (below the floor).
  void disk_full(const std::string& id, bool full) { env_->set_full(dir(id), full); }
  // Slow disk: each commit of the node that wrote stalls it (its loop waits for the
  // disk; messages and replies of that turn leave when the write is done) for commit_ms
  // when it fsynced, a tenth of it otherwise. 0: a normal disk again.
  void slow_disk(const std::string& id, uint64_t commit_ms) { slow_ms_[id] = commit_ms; }
  // Ok when the node runs and its store has no fault and is above its space floor.
  Status store_health(const std::string& id) const;
  struct StoreStats {
    uint64_t repairs = 0, reopens = 0, failed = 0;  // StoreDoctor treatments, all nodes
    // A node that could not boot on a damaged store was repaired (shoald --repair): its
    // identity read met a damaged table, or LevelDB would not open the store at all
    // (damaged_at_open: its log or manifest is damaged, which the simulator never does).
    uint64_t offline_repairs = 0, damaged_at_open = 0;
    uint64_t boot_failures = 0;  // a node that still could not boot
  };
  const StoreStats& store_stats() const { return store_stats_; }
  DiskFaults& disk() { return *env_; }
  // Request timers scheduled and cancelled so far, over all nodes (not the cluster tick).
  uint64_t timers_scheduled() const { return timers_scheduled_; }
  uint64_t timers_cancelled() const { return timers_cancelled_; }
  Prng& rng() { return rng_; }

  // Cuts all traffic between `side` and every other node, both ways.
  void partition(const std::set<std::string>& side);
  void heal();
  // Changes loss and duplication from now on (a quiet phase turns them off).
  void set_faults(uint32_t loss_pct, uint32_t dup_pct) {
    options_.loss_pct = loss_pct;
    options_.dup_pct = dup_pct;
  }

  // Shows `fn` every message a node sends from now on, before the network takes it, so a
  // test can keep one and resend() it later (a copy the network delayed for seconds).
  using Tap =
      std::function<void(const std::string& from, const std::string& to, const core::Message& m)>;
  void tap(Tap fn) { tap_ = std::move(fn); }
  void resend(const std::string& from, const std::string& to, const core::Message& m) {
    send_now(from, to, m);
  }

  // Delivers a client request to node `at` now (as its own turn).
  void client(const std::string& at, core::ClientRequest request, core::ReplyFn done);
  // Schedules fn at now + delay_ms (workload steps).
  void at(uint64_t delay_ms, std::function<void()> fn);
  // Runs events until the queue is empty or the clock passes `until_ms`.
  void run_until(uint64_t until_ms);
  void run_until_idle(uint64_t max_ms);

  // kMergeAcks batches the nodes sent, the acks in them, and what the network did to them.
  struct AckBatches {
    uint64_t sent = 0, acks = 0, lost = 0, duplicated = 0;
  };
  const AckBatches& ack_batches() const { return ack_batches_; }
  uint64_t trace_digest() const { return digest_; }
  uint64_t delivered() const { return delivered_; }

 private:
  struct Event {
    uint64_t time_ms, seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const {
      return time_ms != o.time_ms ? time_ms > o.time_ms : seq > o.seq;
    }
  };
  class SimNode;
  friend class SimNode;

  void schedule(uint64_t delay_ms, std::function<void()> fn);
  uint64_t link_delay_ms();
  // Runs fn now, or when the node wakes if it is paused.
  void when_awake(const std::string& id, std::function<void()> fn);
  Status start(const std::string& id, std::vector<std::string> members,
               std::vector<std::string> seeds);
  static std::string dir(const std::string& id) { return "/sim/" + id; }
  // A node's turn wrote to a slow disk: it waits (like a pause) for the write.
  void stall(const std::string& id, uint64_t ms);
  uint64_t stalled_for(const std::string& id) const;  // 0: not stalled now
  void send_now(const std::string& from, const std::string& to, const core::Message& m);
  // batch_arrivals: a message reached `to`; the first of a millisecond schedules the turn
  // that handles them all (flush), after every event already due then.
  void arrive(const std::string& from, const std::string& to, const core::Message& m);
  void flush(const std::string& to);
  void drain(uint64_t until_ms);  // runs every event due at or before until_ms
  void deliver(const std::string& from, const std::string& to, const core::Message& m);
  void trace(uint64_t a, uint64_t b);
  bool blocked(const std::string& from, const std::string& to) const;

  SimOptions options_;
  Prng rng_;
  uint64_t timers_scheduled_ = 0, timers_cancelled_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t seq_ = 0;
  uint64_t digest_ = 0;
  uint64_t delivered_ = 0;
  AckBatches ack_batches_;
  std::unique_ptr<DiskFaults> env_;
  std::vector<std::string> ids_;
  std::map<std::string, std::unique_ptr<SimNode>> nodes_;  // running ones
  std::map<std::string, uint64_t> incarnation_;
  std::map<std::string, uint64_t> paused_until_;
  std::map<std::string, std::vector<std::string>> seeds_of_, members_of_;
  std::set<std::string> partition_side_;
  std::set<std::string> failing_scans_;
  std::map<std::string, uint64_t> slow_ms_;
  StoreStats store_stats_;
  Tap tap_;
  struct Arrival {
    std::string from;
    core::Message m;
    uint64_t incarnation;  // of the receiver when it arrived
  };
  std::map<std::string, std::vector<Arrival>> inbox_;  // batch_arrivals: not yet handled
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
};

}  // namespace shoal::sim
