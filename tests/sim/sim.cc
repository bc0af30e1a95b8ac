#include "sim.h"

#include <leveldb/db.h>
#include <leveldb/helpers/memenv.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>

#include "node/core/identity.h"

namespace shoal::sim {

std::vector<uint64_t> scenario_seeds(uint64_t count) {
  if (const char* s = std::getenv("SHOAL_SIM_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::vector<uint64_t> out;
  for (uint64_t seed = 1; seed <= count; ++seed) out.push_back(seed);
  return out;
}

class Sim::SimNode final : public core::Clock, public core::Transport, public core::Timers {
 public:
  SimNode(Sim& sim, std::string id, uint64_t incarnation, const std::vector<std::string>& members,
          const std::vector<std::string>& seeds)
      : sim_(sim), id_(std::move(id)), incarnation_(incarnation), rng_(sim.rng_.next()) {
    store_ = store::LevelDbStore::open("/sim/" + id_, sim.env_.get()).value();
    const crdt::Actor actor = core::load_or_create_actor(*store_, rng_).value();
    core::NodeConfig config;
    config.self = id_;
    config.members = members;
    config.seeds = seeds;
    config.vnodes_per_node = sim.options_.vnodes;
    config.cluster = sim.options_.cluster;
    node_ = std::make_unique<core::Node>(
        config, core::NodeEnv{*this, *this, *this, *store_, rng_}, actor);
  }

  uint64_t now_ms() override { return sim_.now_ms_; }
  uint64_t wall_ms() override { return 1'700'000'000'000ULL + sim_.now_ms_; }
  void send(const std::string& to, const core::Message& m) override { sim_.deliver(id_, to, m); }
  void schedule(uint64_t timer_id, uint64_t delay_ms) override {
    if (timer_id != core::Node::kTickTimer) ++sim_.timers_scheduled_;
    Sim& sim = sim_;
    const std::string id = id_;
    const uint64_t inc = incarnation_;
    sim_.schedule(delay_ms, [&sim, id, inc, timer_id] {
      auto it = sim.nodes_.find(id);
      if (it == sim.nodes_.end() || it->second->incarnation_ != inc) return;  // killed
      SimNode& n = *it->second;
      if (n.cancelled_.erase(timer_id)) return;
      sim.trace(3, timer_id);
      n.turn([&] { n.node_->on_timer(timer_id); });
    });
  }
  void cancel(uint64_t timer_id) override {
    if (cancelled_.insert(timer_id).second) ++sim_.timers_cancelled_;
  }

  template <typename F>
  void turn(F&& f) {
    f();
    node_->end_turn();
  }

  core::Node& node() { return *node_; }
  uint64_t incarnation() const { return incarnation_; }

 private:
  Sim& sim_;
  std::set<uint64_t> cancelled_;  // timers to skip when they come due
  std::string id_;
  uint64_t incarnation_;
  core::SeededRng rng_;
  std::unique_ptr<store::LevelDbStore> store_;
  std::unique_ptr<core::Node> node_;
};

Sim::Sim(SimOptions options)
    : options_(options), rng_(options.seed), env_(leveldb::NewMemEnv(leveldb::Env::Default())) {
  std::vector<std::string> ids;
  for (int i = 1; i <= options_.nodes; ++i) ids.push_back("n" + std::to_string(i));
  for (const std::string& id : ids) {
    if (!options_.join_through_seed) {
      start(id, ids, {});
    } else {
      start(id, {}, id == "n1" ? std::vector<std::string>{} : std::vector<std::string>{"n1"});
    }
  }
}

Sim::~Sim() = default;

void Sim::start(const std::string& id, std::vector<std::string> members,
                std::vector<std::string> seeds) {
  if (std::find(ids_.begin(), ids_.end(), id) == ids_.end()) ids_.push_back(id);
  members_of_[id] = members;
  seeds_of_[id] = seeds;
  const uint64_t inc = ++incarnation_[id];
  nodes_[id] = std::make_unique<SimNode>(*this, id, inc, members, seeds);
  nodes_[id]->turn([] {});
}

void Sim::kill(const std::string& id) { nodes_.erase(id); }

void Sim::restart(const std::string& id) {
  assert(!running(id));
  // A restarted node knows what it was started with: the static list, or its seeds
  // (any other node, for one that joined).
  start(id, members_of_.at(id), seeds_of_.at(id));
}

std::string Sim::add_node(const std::vector<std::string>& seeds) {
  const std::string id = "n" + std::to_string(ids_.size() + 1);
  start(id, {}, seeds);
  return id;
}

void Sim::wipe(const std::string& id) {
  assert(!running(id));
  (void)leveldb::DestroyDB("/sim/" + id, [&] {
    leveldb::Options o;
    o.env = env_.get();
    return o;
  }());
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
  if (blocked(from, to) || rng_.chance(options_.loss_pct, 100)) return;
  const int copies = rng_.chance(options_.dup_pct, 100) ? 2 : 1;
  for (int c = 0; c < copies; ++c) {
    const uint64_t delay =
        options_.min_delay_ms + rng_.below(options_.max_delay_ms - options_.min_delay_ms + 1);
    schedule(delay, [this, from, to, m] {
      if (blocked(from, to)) return;  // a partition that began in flight
      auto it = nodes_.find(to);
      if (it == nodes_.end()) return;  // not running
      ++delivered_;
      trace(static_cast<uint64_t>(m.kind), m.req_id);
      it->second->turn([&] { it->second->node().on_message(from, m); });
    });
  }
}

void Sim::client(const std::string& at_node, core::ClientRequest request, core::ReplyFn done) {
  SimNode& n = *nodes_.at(at_node);
  n.turn([&] { n.node().on_client_request(std::move(request), std::move(done)); });
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
