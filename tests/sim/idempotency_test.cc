// Operation ids (node/core/op_log.h), honest errors and actor safety, scenario by
// scenario: a retry through any coordinator takes effect once, including when the
// attempts were minted on both sides of a partition; an update that may have been
// applied is never answered `unavailable`; a node that learns a peer holds more of its
// own actor than it does takes a new one.
#include <algorithm>
#include <catch2/catch.hpp>

#include "requests.h"
#include "sim.h"

namespace shoal::sim {
namespace {

core::RequestOptions quorum() {
  core::RequestOptions o = core::preset("QUORUM").value();
  o.timeout_ms = 1'000;
  return o;
}

core::RequestOptions local_opts() {
  core::RequestOptions o = local();
  o.timeout_ms = 1'000;
  return o;
}

core::ClientRequest with_id(core::ClientRequest r, const std::string& id) {
  r.update.op_id = id;
  return r;
}

// Waits until every node's LOCAL copy of counter `key` reads `want` (anti-entropy and
// hints at work), up to max_ms of simulated time.
bool counters_converge(Sim& sim, const std::string& key, int64_t want, uint64_t max_ms) {
  const uint64_t until = sim.now_ms() + max_ms;
  while (sim.now_ms() < until) {
    bool all = true;
    for (const std::string& id : sim.node_ids()) {
      all = all && local_counter(sim, id, key) == want;
    }
    if (all) return true;
    sim.run_until(sim.now_ms() + 200);
  }
  return false;
}

SimOptions three_nodes(uint64_t seed) {
  SimOptions o;
  o.seed = seed;
  o.nodes = 3;
  o.cluster.ae_interval_ms = 20;
  return o;
}

TEST_CASE("op ids: a counter add retried through every coordinator counts once", "[sim]") {
  for (uint64_t seed : scenario_seeds(5)) {
    INFO("seed " << seed);
    Sim sim(three_nodes(seed));
    sim.run_until(1'000);
    auto first = call(sim, "n1", with_id(counter_add("k", 5, quorum()), "op-1"));
    REQUIRE(first);
    REQUIRE(first->status.is_ok());
    REQUIRE_FALSE(first->duplicate);
    for (const char* at : {"n2", "n3", "n1"}) {
      auto again = call(sim, at, with_id(counter_add("k", 5, quorum()), "op-1"));
      REQUIRE(again);
      REQUIRE(again->status.is_ok());
      CHECK(again->duplicate);
      CHECK(again->object->as<crdt::PNCounter>()->read() == 5);
    }
    // Another id is another add; the same id for another delta is refused.
    auto other = call(sim, "n2", with_id(counter_add("k", 1, quorum()), "op-2"));
    REQUIRE(other);
    REQUIRE(other->status.is_ok());
    auto reused = call(sim, "n3", with_id(counter_add("k", 7, quorum()), "op-1"));
    REQUIRE(reused);
    CHECK(reused->status.code() == Code::kInvalidArgument);
    CHECK(counters_converge(sim, "k", 6, 10'000));
  }
}

TEST_CASE("op ids: attempts minted on both sides of a partition count once after the heal",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(5)) {
    INFO("seed " << seed);
    Sim sim(three_nodes(seed));
    sim.run_until(1'000);
    sim.partition({"n1"});
    // The first attempt lands on n1 alone (LOCAL); the client, cut off from it, retries
    // on n2 and n3: three mints of one operation, under three actors.
    for (const char* at : {"n1", "n2", "n3"}) {
      auto r = call(sim, at, with_id(counter_add("k", 3, local_opts()), "add-3"));
      REQUIRE(r);
      REQUIRE(r->status.is_ok());
    }
    // A register written twice with one id: one sibling, not two.
    auto p1 = call(sim, "n1", with_id(put("r", "v", std::nullopt, local_opts()), "put-1"));
    auto p2 = call(sim, "n3", with_id(put("r", "v", std::nullopt, local_opts()), "put-1"));
    REQUIRE((p1 && p1->status.is_ok() && p2 && p2->status.is_ok()));
    sim.heal();
    CHECK(counters_converge(sim, "k", 3, 20'000));
    auto one_sibling_everywhere = [&] {
      for (const std::string& id : sim.node_ids()) {
        auto r = call(sim, id, read("r", "r", local()));
        if (!r || !r->status.is_ok() ||
            r->object->as<crdt::DvvSet>()->values() != std::vector<std::string>{"v"}) {
          return false;
        }
      }
      return true;
    };
    const uint64_t until = sim.now_ms() + 20'000;
    while (!one_sibling_everywhere() && sim.now_ms() < until) sim.run_until(sim.now_ms() + 200);
    CHECK(one_sibling_everywhere());
  }
}

// Three nodes without anti-entropy, with the counter-gaps bug put back or not.
SimOptions without_anti_entropy(uint64_t seed, bool bug) {
  SimOptions o = three_nodes(seed);
  o.cluster.ae_interval_ms = 3'600'000;
  o.cluster.fault_points.bug_counter_gaps = bug;
  return o;
}

// Restarts `id` from an older copy of its disk and lets the cluster notice.
void roll_back(Sim& sim, const std::string& id, const DiskImage& image) {
  sim.kill(id);
  sim.restore(id, image);
  sim.restart(id);
  sim.run_until(sim.now_ms() + 5'000);
}

// A LOCAL add lands on n1 alone; a later add through n1 carries n1's whole total to n2 and
// n3; then n1's disk is rolled back to before the first add, and the client retries it
// on n2. Returns the retry's answer, or nullopt.
std::optional<core::ClientResponse> retry_after_gap(uint64_t seed, bool bug) {
  Sim sim(without_anti_entropy(seed, bug));  // deltas alone carry the adds
  sim.run_until(1'000);
  const DiskImage before = sim.snapshot("n1");
  sim.partition({"n1"});
  auto first = call(sim, "n1", with_id(counter_add("k", 5, local_opts()), "add-5"));
  if (!first || !first->status.is_ok()) return std::nullopt;
  sim.heal();
  sim.run_until(sim.now_ms() + 10'000);
  auto later = call(sim, "n1", counter_add("k", 1, quorum()));
  if (!later || !later->status.is_ok()) return std::nullopt;
  if (!bug && sim.node("n1").counters().gap_refills == 0) return std::nullopt;
  sim.run_until(sim.now_ms() + 1'000);
  roll_back(sim, "n1", before);
  return call(sim, "n2", with_id(counter_add("k", 5, quorum()), "add-5"));
}

TEST_CASE("op ids: a replica that missed a counter's earlier adds takes them with their records",
          "[sim]") {
  // n2 and n3 refuse the later add's delta (it would carry the 5 without its record) and
  // get n1's whole state instead; the retry after n1's rollback finds the record.
  for (uint64_t seed : scenario_seeds(3)) {
    INFO("seed " << seed);
    auto retry = retry_after_gap(seed, false);
    REQUIRE(retry);
    REQUIRE(retry->status.is_ok());
    CHECK(retry->duplicate);
    CHECK(retry->object->as<crdt::PNCounter>()->read() == 6);
  }
  // The bug put back: the replicas took the 5 inside n1's total without its record, so
  // the retry adds it again (11), and nothing is left to cancel it.
  auto twice = retry_after_gap(scenario_seeds(1)[0], true);
  REQUIRE(twice);
  REQUIRE(twice->status.is_ok());
  CHECK_FALSE(twice->duplicate);
  CHECK(twice->object->as<crdt::PNCounter>()->read() == 11);
}

// A LOCAL register write lands on n1 alone; an ALL read through n1 repairs n2 and n3;
// then n1's disk is rolled back to before the write, and the client retries it on n2.
// Returns the register's values read at ALL afterwards, or nullopt.
std::optional<std::vector<std::string>> register_retry_after_repair(uint64_t seed, bool bug) {
  Sim sim(without_anti_entropy(seed, bug));  // read repair alone spreads the write
  sim.run_until(1'000);
  const DiskImage before = sim.snapshot("n1");
  sim.partition({"n1"});
  auto first = call(sim, "n1", with_id(put("r", "v", std::nullopt, local_opts()), "put-v"));
  if (!first || !first->status.is_ok()) return std::nullopt;
  sim.heal();
  sim.run_until(sim.now_ms() + 10'000);
  core::RequestOptions all = core::preset("ALL").value();
  auto repaired = call(sim, "n1", read("r", "r", all));
  if (!repaired || !repaired->status.is_ok()) return std::nullopt;
  sim.run_until(sim.now_ms() + 1'000);
  roll_back(sim, "n1", before);
  auto retry = call(sim, "n2", with_id(put("r", "v", std::nullopt, quorum()), "put-v"));
  if (!retry || !retry->status.is_ok()) return std::nullopt;
  sim.run_until(sim.now_ms() + 1'000);
  auto after = call(sim, "n2", read("r", "r", all));
  if (!after || !after->status.is_ok()) return std::nullopt;
  return after->object->as<crdt::DvvSet>()->values();
}

TEST_CASE("op ids: a register sibling spread by read repair brings its record", "[sim]") {
  for (uint64_t seed : scenario_seeds(3)) {
    INFO("seed " << seed);
    auto values = register_retry_after_repair(seed, false);
    REQUIRE(values);
    CHECK(*values == std::vector<std::string>{"v"});
  }
  // The bug put back: the repaired replicas hold the sibling without its record, so the
  // retry writes a second one.
  auto twice = register_retry_after_repair(scenario_seeds(1)[0], true);
  REQUIRE(twice);
  CHECK(*twice == std::vector<std::string>{"v", "v"});
}

TEST_CASE("a node restarted from a restored disk does not reuse its request ids", "[sim]") {
  // Replicas remember recent mints by (coordinator, request id) and answer a repeated id
  // from memory. A restored disk brings back an old generation; request ids drawn from it
  // would repeat those of the process before the restore, and a new add through it would
  // be answered from the old one's memory without being applied.
  for (uint64_t seed : scenario_seeds(3)) {
    INFO("seed " << seed);
    SimOptions o = three_nodes(seed);
    o.nodes = 5;
    Sim sim(o);
    sim.run_until(1'000);
    // A key n1 does not own: n1 coordinates, a primary mints.
    std::string key;
    std::vector<ring::NodeId> owners;
    for (int i = 0; key.empty(); ++i) {
      const std::string k = "k" + std::to_string(i);
      owners = sim.node("n1").ring().preference_list(ring::key_hash("c", k), 3);
      if (std::find(owners.begin(), owners.end(), "n1") == owners.end()) key = k;
    }
    const DiskImage image = sim.snapshot("n1");
    sim.kill("n1");
    sim.restart("n1");
    sim.run_until(sim.now_ms() + 3'000);
    auto first = call(sim, "n1", counter_add(key, 1, quorum()));
    REQUIRE((first && first->status.is_ok()));
    sim.kill("n1");
    sim.restore("n1", image);
    sim.restart("n1");
    sim.run_until(sim.now_ms() + 3'000);
    auto second = call(sim, "n1", counter_add(key, 10, quorum()));
    REQUIRE((second && second->status.is_ok()));
    CHECK(second->object->as<crdt::PNCounter>()->read() == 11);
    sim.run_until(sim.now_ms() + 5'000);
    for (const ring::NodeId& owner : owners) CHECK(local_counter(sim, owner, key) == 11);
  }
}

TEST_CASE("op ids: ignored (the injected bug), a retry on the other side counts twice", "[sim]") {
  SimOptions o = three_nodes(1);
  o.cluster.fault_points.bug_ignore_op_ids = true;
  Sim sim(o);
  sim.run_until(1'000);
  sim.partition({"n1"});
  for (const char* at : {"n1", "n2"}) {
    auto r = call(sim, at, with_id(counter_add("k", 3, local_opts()), "add-3"));
    REQUIRE((r && r->status.is_ok()));
  }
  sim.heal();
  CHECK(counters_converge(sim, "k", 6, 20'000));
}

TEST_CASE("errors: an update a replica may have applied is never answered unavailable", "[sim]") {
  for (bool bug : {false, true}) {
    SimOptions o = three_nodes(3);
    o.cluster.fault_points.bug_unavailable_after_send = bug;
    Sim sim(o);
    sim.run_until(1'000);
    // n3 coordinates an ALL write; n1 and n2 vanish right after it sent to them.
    std::optional<core::ClientResponse> got;
    core::RequestOptions all = core::preset("ALL").value();
    all.timeout_ms = 20'000;
    sim.client("n3", counter_add("k", 5, all), [&](core::ClientResponse r) { got = r; });
    sim.run_until(sim.now_ms() + 1);
    sim.kill("n1");
    sim.kill("n2");
    const uint64_t until = sim.now_ms() + 10'000;
    while (!got && sim.now_ms() < until) sim.run_until(sim.now_ms() + 10);
    REQUIRE(got);
    INFO(got->status.to_string());
    CHECK(got->status.code() == (bug ? Code::kUnavailable : Code::kTimeout));
  }
}

}  // namespace
}  // namespace shoal::sim
