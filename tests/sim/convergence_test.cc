// Convergence: random partitions, kills and restarts under a counter and set load; after
// everything heals and the cluster is quiet, every replica of every key holds the same
// state, no acknowledged add is lost and counters stay within their bounds. No client
// reads happen after the faults: hints, handoff and anti-entropy alone must converge.
#include <catch2/catch.hpp>

#include "requests.h"

namespace shoal::sim {
namespace {

struct History {
  // Counters: acknowledged sum; unanswered or failed deltas, positive and negative.
  std::map<std::string, int64_t> acked, maybe_pos, maybe_neg;
  std::map<std::string, std::set<std::string>> added;   // sets: acknowledged adds
  std::map<std::string, std::set<std::string>> tried;   // sets: every add sent
};

constexpr int kKeys = 20;

void schedule_load(Sim& sim, History& h, uint64_t for_ms) {
  for (uint64_t t = 0; t < for_ms; t += 7) {
    sim.at(t, [&sim, &h, t] {
      std::vector<std::string> live;
      for (const std::string& id : sim.node_ids()) {
        if (sim.running(id)) live.push_back(id);
      }
      if (live.empty()) return;
      const std::string at = live[sim.rng().below(live.size())];
      const std::string key = "k" + std::to_string(sim.rng().below(kKeys));
      core::RequestOptions o;
      const uint64_t pick = sim.rng().below(4);  // QUORUM, ONE, ALL, LOCAL
      if (pick > 0) o = core::preset(pick == 1 ? "ONE" : pick == 2 ? "ALL" : "LOCAL").value();
      o.timeout_ms = 1000;
      if (sim.rng().chance(1, 2)) {
        const int64_t delta = static_cast<int64_t>(sim.rng().below(9)) - 4;
        (delta > 0 ? h.maybe_pos : h.maybe_neg)[key] += delta;
        sim.client(at, counter_add(key, delta, o), [&h, key, delta](core::ClientResponse r) {
          if (!r.status.is_ok()) return;
          (delta > 0 ? h.maybe_pos : h.maybe_neg)[key] -= delta;
          h.acked[key] += delta;
        });
      } else {
        const std::string elem = "e" + std::to_string(t);
        h.tried[key].insert(elem);
        sim.client(at, set_add(key, elem, o), [&h, key, elem](core::ClientResponse r) {
          if (r.status.is_ok()) h.added[key].insert(elem);
        });
      }
    });
  }
}

// Faults for `for_ms`: every 500 ms one of heal, partition a random group, kill a random
// node, restart the killed ones.
void schedule_faults(Sim& sim, uint64_t for_ms) {
  for (uint64_t t = 250; t < for_ms; t += 500) {
    sim.at(t, [&sim] {
      const std::vector<std::string>& ids = sim.node_ids();
      switch (sim.rng().below(4)) {
        case 0:
          sim.heal();
          break;
        case 1: {
          std::set<std::string> side;
          for (const std::string& id : ids) {
            if (sim.rng().chance(1, 2)) side.insert(id);
          }
          sim.partition(side);
          break;
        }
        case 2: {
          const std::string& id = ids[sim.rng().below(ids.size())];
          if (sim.running(id)) sim.kill(id);
          break;
        }
        default:
          for (const std::string& id : ids) {
            if (!sim.running(id)) sim.restart(id);
          }
      }
    });
  }
}

std::vector<std::string> check(Sim& sim, const History& h) {
  std::vector<std::string> bad;
  const ring::Ring& ring = sim.node("n1").ring();
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "k" + std::to_string(i);
    for (const char* bucket : {"c", "s"}) {
      core::ObjectPtr first;
      for (const std::string& owner : ring.preference_list(ring::key_hash(bucket, key), 3)) {
        auto r = call(sim, owner, read(bucket, key, local()));
        core::ObjectPtr got = r && r->status.is_ok() ? r->object : nullptr;
        if (owner == ring.preference_list(ring::key_hash(bucket, key), 3).front()) {
          first = got;
        } else if ((got == nullptr) != (first == nullptr) || (got && !(*got == *first))) {
          bad.push_back(std::string(bucket) + "/" + key + " differs at " + owner);
        }
      }
      if (!first) continue;
      if (auto* c = first->as<crdt::PNCounter>()) {
        auto get = [&](const std::map<std::string, int64_t>& m) {
          return m.count(key) ? m.at(key) : 0;
        };
        const int64_t acked = get(h.acked);
        if (c->read() < acked + get(h.maybe_neg) || c->read() > acked + get(h.maybe_pos)) {
          bad.push_back("counter " + key + " = " + std::to_string(c->read()) +
                        " outside [acked + failed negatives, acked + failed positives] around " +
                        std::to_string(acked));
        }
      } else if (auto* s = first->as<crdt::ORSet>()) {
        for (const std::string& e : h.added.count(key) ? h.added.at(key) : std::set<std::string>{}) {
          if (!s->contains(e)) bad.push_back("acked add lost: " + key + " " + e);
        }
        for (const std::string& e : s->read()) {
          if (!h.tried.count(key) || !h.tried.at(key).count(e)) bad.push_back("phantom " + e);
        }
      }
    }
  }
  return bad;
}

TEST_CASE("after random partitions kills and restarts heal every replica of every key "
          "converges (200 seeds)",
          "[sim][convergence]") {
  for (uint64_t seed : scenario_seeds(200)) {
    SimOptions o;
    o.seed = seed;
    o.nodes = 5;
    o.vnodes = 16;
    o.loss_pct = 2;
    o.dup_pct = 2;
    o.cluster.tick_ms = 20;
    o.cluster.ae_interval_ms = 20;  // a full anti-entropy cycle in about 20 s
    Sim sim(o);
    History h;
    schedule_load(sim, h, 10'000);
    schedule_faults(sim, 10'000);
    sim.run_until(10'500);
    sim.heal();
    sim.set_faults(0, 0);
    for (const std::string& id : sim.node_ids()) {
      if (!sim.running(id)) sim.restart(id);
    }
    sim.run_until(sim.now_ms() + 30'000);  // 1.5 anti-entropy cycles
    const std::vector<std::string> bad = check(sim, h);
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    for (const std::string& b : bad) UNSCOPED_INFO(b);
    REQUIRE(bad.empty());
  }
}

}  // namespace
}  // namespace shoal::sim
