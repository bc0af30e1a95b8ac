// `shoal cluster`: runs a local cluster of shoald processes (tools/cluster.h) and shows
// it: up, status, settle, ring, join, leave, remove, down, and kill, stop, start,
// restart, pause, resume of one node. The cluster's layout lives in --dir, so each
// command is a separate process that finds the nodes again.
//
// REQUIRES: shoald beside shoal, or $SHOAL_SHOALD (tools/cluster.h); the
// ClusterArgs and name given to add_cluster_commands outlive the parse.
// Exit codes as tools/cli.h; `cluster settle` exits 1 when it timed out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ring/ring.h"
#include "tools/cli.h"

namespace CLI {
class App;
}

namespace shoal::cli {

// What `cluster` and its subcommands parse into.
struct ClusterArgs {
  std::string dir = ".shoal/cluster";
  int nodes = 3;
  int base_port = 7001;
  std::string secret;
  uint32_t vnodes = ring::Ring::kDefaultVnodes;
  std::string node;
  std::string seed = "n1";
  std::vector<std::string> node_args;  // extra shoald flags for `up` and `join`
  uint32_t wait_ms = 120'000;
  uint32_t timeout_s = 60;  // settle
  std::string node_spec;    // settle: id=host:port,... instead of --dir
};

// Adds `cluster` and its subcommands to `app`; the one parsed stores its name in *what.
void add_cluster_commands(CLI::App& app, ClusterArgs* a, std::string* what);

// Runs `cluster <what>` with `a`; returns the exit code.
int cluster_command(const Global& g, const std::string& what, const ClusterArgs& a);

}  // namespace shoal::cli
