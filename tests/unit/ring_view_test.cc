// RingView: rebuilt only when the members change; owns, co_owned and owners agree with
// the ring's preference lists (a naive twin); ownership follows the current ring.
#include "node/core/ring_view.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "crdt/prng.h"

namespace shoal::core {
namespace {

bool in(const std::vector<ring::NodeId>& v, const ring::NodeId& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST_CASE("a ring view is rebuilt only when its members change", "[ring_view]") {
  RingView v("n1", 16, 3, {"n1", "n2", "n3"});
  const uint64_t before = v.fingerprint();
  CHECK(v.holds_self());
  CHECK_FALSE(v.update({"n1", "n2", "n3"}));
  CHECK(v.fingerprint() == before);
  CHECK(v.update({"n1", "n2", "n3", "n4"}));
  CHECK(v.fingerprint() != before);
  CHECK(v.ring().size() == 4);
  CHECK(v.update({"n2", "n3"}));
  CHECK_FALSE(v.holds_self());
}

TEST_CASE("owns, co_owned and owners agree with the ring's preference lists", "[ring_view]") {
  // Five nodes walk the ring; three or two (at most N) take the shortcut.
  for (const std::vector<ring::NodeId>& members :
       {std::vector<ring::NodeId>{"n1", "n2", "n3", "n4", "n5"},
        std::vector<ring::NodeId>{"n1", "n2", "n3"}, std::vector<ring::NodeId>{"n2", "n3"},
        std::vector<ring::NodeId>{"n1", "n3"}}) {
    RingView v("n2", 16, 3, members);
    ring::Ring twin(members, 16);
    Prng rng(7);
    std::vector<ring::NodeId> peers = members;
    peers.push_back("n9");  // not in the ring
    for (int i = 0; i < 2000; ++i) {
      const uint64_t hash = rng.next();
      const std::vector<ring::NodeId> expected = twin.preference_list(hash, 3);
      CHECK(v.owners(hash) == expected);
      CHECK(v.owns(hash) == in(expected, "n2"));
      for (const ring::NodeId& peer : peers) {
        CHECK(v.co_owned(hash, peer) == (in(expected, "n2") && in(expected, peer)));
      }
    }
  }
}

TEST_CASE("a request's primaries are the preference list less the down nodes", "[ring_view]") {
  const std::vector<ring::NodeId> members = {"n1", "n2", "n3", "n4", "n5"};
  RingView v("n1", 16, 3, members);
  ring::Ring twin(members, 16);
  Prng rng(11);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t hash = rng.next();
    const size_t n = 1 + rng.below(6);  // a request's own n, also past the ring's size
    std::set<ring::NodeId> down;
    for (const ring::NodeId& m : members) {
      if (rng.below(4) == 0) down.insert(m);
    }
    std::vector<ring::Target> expected;
    for (const ring::NodeId& node : twin.preference_list(hash, n)) {
      if (!down.count(node)) expected.push_back(ring::Target{node, std::nullopt});
    }
    REQUIRE(v.primaries(hash, n, down) == expected);
    REQUIRE(v.primaries(hash, n, {}).size() == std::min<size_t>(n, members.size()));
  }
}

TEST_CASE("ownership shares follow the current ring", "[ring_view]") {
  RingView v("n1", 64, 2, {"n1", "n2"});
  double sum = 0;
  for (const auto& [id, share] : v.ownership()) sum += share;
  CHECK(sum == Approx(2.0));  // two replicas on two nodes: each holds everything
  v.update({"n1", "n2", "n3", "n4"});
  CHECK(v.ownership().size() == 4);
  sum = 0;
  for (const auto& [id, share] : v.ownership()) sum += share;
  CHECK(sum == Approx(2.0));
  CHECK(v.ownership().at("n3") == Approx(0.5).margin(0.15));
}

}  // namespace
}  // namespace shoal::core
