// Metrics: what a node exposes at GET /metrics, in the Prometheus text format
// (docs/http.md lists every series). Request counts and latency histograms are recorded
// by the shell around each client request; the rest comes from a NodeSnapshot.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "node/api/protocol.h"
#include "node/core/node.h"
#include "node/uv/snapshot.h"

namespace shoal::uvshell {

class Metrics {
 public:
  // Latency buckets (seconds), as Prometheus histograms want them.
  static constexpr std::array<double, 15> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  // "one", "quorum", "all", "local" or "custom".
  static std::string consistency_label(const core::RequestOptions& o);

  void observe(api::Op op, const std::string& consistency, Code code, double seconds);
  uint64_t requests() const { return requests_; }
  double seconds() const { return seconds_; }

  // The request series recorded here, then the node's from `s`.
  std::string render(const NodeSnapshot& s) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> counts_;  // op, cons, code
  std::map<std::pair<std::string, std::string>, Histogram> latency_;              // op, cons
  uint64_t requests_ = 0;
  double seconds_ = 0;
};

}  // namespace shoal::uvshell
