#include "node/core/failure_detector.h"

#include <algorithm>

#include "crdt/assert.h"

namespace shoal::core {

// log10(e): phi = -log10(P(silence >= t)) for exponential arrivals with mean m.
constexpr double kPhiFactor = 0.4342944819032518;

PhiAccrualDetector::PhiAccrualDetector(DetectorOptions options) : options_(options) {
  SHOAL_ASSERT(options_.window > 0 && options_.bootstrap_interval_ms > 0);
}

void PhiAccrualDetector::heartbeat(const std::string& peer, uint64_t now_ms) {
  auto [it, inserted] = peers_.try_emplace(peer);
  Arrivals& a = it->second;
  if (inserted) {
    a.last_ms = now_ms;
    return;
  }
  if (a.watched_only) {
    a.watched_only = false;
    a.last_ms = std::max(a.last_ms, now_ms);
    return;
  }
  if (now_ms <= a.last_ms) return;  // duplicate or reordered heartbeat
  const uint64_t interval = now_ms - a.last_ms;
  a.last_ms = now_ms;
  if (interval > options_.max_interval_ms) return;
  if (a.intervals.size() < options_.window) {
    a.intervals.push_back(static_cast<uint32_t>(interval));
  } else {
    a.sum_ms -= a.intervals[a.next];
    a.intervals[a.next] = static_cast<uint32_t>(interval);
    a.next = (a.next + 1) % a.intervals.size();
  }
  a.sum_ms += interval;
  // The window is bounded and the running sum is of what it holds.
  SHOAL_ASSERT(a.intervals.size() <= options_.window && a.sum_ms >= interval);
}

void PhiAccrualDetector::watch(const std::string& peer, uint64_t now_ms) {
  auto [it, inserted] = peers_.try_emplace(peer);
  if (!inserted) return;
  it->second.last_ms = now_ms;
  it->second.watched_only = true;
}

double PhiAccrualDetector::mean(const Arrivals& a) const {
  if (a.intervals.empty()) return static_cast<double>(options_.bootstrap_interval_ms);
  return static_cast<double>(a.sum_ms) / static_cast<double>(a.intervals.size());
}

double PhiAccrualDetector::mean_interval_ms(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? static_cast<double>(options_.bootstrap_interval_ms)
                            : mean(it->second);
}

double PhiAccrualDetector::phi(const std::string& peer, uint64_t now_ms) const {
  auto it = peers_.find(peer);
  if (it == peers_.end() || now_ms <= it->second.last_ms) return 0.0;
  const double m = mean(it->second);
  if (m <= 0.0) return 0.0;
  return static_cast<double>(now_ms - it->second.last_ms) / m * kPhiFactor;
}

}  // namespace shoal::core
