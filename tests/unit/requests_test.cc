// Requests (node/core/requests.h): the coordinator's requests in flight, through their
// public interface.
#include "node/core/requests.h"

#include <catch2/catch.hpp>

using namespace shoal;
using namespace shoal::core;

namespace {

ring::Target primary(const std::string& node) { return {node, std::nullopt}; }
ring::Target fallback(const std::string& node, const std::string& for_node) {
  return {node, for_node};
}

ResolvedOptions quorum_of_three() {
  ResolvedOptions o;
  o.n = 3;
  o.r = 2;
  o.w = 2;
  return o;
}

Pending& open_update(Requests& requests, uint64_t id, std::vector<ring::Target> targets) {
  Pending& p = requests.open(id);
  p.op = ClientRequest::Op::kUpdate;
  p.options = quorum_of_three();
  p.set_targets(std::move(targets));
  return p;
}

}  // namespace

TEST_CASE("requests: open, find and close, full at capacity", "[requests]") {
  Requests requests(2);
  CHECK(requests.capacity() == 2);
  CHECK_FALSE(requests.full());
  requests.open(7);
  requests.open(9);
  CHECK(requests.size() == 2);
  CHECK(requests.full());
  CHECK(requests.find(7) != nullptr);
  CHECK(requests.find(8) == nullptr);
  requests.close(7);
  CHECK(requests.find(7) == nullptr);
  CHECK_FALSE(requests.full());
}

TEST_CASE("requests: targets set the quorum goal, a read counts primaries only", "[requests]") {
  Requests requests(10);
  Pending& write = open_update(requests, 1, {primary("a"), fallback("d", "b"), primary("c")});
  CHECK(write.goal.required == 2);
  CHECK(write.goal.required_primaries == 0);  // pw
  CHECK(write.goal.targets == 3);
  CHECK(write.goal.primary_targets == 2);

  Pending& read = requests.open(2);
  read.op = ClientRequest::Op::kGet;
  read.options = quorum_of_three();
  read.options.pr = 1;
  read.set_targets({primary("a"), fallback("d", "b"), primary("c")});
  CHECK(read.goal.required == 2);
  CHECK(read.goal.required_primaries == 2);  // r, not pr: a fallback holds part of the value
  CHECK(read.target("d")->hint_for == "b");
  CHECK(read.target("b") == nullptr);
}

TEST_CASE("requests: an answer counts once, from a target, for an open request", "[requests]") {
  Requests requests(10);
  open_update(requests, 1, {primary("a"), primary("b"), primary("c")});
  CHECK(requests.record(2, "a", true, Status::ok()) == nullptr);  // unknown id
  CHECK(requests.record(1, "z", true, Status::ok()) == nullptr);  // a stranger
  Pending* p = requests.record(1, "a", true, Status::ok());
  REQUIRE(p != nullptr);
  CHECK(p->outcome() == Outcome::kPending);
  CHECK(requests.record(1, "a", true, Status::ok()) == nullptr);  // a duplicate
  CHECK(p->tally.ok == 1);
  p = requests.record(1, "b", true, Status::ok());
  REQUIRE(p != nullptr);
  CHECK(p->outcome() == Outcome::kSucceeded);
  CHECK_FALSE(p->all_answered());
  p = requests.record(1, "c", false, Status::unavailable("c is gone"));
  CHECK(p->all_answered());
  CHECK(p->first_error.code() == Code::kUnavailable);
}

TEST_CASE("requests: a fallback's ok answer is not a primary's", "[requests]") {
  Requests requests(10);
  Pending& p = open_update(requests, 1, {primary("a"), fallback("d", "b"), fallback("e", "c")});
  p.goal.required_primaries = 2;  // pw = 2: two primaries must take it
  requests.record(1, "d", true, Status::ok());
  requests.record(1, "e", true, Status::ok());
  CHECK(p.tally.ok == 2);
  CHECK(p.tally.ok_primaries == 0);
  CHECK(p.outcome() == Outcome::kFailed);  // only one primary was ever asked
}

TEST_CASE("requests: an update that may have been applied fails as timeout", "[requests]") {
  Requests requests(10);
  Pending& p = open_update(requests, 1, {primary("a"), primary("b"), primary("c")});
  requests.record(1, "a", false, Status::unavailable("replica a became unreachable"));
  requests.record(1, "b", false, Status::unavailable("replica b became unreachable"));
  CHECK(p.outcome() == Outcome::kFailed);
  CHECK(p.failure().code() == Code::kUnavailable);  // nothing was sent to mint
  p.may_have_applied = true;
  CHECK(p.failure().code() == Code::kTimeout);
  CHECK(p.failure().message().find("same operation id") != std::string::npos);
}

TEST_CASE("requests: waiting_on lists the open requests a node has not answered", "[requests]") {
  Requests requests(10);
  open_update(requests, 1, {primary("a"), primary("b")});
  open_update(requests, 2, {primary("b"), primary("c")});
  open_update(requests, 3, {primary("c"), primary("d")});
  requests.record(2, "b", true, Status::ok());
  CHECK(requests.waiting_on("b") == std::vector<uint64_t>{1});
  CHECK(requests.waiting_on("c") == std::vector<uint64_t>{2, 3});
  CHECK(requests.waiting_on("z").empty());
}

TEST_CASE("requests: answers are known by node at the widest preference list", "[requests]") {
  Requests requests(10);
  std::vector<ring::Target> targets;
  for (size_t i = 0; i < ring::Ring::kMaxReplicas; ++i) {
    targets.push_back(primary("n" + std::to_string(i)));
  }
  Pending& p = open_update(requests, 1, targets);
  for (size_t i = ring::Ring::kMaxReplicas; i-- > 0;) {  // last target first
    const std::string node = "n" + std::to_string(i);
    CHECK_FALSE(p.answered(node));
    CHECK_FALSE(p.all_answered());
    REQUIRE(requests.record(1, node, i % 2 == 0, Status::unavailable("down")) != nullptr);
    CHECK(p.answered(node));
    CHECK(requests.record(1, node, true, Status::ok()) == nullptr);  // a duplicate
  }
  CHECK(p.all_answered());
  CHECK(p.tally.ok + p.tally.failed == ring::Ring::kMaxReplicas);
  CHECK(p.tally.ok == ring::Ring::kMaxReplicas / 2);
  CHECK_FALSE(p.answered("stranger"));
}
