// TimerQueue: deadlines on a fake clock, replacement and cancellation, firing order,
// timers scheduled while firing, and when the shell's single timer is re-armed.
#include "node/uv/timer_queue.h"

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <vector>

namespace shoal::uvshell {
namespace {

struct FakeClock final : core::Clock {
  uint64_t now = 1'000;
  uint64_t now_ms() override { return now; }
  uint64_t wall_ms() override { return now; }
};

struct Harness {
  FakeClock clock;
  std::vector<uint64_t> armed;  // deadlines the shell was asked to arm
  TimerQueue queue{clock, [this](uint64_t d) { armed.push_back(d); }};
  std::vector<uint64_t> fire(uint64_t now) {
    std::vector<uint64_t> fired;
    clock.now = now;
    queue.fire_due(now, [&](uint64_t id) { fired.push_back(id); });
    return fired;
  }
};

TEST_CASE("timers fire once, earliest first, when due", "[timer_queue]") {
  Harness h;
  h.queue.schedule(1, 300);
  h.queue.schedule(2, 100);
  h.queue.schedule(3, 200);
  CHECK(h.queue.size() == 3);
  CHECK(h.queue.first_deadline_ms() == 1'100);
  CHECK(h.fire(1'050).empty());
  CHECK(h.fire(1'200) == std::vector<uint64_t>{2, 3});
  CHECK(h.fire(2'000) == std::vector<uint64_t>{1});
  CHECK(h.fire(3'000).empty());
  CHECK(h.queue.size() == 0);
  CHECK_FALSE(h.queue.first_deadline_ms().has_value());
}

TEST_CASE("scheduling an id again replaces its deadline, and cancel forgets it", "[timer_queue]") {
  Harness h;
  h.queue.schedule(7, 100);
  h.queue.schedule(7, 500);
  CHECK(h.queue.size() == 1);
  CHECK(h.fire(1'200).empty());
  CHECK(h.fire(1'500) == std::vector<uint64_t>{7});
  h.queue.schedule(8, 10);
  h.queue.cancel(8);
  h.queue.cancel(8);   // twice: a no-op
  h.queue.cancel(99);  // never scheduled: a no-op
  CHECK(h.fire(5'000).empty());
}

TEST_CASE("a timer scheduled while firing fires in the same call when already due",
          "[timer_queue]") {
  Harness h;
  h.queue.schedule(1, 0);
  std::vector<uint64_t> fired;
  h.queue.fire_due(1'000, [&](uint64_t id) {
    fired.push_back(id);
    if (id == 1) h.queue.schedule(2, 0);   // due now
    if (id == 2) h.queue.schedule(3, 50);  // later
  });
  CHECK(fired == std::vector<uint64_t>{1, 2});
  CHECK(h.queue.first_deadline_ms() == 1'050);
}

TEST_CASE("the shell's timer is armed only when the earliest deadline changes", "[timer_queue]") {
  Harness h;
  h.queue.schedule(1, 100);  // first deadline 1100: armed
  h.queue.schedule(2, 200);  // later: nothing to do
  h.queue.schedule(3, 50);   // earlier: armed again
  CHECK(h.armed == std::vector<uint64_t>{1'100, 1'050});
  // The earliest is cancelled: its timer stays armed, fires, finds nothing, re-arms.
  h.queue.cancel(3);
  CHECK(h.armed.size() == 2);
  CHECK(h.fire(1'050).empty());
  CHECK(h.armed.back() == 1'100);
  // After firing nothing counts as armed, so the same deadline is armed again.
  CHECK(h.fire(1'100) == std::vector<uint64_t>{1});
  CHECK(h.armed.back() == 1'200);
  h.fire(1'200);
  h.queue.schedule(4, 0);
  CHECK(h.armed.back() == 1'200);  // now 1200 + 0, a new arming after the fire
  CHECK(h.armed.size() == 5);
}

TEST_CASE("deadlines of requests that finished early do not pile up", "[timer_queue]") {
  Harness h;
  h.queue.schedule(1, 60'000);  // a tick that stays
  for (uint64_t id = 2; id < 10'000; ++id) {
    h.queue.schedule(id, 5'000);           // a request's timeout...
    if (id % 10 != 0) h.queue.cancel(id);  // ...most of them answered long before it
    REQUIRE(h.queue.held_entries() <= 2 * h.queue.size() + 64);
  }
  CHECK(h.queue.size() == 1 + 999);
  CHECK(h.queue.first_deadline_ms() == 6'000);
}

// The naive twin: every live timer in a map, fired by a scan for the earliest (deadline,
// order scheduled).
struct Twin {
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> live;  // id -> (deadline, order)
  uint64_t order = 0;
  void schedule(uint64_t id, uint64_t deadline_ms) { live[id] = {deadline_ms, order++}; }
  std::optional<uint64_t> first() const {
    std::optional<std::pair<uint64_t, uint64_t>> best;
    for (const auto& [id, d] : live) best = best ? std::min(*best, d) : d;
    if (!best) return std::nullopt;
    return best->first;
  }
  // Fires what is due at `now`, earliest first; `then(id)` runs after each, and may
  // schedule and cancel.
  std::vector<uint64_t> fire(uint64_t now, const std::function<void(uint64_t)>& then) {
    std::vector<uint64_t> fired;
    for (;;) {
      auto earliest = live.end();
      for (auto it = live.begin(); it != live.end(); ++it) {
        if (earliest == live.end() || it->second < earliest->second) earliest = it;
      }
      if (earliest == live.end() || earliest->second.first > now) return fired;
      const uint64_t id = earliest->first;
      fired.push_back(id);
      live.erase(earliest);
      then(id);
    }
  }
};

// What a fired timer's callback does, the same on both sides: from the fired id alone, so
// both make the same calls. Some reschedule another id already due (it fires in the same
// call), some cancel one that may be due and buried in the heap.
template <typename Schedule, typename Cancel>
void react(uint64_t fired, uint64_t ids, Schedule schedule, Cancel cancel) {
  const uint64_t other = 1 + (fired * 7) % ids;
  if (fired % 3 == 0) schedule(other, fired % 5);  // delay 0: due now
  if (fired % 3 == 1) cancel(other);
}

TEST_CASE("the queue fires as a naive twin does, and holds few dead deadlines", "[timer_queue]") {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    Harness h;
    Twin twin;
    const uint64_t ids = 1 + rng() % 300;  // some runs grow the table, some do not
    for (int step = 0; step < 5'000; ++step) {
      const uint64_t id = 1 + rng() % ids;
      switch (rng() % 4) {
        case 0:
        case 1: {
          const uint64_t delay_ms = rng() % 500;
          h.queue.schedule(id, delay_ms);
          twin.schedule(id, h.clock.now + delay_ms);
          break;
        }
        case 2:
          h.queue.cancel(id);
          twin.live.erase(id);
          break;
        default: {
          const uint64_t now = h.clock.now + rng() % 60;
          h.clock.now = now;
          std::vector<uint64_t> fired;
          h.queue.fire_due(now, [&](uint64_t f) {
            fired.push_back(f);
            react(
                f, ids, [&](uint64_t i, uint64_t d) { h.queue.schedule(i, d); },
                [&](uint64_t i) { h.queue.cancel(i); });
          });
          const std::vector<uint64_t> want = twin.fire(now, [&](uint64_t f) {
            react(
                f, ids, [&](uint64_t i, uint64_t d) { twin.schedule(i, now + d); },
                [&](uint64_t i) { twin.live.erase(i); });
          });
          REQUIRE(fired == want);
          // Armed for the earliest deadline left (fire_due arms whatever is first).
          if (twin.first()) REQUIRE(h.armed.back() == *twin.first());
        }
      }
      REQUIRE(h.queue.size() == twin.live.size());
      REQUIRE(h.queue.first_deadline_ms() == twin.first());
      REQUIRE(h.queue.held_entries() <= 2 * h.queue.size() + 64);
    }
  }
}

}  // namespace
}  // namespace shoal::uvshell
