// The chaos fault filter inside a simulated node: what a delay rule holds back is bounded
// (ClusterOptions::max_delayed_messages), the excess is dropped and counted like a lossy
// link's, and what was held is delivered once the delay has passed.
#include <catch2/catch.hpp>

#include "sim.h"

namespace shoal::sim {
namespace {

TEST_CASE("a delay rule holds at most max_delayed_messages and drops the rest, counted",
          "[sim][chaos]") {
  SimOptions o;
  o.seed = 11;
  o.nodes = 3;
  o.cluster.heartbeat_interval_ms = 50;
  o.cluster.max_delayed_messages = 20;
  Sim sim(o);
  sim.run_until(1'000);
  core::Node& n1 = sim.node("n1");
  const uint64_t dropped_before = n1.faults().dropped;
  REQUIRE(n1.chaos(core::FaultRule::delay(5000, 0)).is_ok());
  // 2 s of heartbeats (every 50 ms to each of 2 peers), gossip and anti-entropy: far
  // more than 20 messages leave n1 while its first ones are still held.
  sim.run_until(3'000);
  CHECK(n1.delayed_messages() == 20);
  CHECK(n1.faults().dropped - dropped_before > 20);
  REQUIRE(n1.chaos(core::FaultRule::heal()).is_ok());
  sim.run_until(9'000);  // every held message is due by 8 s
  CHECK(n1.delayed_messages() == 0);
}

}  // namespace
}  // namespace shoal::sim
