// Counting deletes (core::Update::counting; node/core/set_remove.cc): RESP DEL's delete of
// an lww key answers whether a read before it would have found the key, in one round trip
// when the replicas agree; replicas without the key write no tombstone; and it takes out
// a value a quorum acknowledged before it, even through a minter that has not seen it or
// when a replica holds it stamped by a clock ahead (then a read and a delete follow).
// Each run is one seed; a failure names it.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <utility>
#include <vector>

#include "requests.h"
#include "sim.h"

namespace shoal::sim {
namespace {

using core::ClientRequest;
using core::ClientResponse;

ClientRequest lww_put(const std::string& key, const std::string& value) {
  ClientRequest r = put(key, value, std::nullopt);
  r.update.type = core::DataType::kLww;
  return r;
}

ClientRequest counting_delete(const std::string& key) {
  ClientRequest r = lww_put(key, "");
  r.update.kind = core::Update::Kind::kDelete;
  r.update.counting = true;
  return r;
}

ClientRequest read_all(const std::string& key) {
  ClientRequest q = read("r", key);
  q.options.r = core::QuorumSpec::all();
  return q;
}

// A read that found no value: not_found, or a tombstone.
bool no_value(const ClientResponse& got) {
  if (got.status.code() == Code::kNotFound) return true;
  const auto* lww =
      got.status.is_ok() && got.object ? got.object->as<crdt::LWWRegister>() : nullptr;
  return lww && !lww->read();
}

// A LOCAL read of `key` on every node finds no value.
void check_gone(Sim& sim, const std::string& key) {
  for (const char* via : {"n1", "n2", "n3"}) {
    const std::optional<ClientResponse> left = run_one(sim, via, read("r", key, local()));
    REQUIRE(left);
    INFO(via << ": " << left->status.to_string());
    CHECK(no_value(*left));
  }
}

// A counting delete of `key` through n1 that the replicas do not settle: n1 reads the key
// and deletes what it read on a write quorum (one follow-up); it counts 1, and after
// anti-entropy had its time no node holds a value.
void delete_after_follow_up(Sim& sim, const std::string& key) {
  const std::optional<ClientResponse> r = run_one(sim, "n1", counting_delete(key), 500);
  REQUIRE(r);
  REQUIRE(r->status.is_ok());
  CHECK(r->removed == std::optional<uint32_t>(1));
  CHECK(sim.node("n1").counters().remove_followups == 1);
  sim.run_until_idle(5'000);
  check_gone(sim, key);
}

TEST_CASE("a counting delete in a cluster in sync answers in one round trip", "[sim]") {
  for (uint64_t seed : scenario_seeds(10)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    REQUIRE(run_one(sim, "n1", lww_put("k", "v"))->status.is_ok());
    const std::optional<ClientResponse> r = run_one(sim, "n2", counting_delete("k"));
    REQUIRE(r);
    REQUIRE(r->status.is_ok());
    CHECK(r->removed == std::optional<uint32_t>(1));
    CHECK(sim.node("n2").counters().remove_followups == 0);
    const std::optional<ClientResponse> again = run_one(sim, "n3", counting_delete("k"));
    CHECK(again->removed == std::optional<uint32_t>(0));
    check_gone(sim, "k");
  }
}

TEST_CASE("a counting delete of a key no replica holds writes nothing anywhere", "[sim]") {
  Sim sim(SimOptions{1, 3, 1, 20, 0, 0, 256});
  for (const char* via : {"n1", "n2", "n3"}) {
    const std::optional<ClientResponse> r = run_one(sim, via, counting_delete("never"));
    REQUIRE(r->status.is_ok());
    CHECK(r->removed == std::optional<uint32_t>(0));
  }
  // Nothing stored: an lww write with a timestamp long past (below any tombstone's)
  // still lands, which a tombstone written by the deletes would have beaten.
  ClientRequest old = lww_put("never", "old");
  old.update.timestamp_ms = 1;
  REQUIRE(run_one(sim, "n1", old)->status.is_ok());
  const std::optional<ClientResponse> got = run_one(sim, "n2", read_all("never"));
  REQUIRE(got->status.is_ok());
  CHECK(got->object->as<crdt::LWWRegister>()->read() == std::optional<std::string>("old"));
}

TEST_CASE("a counting delete through a minter behind the others takes out what they hold",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(10)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    sim.partition({"n1"});
    REQUIRE(run_one(sim, "n2", lww_put("k", "v"), 100)->status.is_ok());
    sim.heal();
    // n1 held no value: its delete was a probe, which n2 and n3 answer holding one.
    delete_after_follow_up(sim, "k");
  }
}

TEST_CASE("a counting delete that leaves a value stamped ahead reads it and deletes it", "[sim]") {
  for (uint64_t seed : scenario_seeds(10)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    // Every node holds a value; then n2 and n3 take one stamped an hour ahead of every
    // clock (a writer whose clock runs ahead) while n1 is cut off. n1's tombstone, stamped
    // past the value it holds, loses to that one there: they report it left, so n1 reads
    // it and deletes what it read.
    REQUIRE(run_one(sim, "n1", lww_put("k", "v"))->status.is_ok());
    sim.partition({"n1"});
    ClientRequest ahead = lww_put("k", "ahead");
    ahead.update.timestamp_ms = 1'700'000'000'000ull + sim.now_ms() + 3'600'000;  // sim.cc: wall_ms
    REQUIRE(run_one(sim, "n2", ahead, 100)->status.is_ok());
    sim.heal();
    delete_after_follow_up(sim, "k");
  }
}

TEST_CASE("a counting delete of a register, counter or set is refused as type_mismatch", "[sim]") {
  Sim sim(SimOptions{1, 3, 1, 20, 0, 0, 256});
  REQUIRE(run_one(sim, "n1", put("reg", "v", std::nullopt))->status.is_ok());
  const std::optional<ClientResponse> r = run_one(sim, "n2", counting_delete("reg"));
  REQUIRE(r);
  CHECK(r->status.code() == Code::kTypeMismatch);  // RESP DEL then reads and deletes
  const std::optional<ClientResponse> still = run_one(sim, "n3", read_all("reg"));
  REQUIRE(still->status.is_ok());
  CHECK(still->object->as<crdt::DvvSet>()->values() == std::vector<std::string>{"v"});
}

// Review findings: each answer is what a read at the same consistency before the DEL
// would have said.
TEST_CASE("a counting delete through a minter holding a value the others deleted counts 0",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(10)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    REQUIRE(run_one(sim, "n1", lww_put("k", "v"))->status.is_ok());
    sim.partition({"n1"});
    REQUIRE(run_one(sim, "n2", counting_delete("k"), 100)->removed == std::optional<uint32_t>(1));
    sim.heal();
    // n1 still holds v; n2 and n3 hold a later tombstone: a QUORUM read finds nothing.
    const std::optional<ClientResponse> r = run_one(sim, "n1", counting_delete("k"), 500);
    REQUIRE(r);
    REQUIRE(r->status.is_ok());
    CHECK(r->removed == std::optional<uint32_t>(0));
    sim.run_until_idle(5'000);
    check_gone(sim, "k");
  }
}

// A probe keeps nothing where the key is absent, so no record a retry would find: RESP
// sends SHOAL.ONCE DEL as a read, then a delete with the id.
TEST_CASE("a counting delete with an operation id is refused, changing nothing", "[sim]") {
  Sim sim(SimOptions{1, 3, 1, 20, 0, 0, 256});
  REQUIRE(run_one(sim, "n1", lww_put("k", "v"))->status.is_ok());
  ClientRequest del = counting_delete("k");
  del.update.op_id = "del-1";
  const std::optional<ClientResponse> r = run_one(sim, "n2", del);
  REQUIRE(r);
  CHECK(r->status.code() == Code::kInvalidArgument);
  const std::optional<ClientResponse> got = run_one(sim, "n3", read_all("k"));
  REQUIRE(got->status.is_ok());
  CHECK(got->object->as<crdt::LWWRegister>()->read() == std::optional<std::string>("v"));
}

TEST_CASE("a counting delete of a set its minter has not seen is refused as type_mismatch",
          "[sim]") {
  Sim sim(SimOptions{1, 3, 1, 20, 0, 0, 256});
  sim.partition({"n1"});
  ClientRequest add = set_add("s1", "x");
  add.bucket = "r";
  REQUIRE(run_one(sim, "n2", add, 100)->status.is_ok());
  sim.heal();
  const std::optional<ClientResponse> r = run_one(sim, "n1", counting_delete("s1"), 500);
  REQUIRE(r);
  CHECK(r->status.code() == Code::kTypeMismatch);  // RESP DEL then says it cannot delete it
}

// W=1, R=ALL: the minter's own write makes the write quorum at once, when only its report
// is in. It holds a value the others deleted while it was cut off (no anti-entropy here to
// bring it the tombstone): a read before the delete would have found nothing, so the count
// waits for the other primaries' reports rather than trust the minter's alone.
TEST_CASE("a counting delete whose minter holds a value the others deleted counts 0 at W=1",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(10)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    SimOptions o{seed, 3, 1, 20, 0, 0, 256};
    o.cluster.ae_interval_ms = 0;
    Sim sim(o);
    ClientRequest put_all = lww_put("k", "v");
    put_all.options.w = core::QuorumSpec::all();
    REQUIRE(run_one(sim, "n1", put_all)->status.is_ok());
    sim.partition({"n1"});
    REQUIRE(run_one(sim, "n2", counting_delete("k"), 100)->removed == std::optional<uint32_t>(1));
    sim.heal();
    ClientRequest del = counting_delete("k");
    del.options.w = core::QuorumSpec::one();
    del.options.r = core::QuorumSpec::all();
    const std::optional<ClientResponse> r = run_one(sim, "n1", del);
    REQUIRE(r);
    REQUIRE(r->status.is_ok());
    CHECK(r->removed == std::optional<uint32_t>(0));
    check_gone(sim, "k");
  }
}

// A rolling upgrade: the key's first primary A, its minter, is from before counting
// deletes (it mints a plain delete and reports nothing); C never got the value (cut off
// while it was written, no anti-entropy here) and B is down, so the coordinator n4 stands
// in for it. The delete must not go out as a probe (which C, holding nothing, would not
// write, and n4 would keep no hint of): B gets its tombstone by the hint, and the value
// does not come back.
TEST_CASE("a counting delete minted by a node from before them reaches a down replica by its hint",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(5)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    SimOptions o{seed, 4, 1, 20, 0, 0, 256};
    o.cluster.ae_interval_ms = 0;  // only the hint can bring B the tombstone
    std::string key;
    std::vector<ring::NodeId> prefs;
    for (int i = 0; key.empty(); ++i) {
      prefs =
          Sim(o).node("n1").ring().preference_list(ring::key_hash("r", "k" + std::to_string(i)), 3);
      if (std::find(prefs.begin(), prefs.end(), "n4") == prefs.end()) key = "k" + std::to_string(i);
    }
    const std::string a = prefs[0], b = prefs[1], c = prefs[2];
    o.legacy_deletes = {a};
    Sim sim(o);
    sim.run_until(1'000);
    sim.partition({c});
    REQUIRE(run_one(sim, "n4", lww_put(key, "v"), 100)->status.is_ok());
    sim.heal();
    sim.kill(b);
    sim.run_until(sim.now_ms() + 6'000);
    REQUIRE(sim.node("n4").is_down(b));
    // R=1: the one report (C's: nothing held) settles the count, no follow-up read runs
    // (whose repeat of the delete would store a hint anyway).
    ClientRequest del = counting_delete(key);
    del.options.r = core::QuorumSpec::one();
    const std::optional<ClientResponse> r = run_one(sim, "n4", del);
    REQUIRE(r);
    REQUIRE(r->status.is_ok());
    // (It counts 0: the one replica that reported held nothing, and the minter says
    // nothing; docs/semantics.md.)
    CHECK(r->removed == std::optional<uint32_t>(0));
    sim.restart(b);
    sim.run_until(sim.now_ms() + 10'000);  // n4 hands its hint to b
    check_gone(sim, key);
    const std::optional<ClientResponse> got = run_one(sim, b, read("r", key));
    REQUIRE(got);
    INFO(got->status.to_string());
    CHECK(no_value(*got));
  }
}

// RESP `DEL k k` in one pipeline: the second delete starts as soon as the first is
// acknowledged, while one replica may not have its tombstone yet.
TEST_CASE("a key deleted twice in a row counts once (20 seeds)", "[sim]") {
  for (uint64_t seed : scenario_seeds(20)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    REQUIRE(run_one(sim, "n1", lww_put("k", "v"))->status.is_ok());
    const std::string second_via = seed % 2 ? "n2" : "n3";
    std::optional<ClientResponse> first, second;
    sim.client("n2", counting_delete("k"), [&](ClientResponse a) {
      first = std::move(a);
      sim.client(second_via, counting_delete("k"), [&](ClientResponse b) { second = b; });
    });
    sim.run_until_idle(2'000);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->removed == std::optional<uint32_t>(1));
    CHECK(second->removed == std::optional<uint32_t>(0));
  }
}

// The stamp (timestamp, actor) of the tombstone a LOCAL read on `via` finds for `key`.
std::pair<uint64_t, crdt::Actor> tombstone_stamp(Sim& sim, const char* via,
                                                 const std::string& key) {
  const std::optional<ClientResponse> got = run_one(sim, via, read("r", key, local()));
  REQUIRE(got);
  REQUIRE(got->status.is_ok());
  const auto* lww = got->object ? got->object->as<crdt::LWWRegister>() : nullptr;
  REQUIRE(lww);
  REQUIRE_FALSE(lww->read());
  return {lww->timestamp(), lww->actor()};
}

// A minter holding only a tombstone sends a probe stamped past it and leaves its tombstone
// as it is, as every replica does: a DEL of a deleted key writes nothing anywhere.
TEST_CASE("a counting delete of a deleted key leaves every tombstone as it was", "[sim]") {
  for (uint64_t seed : scenario_seeds(5)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 20, 0, 0, 256});
    REQUIRE(run_one(sim, "n1", lww_put("k", "v"))->status.is_ok());
    REQUIRE(run_one(sim, "n2", counting_delete("k"))->removed == std::optional<uint32_t>(1));
    sim.run_until_idle(1'000);
    std::vector<std::pair<uint64_t, crdt::Actor>> before;
    for (const char* via : {"n1", "n2", "n3"}) before.push_back(tombstone_stamp(sim, via, "k"));
    for (const char* via : {"n1", "n2", "n3"}) {
      const std::optional<ClientResponse> again = run_one(sim, via, counting_delete("k"));
      REQUIRE(again);
      REQUIRE(again->status.is_ok());
      CHECK(again->removed == std::optional<uint32_t>(0));
      CHECK(sim.node(via).counters().remove_followups == 0);
    }
    sim.run_until_idle(1'000);
    const std::array<const char*, 3> nodes{"n1", "n2", "n3"};
    for (size_t i = 0; i < nodes.size(); ++i) {
      INFO(nodes[i]);
      CHECK(tombstone_stamp(sim, nodes[i], "k") == before[i]);
    }
  }
}

// Random traffic: a value written at QUORUM, then a counting delete through another node
// at once, then a QUORUM read through the third: the delete counted the key and the read
// no longer finds it.
TEST_CASE("an acknowledged counting delete takes out the value acknowledged before it (50 seeds)",
          "[sim]") {
  for (uint64_t seed : scenario_seeds(50)) {
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    Sim sim(SimOptions{seed, 3, 1, 30, /*loss_pct=*/0, /*dup_pct=*/5, 256});
    const RemoveCheck got = count_removes(sim, 100, [](int i) {
      const std::string key = "k" + std::to_string(i);
      return RemoveStep{lww_put(key, "v"), counting_delete(key), read_all(key), no_value};
    });
    for (const auto& v : got.violations) UNSCOPED_INFO(v);
    REQUIRE(got.violations.empty());
    REQUIRE(got.reads == 100);
  }
}

}  // namespace
}  // namespace shoal::sim
