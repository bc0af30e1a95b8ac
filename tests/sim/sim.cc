#include "sim.h"

#include <leveldb/db.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "crdt/assert.h"
#include "node/core/identity.h"
#include "node/store/store_doctor.h"

namespace shoal::sim {

namespace {

// What the simulation on this thread is running: a failed invariant (crdt/assert.h) names
// the seed that replays it and the node whose turn it was.
struct Running {
  uint64_t seed = 0;
  bool any = false;
  const std::string* node = nullptr;  // during a node's turn
  uint64_t now_ms = 0;
};
thread_local Running t_running;

void name_the_seed(const char* message) {
  std::fprintf(stderr, "%s\n", message);
  if (!t_running.any) return;
  const auto seed = static_cast<unsigned long long>(t_running.seed);
  if (t_running.node) {
    std::fprintf(stderr, "  in simulated node %s at %llu ms of seed %llu\n",
                 t_running.node->c_str(), static_cast<unsigned long long>(t_running.now_ms), seed);
  } else {
    std::fprintf(stderr, "  in the simulation of seed %llu\n", seed);
  }
  std::fprintf(stderr,
               "  replay: shoal-sim --seed %llu (a swarm seed), or SHOAL_SIM_SEED=%llu and the "
               "scenario's name (a sim_tests scenario)\n",
               seed, seed);
}

}  // namespace

std::vector<uint64_t> scenario_seeds(uint64_t count) {
  if (const char* s = std::getenv("SHOAL_SIM_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::vector<uint64_t> out;
  for (uint64_t seed = 1; seed <= count; ++seed) out.push_back(seed);
  return out;
}

// The node's store as a disk would keep it: writes committed without fsync are undone by
// a power loss (an undo log of their previous values, cleared by every synced commit).
// Every operation first lets LevelDB's background work finish (DiskFaults::quiesce), so
// compactions happen at the same points of every replay.
class SimStore final : public core::Store {
 public:
  // `failing`: while it says so, scans fail as a read error of the disk would. `wrote`:
  // told after each commit that wrote, and whether it fsynced (a slow disk stalls then).
  SimStore(store::LevelDbStore& inner, DiskFaults& disk, std::function<bool()> failing,
           std::function<void(bool)> wrote)
      : inner_(inner), disk_(disk), failing_(std::move(failing)), wrote_(std::move(wrote)) {}
  Result<std::optional<std::string>> get(std::string_view k) override {
    disk_.quiesce();
    return inner_.get(k);
  }
  void put(std::string_view k, std::string_view v) override {
    remember(k);
    inner_.put(k, v);
  }
  void erase(std::string_view k) override {
    remember(k);
    inner_.erase(k);
  }
  bool has_staged() const override { return inner_.has_staged(); }
  // A commit that failed: its writes never reached the disk, so they leave no undo.
  void discard_staged() override {
    inner_.discard_staged();
    batch_.clear();
  }
  Status health() const override { return inner_.health(); }
  Status flush(bool sync) override {
    disk_.quiesce();
    const bool writes = !batch_.empty() || (sync && !unsynced_.empty());
    SHOAL_RETURN_IF_ERROR(inner_.flush(sync));
    if (sync) {
      unsynced_.clear();
    } else {
      unsynced_.merge(batch_);  // keeps the older previous value of keys in both
    }
    batch_.clear();
    if (writes) wrote_(sync);
    return Status::ok();
  }
  Status scan(std::string_view from, std::string_view to, const ScanFn& fn) override {
    if (failing_()) return Status::corruption("simulated read error");
    disk_.quiesce();
    return inner_.scan(from, to, fn);
  }
  Status walk(std::string_view from, std::string_view to, const ScanFn& fn) override {
    if (failing_()) return Status::corruption("simulated read error");
    disk_.quiesce();
    return inner_.walk(from, to, fn);
  }
  // The disk as a power failure now would leave it: the committed rows, with every write
  // not yet fsynced undone; nullopt when a read failed (a damaged table: a copy with rows
  // silently missing would be no copy of this disk). REQUIRES: between turns.
  std::optional<DiskImage> image() {
    DiskImage out;
    if (!flush(false).is_ok()) return std::nullopt;
    disk_.quiesce();
    const Status read = inner_.scan("", "", [&](std::string_view k, std::string_view v) {
      out.emplace(k, v);
      return true;
    });
    if (!read.is_ok()) return std::nullopt;
    for (const auto& [k, prior] : unsynced_) {
      if (prior) {
        out[k] = *prior;
      } else {
        out.erase(k);
      }
    }
    return out;
  }
  void lose_unsynced() {
    disk_.quiesce();
    // The undo goes through LevelDB. After a failed write LevelDB's log writer is out of
    // step with the file (it counted a record the disk refused), so writing through it
    // again would damage the log: the simulator's own undo must not do that, so it starts
    // from a fresh open. (Failing: nothing is undone, the disk loses less.)
    if (!inner_.fault().is_ok()) (void)inner_.reopen();
    for (const auto& [k, prior] : unsynced_) {
      if (prior) {
        inner_.put(k, *prior);
      } else {
        inner_.erase(k);
      }
    }
    (void)inner_.flush(true);
    unsynced_.clear();
  }
  // The store was repaired or reopened, or tried to be (StoreDoctor). Either way LevelDB
  // went through its recovery, which writes what the log holds to a table and syncs it,
  // and a repair rewrites tables synced: what the store holds now is on disk for good. And
  // a row a repair dropped, or brought back in an older version (its newer one was in a
  // damaged block), no longer has the previous value the undo log remembers, so undoing
  // it on a power loss would write a value the disk never held then. The undo log starts
  // afresh. (After a failed treatment that never got to the recovery, this forgets
  // writes a power loss could still undo: the simulated disk then loses less than a real
  // one might, never more.)
  void forget_unsynced() { unsynced_.clear(); }

 private:
  void remember(std::string_view k) {
    if (batch_.count(std::string(k))) return;
    auto prior = inner_.get(k);  // nothing of this batch is staged for k yet
    batch_[std::string(k)] = prior ? *prior : std::nullopt;
  }
  store::LevelDbStore& inner_;
  DiskFaults& disk_;
  std::function<bool()> failing_;
  std::function<void(bool)> wrote_;
  std::map<std::string, std::optional<std::string>> batch_, unsynced_;
};

class Sim::SimNode final : public core::Clock, public core::Transport, public core::Timers {
 public:
  SimNode(Sim& sim, std::string id, uint64_t incarnation, const std::vector<std::string>& members,
          const std::vector<std::string>& seeds)
      : sim_(sim), id_(std::move(id)), incarnation_(incarnation), rng_(sim.rng_.next()) {
    if (!open_store()) return;
    const uint32_t ppm = sim.options_.drift_ppm;
    rate_ = 1.0 + (ppm ? (static_cast<double>(sim.rng_.below(2 * ppm + 1)) - ppm) / 1e6 : 0.0);
    const uint32_t skew = sim.options_.wall_skew_ms;
    wall_offset_ms_ = skew ? static_cast<int64_t>(sim.rng_.below(2 * skew + 1)) - skew : 0;
    start_ms_ = sim.now_ms_;
    Result<crdt::Actor> actor =
        core::new_incarnation(*disk_, rng_, sim.options_.cluster.fault_points.bug_reuse_actor);
    if (!actor) {
      boot_ = actor.status();
      return;
    }
    core::NodeConfig config;
    config.self = id_;
    config.members = members;
    config.seeds = seeds;
    config.vnodes_per_node = sim.options_.vnodes;
    config.cluster = sim.options_.cluster;
    config.cluster.fault_points.legacy_acks |= sim.options_.legacy_acks.count(id_) > 0;
    config.cluster.fault_points.legacy_deletes |= sim.options_.legacy_deletes.count(id_) > 0;
    config.max_pending_requests = sim.options_.max_pending_requests;
    config.max_write_bytes_in_flight = sim.options_.max_write_bytes_in_flight;
    config.object_cache_bytes = sim.options_.object_cache_bytes;
    config.whole_set_max_members = sim.options_.whole_set_max_members;
    config.key_filter_bytes = sim.options_.key_filter_bytes;
    node_ = std::make_unique<core::Node>(config, core::NodeEnv{*this, *this, *this, *disk_, rng_},
                                         *actor);
  }

  // Ok, or why the node could not boot (it must not run then).
  const Status& booted() const { return boot_; }
  // It could not boot because LevelDB would not open the store (not a failed read).
  bool open_failed() const { return store_ == nullptr && !boot_.is_ok(); }

  // This node's clock: it started with the simulation's and runs at rate_.
  uint64_t now_ms() override {
    return start_ms_ + static_cast<uint64_t>(static_cast<double>(sim_.now_ms_ - start_ms_) * rate_);
  }
  uint64_t wall_ms() override {
    return static_cast<uint64_t>(1'700'000'000'000LL + wall_offset_ms_) + now_ms();
  }
  void send(const std::string& to, const core::Message& m) override { sim_.deliver(id_, to, m); }
  void schedule(uint64_t timer_id, uint64_t delay_ms) override {
    if (timer_id != core::Node::kTickTimer) ++sim_.timers_scheduled_;
    Sim& sim = sim_;
    const std::string id = id_;
    const uint64_t inc = incarnation_;
    // The delay is in this node's time: a fast clock fires early in simulated time.
    const auto sim_delay = static_cast<uint64_t>(static_cast<double>(delay_ms) / rate_);
    sim_.schedule(sim_delay, [&sim, id, inc, timer_id] {
      sim.when_awake(id, [&sim, id, inc, timer_id] {
        auto it = sim.nodes_.find(id);
        if (it == sim.nodes_.end() || it->second->incarnation_ != inc) return;  // killed
        SimNode& n = *it->second;
        if (n.cancelled_.erase(timer_id)) return;
        sim.trace(3, timer_id);
        n.turn([&] { n.node_->on_timer(timer_id); });
      });
    });
  }
  void cancel(uint64_t timer_id) override {
    if (cancelled_.insert(timer_id).second) ++sim_.timers_cancelled_;
  }

  template <typename F>
  void turn(F&& f) {
    const Running before = t_running;
    t_running.node = &id_;
    t_running.now_ms = sim_.now_ms_;
    f();
    node_->end_turn();
    treat_store();
    t_running = before;
  }

  core::Node& node() { return *node_; }
  uint64_t incarnation() const { return incarnation_; }
  SimStore& disk() { return *disk_; }
  Status store_health() const { return doctor_->health(); }

 private:
  // The shell's floor (shoald --min-free-mb, 100 MiB by default) and what the simulated
  // disk reports free: nothing while it is full, else plenty.
  static constexpr uint64_t kMinFreeBytes = 100u << 20, kFreeBytes = 1u << 30;

  bool open_store() {
    Result<std::unique_ptr<store::LevelDbStore>> opened =
        store::LevelDbStore::open(dir(id_), sim_.env_.get());
    sim_.env_->quiesce();
    if (!opened) {
      boot_ = opened.status();
      return false;
    }
    store_ = std::move(opened).value();
    store_->set_verify_checksums(!sim_.options_.bug_skip_read_checksums);
    store_->set_repair_erases(!sim_.options_.bug_partial_repair);
    DiskFaults* env = sim_.env_.get();
    doctor_ = std::make_unique<store::StoreDoctor>(
        *store_, kMinFreeBytes,
        [env, d = dir(id_)]() -> Result<uint64_t> { return env->full(d) ? 0 : kFreeBytes; });
    Sim& sim = sim_;
    disk_ = std::make_unique<SimStore>(
        *store_, *env, [&sim, id = id_] { return sim.failing_scans_.count(id) > 0; },
        [&sim, id = id_](bool synced) {
          auto slow = sim.slow_ms_.find(id);
          if (slow == sim.slow_ms_.end() || slow->second == 0) return;
          sim.stall(id, synced ? slow->second : std::max<uint64_t>(1, slow->second / 10));
        });
    return true;
  }

  // What the shell does after every turn (Server::Impl::check_store): the free-space
  // floor, then the doctor's treatment of a store fault; after a treatment that succeeded
  // the node learns its store may hold less (on_store_reset) and commits that turn.
  void treat_store() {
    sim_.env_->quiesce();
    const uint64_t now = now_ms();
    (void)doctor_->check_space(now);
    if (doctor_->healthy()) return;
    const store::StoreDoctor::Outcome out = doctor_->tick(now);
    sim_.env_->quiesce();
    if (out.action == store::StoreDoctor::Action::kNone) return;
    sim_.trace(5, static_cast<uint64_t>(out.action));
    disk_->forget_unsynced();  // why: SimStore::forget_unsynced
    StoreStats& st = sim_.store_stats_;
    if (out.action == store::StoreDoctor::Action::kFailed) {
      ++st.failed;
      return;
    }
    ++(out.action == store::StoreDoctor::Action::kRepaired ? st.repairs : st.reopens);
    node_->on_store_reset();
    node_->end_turn();
  }

  Sim& sim_;
  std::set<uint64_t> cancelled_;  // timers to skip when they come due
  std::string id_;
  uint64_t incarnation_;
  core::SeededRng rng_;
  Status boot_;
  std::unique_ptr<store::LevelDbStore> store_;
  std::unique_ptr<store::StoreDoctor> doctor_;  // after store_: destroyed before it
  std::unique_ptr<SimStore> disk_;
  double rate_ = 1.0;
  int64_t wall_offset_ms_ = 0;
  uint64_t start_ms_ = 0;
  std::unique_ptr<core::Node> node_;  // last: destroyed first
};

Sim::Sim(SimOptions options)
    : options_(options), rng_(options.seed), env_(std::make_unique<DiskFaults>()) {
  static std::once_flag installed;  // soaks construct Sims on several threads
  std::call_once(installed, [] { set_invariant_handler(name_the_seed); });
  t_running = Running{options_.seed, true, nullptr, 0};
  std::vector<std::string> ids;
  for (int i = 1; i <= options_.nodes; ++i) ids.push_back("n" + std::to_string(i));
  for (const std::string& id : ids) {
    if (auto src = options_.start_from.find(id); src != options_.start_from.end()) {
      SHOAL_ASSERT(nodes_.count(src->second) > 0);  // the source started first
      restore(id, snapshot(src->second));
    }
    const Status booted =
        !options_.join_through_seed
            ? start(id, ids, {})
            : start(id, {},
                    id == "n1" ? std::vector<std::string>{} : std::vector<std::string>{"n1"});
    SHOAL_ASSERT(booted.is_ok(), "a node of a new simulation boots");
  }
}

Sim::~Sim() = default;

Status Sim::start(const std::string& id, std::vector<std::string> members,
                  std::vector<std::string> seeds) {
  if (std::find(ids_.begin(), ids_.end(), id) == ids_.end()) ids_.push_back(id);
  members_of_[id] = members;
  seeds_of_[id] = seeds;
  const uint64_t inc = ++incarnation_[id];
  auto n = std::make_unique<SimNode>(*this, id, inc, members, seeds);
  if (n->booted().code() == Code::kCorruption) {
    // shoald refuses to start on a store LevelDB calls damaged and says to run `shoald
    // --repair` (docs/operations.md): the operator does, and starts it again.
    store_stats_.damaged_at_open += n->open_failed();
    n.reset();
    ++store_stats_.offline_repairs;
    trace(6, inc);
    (void)store::LevelDbStore::repair_dir(dir(id), env_.get(), !options_.bug_partial_repair);
    env_->quiesce();
    n = std::make_unique<SimNode>(*this, id, inc, members, seeds);
  }
  if (!n->booted().is_ok()) {
    ++store_stats_.boot_failures;
    trace(7, inc);
    return n->booted();
  }
  nodes_[id] = std::move(n);
  nodes_[id]->turn([] {});
  return Status::ok();
}

void Sim::kill(const std::string& id) {
  nodes_.erase(id);
  paused_until_.erase(id);
}

void Sim::power_fail(const std::string& id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  it->second->disk().lose_unsynced();
  kill(id);
}

void Sim::pause(const std::string& id, uint64_t for_ms) {
  if (running(id)) paused_until_[id] = std::max(paused_until_[id], now_ms_ + for_ms);
}

bool Sim::paused(const std::string& id) const {
  auto it = paused_until_.find(id);
  return it != paused_until_.end() && it->second > now_ms_;
}

void Sim::when_awake(const std::string& id, std::function<void()> fn) {
  if (!paused(id)) return fn();
  schedule(paused_until_.at(id) - now_ms_, [this, id, fn = std::move(fn)] { when_awake(id, fn); });
}

uint64_t Sim::link_delay_ms() {
  const uint64_t lo = options_.min_delay_ms, hi = options_.max_delay_ms;
  switch (options_.latency) {
    case SimOptions::Latency::kExponential: {
      const double u = static_cast<double>(rng_.next() >> 11) * 0x1.0p-53;
      const double d = -std::log1p(-u) * static_cast<double>(hi - lo) / 3.0;
      return lo + std::min<uint64_t>(static_cast<uint64_t>(d), 10 * hi);
    }
    case SimOptions::Latency::kBimodal:
      if (rng_.chance(1, 10)) return hi + rng_.below(2 * hi + 1);
      return lo + rng_.below((hi - lo) / 4 + 1);
    case SimOptions::Latency::kUniform:
      break;
  }
  return lo + rng_.below(hi - lo + 1);
}

void Sim::restart(const std::string& id) {
  const Status booted = try_restart(id);
  SHOAL_ASSERT(booted.is_ok(), "the restarted node boots");
}

Status Sim::try_restart(const std::string& id) {
  SHOAL_ASSERT(!running(id));
  // A restarted node knows what it was started with: the static list, or its seeds
  // (any other node, for one that joined).
  return start(id, members_of_.at(id), seeds_of_.at(id));
}

std::string Sim::add_node(const std::vector<std::string>& seeds) {
  const std::string id = "n" + std::to_string(ids_.size() + 1);
  const Status booted = start(id, {}, seeds);
  SHOAL_ASSERT(booted.is_ok(), "a new node boots");
  return id;
}

Status Sim::store_health(const std::string& id) const {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return Status::unavailable(id + " is not running");
  return it->second->store_health();
}

void Sim::stall(const std::string& id, uint64_t ms) {
  if (running(id)) paused_until_[id] = std::max(paused_until_[id], now_ms_ + ms);
}

uint64_t Sim::stalled_for(const std::string& id) const {
  auto it = paused_until_.find(id);
  return it != paused_until_.end() && it->second > now_ms_ ? it->second - now_ms_ : 0;
}

void Sim::wipe(const std::string& id) {
  SHOAL_ASSERT(!running(id));
  (void)leveldb::DestroyDB(dir(id), [&] {
    leveldb::Options o;
    o.env = env_.get();
    return o;
  }());
}

DiskImage Sim::snapshot(const std::string& id) { return try_snapshot(id).value_or(DiskImage{}); }

std::optional<DiskImage> Sim::try_snapshot(const std::string& id) {
  if (auto it = nodes_.find(id); it != nodes_.end()) return it->second->disk().image();
  // Killed: its store is closed; open it to read what lies on the disk.
  DiskImage out;
  auto store = store::LevelDbStore::open(dir(id), env_.get());
  env_->quiesce();
  if (!store) return std::nullopt;  // it does not open: nothing can be copied
  const Status read = (*store)->scan("", "", [&](std::string_view k, std::string_view v) {
    out.emplace(k, v);
    return true;
  });
  env_->quiesce();
  if (!read.is_ok()) return std::nullopt;
  return out;
}

void Sim::restore(const std::string& id, const DiskImage& image) {
  SHOAL_ASSERT(!running(id));
  wipe(id);
  auto store = store::LevelDbStore::open(dir(id), env_.get()).value();
  for (const auto& [k, v] : image) store->put(k, v);
  (void)store->flush(/*sync=*/true);
  env_->quiesce();
}

core::Node& Sim::node(const std::string& id) { return nodes_.at(id)->node(); }

void Sim::partition(const std::set<std::string>& side) { partition_side_ = side; }
void Sim::heal() { partition_side_.clear(); }

bool Sim::blocked(const std::string& from, const std::string& to) const {
  if (partition_side_.empty()) return false;
  return partition_side_.count(from) != partition_side_.count(to);
}

void Sim::trace(uint64_t a, uint64_t b) {
  // Order-sensitive fold of every event: equal digests mean equal runs.
  digest_ = (digest_ ^ (a * 0x9e3779b97f4a7c15ULL + b + now_ms_)) * 0xbf58476d1ce4e5b9ULL;
  digest_ ^= digest_ >> 31;
}

void Sim::schedule(uint64_t delay_ms, std::function<void()> fn) {
  queue_.push(Event{now_ms_ + delay_ms, seq_++, std::move(fn)});
}

void Sim::at(uint64_t delay_ms, std::function<void()> fn) { schedule(delay_ms, std::move(fn)); }

void Sim::deliver(const std::string& from, const std::string& to, const core::Message& m) {
  if (const uint64_t wait = stalled_for(from)) {
    // Sent in a turn that waits for a slow disk: it leaves when the write is done, if
    // the process still lives then.
    const uint64_t inc = incarnation_[from];
    schedule(wait, [this, from, to, m, inc] {
      if (running(from) && incarnation_[from] == inc) send_now(from, to, m);
    });
    return;
  }
  send_now(from, to, m);
}

void Sim::send_now(const std::string& from, const std::string& to, const core::Message& m) {
  if (tap_) tap_(from, to, m);
  const bool batch = m.kind == core::Message::Kind::kMergeAcks;
  if (batch) ++ack_batches_.sent, ack_batches_.acks += m.acks.size();
  if (blocked(from, to) || rng_.chance(options_.loss_pct, 100)) {
    ack_batches_.lost += batch;
    return;
  }
  const int copies = rng_.chance(options_.dup_pct, 100) ? 2 : 1;
  ack_batches_.duplicated += batch && copies == 2;
  for (int c = 0; c < copies; ++c) {
    schedule(link_delay_ms(), [this, from, to, m] {
      if (blocked(from, to)) return;  // a partition that began in flight
      const uint64_t inc = incarnation_[to];
      when_awake(to, [this, from, to, m, inc] {
        auto it = nodes_.find(to);
        if (it == nodes_.end() || incarnation_[to] != inc) return;  // not running
        if (options_.batch_arrivals) return arrive(from, to, m);
        ++delivered_;
        trace(static_cast<uint64_t>(m.kind), m.req_id);
        it->second->turn([&] { it->second->node().on_message(from, m); });
      });
    });
  }
}

void Sim::arrive(const std::string& from, const std::string& to, const core::Message& m) {
  std::vector<Arrival>& waiting = inbox_[to];
  waiting.push_back({from, m, incarnation_[to]});
  if (waiting.size() == 1) schedule(0, [this, to] { flush(to); });
}

void Sim::flush(const std::string& to) {
  auto batch = std::make_shared<std::vector<Arrival>>(std::move(inbox_[to]));
  inbox_.erase(to);
  when_awake(to, [this, to, batch] {
    auto it = nodes_.find(to);
    if (it == nodes_.end()) return;
    it->second->turn([&] {
      for (const Arrival& a : *batch) {
        if (incarnation_[to] != a.incarnation) continue;  // sent to a process since killed
        ++delivered_;
        trace(static_cast<uint64_t>(a.m.kind), a.m.req_id);
        it->second->node().on_message(a.from, a.m);
      }
    });
  });
}

void Sim::client(const std::string& at_node, core::ClientRequest request, core::ReplyFn done) {
  // A reply of a turn that waits for a slow disk leaves when the write is done (and not
  // at all if the process dies first).
  core::ReplyFn reply = [this, at_node, done = std::move(done)](core::ClientResponse r) {
    const uint64_t wait = stalled_for(at_node);
    if (wait == 0) return done(std::move(r));
    const uint64_t inc = incarnation_[at_node];
    schedule(wait, [this, at_node, inc, done, r = std::move(r)]() mutable {
      if (running(at_node) && incarnation_[at_node] == inc) done(std::move(r));
    });
  };
  auto shared = std::make_shared<std::pair<core::ClientRequest, core::ReplyFn>>(std::move(request),
                                                                                std::move(reply));
  when_awake(at_node, [this, at_node, shared] {
    auto it = nodes_.find(at_node);
    if (it == nodes_.end()) return;  // killed while the request waited
    SimNode& n = *it->second;
    n.turn(
        [&] { n.node().on_client_request(std::move(shared->first), std::move(shared->second)); });
  });
}

void Sim::drain(uint64_t until_ms) {
  while (!queue_.empty() && queue_.top().time_ms <= until_ms) {
    Event e = queue_.top();
    queue_.pop();
    now_ms_ = e.time_ms;
    e.fn();
  }
}

void Sim::run_until(uint64_t until_ms) {
  drain(until_ms);
  if (now_ms_ < until_ms) now_ms_ = until_ms;
}

void Sim::run_until_idle(uint64_t max_ms) { drain(now_ms_ + max_ms); }

}  // namespace shoal::sim
