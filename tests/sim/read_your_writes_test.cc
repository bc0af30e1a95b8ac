// Read-your-writes through another coordinator: with R + W > N, a QUORUM read issued
// right after a QUORUM write was acknowledged must see it, even when the read's first
// answers come from replicas other than the writer. (The partition scenario cannot
// catch a coordinator that acknowledges too early: there every read includes the
// writer.) Each run is one seed; a failure names it.
#include <catch2/catch.hpp>

#include "sim.h"

namespace shoal::sim {
namespace {

using core::ClientRequest;
using core::ClientResponse;
using core::Update;

struct Result {
  int acked = 0, checked = 0;
  uint64_t timers_scheduled = 0, timers_cancelled = 0;
  std::vector<std::string> violations;
};

Result run(uint64_t seed) {
  Sim sim(SimOptions{seed, 3, 1, 30, /*loss_pct=*/0, /*dup_pct=*/5, 256});
  Result out;
  for (int i = 0; i < 200; ++i) {
    sim.at(static_cast<uint64_t>(i) * 25, [&sim, &out, i] {
      const std::string writer = "n" + std::to_string(1 + sim.rng().below(3));
      const std::string reader = writer == "n1" ? (sim.rng().chance(1, 2) ? "n2" : "n3") : "n1";
      const std::string key = "k" + std::to_string(sim.rng().below(5));
      const bool is_set = sim.rng().chance(1, 2);
      ClientRequest w;
      w.op = ClientRequest::Op::kUpdate;
      w.bucket = is_set ? "sets" : "regs";
      w.key = key;
      w.update.kind = is_set ? Update::Kind::kSetAdd : Update::Kind::kPut;
      const std::string value = "v" + std::to_string(i);
      if (is_set) {
        w.update.type = core::DataType::kSet;
        w.update.elements = {value};
      } else {
        w.update.value = value;
      }
      sim.client(
          writer, w, [&sim, &out, reader, bucket = w.bucket, key, value, is_set](ClientResponse r) {
            if (!r.status.is_ok()) {
              out.violations.push_back("write failed: " + r.status.to_string());
              return;
            }
            ++out.acked;
            ClientRequest g;
            g.bucket = bucket;
            g.key = key;
            sim.client(reader, g, [&out, bucket, key, value, is_set](ClientResponse got) {
              ++out.checked;
              bool seen = false;
              if (got.status.is_ok() && is_set) {
                seen = got.object->as<crdt::ORSet>()->contains(value);
              } else if (got.status.is_ok()) {
                auto vals = got.object->as<crdt::DvvSet>()->values();
                seen = std::find(vals.begin(), vals.end(), value) != vals.end();
              }
              if (!seen)
                out.violations.push_back("read missed acked " + bucket + "/" + key + "=" + value);
            });
          });
    });
  }
  sim.run_until_idle(60'000);
  out.timers_scheduled = sim.timers_scheduled();
  out.timers_cancelled = sim.timers_cancelled();
  return out;
}

TEST_CASE("a quorum read through another node sees the acked quorum write (100 seeds)", "[sim]") {
  for (uint64_t seed : scenario_seeds(100)) {
    Result out = run(seed);
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    for (const auto& v : out.violations) UNSCOPED_INFO(v);
    REQUIRE(out.violations.empty());
    REQUIRE(out.acked == 200);
    REQUIRE(out.checked == 200);
    // Every request finished before its timeout, so each cancelled its timer.
    REQUIRE(out.timers_scheduled == 400);
    REQUIRE(out.timers_cancelled == 400);
  }
}

}  // namespace
}  // namespace shoal::sim
