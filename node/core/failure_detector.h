// PhiAccrualDetector: phi-accrual failure detection on heartbeat arrivals (Hayashibara
// et al.; the exponential form Cassandra uses). Pure: time is passed in.
//
// For each peer it keeps the last `window` inter-arrival intervals. With mean interval
// m and t ms since the last heartbeat, phi = t / m * log10(e): the suspicion that the
// peer is down, on a log10 scale (phi = 1: a 10% chance the silence is normal; phi = 8:
// 1e-8). A peer is convicted when phi >= threshold. Intervals longer than
// max_interval_ms are outages, not the heartbeat rhythm, and are not recorded; until a
// first interval exists, bootstrap_interval_ms stands in for the mean.
//
// Up/down is each node's own view; it is never gossiped as fact.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace shoal::core {

struct DetectorOptions {
  uint32_t window = 1000;                 // intervals kept per peer (Cassandra: 1000)
  double threshold = 8.0;                 // conviction threshold (Cassandra: 8)
  uint64_t bootstrap_interval_ms = 1000;  // the expected heartbeat interval
  uint64_t max_interval_ms = 2000;        // longer gaps are not part of the rhythm
};

class PhiAccrualDetector {
 public:
  // REQUIRES: options.window > 0, options.bootstrap_interval_ms > 0.
  explicit PhiAccrualDetector(DetectorOptions options);

  void heartbeat(const std::string& peer, uint64_t now_ms);
  // Starts the silence clock for a peer just learned of, without a heartbeat: the first
  // real heartbeat then records no interval (the time since watch() is not a rhythm).
  void watch(const std::string& peer, uint64_t now_ms);
  // 0 for a peer never heard from (membership decides about those).
  double phi(const std::string& peer, uint64_t now_ms) const;
  bool convicted(const std::string& peer, uint64_t now_ms) const {
    return phi(peer, now_ms) >= options_.threshold;
  }
  // The mean interval used for `peer` (bootstrap value until one is measured).
  double mean_interval_ms(const std::string& peer) const;
  void forget(const std::string& peer) { peers_.erase(peer); }
  bool knows(const std::string& peer) const { return peers_.count(peer) > 0; }

 private:
  struct Arrivals {
    uint64_t last_ms = 0;
    std::vector<uint32_t> intervals;  // ring buffer of up to window entries
    size_t next = 0;                  // where the next interval goes once full
    uint64_t sum_ms = 0;
    bool watched_only = false;  // no heartbeat yet, only watch()
  };

  double mean(const Arrivals& a) const;

  DetectorOptions options_;
  std::map<std::string, Arrivals> peers_;
};

}  // namespace shoal::core
