// AeSchedule: exchanges come one per interval with a bounded catch-up; the round robin
// visits every (segment, peer) pair once per cycle and never self; queued segments come
// first in order; summaries are paced by the rows they scanned.
#include "node/core/ae_schedule.h"

#include <catch2/catch.hpp>
#include <set>

namespace shoal::core {
namespace {

TEST_CASE("one exchange per interval, at most kMaxCatchUp owed, and a longer stall owes none",
          "[ae_schedule]") {
  AeSchedule s;
  CHECK(s.exchanges_due(0, 0) == 0);  // anti-entropy off
  CHECK(s.exchanges_due(0, 100) == 1);
  CHECK(s.exchanges_due(50, 100) == 0);
  CHECK(s.exchanges_due(100, 100) == 1);
  CHECK(s.exchanges_due(450, 100) == 3);                          // 200, 300, 400
  CHECK(s.exchanges_due(6'800, 100) == AeSchedule::kMaxCatchUp);  // 500 .. 6,800
  CHECK(s.exchanges_due(6'800, 100) == 0);
  CHECK(s.exchanges_due(1'000'000, 100) == 1);  // the clock restarts: nothing owed
  CHECK(s.exchanges_due(1'000'099, 100) == 0);
}

TEST_CASE("the round robin covers every (segment, peer) pair once per cycle, never self",
          "[ae_schedule]") {
  AeSchedule s;
  const std::vector<ring::NodeId> nodes = {"n1", "n2", "n3", "n4"};
  std::set<std::pair<uint32_t, ring::NodeId>> seen;
  const size_t cycle = AeSchedule::kSegments * (nodes.size() - 1);
  for (size_t i = 0; i < cycle; ++i) {
    auto [segment, peer] = s.next_pair(nodes, "n3");
    REQUIRE(*peer != "n3");
    CHECK(segment < AeSchedule::kSegments);
    seen.emplace(segment, *peer);
  }
  CHECK(seen.size() == cycle);
}

TEST_CASE("queued segments come out in order and a ring change drops them", "[ae_schedule]") {
  AeSchedule s;
  CHECK_FALSE(s.next_queued());
  s.queue("n2", 4);
  s.queue("n3", 9);
  auto first = s.next_queued();
  REQUIRE(first);
  CHECK(*first == std::make_pair(ring::NodeId("n2"), uint32_t{4}));
  s.ring_changed();
  CHECK(s.queue_empty());
  CHECK_FALSE(s.next_queued());
}

TEST_CASE("a summary waits two intervals, or longer when it scanned many rows", "[ae_schedule]") {
  AeSchedule s;
  CHECK(s.summary_due(0));
  CHECK(s.summary_cursor() == 0);
  s.summary_sent(2, 3, 1'000, 10, 100, 200'000);
  CHECK(s.summary_cursor() == 0);  // after the last peer index, wraps
  CHECK_FALSE(s.summary_due(1'199));
  CHECK(s.summary_due(1'200));
  s.summary_sent(0, 3, 2'000, 1'000'000, 100, 200'000);  // 5 s of scanning budget
  CHECK(s.summary_cursor() == 1);
  CHECK_FALSE(s.summary_due(6'999));
  CHECK(s.summary_due(7'000));
}

}  // namespace
}  // namespace shoal::core
