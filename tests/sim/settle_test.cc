// The convergence signal (Node::in_sync, anti_entropy.cc): once every node says it is in
// sync with every peer, LOCAL reads of every replica agree — after partitions, kills and
// a wiped replica. And it is not claimed while replicas still differ.
#include <catch2/catch.hpp>

#include "node/core/keys.h"
#include "requests.h"
#include "sim.h"

namespace shoal::sim {
namespace {

constexpr int kKeys = 12;

core::RequestOptions one() {
  core::RequestOptions o = core::preset("ONE").value();
  o.timeout_ms = 1'000;
  return o;
}

bool all_in_sync(Sim& sim) {
  for (const std::string& id : sim.node_ids()) {
    if (!sim.running(id) || !sim.node(id).in_sync()) return false;
  }
  return true;
}

// Every owner's LOCAL copy of every key, compared; the first difference, or "".
std::string first_difference(Sim& sim) {
  const ring::Ring& ring = sim.node("n1").ring();
  for (int k = 0; k < kKeys; ++k) {
    for (const char* bucket : {"c", "s"}) {
      const std::string key = "k" + std::to_string(k);
      std::optional<core::ObjectPtr> first;
      for (const std::string& owner : ring.preference_list(ring::key_hash(bucket, key), 3)) {
        auto r = call(sim, owner, read(bucket, key, local()));
        if (!r) return "no answer from " + owner;
        core::ObjectPtr got = r->status.is_ok() ? r->object : nullptr;
        if (!first) {
          first = got;
        } else if ((got == nullptr) != (*first == nullptr) || (got && !(*got == **first))) {
          return std::string(bucket) + "/" + key + " differs on " + owner;
        }
      }
    }
  }
  return "";
}

void write_some(Sim& sim, int n) {
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> live;
    for (const std::string& id : sim.node_ids()) {
      if (sim.running(id)) live.push_back(id);
    }
    const std::string at = live[sim.rng().below(live.size())];
    const std::string key = "k" + std::to_string(sim.rng().below(kKeys));
    core::ClientRequest r =
        sim.rng().chance(1, 2) ? counter_add(key, 1, one())
                               : set_add(key, "e" + std::to_string(sim.rng().next() % 1000), one());
    sim.client(at, std::move(r), [](core::ClientResponse) {});
    sim.run_until(sim.now_ms() + 20);
  }
}

TEST_CASE("settle: in sync everywhere means LOCAL reads of every replica agree", "[sim]") {
  for (uint64_t seed : scenario_seeds(8)) {
    INFO("seed " << seed);
    SimOptions o = small_cluster(seed, 5, 20);
    // Half the seeds make every set of 3 members or more "big": anti-entropy keeps its
    // member rows' digest instead of reading them, and leaves it alone while it is written.
    if (seed % 2 == 0) o.whole_set_max_members = 2;
    Sim sim(o);
    sim.run_until(1'000);
    write_some(sim, 40);
    sim.partition({"n1", "n2"});
    write_some(sim, 60);
    sim.heal();
    sim.kill("n4");
    write_some(sim, 60);
    sim.restart("n4");
    sim.kill("n5");
    sim.wipe("n5");
    sim.restart("n5");
    write_some(sim, 20);
    // Replicas differ now (the wiped one holds nothing): nobody may claim sync yet.
    CHECK_FALSE(first_difference(sim).empty());
    CHECK_FALSE(all_in_sync(sim));
    const uint64_t start = sim.now_ms();
    while (!all_in_sync(sim) && sim.now_ms() < start + 60'000) sim.run_until(sim.now_ms() + 100);
    REQUIRE(all_in_sync(sim));
    INFO("in sync after " << sim.now_ms() - start << " ms");
    CHECK(first_difference(sim).empty());
    // A new write breaks the claim on the nodes that hold it, until compared again.
    auto w = call(sim, "n3", counter_add("k0", 1, one()));
    REQUIRE((w && w->status.is_ok()));
    CHECK_FALSE(all_in_sync(sim));
  }
}

// Hint rows on a node's disk (synced ones: a snapshot is what a crash would leave),
// whatever its counters say.
size_t hint_rows(Sim& sim, const std::string& id) {
  size_t n = 0;
  for (const auto& [k, v] : sim.snapshot(id)) n += !k.empty() && k[0] == core::kHintPrefix;
  return n;
}

TEST_CASE(
    "settle: a node whose store scans fail does not claim sync, and once they work its "
    "hints drain and every replica agrees",
    "[sim]") {
  for (uint64_t seed : scenario_seeds(4)) {
    INFO("seed " << seed);
    SimOptions o = small_cluster(seed, 4, 20);
    Sim sim(o);
    sim.run_until(1'000);
    sim.kill("n4");
    sim.run_until(sim.now_ms() + 6'000);  // convicted: its writes go to fallbacks as hints
    core::RequestOptions sloppy = one();  // sloppy by default
    sloppy.durable = true;                // hint rows on disk, in the snapshots below
    for (int k = 0; k < kKeys; ++k) {
      sim.client("n1", counter_add("k" + std::to_string(k), 1, sloppy),
                 [](core::ClientResponse) {});
      sim.run_until(sim.now_ms() + 20);
    }
    for (const char* id : {"n1", "n2", "n3"}) {
      UNSCOPED_INFO(id << " hints " << sim.node(id).hints_held() << " rows " << hint_rows(sim, id));
    }
    std::string holder;
    for (const char* id : {"n1", "n2", "n3"}) {
      if (hint_rows(sim, id) > 0) holder = id;
    }
    REQUIRE_FALSE(holder.empty());
    // The fallback restarts on a disk that cannot be scanned: it cannot count its hints,
    // replay them, hand off or compare trees, and must say so rather than claim sync.
    sim.kill(holder);
    sim.fail_scans(holder, true);
    sim.restart(holder);
    sim.restart("n4");
    sim.run_until(sim.now_ms() + 5'000);
    CHECK(sim.node(holder).store_scan_failures() > 0);
    CHECK_FALSE(sim.node(holder).in_sync());
    CHECK(hint_rows(sim, holder) > 0);
    sim.fail_scans(holder, false);
    const uint64_t start = sim.now_ms();
    while (!all_in_sync(sim) && sim.now_ms() < start + 60'000) sim.run_until(sim.now_ms() + 100);
    REQUIRE(all_in_sync(sim));
    CHECK(hint_rows(sim, holder) == 0);  // counted at last, and replayed
    CHECK(first_difference(sim).empty());
  }
}

// A big set written without pause on one node (LOCAL adds: only anti-entropy carries
// them) is held back while written, but still sent every 10 min: a replica that misses
// its adds catches up while the writes go on (before, it waited for them to stop).
TEST_CASE("settle: a big set written without pause still reaches the other replicas", "[sim]") {
  for (uint64_t seed : scenario_seeds(2)) {
    INFO("seed " << seed);
    SimOptions o = small_cluster(seed, 3, 50);
    o.whole_set_max_members = 2;
    Sim sim(o);
    sim.run_until(1'000);
    size_t added_first_minute = 0;
    for (int i = 0; sim.now_ms() < 661'000; ++i) {  // an add every 500 ms for 11 min
      sim.client("n1", set_add("busy", "e" + std::to_string(i), local()),
                 [](core::ClientResponse) {});
      sim.run_until(sim.now_ms() + 500);
      if (sim.now_ms() <= 61'000) added_first_minute = static_cast<size_t>(i) + 1;
    }
    // Still being written: n2 holds at least what n1 held 10 min ago.
    auto r = call(sim, "n2", read("s", "busy", local()));
    REQUIRE(r);
    const auto* set = r->status.is_ok() && r->object ? r->object->as<crdt::ORSet>() : nullptr;
    const size_t held = set ? set->size() : 0;
    INFO("n2 holds " << held << " of the " << added_first_minute << " added in the first minute");
    CHECK(held >= added_first_minute);
  }
}
}  // namespace
}  // namespace shoal::sim
