// Counting removes (node/core/set_remove.cc): a set remove without a context, as RESP SREM
// sends it, answers how many of the members named a read before it would have found, in
// one round trip when the replicas agree, and takes out every add a quorum acknowledged
// before it, even through a minter that has not seen that add yet (then a read and a
// remove with its context follow). Each run is one seed; a failure names it.
#include <catch2/catch.hpp>

#include "requests.h"
#include "sim.h"

namespace shoal::sim {
namespace {

using core::ClientRequest;
using core::ClientResponse;

ClientRequest remove_of(const std::string& key, std::vector<std::string> members) {
  ClientRequest r = set_remove(key, members.front(), crdt::DotContext{});
  r.update.context.reset();
  r.update.elements = std::move(members);
  return r;
}

ClientRequest read_all(const std::string& key) {
  ClientRequest q;
  q.bucket = "s";
  q.key = key;
  q.options.r = core::QuorumSpec::all();
  return q;
}

// An ALL read of `key` through each node: `elem` is gone everywhere.
void check_gone(Sim& sim, const std::string& key, const std::string& elem) {
  for (const char* via : {"n1", "n2", "n3"}) {
    const std::optional<ClientResponse> left = run_one(sim, via, read_all(key));
    REQUIRE(left->status.is_ok());
    CHECK_FALSE(left->object->as<crdt::ORSet>()->contains(elem));
  }
}

TEST_CASE("a counting remove in a cluster in sync answers in one round trip", "[sim]") {
  for (uint64_t seed : scenario_seeds(10)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    REQUIRE(run_one(sim, "n1", set_add("k", "a"))->status.is_ok());  // every replica holds it
    const std::optional<ClientResponse> r = run_one(sim, "n2", remove_of("k", {"a", "b", "a"}));
    REQUIRE(r);
    REQUIRE(r->status.is_ok());
    CHECK(r->removed == std::optional<uint32_t>(1));  // a was there, b never
    CHECK(sim.node("n2").counters().remove_followups == 0);
    const std::optional<ClientResponse> again = run_one(sim, "n3", remove_of("k", {"a"}));
    CHECK(again->removed == std::optional<uint32_t>(0));
    const std::optional<ClientResponse> left = run_one(sim, "n1", read_all("k"));
    REQUIRE(left->status.is_ok());
    CHECK_FALSE(left->object->as<crdt::ORSet>()->contains("a"));
  }
}

TEST_CASE("a counting remove through a minter behind the others takes out what they hold",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(10)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    // n1 is cut off while n2 and n3 acknowledge the add; the remove goes through n1 as
    // soon as the partition heals, before anything brought the add to it.
    sim.partition({"n1"});
    REQUIRE(run_one(sim, "n2", set_add("k", "x"), 100)->status.is_ok());
    sim.heal();
    const std::optional<ClientResponse> r = run_one(sim, "n1", remove_of("k", {"x"}), 500);
    REQUIRE(r);
    REQUIRE(r->status.is_ok());
    CHECK(r->removed == std::optional<uint32_t>(1));
    CHECK(sim.node("n1").counters().remove_followups == 1);
    sim.run_until_idle(5'000);  // anti-entropy has nothing to bring back
    check_gone(sim, "k", "x");
  }
}

TEST_CASE("a retried counting remove takes out an add acknowledged since its first attempt",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(10)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    REQUIRE(run_one(sim, "n1", set_add("k", "x"))->status.is_ok());
    ClientRequest rm = remove_of("k", {"x"});
    rm.update.op_id = "srem-1";
    REQUIRE(run_one(sim, "n1", rm)->removed == std::optional<uint32_t>(1));
    // x is added again while n1 is cut off, then reaches n1 by anti-entropy; the client,
    // which never got the first answer, retries with the same operation id through n1:
    // n1 answers from the first attempt, which did not take out the new add.
    sim.partition({"n1"});
    REQUIRE(run_one(sim, "n2", set_add("k", "x"), 100)->status.is_ok());
    sim.heal();
    sim.run_until_idle(5'000);
    const std::optional<ClientResponse> retry = run_one(sim, "n1", rm);
    REQUIRE(retry->status.is_ok());
    CHECK(retry->duplicate);
    CHECK(retry->removed == std::optional<uint32_t>(1));  // what a read found now
    check_gone(sim, "k", "x");
  }
}

// Random traffic: an add acknowledged at QUORUM, then a counting remove through another
// node at once, then a QUORUM read through the third: the remove counted the member and
// the read no longer finds it.
TEST_CASE("an acknowledged counting remove takes out the add acknowledged before it (50 seeds)",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(50)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 30, /*loss_pct=*/0, /*dup_pct=*/5, 256});
    const RemoveCheck got = count_removes(sim, 100, [&sim](int i) {
      const std::string key = "k" + std::to_string(sim.rng().below(4));
      const std::string elem = "e" + std::to_string(i);
      auto gone = [elem](const ClientResponse& r) {
        return !r.status.is_ok() || !r.object->as<crdt::ORSet>()->contains(elem);
      };
      return RemoveStep{set_add(key, elem), remove_of(key, {elem}), read_all(key), gone};
    });
    for (const auto& v : got.violations) UNSCOPED_INFO(v);
    REQUIRE(got.violations.empty());
    REQUIRE(got.reads == 100);
  }
}

}  // namespace
}  // namespace shoal::sim
