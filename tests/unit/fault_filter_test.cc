// The fault filter's rules (node/core/fault_filter.h), their text form
// (node/api/fault_rule.h) and the rules `shoal chaos` sends each node (tools/chaos.h).
#include "node/core/fault_filter.h"

#include <catch2/catch.hpp>

#include "node/api/fault_rule.h"
#include "tools/chaos.h"

namespace shoal {
namespace {

using core::FaultFilter;

const std::set<std::string> kNodes{"n1", "n2", "n3", "n4", "n5"};

// Parses `text` (it must parse) and applies it.
Status apply(FaultFilter& f, const char* text) {
  Result<core::FaultRule> rule = api::parse_fault_rule(text);
  REQUIRE(rule.is_ok());
  return f.apply(*rule, kNodes);
}

TEST_CASE("fault filter: rules parse and apply and heal clears them", "[chaos]") {
  FaultFilter f;
  REQUIRE_FALSE(f.active());
  REQUIRE(apply(f, "block-in n2,n3").is_ok());
  REQUIRE(f.blocks_from("n2"));
  REQUIRE(f.blocks_from("n3"));
  REQUIRE_FALSE(f.blocks_from("n4"));
  REQUIRE(apply(f, "unblock-in n3").is_ok());
  REQUIRE_FALSE(f.blocks_from("n3"));
  REQUIRE(apply(f, "delay 200ms 50ms to n4").is_ok());
  REQUIRE(apply(f, "drop 10%").is_ok());
  REQUIRE(apply(f, "clients refuse").is_ok());
  REQUIRE(f.refuses_clients());
  REQUIRE(f.describe() == "block-in n2\ndrop 10\ndelay 200 50 to n4\nclients refuse\n");
  REQUIRE(apply(f, "show").is_ok());
  REQUIRE(apply(f, "heal").is_ok());
  REQUIRE_FALSE(f.active());
  REQUIRE(f.describe().empty());
}

TEST_CASE("fault filter: bad rules are refused with a reason and change nothing", "[chaos]") {
  for (const char* rule :
       {"", "explode", "block-in", "block-in n1,,n2", "delay", "delay fast", "delay 70000",
        "delay 10 5 6", "drop 101%", "drop -1", "dup 5 to", "clients maybe", "heal now"}) {
    INFO(rule);
    const Result<core::FaultRule> r = api::parse_fault_rule(rule);
    REQUIRE(r.status().code() == Code::kInvalidArgument);
    REQUIRE(r.status().message().find("chaos rule: ") == 0);
  }
  REQUIRE_FALSE(api::parse_fault_rule(std::string(api::kMaxFaultRuleBytes + 1, ' ')).is_ok());
  // Syntax is node/api's; which nodes exist is the node's: not_found, nothing changes.
  FaultFilter f;
  REQUIRE(apply(f, "block-in n1").is_ok());
  const std::string before = f.describe();
  for (const char* rule :
       {"block-in n9", "block-in n1,n9", "delay 10 5 to n7", "drop 5 to n2,n8"}) {
    INFO(rule);
    REQUIRE(apply(f, rule).code() == Code::kNotFound);
    REQUIRE(f.describe() == before);
  }
}

TEST_CASE("fault filter: drops delays and duplicates only what its rules name", "[chaos]") {
  FaultFilter f;
  core::SeededRng rng(3);
  // No rule: every message goes through at once and no randomness is drawn.
  core::SeededRng twin(3);
  for (int i = 0; i < 100; ++i) {
    const FaultFilter::Verdict v = f.outbound("n2", rng);
    REQUIRE_FALSE(v.drop);
    REQUIRE(v.copies == 1);
    REQUIRE(v.delay_ms == 0);
  }
  REQUIRE(rng.next() == twin.next());

  REQUIRE(apply(f, "drop 30 to n2").is_ok());
  REQUIRE(apply(f, "delay 100 20").is_ok());
  REQUIRE(apply(f, "dup 50 to n3").is_ok());
  int dropped = 0, dups = 0;
  for (int i = 0; i < 10'000; ++i) {
    const FaultFilter::Verdict to2 = f.outbound("n2", rng);
    dropped += to2.drop;
    if (!to2.drop) REQUIRE((to2.delay_ms >= 80 && to2.delay_ms <= 120));
    const FaultFilter::Verdict to3 = f.outbound("n3", rng);
    REQUIRE_FALSE(to3.drop);
    dups += to3.copies == 2;
  }
  REQUIRE((dropped > 2'700 && dropped < 3'300));
  REQUIRE((dups > 4'500 && dups < 5'500));
}

TEST_CASE("chaos: partitions isolation and one-way cuts become receive-side blocks", "[chaos]") {
  auto groups = chaos::parse_groups("n1,n2|n3,n4,n5", kNodes);
  REQUIRE(groups.is_ok());
  std::map<std::string, std::vector<std::string>> by_node;
  for (const auto& r : chaos::partition_rules(*groups, kNodes)) by_node[r.node] = r.rules;
  REQUIRE(by_node["n1"] ==
          std::vector<std::string>{"unblock-in n1,n2,n3,n4,n5", "block-in n3,n4,n5"});
  REQUIRE(by_node["n4"] == std::vector<std::string>{"unblock-in n1,n2,n3,n4,n5", "block-in n1,n2"});

  // A node no group names is a bridge: it blocks nobody.
  groups = chaos::parse_groups("n1|n2", kNodes);
  REQUIRE(groups.is_ok());
  for (const auto& r : chaos::partition_rules(*groups, kNodes)) {
    if (r.node == "n3") REQUIRE(r.rules.size() == 1);
  }

  for (const auto& r : chaos::isolate_rules("n3", kNodes)) {
    REQUIRE(r.rules.back() == (r.node == "n3" ? "block-in n1,n2,n4,n5" : "block-in n3"));
  }
  for (const auto& r : chaos::one_way_rules("n1", "n2", kNodes)) {
    REQUIRE(r.rules.size() == (r.node == "n2" ? 2u : 1u));
    if (r.node == "n2") REQUIRE(r.rules.back() == "block-in n1");
  }

  // The shapes shoal check and the simulator draw from.
  const std::vector<std::string> order{"n3", "n1", "n5", "n2", "n4"};
  REQUIRE(chaos::partition_cut("isolate", order)->at("n3") ==
          std::set<std::string>{"n1", "n2", "n4", "n5"});
  const chaos::Cut bridge = *chaos::partition_cut("bridge", order);
  REQUIRE_FALSE(bridge.count("n3"));  // the bridge reaches everyone
  REQUIRE(bridge.at("n1") == std::set<std::string>{"n2", "n4"});
  const chaos::Cut ring = *chaos::partition_cut("ring", order);
  REQUIRE(ring.size() == 5);
  for (const auto& [node, cut] : ring) {
    REQUIRE(cut.size() == 2);  // sees itself and two neighbours: a majority of 5
  }
  REQUIRE(*chaos::partition_cut("one-way", order) == chaos::Cut{{"n1", {"n3"}}});
  REQUIRE(chaos::partition_cut("halves", order)->at("n3").size() == 3);
  REQUIRE_FALSE(chaos::partition_cut("meteor", order).has_value());

  for (const char* bad : {"n1,n2", "n1|n1", "n1|n9", "n1||n2", "|"}) {
    INFO(bad);
    REQUIRE(chaos::parse_groups(bad, kNodes).status().code() == Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace shoal
