#include "swarm.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "requests.h"
#include "tools/chaos.h"

namespace shoal::sim {

namespace {

using check::Event;
using check::EventType;

const char* const kAllFaults[] = {"halves", "isolate", "ring",  "bridge", "one-way",
                                  "clog",   "kill",    "power", "pause"};

}  // namespace

Swarm choose_swarm(uint64_t seed, bool field_faults) {
  Prng rng(seed * 0x9e3779b97f4a7c15ULL + 1);
  Swarm s;
  s.seed = seed;
  SimOptions& o = s.sim;
  o.seed = seed;
  o.nodes = 3 + static_cast<int>(rng.below(4));  // 3..6
  o.vnodes = 16;
  o.latency = static_cast<SimOptions::Latency>(rng.below(3));
  o.min_delay_ms = 1 + static_cast<uint32_t>(rng.below(5));
  o.max_delay_ms = o.min_delay_ms + 5 + static_cast<uint32_t>(rng.below(60));
  o.loss_pct = static_cast<uint32_t>(rng.below(6));
  o.dup_pct = static_cast<uint32_t>(rng.below(6));
  o.drift_ppm = rng.chance(1, 2) ? static_cast<uint32_t>(rng.below(50'000)) : 0;  // up to 5%
  o.wall_skew_ms = rng.chance(1, 2) ? static_cast<uint32_t>(rng.below(5'000)) : 0;
  o.cluster.tick_ms = 20;
  o.cluster.ae_interval_ms = 20;  // a full anti-entropy cycle within the liveness bound
  core::FaultPoints& fp = o.cluster.fault_points;
  fp.hint_replay_skip_pct = rng.chance(1, 3) ? static_cast<uint32_t>(rng.below(90)) : 0;
  fp.gossip_one_target = rng.chance(1, 3);
  fp.shuffle_outbox = rng.chance(1, 2);
  for (const char* f : kAllFaults) {
    if (rng.chance(1, 2)) s.faults.push_back(f);
  }
  s.fault_interval_ms = 200 + rng.below(1300);
  for (const char* c : {"ONE", "QUORUM", "ALL", "LOCAL", "W1"}) {
    if (rng.chance(2, 3)) s.consistency.push_back(c);
  }
  if (s.consistency.empty()) s.consistency.push_back("QUORUM");
  s.durable = rng.chance(1, 2) || std::count(s.faults.begin(), s.faults.end(), "power") > 0;
  s.keys = 3 + static_cast<uint32_t>(rng.below(8));
  // Drawn after the rest, so a seed keeps the choices above. Without field faults the
  // draws still happen (a seed's other choices do not move) and are dropped.
  if (rng.chance(1, 3) && field_faults) s.faults.push_back("rollback");
  if (rng.chance(1, 3) && field_faults) s.faults.push_back("clone");
  s.victim = "n" + std::to_string(1 + rng.below(static_cast<uint64_t>(o.nodes)));
  if (rng.chance(1, 4)) {
    const std::string twin =
        "n" + std::to_string(2 + rng.below(static_cast<uint64_t>(o.nodes - 1)));
    if (field_faults) o.start_from[twin] = "n1";
  }
  s.max_attempts = 1 + static_cast<uint32_t>(rng.below(3));
  if (!field_faults) s.max_attempts = 1;
  s.retry_delay_ms = static_cast<uint32_t>(rng.below(400));
  // Storage faults (issue #14), drawn after everything above so a seed keeps those
  // choices; like the disk faults above, only with field faults.
  if (rng.chance(1, 3) && field_faults) s.faults.push_back("corrupt");
  if (rng.chance(1, 3) && field_faults) s.faults.push_back("diskfull");
  if (rng.chance(1, 3) && field_faults) s.faults.push_back("slowdisk");
  // Big sets (issue #14): past a few members, and not cached, an operation on some
  // members of a set reads only their rows (object_store.h).
  if (rng.chance(1, 2)) {
    o.whole_set_max_members = 1 + rng.below(4);
    o.object_cache_bytes = rng.chance(1, 2) ? 0 : 4096;
  }
  // Batched acks (issue #15), drawn after the rest so a seed keeps its other choices: one
  // turn per millisecond's arrivals, and perhaps a node from before batching.
  o.batch_arrivals = rng.chance(1, 2);
  if (rng.chance(1, 4)) {
    o.legacy_acks.insert("n" + std::to_string(1 + rng.below(static_cast<uint64_t>(o.nodes))));
  }
  // Counting removes (issue #15), drawn after the rest so a seed keeps its other choices.
  s.blind_removes = rng.chance(1, 2);
  // The key filter (issue #15): off, or small enough to answer "maybe" for keys it never
  // heard of, and built a few rows per tick, so requests meet it unbuilt after restarts.
  o.key_filter_bytes = rng.chance(1, 4) ? 0 : size_t{64} << rng.below(8);
  o.cluster.key_filter_rows_per_tick = 1 + static_cast<uint32_t>(rng.below(32));
  // Transfers in flight (hint replay and the handoff sweep), drawn after the rest: a
  // handful, so a few keys fill the bound (a sweep step began below it and sent past it,
  // stopping the node: issue #15's nineteenth session).
  if (rng.chance(1, 2)) o.cluster.max_transfers_in_flight = 1 + static_cast<uint32_t>(rng.below(4));
  if (loses_victim_data(s)) {
    // A replaced or damaged disk loses what only it held: every acknowledged write must
    // be on a second node (docs/testing.md, "Rollback and clone").
    std::vector<std::string> c;
    for (const std::string& x : s.consistency) {
      if (x == "QUORUM" || x == "ALL") c.push_back(x);
    }
    s.consistency = c.empty() ? std::vector<std::string>{"QUORUM"} : c;
  }
  return s;
}

bool loses_victim_data(const Swarm& s) {
  return std::count(s.faults.begin(), s.faults.end(), "rollback") +
             std::count(s.faults.begin(), s.faults.end(), "clone") +
             std::count(s.faults.begin(), s.faults.end(), "corrupt") >
         0;
}

std::string describe(const Swarm& s) {
  const SimOptions& o = s.sim;
  const char* lat[] = {"uniform", "exponential", "bimodal"};
  std::string out =
      "nodes=" + std::to_string(o.nodes) + " latency=" + lat[static_cast<int>(o.latency)] + "(" +
      std::to_string(o.min_delay_ms) + ".." + std::to_string(o.max_delay_ms) +
      "ms) loss=" + std::to_string(o.loss_pct) + "% dup=" + std::to_string(o.dup_pct) +
      "% drift=" + std::to_string(o.drift_ppm) + "ppm skew=" + std::to_string(o.wall_skew_ms) +
      "ms faults=";
  for (size_t i = 0; i < s.faults.size(); ++i) out += (i ? "," : "") + s.faults[i];
  out += " every " + std::to_string(s.fault_interval_ms) + "ms consistency=";
  for (size_t i = 0; i < s.consistency.size(); ++i) out += (i ? "," : "") + s.consistency[i];
  const core::FaultPoints& fp = o.cluster.fault_points;
  out += std::string(s.durable ? " durable" : "") + " keys=" + std::to_string(s.keys) +
         " attempts=1.." + std::to_string(s.max_attempts) +
         " retry_delay<=" + std::to_string(s.retry_delay_ms) + "ms";
  if (loses_victim_data(s)) out += " victim=" + s.victim;
  if (o.whole_set_max_members < 4096) {
    out += " whole_set<=" + std::to_string(o.whole_set_max_members) +
           " cache=" + std::to_string(o.object_cache_bytes);
  }
  for (const auto& [node, from] : o.start_from) out += " " + node + "_starts_from=" + from;
  if (o.batch_arrivals) out += " batch_arrivals";
  if (s.blind_removes) out += " blind_removes";
  for (const std::string& node : o.legacy_acks) out += " " + node + "_legacy_acks";
  out += " key_filter=" + std::to_string(o.key_filter_bytes) + "B/" +
         std::to_string(o.cluster.key_filter_rows_per_tick) + "rows";
  out += " transfers<=" + std::to_string(o.cluster.max_transfers_in_flight);
  out += " points={hint_skip=" + std::to_string(fp.hint_replay_skip_pct) + "%" +
         (fp.gossip_one_target ? " one_target" : "") + (fp.shuffle_outbox ? " shuffle" : "") +
         (fp.bug_never_replay_hints ? " BUG:never_replay_hints" : "") +
         (fp.bug_never_fsync ? " BUG:never_fsync" : "") +
         (fp.bug_reuse_actor ? " BUG:reuse_actor" : "") +
         (fp.bug_unavailable_after_send ? " BUG:unavailable_after_send" : "") +
         (fp.bug_ignore_op_ids ? " BUG:ignore_op_ids" : "") +
         (fp.bug_counter_gaps ? " BUG:counter_gaps" : "") +
         (fp.bug_count_duplicate_replies ? " BUG:count_duplicate_replies" : "") +
         (o.bug_skip_read_checksums ? " BUG:skip_read_checksums" : "") +
         (o.bug_partial_repair ? " BUG:partial_repair" : "") +
         (fp.bug_partial_by_entries ? " BUG:partial_merge" : "") +
         (fp.bug_key_filter_trusted_unbuilt ? " BUG:key_filter_unbuilt" : "") +
         (fp.bug_key_filter_skips_members ? " BUG:key_filter_skips_members" : "") + "}";
  return out;
}

Swarm with_bug(Swarm s, const std::string& bug) {
  core::FaultPoints& fp = s.sim.cluster.fault_points;
  if (bug == "no-hint-replay") {
    fp.bug_never_replay_hints = true;
    s.consistency = {"W1"};
    s.faults = {"kill", "isolate"};
  } else if (bug == "no-fsync") {
    fp.bug_never_fsync = true;
    s.consistency = {"W1"};
    s.faults = {"power", "isolate"};
    s.durable = true;
  } else if (bug == "reuse-actor") {
    // A restored, rolled back or cloned disk mints dots the others already hold.
    fp.bug_reuse_actor = true;
    s.consistency = {"QUORUM"};
    s.faults = {"rollback", "clone"};
    s.sim.start_from = {{"n" + std::to_string(s.sim.nodes), "n1"}};
  } else if (bug == "unavailable-after-send") {
    // Only an operation whose every attempt failed can show it: no retries.
    fp.bug_unavailable_after_send = true;
    s.consistency = {"QUORUM", "ALL"};
    s.faults = {"kill", "isolate", "halves"};
    s.max_attempts = 1;
  } else if (bug == "ignore-op-ids") {
    fp.bug_ignore_op_ids = true;
    s.consistency = {"QUORUM", "ALL"};
    s.faults = {"kill", "isolate", "clog", "pause"};
    s.max_attempts = 3;
  } else if (bug == "counter-gaps") {
    // A rolled-back disk takes the only record of a timed-out add with it, while later
    // totals of its actor carry the add on; the retry counts it again.
    fp.bug_counter_gaps = true;
    s.consistency = {"QUORUM"};
    s.faults = {"rollback", "clone", "kill", "clog"};
    s.max_attempts = 3;
  } else if (bug == "no-checksums") {
    // Reads skip the block checksums: a damaged table block that still decodes is served
    // as data. Restarts empty the block cache and give the victim tables to damage.
    s.sim.bug_skip_read_checksums = true;
    s.consistency = {"QUORUM"};
    s.faults = {"corrupt", "corrupt", "kill"};
  } else if (bug == "partial-repair") {
    // A repair keeps what it can read of each object: a set's head without some of its
    // element rows removes those members, and anti-entropy spreads the removal.
    s.sim.bug_partial_repair = true;
    s.consistency = {"QUORUM"};
    s.faults = {"corrupt", "corrupt", "kill"};
  } else if (bug == "partial-merge") {
    // Every set is big and uncached, so each merge reads only some member rows; a
    // remove's member is not among them where the bug reads too few.
    fp.bug_partial_by_entries = true;
    s.sim.whole_set_max_members = 1;
    s.sim.object_cache_bytes = 0;
    s.consistency = {"QUORUM"};
  } else if (bug == "key-filter-unbuilt") {
    // Restarts keep the disk; with no cache, every write after one reads the store.
    fp.bug_key_filter_trusted_unbuilt = true;
    s.sim.key_filter_bytes = 4096;
    s.sim.object_cache_bytes = 0;
    s.consistency = {"W1", "QUORUM"};
    s.faults = {"kill", "kill", "isolate"};
  } else if (bug == "key-filter-members") {
    // Every set is big and uncached, so a write after a restart reads its member rows
    // through the filter; the bug's walk left out those already on disk.
    fp.bug_key_filter_skips_members = true;
    s.sim.key_filter_bytes = 4096;
    s.sim.whole_set_max_members = 1;
    s.sim.object_cache_bytes = 0;
    s.consistency = {"W1", "QUORUM"};
    s.faults = {"kill", "kill", "isolate"};
  } else if (bug == "count-duplicate-replies") {
    // Stopped by an invariant (crdt/assert.h), not by the checkers: the run aborts and
    // names its seed (tests/sim/invariant_test.sh).
    fp.bug_count_duplicate_replies = true;
    s.consistency = {"QUORUM", "ALL"};
    s.sim.dup_pct = 10;
  }
  return s;
}

namespace {

// The run's clients and nemesis, on the simulator's clock and randomness.
class Runner {
 public:
  explicit Runner(const Swarm& s) : s_(s), sim_(s.sim) {}

  SwarmRun run() {
    sim_.run_until(1'000);  // the cluster settles (all up) before the clock starts
    t0_ = sim_.now_ms();
    maybe_snapshot(true);
    for (uint64_t t = 0; t < kSafetyMs; t += 7) sim_.at(t, [this] { client_op(); });
    for (uint64_t t = s_.fault_interval_ms; t < kSafetyMs; t += s_.fault_interval_ms) {
      sim_.at(t, [this] { fault(); });
    }
    sim_.run_until(t0_ + kSafetyMs);
    heal();
    SwarmRun out;
    const uint64_t healed = sim_.now_ms();
    while (sim_.now_ms() < healed + kLivenessBoundMs) {
      sim_.run_until(sim_.now_ms() + 1'000);
      restart_down();
      if (settled()) {
        out.converged = true;
        break;
      }
    }
    out.converge_ms = sim_.now_ms() - healed;
    out.unsettled = unsettled_;
    out.store = sim_.store_stats();
    out.damaged_gone = sim_.disk().damaged_files_gone();
    nemesis("storage", storage(out));
    nemesis(out.converged ? "settled" : "not settled", unsettled_);
    final_reads();
    out.digest = sim_.trace_digest();
    out.history = std::move(history_);
    out.verdict = check::check_history(out.history);
    return out;
  }

 private:
  std::vector<std::string> running() {
    std::vector<std::string> out;
    for (const std::string& id : sim_.node_ids()) {
      if (sim_.running(id)) out.push_back(id);
    }
    return out;
  }

  void record(Event e) {
    e.time_ms = sim_.now_ms() - t0_;
    history_.push_back(std::move(e));
  }
  void nemesis(const std::string& f, const std::string& detail) {
    Event e;
    e.type = EventType::kNemesis;
    e.f = f;
    e.detail = detail;
    record(std::move(e));
  }

  core::RequestOptions options() {
    const std::string& c = s_.consistency[sim_.rng().below(s_.consistency.size())];
    core::RequestOptions o;
    if (c == "W1") {
      o.w = core::QuorumSpec::of(1);  // R=W=1 with sloppy quorum: fallbacks take writes
      o.r = core::QuorumSpec::of(1);
    } else {
      o = core::preset(c).value();
    }
    o.durable = s_.durable;
    o.timeout_ms = 1'000;
    return o;
  }

  using OnOk = std::function<void(Event&, const core::ClientResponse&)>;

  // One logical operation: the request every attempt sends (with its operation id), the
  // event every attempt records, and the attempts it has left.
  struct Logical {
    core::ClientRequest request;
    Event event;
    uint64_t attempts_left = 1;
    OnOk on_ok;
  };

  // Records attempt `e`'s completion with the answer (none: the client gave up waiting,
  // indeterminate) as the client must read it (check::classify); returns that outcome.
  EventType complete(Event e, const core::ClientResponse* r) {
    e.type = r ? check::classify(r->status) : EventType::kInfo;
    if (!r) e.detail = "no answer";
    if (r && !r->status.is_ok()) e.detail = r->status.to_string();
    if (r && r->status.is_ok() && r->duplicate) e.detail = "duplicate";
    const EventType t = e.type;
    record(std::move(e));
    return t;
  }

  // Starts a logical operation at node `at`: 1..max_attempts attempts, each recorded as
  // its own invoke and completion with the operation's id.
  void send(const std::string& at, core::ClientRequest req, Event e, OnOk on_ok = nullptr) {
    const uint64_t n = ++logical_;
    e.op_id = "o" + std::to_string(n);
    e.process = static_cast<uint32_t>(n % 8);
    req.update.op_id = e.op_id;
    auto op = std::make_shared<Logical>();
    op->request = std::move(req);
    op->event = std::move(e);
    op->attempts_left = 1 + sim_.rng().below(std::max<uint32_t>(1, s_.max_attempts));
    op->on_ok = std::move(on_ok);
    attempt(at, op);
  }

  void attempt(const std::string& at, const std::shared_ptr<Logical>& op) {
    Event e = op->event;
    e.type = EventType::kInvoke;
    e.op = ++ops_;
    e.node = at;
    record(e);
    --op->attempts_left;
    auto done = std::make_shared<bool>(false);
    sim_.client(at, op->request, [this, e, done, op](core::ClientResponse r) mutable {
      if (*done) return;  // the client gave up on it already (recorded as indeterminate)
      *done = true;
      if (op->on_ok && r.status.is_ok()) op->on_ok(e, r);
      finish(std::move(e), &r, op);
    });
    // No answer by then: the coordinator died or the request was lost with it.
    sim_.at(5'000, [this, e, done, op] {
      if (*done) return;
      *done = true;
      finish(e, nullptr, op);
    });
  }

  // Records an attempt's end; an indeterminate or unavailable one is tried again (if the
  // operation has attempts left) after a delay, through another running node.
  void finish(Event e, const core::ClientResponse* r, const std::shared_ptr<Logical>& op) {
    const std::string prev = e.node;
    const Code code = r ? r->status.code() : Code::kTimeout;
    const EventType t = complete(std::move(e), r);
    if (op->attempts_left == 0 || !check::worth_retrying(t, code)) return;
    sim_.at(sim_.rng().below(s_.retry_delay_ms + 1), [this, op, prev] {
      std::vector<std::string> live = running();
      if (live.size() > 1) live.erase(std::remove(live.begin(), live.end(), prev), live.end());
      if (live.empty()) return;  // nobody to ask: the operation stays as recorded
      attempt(live[sim_.rng().below(live.size())], op);
    });
  }

  void client_op() {
    const std::vector<std::string> live = running();
    if (live.empty()) return;
    const std::string at = live[sim_.rng().below(live.size())];
    const std::string k = std::to_string(sim_.rng().below(s_.keys));
    const uint64_t pick = sim_.rng().below(100);
    Event e;
    if (pick < 40) {
      e.f = "counter_add";
      e.key = "c" + k;
      e.delta = static_cast<int64_t>(sim_.rng().below(9)) - 3;
      if (e.delta == 0) e.delta = 1;
      core::ClientRequest r = counter_add(e.key, e.delta, options());
      r.bucket = "b";
      send(at, std::move(r), e);
    } else if (pick < 70) {
      set_add_op(at, "s" + k);
    } else if (pick < 85) {
      read_then(at, "s" + k, true);
    } else {
      read_then(at, "r" + k, false);
    }
  }

  void set_add_op(const std::string& at, const std::string& key) {
    Event e;
    e.f = "set_add";
    e.key = key;
    e.element = "e" + std::to_string(ops_ + 1);
    core::ClientRequest r = set_add(key, e.element, options());
    r.bucket = "b";
    added_[key].push_back(e.element);
    // The answer holds the element's entry on the minter: exactly the new dot.
    send(at, std::move(r), e, [](Event& ev, const core::ClientResponse& a) {
      const auto* set = a.object ? a.object->as<crdt::ORSet>() : nullptr;
      if (!set) return;
      auto it = set->entries().find(ev.element);
      if (it != set->entries().end() && it->second.size() == 1) ev.dot = *it->second.begin();
    });
  }

  // Reads a set member (then removes it with the context read) or a register (then
  // writes a new value over what it read).
  void read_then(const std::string& at, const std::string& key, bool is_set) {
    core::ClientRequest q = read("b", key, options());
    std::string elem;
    if (is_set) {
      const std::vector<std::string>& mine = added_[key];
      if (mine.empty()) return;
      elem = mine[sim_.rng().below(mine.size())];
      q.elements = {elem};
      if (s_.blind_removes && sim_.rng().chance(1, 2)) return remove_blind(at, key, elem);
    }
    sim_.client(at, std::move(q), [this, at, key, is_set, elem](core::ClientResponse r) {
      record_read(at, key, r);
      if (!sim_.running(at)) return;
      if (is_set) return remove_seen(at, key, elem, r);
      if (!r.status.is_ok() && r.status.code() != Code::kNotFound) return;
      put_over(at, key, r);
    });
  }

  // A client's read during the run goes into the history (an op number marks it as one,
  // tools/checker.h): whatever it returned as ok must have been written.
  void record_read(const std::string& at, const std::string& key, const core::ClientResponse& r) {
    if (!r.status.is_ok() || !r.object) return;
    Event e;
    e.type = EventType::kRead;
    e.op = ++client_reads_;
    e.key = key;
    e.node = at;
    e.detail = "client read";
    e.found = true;
    if (const auto* c = r.object->as<crdt::PNCounter>()) e.counter = c->read();
    if (const auto* set = r.object->as<crdt::ORSet>()) e.values = set->read();
    if (const auto* d = r.object->as<crdt::DvvSet>()) e.values = d->values();
    e.f = r.object->as<crdt::PNCounter>() ? "counter"
          : r.object->as<crdt::ORSet>()   ? "set"
                                          : "register";
    std::sort(e.values.begin(), e.values.end());
    record(std::move(e));
  }

  void remove_seen(const std::string& at, const std::string& key, const std::string& elem,
                   const core::ClientResponse& r) {
    const auto* set = r.status.is_ok() && r.object ? r.object->as<crdt::ORSet>() : nullptr;
    if (!set || !set->contains(elem)) return;
    Event e;
    e.f = "set_remove";
    e.key = key;
    e.element = elem;
    e.ctx = set->context();
    core::ClientRequest w = set_remove(key, elem, set->context(), options());
    w.bucket = "b";
    send(at, std::move(w), e);
  }

  // A remove without a context: the core removes what a read quorum holds and counts it.
  void remove_blind(const std::string& at, const std::string& key, const std::string& elem) {
    Event e;
    e.f = "set_remove";
    e.key = key;
    e.element = elem;
    core::ClientRequest w = set_remove(key, elem, crdt::DotContext{}, options());
    w.bucket = "b";
    w.update.context.reset();
    send(at, std::move(w), e);
  }

  void put_over(const std::string& at, const std::string& key, const core::ClientResponse& r) {
    const auto* reg = r.object ? r.object->as<crdt::DvvSet>() : nullptr;
    Event e;
    e.f = "put";
    e.key = key;
    e.element = "v" + std::to_string(ops_ + 1);
    if (reg) e.ctx = reg->context();
    core::ClientRequest w = put(key, e.element, e.ctx, options());
    w.bucket = "b";
    send(at, std::move(w), e, [](Event& ev, const core::ClientResponse& a) {
      const auto* dvv = a.object ? a.object->as<crdt::DvvSet>() : nullptr;
      if (!dvv) return;
      for (const auto& [dot, sib] : dvv->siblings()) {
        if (sib.value == ev.element) ev.dot = dot;
      }
    });
  }

  // ---- the nemesis ----

  void undo() {
    for (const std::string& id : running()) (void)sim_.node(id).chaos(core::FaultRule::heal());
    for (const std::string& id : sim_.node_ids()) {
      sim_.disk_full(id, false);
      sim_.slow_disk(id, 0);
    }
    restart_down();
  }

  // Restarts every node that is down (as a supervisor would, again and again).
  void restart_down() {
    for (const std::string& id : sim_.node_ids()) {
      if (sim_.running(id)) continue;
      const uint64_t repairs = sim_.store_stats().offline_repairs;
      const Status booted = sim_.try_restart(id);
      if (sim_.store_stats().offline_repairs > repairs) nemesis("offline repair", id);
      nemesis(booted.is_ok() ? "restart" : "restart failed",
              booted.is_ok() ? id : id + ": " + booted.to_string());
    }
  }

  void block(const chaos::Cut& cut, const std::string& kind) {
    std::string detail;
    for (const auto& [node, peers] : cut) {
      if (peers.empty() || !sim_.running(node)) continue;
      std::string list;
      for (const std::string& p : peers) list += (list.empty() ? "" : ",") + p;
      (void)sim_.node(node).chaos(core::FaultRule::block_in(peers));
      detail += node + "<-x-" + list + " ";
    }
    nemesis(kind, detail);
  }

  void fault() {
    undo();
    maybe_snapshot(false);
    if (s_.faults.empty()) return;
    const std::string kind = s_.faults[sim_.rng().below(s_.faults.size())];
    std::vector<std::string> ids = sim_.node_ids();
    for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[sim_.rng().below(i)]);
    if (std::optional<chaos::Cut> cut = chaos::partition_cut(kind, ids)) return block(*cut, kind);
    if (kind == "clog") {
      if (sim_.running(ids[0]))
        (void)sim_.node(ids[0]).chaos(core::FaultRule::delay(800, 400, {ids[1]}));
      return nemesis("clog", ids[0] + "->" + ids[1]);
    }
    if (kind == "rollback" || kind == "clone") return replace_disk(kind == "rollback");
    if (kind == "corrupt") {
      // Only the victim's disk is damaged (docs/testing.md, "Rollback and clone").
      const std::string what = sim_.corrupt(s_.victim);
      return nemesis(kind, s_.victim + " " + (what.empty() ? "has no table yet" : what));
    }
    if (kind == "slowdisk") {
      const uint64_t ms = 20 + sim_.rng().below(281);
      sim_.slow_disk(ids[0], ms);
      return nemesis(kind, ids[0] + " " + std::to_string(ms) + " ms per fsync");
    }
    nemesis(kind, ids[0]);
    if (kind == "diskfull") sim_.disk_full(ids[0], true);
    if (kind == "kill") sim_.kill(ids[0]);
    if (kind == "power") sim_.power_fail(ids[0]);
    if (kind == "pause") sim_.pause(ids[0], s_.fault_interval_ms);
  }

  // Copies of disks taken during the run, for rollback (the victim's own) and clone
  // (any other node's). Taken between events: crash-consistent (sim.h).
  struct Image {
    std::string node;
    uint64_t at_ms;
    DiskImage disk;
  };

  // Now and then the nemesis copies a disk the run's faults may restore: the victim's
  // for a rollback, another running node's for a clone. At the start (force) it copies
  // one of each the run needs.
  void maybe_snapshot(bool force) {
    const bool rollback = std::count(s_.faults.begin(), s_.faults.end(), "rollback") > 0;
    const bool clone = std::count(s_.faults.begin(), s_.faults.end(), "clone") > 0;
    if (force) {
      if (rollback) snapshot(true);
      if (clone) snapshot(false);
    } else if ((rollback || clone) && sim_.rng().chance(1, 2)) {
      snapshot(rollback && (!clone || sim_.rng().chance(1, 2)));
    }
  }

  void snapshot(bool of_victim) {
    std::string node = s_.victim;
    if (!of_victim) {
      std::vector<std::string> others;
      for (const std::string& id : running()) {
        if (id != s_.victim) others.push_back(id);
      }
      if (others.empty()) return;
      node = others[sim_.rng().below(others.size())];
    }
    if (!sim_.running(node)) return;
    std::optional<DiskImage> disk = sim_.try_snapshot(node);
    if (!disk) return nemesis("backup failed", node + ": a read error");
    if (images_.size() >= kMaxImages)
      images_.erase(images_.begin() + static_cast<ptrdiff_t>(sim_.rng().below(kMaxImages)));
    images_.push_back(Image{node, sim_.now_ms() - t0_, std::move(*disk)});
  }

  // rollback: the victim restarts from an older copy of its own disk. clone: it restarts
  // from a copy of another node's disk (both then hold one image). Nothing to restore
  // yet: no fault this step.
  void replace_disk(bool rollback) {
    std::vector<const Image*> fit;
    for (const Image& i : images_) {
      if ((i.node == s_.victim) == rollback) fit.push_back(&i);
    }
    if (fit.empty()) return;
    const Image& img = *fit[sim_.rng().below(fit.size())];
    const std::string& v = s_.victim;
    nemesis(rollback ? "rollback" : "clone",
            v + (rollback ? " to its disk" : " from " + img.node + "'s disk") + " of " +
                std::to_string(img.at_ms) + " ms");
    sim_.kill(v);
    sim_.restore(v, img.disk);
    sim_.restart(v);
  }

  void heal() {
    undo();
    nemesis("heal", "");
    sim_.set_faults(0, 0);
  }

  // ---- the liveness phase ----

  std::vector<std::pair<std::string, std::string>> replicas() {  // (key, owner)
    std::vector<std::pair<std::string, std::string>> out;
    const ring::Ring& ring = sim_.node(running().front()).ring();
    for (uint32_t k = 0; k < s_.keys; ++k) {
      for (const char* prefix : {"c", "s", "r"}) {
        const std::string key = prefix + std::to_string(k);
        for (const std::string& owner : ring.preference_list(ring::key_hash("b", key), 3)) {
          out.emplace_back(key, owner);
        }
      }
    }
    return out;
  }

  std::optional<core::ClientResponse> local_read(const std::string& at, const std::string& key) {
    return call(sim_, at, read("b", key, local()));
  }

  bool settled() {
    for (const std::string& id : sim_.node_ids()) {
      if (!sim_.running(id)) {
        unsettled_ = id + " is down (it could not boot)";
        return false;
      }
      if (Status h = sim_.store_health(id); !h.is_ok()) {
        unsettled_ = id + "'s store is not healthy: " + h.to_string();
        return false;
      }
    }
    for (const std::string& id : running()) {
      if (sim_.node(id).hints_held() > 0 || sim_.node(id).handoff().not_owned > 0) {
        unsettled_ = id + " holds hints or keys it does not own";
        return false;
      }
      // The convergence signal (anti-entropy found every ring peer's rows equal, operation
      // records included): equal reads alone come early, since read repair spreads values
      // without records, and two records of one retried operation must meet to cancel.
      if (!sim_.node(id).in_sync()) {
        unsettled_ = id + " is not in sync with its peers";
        return false;
      }
    }
    std::map<std::string, core::ObjectPtr> first;
    for (const auto& [key, owner] : replicas()) {
      auto r = local_read(owner, key);
      if (!r) return false;
      core::ObjectPtr got = r->status.is_ok() ? r->object : nullptr;
      auto [it, fresh] = first.emplace(key, got);
      if (!fresh &&
          ((got == nullptr) != (it->second == nullptr) || (got && !(*got == *it->second)))) {
        unsettled_ = "replicas of " + key + " differ (" + owner + ")";
        return false;
      }
    }
    unsettled_.clear();
    return true;
  }

  void final_reads() {
    for (const auto& [key, owner] : replicas()) {
      auto r = local_read(owner, key);
      Event e;
      e.type = EventType::kRead;
      e.key = key;
      e.node = owner;
      e.f = key[0] == 'c' ? "counter" : key[0] == 's' ? "set" : "register";
      e.found = r && r->status.is_ok() && r->object;
      if (e.found) {
        if (const auto* c = r->object->as<crdt::PNCounter>()) e.counter = c->read();
        if (const auto* s = r->object->as<crdt::ORSet>()) e.values = s->read();
        if (const auto* d = r->object->as<crdt::DvvSet>()) e.values = d->values();
        std::sort(e.values.begin(), e.values.end());
      }
      record(std::move(e));
    }
  }

  const Swarm& s_;
  Sim sim_;
  uint64_t t0_ = 0, ops_ = 0, logical_ = 0, client_reads_ = 0;
  std::string unsettled_;  // why settled() last said no
  std::vector<Event> history_;
  std::map<std::string, std::vector<std::string>> added_;  // set key -> elements added
  static constexpr size_t kMaxImages = 6;
  std::vector<Image> images_;
};

}  // namespace

SwarmRun run_swarm(const Swarm& s) { return Runner(s).run(); }

std::string storage(const SwarmRun& r) {
  const Sim::StoreStats& st = r.store;
  return std::to_string(st.repairs) + " repairs, " + std::to_string(st.reopens) + " reopens, " +
         std::to_string(st.failed) + " failed treatments, " + std::to_string(st.offline_repairs) +
         " offline repairs (" + std::to_string(st.damaged_at_open) + " did not open), " +
         std::to_string(st.boot_failures) + " failed boots, " + std::to_string(r.damaged_gone) +
         " damaged tables taken out";
}

std::string report(const Swarm& s, const SwarmRun& r) {
  std::string out = "seed " + std::to_string(s.seed) +
                    " FAILED (replay: SHOAL_SIM_SEED=" + std::to_string(s.seed) +
                    ", or shoal-sim --seed " + std::to_string(s.seed) +
                    ")\n  options: " + describe(s) + "\n  storage: " + storage(r) + "\n";
  if (!r.converged) {
    out += "  replicas did not settle within " + std::to_string(kLivenessBoundMs / 1000) +
           " s of the heal: " + r.unsettled + "\n";
  }
  if (r.store.damaged_at_open > 0) {
    out +=
        "  a store did not open at a restart (LevelDB found its log or manifest damaged) "
        "though the simulator damages tables only: the node damaged it itself\n";
  }
  out += check::summary_table(r.verdict);
  return out;
}

}  // namespace shoal::sim
