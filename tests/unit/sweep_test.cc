// Sweep: a pass starts when due, moves only forward, and ends clean only when it found
// nothing under an unchanged ring; a dirty pass or an arriving foreign key brings the
// next pass within a second.
#include "node/core/sweep.h"

#include <catch2/catch.hpp>

namespace shoal::core {
namespace {

constexpr uint64_t kRecheckMs = 600'000;

TEST_CASE("a clean pass waits the recheck interval and names the ring it started under",
          "[sweep]") {
  Sweep s;
  CHECK_FALSE(s.running());
  CHECK(s.step_due(0, 7, "d0"));  // due at once when new
  CHECK(s.running());
  CHECK(s.cursor() == "d0");
  CHECK(s.progress().active);
  s.pause_at("d5");
  CHECK(s.step_due(1, 7, "d0"));  // still running: resumes at the cursor
  CHECK(s.cursor() == "d5");
  CHECK(s.finish(100, 7, kRecheckMs));
  CHECK(s.pass_ring() == 7);
  CHECK_FALSE(s.running());
  CHECK_FALSE(s.progress().active);
  CHECK_FALSE(s.step_due(100 + kRecheckMs - 1, 7, "d0"));
  CHECK(s.step_due(100 + kRecheckMs, 7, "d0"));
}

TEST_CASE("a pass that found keys, or saw the ring change, is not clean and recurs soon",
          "[sweep]") {
  Sweep s;
  s.start(7, "d0");
  s.found_not_owned();
  s.found_not_owned();
  s.sent();
  CHECK_FALSE(s.finish(10, 7, kRecheckMs));
  CHECK(s.progress().not_owned == 2);
  CHECK(s.progress().keys_sent == 1);
  CHECK_FALSE(s.step_due(1'009, 7, "d0"));
  CHECK(s.step_due(1'010, 7, "d0"));
  CHECK(s.progress().not_owned == 2);           // the last full pass's count, until this one ends
  CHECK_FALSE(s.finish(2'000, 8, kRecheckMs));  // started under ring 7, ends under 8
  CHECK(s.progress().not_owned == 0);
}

TEST_CASE("a foreign key arriving during a pass keeps it from ending clean", "[sweep]") {
  Sweep s;
  s.start(7, "d0");
  s.pause_at("d9");
  s.soon(100);  // the key may sort before d9: this pass never sees it
  CHECK_FALSE(s.finish(200, 7, kRecheckMs));
  CHECK(s.step_due(1'200, 7, "d0"));  // the next pass, a second later, finds it
  CHECK(s.finish(1'300, 7, kRecheckMs));
}

TEST_CASE("a foreign key arriving brings the next pass within a second", "[sweep]") {
  Sweep s;
  s.start(7, "d0");
  CHECK(s.finish(0, 7, kRecheckMs));
  s.soon(50'000);
  CHECK_FALSE(s.step_due(50'999, 7, "d0"));
  CHECK(s.step_due(51'000, 7, "d0"));
  s.dropped();
  s.in_flight(3);
  CHECK(s.progress().keys_dropped == 1);
  CHECK(s.progress().inflight == 3);
}

}  // namespace
}  // namespace shoal::core
