// A coordinator's requests in flight are bounded (NodeConfig::max_pending_requests): one
// beyond the bound is refused with overloaded before anything is sent, and the node takes
// requests again once those in flight have finished.
#include <catch2/catch.hpp>

#include "requests.h"
#include "sim.h"

namespace shoal::sim {
namespace {

TEST_CASE("a node coordinating max_pending_requests refuses the next one as overloaded",
          "[sim][overload]") {
  SimOptions o;
  o.seed = 12;
  o.nodes = 3;
  o.max_pending_requests = 2;
  Sim sim(o);
  sim.run_until(1'000);
  // n1's messages are held for 2 s: its QUORUM adds wait for a second replica.
  REQUIRE(sim.node("n1").chaos(core::FaultRule::delay(2'000, 0)).is_ok());
  std::vector<core::ClientResponse> answers;
  auto keep = [&answers](core::ClientResponse r) { answers.push_back(std::move(r)); };
  for (int i = 0; i < 3; ++i) sim.client("n1", counter_add("k" + std::to_string(i), 1), keep);
  sim.run_until(1'100);
  REQUIRE(answers.size() == 1);  // the third, at once
  CHECK(answers[0].status.code() == Code::kOverloaded);
  CHECK(answers[0].status.message() == "node n1 has 2 requests in flight (limit 2)");
  CHECK(sim.node("n1").pending_requests() == 2);
  sim.run_until(4'000);  // the held messages arrive; both finish
  REQUIRE(answers.size() == 3);
  CHECK(answers[1].status.is_ok());
  CHECK(answers[2].status.is_ok());
  REQUIRE(sim.node("n1").chaos(core::FaultRule::heal()).is_ok());
  sim.client("n1", counter_add("k2", 1), keep);
  sim.run_until(5'000);
  REQUIRE(answers.size() == 4);
  CHECK(answers[3].status.is_ok());
  CHECK(sim.node("n1").pending_requests() == 0);
}

TEST_CASE("writes holding max_write_bytes_in_flight of values refuse the next write as overloaded",
          "[sim][overload]") {
  SimOptions o;
  o.seed = 13;
  o.nodes = 3;
  o.max_write_bytes_in_flight = 10'000;
  Sim sim(o);
  sim.run_until(1'000);
  // n1's messages are held for 2 s: its QUORUM puts wait for a second replica, holding
  // their values.
  REQUIRE(sim.node("n1").chaos(core::FaultRule::delay(2'000, 0)).is_ok());
  std::vector<core::ClientResponse> answers;
  auto keep = [&answers](core::ClientResponse r) { answers.push_back(std::move(r)); };
  const std::string value(4'000, 'v');
  for (int i = 0; i < 3; ++i)
    sim.client("n1", put("k" + std::to_string(i), value, std::nullopt), keep);
  sim.client("n1", read("r", "k0"), keep);  // reads hold no value: not refused
  sim.run_until(1'100);
  REQUIRE(answers.size() == 1);  // the third put, at once
  CHECK(answers[0].status.code() == Code::kOverloaded);
  CHECK(answers[0].status.message() ==
        "node n1 holds 8000 bytes of writes waiting on replicas (limit 10000)");
  sim.run_until(4'000);  // the held messages arrive; the writes finish
  REQUIRE(answers.size() == 4);
  REQUIRE(sim.node("n1").chaos(core::FaultRule::heal()).is_ok());
  sim.client("n1", put("k2", value, std::nullopt), keep);
  sim.run_until(5'000);
  REQUIRE(answers.size() == 5);
  CHECK(answers[4].status.is_ok());
}

}  // namespace
}  // namespace shoal::sim
