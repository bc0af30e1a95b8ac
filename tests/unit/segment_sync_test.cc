// SegmentSync, the convergence signal's bookkeeping: a segment is known equal with a
// peer only after a comparison that followed its last change here, quiet segments are
// due for a summary, and a change while a summary is out keeps its segment unconfirmed.
#include "node/core/segment_sync.h"

#include <catch2/catch.hpp>

namespace shoal::core {
namespace {

constexpr uint32_t kAll = SegmentSync::kSegments;

TEST_CASE("nothing is known equal until compared, and a change forgets it", "[segment_sync]") {
  SegmentSync s;
  CHECK(s.view("n2").unconfirmed == kAll);
  s.compared("n2", 7, true, 500);
  CHECK(s.known_equal("n2", 7));
  CHECK_FALSE(s.known_equal("n3", 7));  // per peer
  CHECK(s.view("n2").unconfirmed == kAll - 1);
  CHECK(s.view("n2").since_wall_ms == 500);
  s.changed(7, 1'000);
  CHECK_FALSE(s.known_equal("n2", 7));
  s.compared("n2", 7, true, 600);
  CHECK(s.known_equal("n2", 7));
  s.compared("n2", 7, false, 700);  // found to differ
  CHECK_FALSE(s.known_equal("n2", 7));
  CHECK(SegmentSync::segment_of(uint64_t{0xab} << 56 | 12345) == 0xab);
}

TEST_CASE("segments are due for a summary once quiet, at most max of them", "[segment_sync]") {
  SegmentSync s;
  for (uint32_t seg = 0; seg < kAll; ++seg) {
    if (seg != 3) s.compared("n2", seg, true, 1);
  }
  s.changed(9, 5'000);
  CHECK(s.due("n2", 5'500, 1'000, 64) == std::vector<uint32_t>{3});  // 9 changed 500 ms ago
  CHECK(s.due("n2", 6'000, 1'000, 64) == std::vector<uint32_t>{3, 9});
  CHECK(s.due("n2", 6'000, 1'000, 1) == std::vector<uint32_t>{3});
  CHECK(s.due("n4", 6'000, 1'000, 1'000).size() == kAll);  // never compared
}

TEST_CASE("a summary's equal answer counts as of when it left", "[segment_sync]") {
  SegmentSync s;
  CHECK_FALSE(s.summary_pending("n2", 0, 5'000));
  s.summary_sent("n2", {1, 2, 3}, 10'000);
  CHECK(s.summary_pending("n2", 12'000, 5'000));
  CHECK_FALSE(s.summary_pending("n2", 15'000, 5'000));  // timed out: send again
  s.changed(2, 11'000);                                 // written here while the summary was out
  auto differing = s.summary_answered(
      "n2", [](uint32_t seg) { return seg == 3; }, 777);
  CHECK(differing == std::vector<uint32_t>{3});
  CHECK(s.known_equal("n2", 1));
  CHECK_FALSE(s.known_equal("n2", 2));  // compared before its last change
  CHECK_FALSE(s.known_equal("n2", 3));
  CHECK_FALSE(s.summary_pending("n2", 12'000, 5'000));
  // A second answer to the same summary changes nothing.
  CHECK(s.summary_answered(
             "n2", [](uint32_t) { return true; }, 1)
            .empty());
  CHECK(s.known_equal("n2", 1));
  s.forget_all();
  CHECK_FALSE(s.known_equal("n2", 1));
}

}  // namespace
}  // namespace shoal::core
