// Metrics: what a node exposes at GET /metrics, in the Prometheus text format
// (docs/http.md lists every series). Request counts and latency histograms are recorded
// by the shell around each client request; the rest comes from a NodeSnapshot.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
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
  // A request's consistency as the series names it: "one", "quorum", "all", "local" or
  // "custom" (consistency_name).
  enum class Consistency : uint8_t { kOne, kQuorum, kAll, kLocal, kCustom };
  static Consistency consistency_of(const core::RequestOptions& o);
  static std::string_view consistency_name(Consistency c);

  // Per request: array cells, no strings (they are named when rendered).
  void observe(api::Op op, Consistency consistency, Code code, double seconds);
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
  static constexpr size_t kOps = static_cast<size_t>(api::Op::kAuth) + 1;
  static constexpr size_t kConsistencies = static_cast<size_t>(Consistency::kCustom) + 1;
  static constexpr size_t kCodes = static_cast<size_t>(Code::kInternal) + 1;
  // Indexed [op][consistency][code] and [op][consistency]; a series is rendered once it
  // counted a request (as the maps they replaced held only what was observed).
  std::array<uint64_t, kOps * kConsistencies * kCodes> counts_{};
  std::array<Histogram, kOps * kConsistencies> latency_{};
  uint64_t requests_ = 0;
  double seconds_ = 0;
};

}  // namespace shoal::uvshell
