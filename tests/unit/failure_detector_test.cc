// Phi-accrual failure detection: conviction time for steady heartbeats, no false
// conviction under jitter and loss, bounded window, outages kept out of the rhythm.
#include "node/core/failure_detector.h"

#include <catch2/catch.hpp>

#include "crdt/prng.h"

namespace shoal::core {
namespace {

TEST_CASE("steady heartbeats: phi grows linearly and convicts after threshold/log10(e) means",
          "[fd]") {
  PhiAccrualDetector fd(DetectorOptions{});
  uint64_t t = 0;
  for (int i = 0; i < 100; ++i, t += 1000) fd.heartbeat("n2", t);
  t -= 1000;  // the last heartbeat
  CHECK(fd.mean_interval_ms("n2") == Approx(1000));
  CHECK(fd.phi("n2", t) == 0.0);
  CHECK(fd.phi("n2", t + 1000) == Approx(0.4343).epsilon(1e-3));
  // threshold 8 at 8 / log10(e) = 18.42 intervals of silence
  CHECK_FALSE(fd.convicted("n2", t + 18'400));
  CHECK(fd.convicted("n2", t + 18'500));
  fd.heartbeat("n2", t + 20'000);  // back: the outage does not enter the mean
  CHECK(fd.mean_interval_ms("n2") == Approx(1000));
  CHECK_FALSE(fd.convicted("n2", t + 20'001));
}

TEST_CASE("jittered heartbeats with 10% loss are never convicted over simulated hours", "[fd]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Prng rng(seed);
    PhiAccrualDetector fd(DetectorOptions{});
    uint64_t t = 0;
    double worst = 0;
    for (int beat = 0; beat < 10'800; ++beat) {                 // 3 hours of 1 s heartbeats
      t += static_cast<uint64_t>(1000 + rng.range(-300, 300));  // jitter
      if (rng.chance(1, 10)) continue;                          // lost
      worst = std::max(worst, fd.phi("n2", t));                 // just before it arrives
      fd.heartbeat("n2", t);
    }
    INFO("seed " << seed << " worst phi " << worst);
    CHECK(worst < 8.0);
  }
}

TEST_CASE("the window is bounded and follows a changed rhythm", "[fd]") {
  PhiAccrualDetector fd(DetectorOptions{10, 8.0, 1000, 5000});
  uint64_t t = 0;
  for (int i = 0; i < 50; ++i, t += 100) fd.heartbeat("n2", t);
  CHECK(fd.mean_interval_ms("n2") == Approx(100));
  for (int i = 0; i < 11; ++i, t += 400) fd.heartbeat("n2", t);
  CHECK(fd.mean_interval_ms("n2") == Approx(400));  // only the last 10 intervals count
}

TEST_CASE("unknown peers, duplicates and forgetting", "[fd]") {
  PhiAccrualDetector fd(DetectorOptions{});
  CHECK(fd.phi("nobody", 123) == 0.0);
  fd.heartbeat("n2", 1000);
  CHECK(fd.mean_interval_ms("n2") == Approx(1000));  // bootstrap until measured
  fd.heartbeat("n2", 1000);                          // duplicate: ignored
  fd.heartbeat("n2", 900);                           // reordered: ignored
  CHECK(fd.phi("n2", 1500) == Approx(0.5 * 0.4343).epsilon(1e-3));
  fd.forget("n2");
  CHECK(fd.phi("n2", 100'000) == 0.0);
}

TEST_CASE("watch starts the silence clock without recording an interval", "[fd]") {
  PhiAccrualDetector fd(DetectorOptions{});
  fd.watch("n2", 0);
  CHECK(fd.knows("n2"));
  CHECK(fd.phi("n2", 18'000) > 7.0);  // never heard from: convicted in time
  fd.heartbeat("n2", 50);             // the first heartbeat, just after we learned of it
  fd.heartbeat("n2", 1050);
  // Only the real interval (1000 ms) counts, not the 50 ms since watch(): a short silence
  // does not look like an outage.
  CHECK(fd.mean_interval_ms("n2") == Approx(1000));
  CHECK(fd.phi("n2", 3050) < 1.0);
}

}  // namespace
}  // namespace shoal::core
