// Quorum reads and writes while one of three nodes is partitioned away, over a lossy,
// duplicating, reordering network; then heal, read-repair, and check every replica.
// Each run is one seed; a failure names its seed, and the same seed replays the run.
#include <catch2/catch.hpp>
#include <set>

#include "sim.h"

namespace shoal::sim {
namespace {

using core::ClientRequest;
using core::ClientResponse;
using core::Update;

struct Outcome {
  uint64_t digest = 0;
  int writes = 0, acked = 0, indeterminate = 0, ryw_reads = 0;
  std::vector<std::string> violations;
};

ClientRequest request(const std::string& key, Update u, core::RequestOptions o = {}) {
  ClientRequest r;
  r.op = ClientRequest::Op::kUpdate;
  r.bucket = "b";
  r.key = key;
  r.update = std::move(u);
  r.options = o;
  r.options.timeout_ms = 1000;
  return r;
}

ClientRequest get(const std::string& key, core::RequestOptions o = {}) {
  ClientRequest r;
  r.bucket = "b";
  r.key = key;
  r.options = o;
  r.options.timeout_ms = 2000;
  return r;
}

// What clients were told, per key: acknowledged, and indeterminate (timed out).
struct Ledger {
  std::map<std::string, int64_t> counter_acked, counter_maybe_pos, counter_maybe_neg;
  std::set<std::string> set_acked, set_attempted;
  std::map<std::string, std::set<std::string>> reg_acked, reg_attempted;
};

void issue_write(Sim& sim, Ledger& led, Outcome& out, int i) {
  const std::string coord = sim.rng().chance(1, 2) ? "n1" : "n2";
  const std::string other = coord == "n1" ? "n2" : "n1";
  const uint64_t kind = sim.rng().below(3);
  Update u;
  std::string key;
  if (kind == 0) {
    key = "c" + std::to_string(sim.rng().below(3));
    u.kind = Update::Kind::kCounterAdd;
    u.delta = sim.rng().range(-5, 5);
  } else if (kind == 1) {
    key = "s0";
    u.kind = Update::Kind::kSetAdd;
    u.elements = {"e" + std::to_string(i)};
    led.set_attempted.insert(u.elements[0]);
  } else {
    key = "r" + std::to_string(sim.rng().below(3));
    u.kind = Update::Kind::kPut;
    u.value = "v" + std::to_string(i);
    led.reg_attempted[key].insert(u.value);
  }
  ++out.writes;
  sim.client(coord, request(key, u), [&sim, &led, &out, key, u, other](ClientResponse r) {
    if (r.status.code() == Code::kTimeout) {
      ++out.indeterminate;
      if (u.kind == Update::Kind::kCounterAdd) {
        (u.delta > 0 ? led.counter_maybe_pos : led.counter_maybe_neg)[key] += u.delta;
      }
      return;
    }
    if (!r.status.is_ok()) {
      out.violations.push_back("write failed definitely: " + r.status.to_string());
      return;
    }
    ++out.acked;
    if (u.kind == Update::Kind::kCounterAdd) led.counter_acked[key] += u.delta;
    if (u.kind == Update::Kind::kSetAdd) led.set_acked.insert(u.elements[0]);
    if (u.kind != Update::Kind::kPut) return;
    led.reg_acked[key].insert(u.value);
    // R + W > N: a quorum read through the other node must see the acked write.
    sim.client(other, get(key), [&out, key, value = u.value](ClientResponse g) {
      if (!g.status.is_ok()) return;  // a read may time out under loss
      ++out.ryw_reads;
      auto vals = g.object->as<crdt::DvvSet>()->values();
      if (std::find(vals.begin(), vals.end(), value) == vals.end()) {
        out.violations.push_back("quorum read missed acked " + key + "=" + value);
      }
    });
  });
}

void check_final(Sim& sim, const Ledger& led, Outcome& out) {
  std::vector<std::string> keys = {"c0", "c1", "c2", "s0", "r0", "r1", "r2"};
  core::RequestOptions local = core::preset("LOCAL").value();
  for (const std::string& key : keys) {
    std::optional<core::Object> first;
    for (const std::string& n : sim.node_ids()) {
      std::optional<core::Object> got;
      sim.client(n, get(key, local), [&](ClientResponse r) {
        if (r.object) got = *r.object;
      });
      if (n == "n1") {
        first = got;
      } else if (got != first) {
        out.violations.push_back("replicas differ after heal on " + key + " at " + n);
      }
    }
    if (!first) continue;
    if (auto* c = first->as<crdt::PNCounter>()) {
      const int64_t lo = led.counter_acked.count(key) ? led.counter_acked.at(key) : 0;
      const int64_t neg = led.counter_maybe_neg.count(key) ? led.counter_maybe_neg.at(key) : 0;
      const int64_t pos = led.counter_maybe_pos.count(key) ? led.counter_maybe_pos.at(key) : 0;
      if (c->read() < lo + neg || c->read() > lo + pos) {
        out.violations.push_back(key + " = " + std::to_string(c->read()) + " outside bounds");
      }
    } else if (auto* s = first->as<crdt::ORSet>()) {
      for (const auto& e : led.set_acked) {
        if (!s->contains(e)) out.violations.push_back("acked set add lost: " + e);
      }
      for (const auto& e : s->read()) {
        if (!led.set_attempted.count(e)) out.violations.push_back("phantom element " + e);
      }
    } else if (auto* r = first->as<crdt::DvvSet>()) {
      const auto vals = r->values();
      const std::set<std::string> present(vals.begin(), vals.end());
      for (const auto& v :
           led.reg_acked.count(key) ? led.reg_acked.at(key) : std::set<std::string>{}) {
        if (!present.count(v)) out.violations.push_back("acked write lost: " + key + "=" + v);
      }
      for (const auto& v : present) {
        if (!led.reg_attempted.at(key).count(v)) out.violations.push_back("phantom " + v);
      }
    }
  }
}

Outcome run_scenario(uint64_t seed) {
  Sim sim(SimOptions{seed, 3, 1, 20, /*loss_pct=*/5, /*dup_pct=*/5, 256});
  Ledger led;
  Outcome out;
  sim.partition({"n3"});
  constexpr int kOps = 300;
  for (int i = 0; i < kOps; ++i) {
    sim.at(static_cast<uint64_t>(i) * 40, [&sim, &led, &out, i] { issue_write(sim, led, out, i); });
  }
  sim.run_until(kOps * 40 + 3000);
  // Liveness phase: heal, quiet network, read everything at ALL to trigger read repair.
  sim.heal();
  sim.set_faults(0, 0);
  // The failure detectors hear n3 again within a heartbeat or two; until then ALL is
  // refused as unavailable.
  sim.run_until(sim.now_ms() + 2000);
  core::RequestOptions all = core::preset("ALL").value();
  for (const char* key : {"c0", "c1", "c2", "s0", "r0", "r1", "r2"}) {
    sim.client("n1", get(key, all), [](ClientResponse) {});
  }
  sim.run_until_idle(10'000);
  check_final(sim, led, out);
  out.digest = sim.trace_digest();
  return out;
}

TEST_CASE("quorum writes and reads with one node partitioned (100 seeds)", "[sim]") {
  for (uint64_t seed : scenario_seeds(100)) {
    Outcome out = run_scenario(seed);
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    for (const auto& v : out.violations) UNSCOPED_INFO(v);
    REQUIRE(out.violations.empty());
    // With one node of three cut off, a quorum still forms: most writes are acked.
    REQUIRE(out.acked * 10 >= out.writes * 7);
    REQUIRE(out.ryw_reads > 0);
  }
}

TEST_CASE("the same seed replays the same run", "[sim]") {
  const Outcome a = run_scenario(4242);
  const Outcome b = run_scenario(4242);
  REQUIRE(a.digest == b.digest);
  REQUIRE(a.acked == b.acked);
  REQUIRE(a.indeterminate == b.indeterminate);
  REQUIRE(run_scenario(4243).digest != a.digest);
}

}  // namespace
}  // namespace shoal::sim
