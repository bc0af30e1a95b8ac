// PeerStateLog: a peer going down and coming back is logged once each, a flapping peer
// at most once per kMinGapMs, and the last line always ends up telling the state.
#include "node/uv/peer_state_log.h"

#include <catch2/catch.hpp>

namespace shoal::uvshell {
namespace {

constexpr uint64_t kGap = PeerStateLog::kMinGapMs;

TEST_CASE("a peer seen up logs nothing, going down logs once, coming back logs how long",
          "[peer_state_log]") {
  PeerStateLog log;
  CHECK(!log.observe("n2", false, 1'000));
  CHECK(!log.observe("n2", false, 2'000));
  auto down = log.observe("n2", true, 3'000);
  REQUIRE(down);
  CHECK(down->down);
  CHECK(down->unlogged == 0);
  for (uint64_t t = 4'000; t < 40'000; t += 1'000) CHECK(!log.observe("n2", true, t));
  auto up = log.observe("n2", false, 40'000);
  REQUIRE(up);
  CHECK(!up->down);
  CHECK(up->down_for_ms == 37'000);
  CHECK(!log.observe("n2", false, 41'000));
}

TEST_CASE(
    "a peer not reached since first seen is logged down only once down a gap, and reaching "
    "it is no news",
    "[peer_state_log]") {
  PeerStateLog log;
  // This node starts before its peers: n3 comes up within the gap, n4 never does.
  CHECK(!log.observe("n3", true, 500));
  CHECK(!log.observe("n4", true, 500));
  CHECK(!log.observe("n3", true, 900));
  CHECK(!log.observe("n3", false, 1'200));
  for (uint64_t t = 1'000; t < 500 + kGap; t += 1'000) CHECK(!log.observe("n4", true, t));
  auto down = log.observe("n4", true, 500 + kGap);
  REQUIRE(down);
  CHECK(down->down);
  CHECK(down->unlogged == 0);
  // n3, reached, going down later is told at once: no gap was started by reaching it.
  auto n3_down = log.observe("n3", true, 2'000);
  REQUIRE(n3_down);
  CHECK(n3_down->down);
  CHECK(!log.observe("n4", true, 600 + kGap));
  auto n4_up = log.observe("n4", false, 700 + kGap);
  CHECK(!n4_up);  // within the gap after its line
  auto late = log.observe("n4", false, 600 + 2 * kGap);
  REQUIRE(late);
  CHECK(late->down_for_ms == 200 + kGap);  // the spell itself, not until the line
  CHECK(late->up_for_ms == kGap - 100);
}

TEST_CASE(
    "a peer flapping every second for 10 minutes logs at most a line per gap, and the "
    "last line tells its final state",
    "[peer_state_log]") {
  PeerStateLog log;
  size_t lines = 0;
  bool last_logged_down = false;
  uint64_t unlogged = 0;
  uint64_t t = 1'000;
  for (int i = 0; i < 600; ++i, t += 1'000) {
    if (auto line = log.observe("n2", i % 2 == 0, t)) {
      ++lines;
      last_logged_down = line->down;
      unlogged += line->unlogged;
    }
  }
  CHECK(lines <= 600'000 / kGap + 1);
  CHECK(lines >= 600'000 / (kGap + 2'000));           // a gap, then the next change
  CHECK(lines + unlogged <= 600);                     // no change told twice
  CHECK(lines + unlogged >= 600 - 2 * kGap / 1'000);  // only the latest ones not yet told
  // It ends up (i = 599 is odd): within a gap the last line says so.
  for (uint64_t end = t + kGap; t <= end; t += 1'000) {
    if (auto line = log.observe("n2", false, t)) last_logged_down = line->down;
  }
  CHECK(!last_logged_down);
}

TEST_CASE("a flap back to the logged state says nothing until the next change, which counts it",
          "[peer_state_log]") {
  PeerStateLog log;
  CHECK(!log.observe("n2", false, 500));
  REQUIRE(log.observe("n2", true, 1'000));
  CHECK(!log.observe("n2", false, 2'000));  // within the gap: held back
  CHECK(!log.observe("n2", true, 3'000));   // back to what the line said
  CHECK(!log.observe("n2", true, 20'000));
  auto up = log.observe("n2", false, 21'000);
  REQUIRE(up);
  CHECK(up->unlogged == 2);
  CHECK(up->down_for_ms == 18'000);  // the last spell
  CHECK(up->up_for_ms == 0);
}

TEST_CASE("peers that left the ring are forgotten", "[peer_state_log]") {
  PeerStateLog log;
  log.observe("n2", true, 1'000);
  log.observe("n3", false, 1'000);
  log.observe("n4", true, 1'000);
  log.keep_only({"n3"});
  CHECK(log.size() == 1);
  // A node that rejoins starts afresh: a first sighting.
  CHECK(!log.observe("n2", true, 2'000));
  CHECK(log.observe("n2", true, 2'000 + kGap));
}

}  // namespace
}  // namespace shoal::uvshell
