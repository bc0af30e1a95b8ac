// shoal bench: closed-loop load against one or more nodes over the native protocol.
//
// Each connection runs on its own thread and keeps `pipeline` requests in flight; keys
// are drawn uniformly from `keys`. Register puts carry the context of that key's last
// reply on the connection (a client that reads before it writes), so siblings stay
// bounded by real concurrency. Reports ops/s and p50/p99/p99.9/max latency per op.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace shoal::bench {

struct BenchOptions {
  std::string hosts;  // comma-separated host:port list; empty: the global --host
  uint32_t connections = 8;
  uint32_t pipeline = 8;
  uint32_t duration_s = 10;
  uint32_t keys = 10'000;
  uint32_t value_size = 100;
  std::string mix = "get=50,put=50";  // ops: get, put, counter, set
  std::string consistency = "quorum";
  uint32_t n = 0;  // replicas; 0: the preset's (3)
  bool preload = true;
  // Whether updates carry an operation id (the client's default) or none: the two runs
  // side by side give what ids cost (docs/benchmarks.md).
  std::string op_ids = "on";
};

void add_flags(CLI::App* cmd, BenchOptions* options);
int run(const std::string& default_host, const BenchOptions& options, bool json);

}  // namespace shoal::bench
