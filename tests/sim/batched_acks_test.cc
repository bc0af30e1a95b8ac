// Batched acks (issue #15): a replica answers the merges of one turn from one coordinator
// with one kMergeAcks, and the coordinator counts each ack in it as its own. The swarm
// runs half its seeds with batched arrivals (and some with a node from before batching);
// these scenarios pin down what the swarm only samples: batches form, every count and
// SADD's "new" flag survive them, lost and duplicated batches change no outcome, and a
// node from before batching never gets one.
#include <catch2/catch.hpp>

#include "requests.h"
#include "sim.h"

namespace shoal::sim {
namespace {

struct Outcome {
  int ok = 0, failed = 0, unanswered = 0;
  int wrong_added = 0;  // SADD of a fresh member not counted new
};

// `count` counter adds (key i: +i) and set adds (member `prefix` i of "tags") issued through `via`
// in the same millisecond, so their merges reach each replica together.
Outcome burst(Sim& sim, const std::string& via, int count, core::RequestOptions o,
              const std::string& prefix = "m", uint64_t run_ms = 8'000) {
  auto out = std::make_shared<Outcome>();
  auto answered = std::make_shared<int>(0);
  for (int i = 1; i <= count; ++i) {
    sim.client(via, counter_add("k" + std::to_string(i), i, o), [out, answered](auto r) {
      ++*answered;
      ++(r.status.is_ok() ? out->ok : out->failed);
    });
    sim.client(via, set_add("tags", prefix + std::to_string(i), o), [out, answered](auto r) {
      ++*answered;
      ++(r.status.is_ok() ? out->ok : out->failed);
      if (r.status.is_ok() && r.added != std::optional<uint32_t>(1)) ++out->wrong_added;
    });
  }
  sim.run_until(sim.now_ms() + run_ms);
  out->unanswered = 2 * count - *answered;
  return *out;
}

SimOptions batching(uint64_t seed) {
  SimOptions o;
  o.seed = seed;
  o.batch_arrivals = true;
  o.min_delay_ms = o.max_delay_ms = 5;  // a turn's merges arrive in one millisecond
  return o;
}

TEST_CASE("a turn's acks to one coordinator travel as one batch and every count holds",
          "[sim][acks]") {
  Sim sim(batching(1));
  sim.run_until(1'000);
  core::RequestOptions all = core::preset("ALL").value();
  const Outcome o = burst(sim, "n1", 200, all);
  CHECK(o.ok == 400);
  CHECK(o.wrong_added == 0);
  // 400 updates, 2 remote merges each: batches of many acks, not 800 single ones.
  INFO("batches " << sim.ack_batches().sent << " acks " << sim.ack_batches().acks);
  CHECK(sim.ack_batches().sent > 0);
  CHECK(sim.ack_batches().acks >= 600);
  CHECK(sim.ack_batches().acks >= 20 * sim.ack_batches().sent);
  for (const char* n : {"n1", "n2", "n3"}) {
    CHECK(local_counter(sim, n, "k7") == 7);
    CHECK(local_counter(sim, n, "k200") == 200);
  }
  // Re-adding a member every replica holds counts it old, through any coordinator.
  auto again = call(sim, "n2", set_add("tags", "m5", all));
  REQUIRE(again);
  CHECK(again->added == std::optional<uint32_t>(0));
}

// Members a write put on n1 and n2 only, added again through n3 (which mints, not
// holding them): only the batched acks of n1 and n2 can tell the coordinator they were
// there, so SADD must count each old.
TEST_CASE("held flags in a batch of acks count members the minter lacked as old", "[sim][acks]") {
  Sim sim(batching(5));
  sim.run_until(1'000);
  sim.partition({"n3"});
  const Outcome first = burst(sim, "n1", 20, core::RequestOptions{}, "y", 300);
  REQUIRE(first.ok == 40);
  REQUIRE(first.wrong_added == 0);
  sim.heal();  // and at once, before anti-entropy brings n3 the members:
  int old = 0, answered = 0;
  std::string seen;
  for (int i = 1; i <= 20; ++i) {
    sim.client("n3", set_add("tags", "y" + std::to_string(i)), [&](core::ClientResponse r) {
      ++answered;
      old += r.status.is_ok() && r.added == std::optional<uint32_t>(0);
      seen += r.status.to_string() + " added " + std::to_string(r.added.value_or(99)) + "; ";
    });
  }
  const uint64_t before = sim.ack_batches().sent;
  sim.run_until(sim.now_ms() + 2'000);
  CHECK(answered == 20);
  INFO(seen);
  CHECK(old == 20);
  CHECK(sim.ack_batches().sent > before);
}

TEST_CASE("lost and duplicated ack batches change no outcome", "[sim][acks]") {
  uint64_t lost = 0, duplicated = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SimOptions opts = batching(seed);
    opts.min_delay_ms = 1;
    opts.max_delay_ms = 3;
    opts.loss_pct = 10;
    opts.dup_pct = 20;
    opts.cluster.fault_points.shuffle_outbox = true;
    Sim sim(opts);
    sim.run_until(1'000);
    const Outcome o = burst(sim, "n" + std::to_string(1 + seed % 3), 60, core::RequestOptions{});
    INFO("seed " << seed << ": ok " << o.ok << " failed " << o.failed);
    CHECK(o.unanswered == 0);
    CHECK(o.wrong_added == 0);
    lost += sim.ack_batches().lost;
    duplicated += sim.ack_batches().duplicated;
    // Every counter acknowledged or not holds at most its one add, once the loss stops
    // and anti-entropy has run: a duplicated batch counted nothing twice.
    sim.set_faults(0, 0);
    sim.run_until(sim.now_ms() + 20'000);
    for (int i = 1; i <= 60; i += 7) {
      const auto v = local_counter(sim, "n1", "k" + std::to_string(i));
      CHECK((!v || *v == i));
    }
  }
  CHECK(lost > 0);
  CHECK(duplicated > 0);
}

TEST_CASE("a node from before batched acks neither asks for nor gets a batch", "[sim][acks]") {
  SimOptions opts = batching(3);
  opts.legacy_acks = {"n2"};
  Sim sim(opts);
  int to_or_from_legacy = 0;
  sim.tap([&](const std::string& from, const std::string& to, const core::Message& m) {
    if (m.kind == core::Message::Kind::kMergeAcks && (from == "n2" || to == "n2")) {
      ++to_or_from_legacy;
    }
  });
  sim.run_until(1'000);
  core::RequestOptions all = core::preset("ALL").value();
  const Outcome via_legacy = burst(sim, "n2", 50, all);
  CHECK(via_legacy.ok == 100);
  const Outcome via_new = burst(sim, "n1", 50, all, "x");
  CHECK(via_new.ok == 100);
  CHECK(via_new.wrong_added == 0);
  CHECK(to_or_from_legacy == 0);
  CHECK(sim.ack_batches().sent > 0);  // n3's acks to n1 still batch
  sim.tap(nullptr);
}

}  // namespace
}  // namespace shoal::sim
