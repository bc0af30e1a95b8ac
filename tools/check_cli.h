// shoal check: a Jepsen-style run against a live cluster. Concurrent clients add to
// counters and add/remove set elements at the chosen consistency while a nemesis injects
// faults (partitions of several shapes, kill -9 and restart, pause and resume), retrying
// operations whose outcome is unknown through other nodes with the same operation id; then it
// heals everything, waits for the replicas to settle, reads every replica of every key
// with LOCAL, and checks the history (tools/checker.h). Writes history.jsonl and
// timeline.html to --out. docs/testing.md explains how to read them.
//
// This file owns the flags and the run's order; the parts live beside it:
// tools/check_workload.h (the clients, settling, the final reads), tools/check_nemesis.h
// (the faults), tools/check_recorder.h (the history as it is recorded).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/core/options.h"

namespace CLI {
class App;
}

namespace shoal::check {

struct CheckOptions {
  std::string dir = ".shoal/cluster";  // a cluster started by `shoal cluster up`
  // Or nodes started some other way, as id=host:client_port,... (then every fault goes
  // through --nemesis-cmd), with their --vnodes.
  std::string nodes;
  uint32_t vnodes = 4096;
  std::string out = ".shoal/check";  // history.jsonl and timeline.html go here
  uint32_t time_limit_s = 20;        // how long the workload and nemesis run
  uint32_t clients = 5;
  uint32_t keys = 4;  // counters c0.. and sets s0..
  uint32_t nemesis_interval_ms = 2'000;
  // Faults to draw from: partition, isolate, one-way, bridge, ring, kill, pause.
  std::string faults = "partition,isolate,one-way,bridge,ring,kill,pause";
  // When set, every fault is run as `CMD FAULT ARGS...` instead of through the nodes'
  // fault filters and signals (e.g. iptables in network namespaces; docs/testing.md).
  std::string nemesis_cmd;
  // Attempts per operation: one whose outcome is unknown, or that another node may
  // serve (unavailable, overloaded), is sent again with the same operation id through
  // the next node.
  uint32_t attempts = 3;
  uint32_t quiet_limit_s = 90;   // how long to wait for the replicas to settle
  uint64_t seed = 0;             // 0: from the clock (printed, so a run can be repeated)
  core::RequestOptions options;  // the workload's consistency
  std::string options_label = "quorum";
};

void add_flags(CLI::App* cmd, CheckOptions* options);
// Exit code: 0 valid, 1 a violation was found, 2 bad input or the cluster is unusable.
int run(const CheckOptions& options);

}  // namespace shoal::check
