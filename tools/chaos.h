// Chaos on a local cluster (`shoal chaos`, and the nemesis of `shoal check`): turns a
// partition, isolation, one-way cut, delay or loss into fault-filter rules
// (node/core/fault_filter.h) and sends each node its rules over the admin API.
//
// Partitions are enforced on the receiving side, as an iptables DROP would be: a node
// drops what arrives from the nodes it is cut from. Nodes a partition does not name keep
// talking to everyone (a bridge). A new partition replaces the previous one; `heal`
// clears every rule on every node; a restarted node starts with none.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crdt/status.h"
#include "tools/cluster.h"

namespace CLI {
class App;
}

namespace shoal::chaos {

// One node's rules: what to send it.
struct NodeRules {
  std::string node;
  std::vector<std::string> rules;
};

// Parses "n1,n2|n3,n4,n5": two or more groups, every node known and named once.
Result<std::vector<std::set<std::string>>> parse_groups(const std::string& spec,
                                                        const std::set<std::string>& known);

// The rules of each kind, for a cluster of `all` nodes (pure: tested without processes).
std::vector<NodeRules> partition_rules(const std::vector<std::set<std::string>>& groups,
                                       const std::set<std::string>& all);
std::vector<NodeRules> isolate_rules(const std::string& node, const std::set<std::string>& all);
// Messages from `from` to `to` are dropped; `to` still reaches `from`.
std::vector<NodeRules> one_way_rules(const std::string& from, const std::string& to,
                                     const std::set<std::string>& all);
std::vector<NodeRules> heal_rules(const std::set<std::string>& all);

// Who drops messages from whom (receiving side) for one partition shape over `order`,
// a shuffled list of every node: "halves" (random halves), "isolate" (order[0] alone),
// "bridge" (order[0] reaches two halves that cannot reach each other), "ring" (each node
// reaches only its two neighbours: overlapping majorities of 5), "one-way" (order[0] ->
// order[1] dropped). nullopt for any other kind. Used by shoal check and the simulator.
using Cut = std::map<std::string, std::set<std::string>>;
std::optional<Cut> partition_cut(const std::string& kind, const std::vector<std::string>& order);

struct Applied {
  std::string node;
  Status status;      // unavailable when the node is not running
  std::string rules;  // the node's rules afterwards
};
// Sends each node its rules (skipping nodes that are not running).
std::vector<Applied> apply_rules(client::LocalCluster& cluster,
                                 const std::vector<NodeRules>& rules);

struct ChaosArgs {
  std::string dir = ".shoal/cluster";
  std::string nodes;  // id=host:port,... instead of --dir (compose, other hosts)
  std::string what;   // the subcommand
  std::string spec;   // partition groups
  std::string node, node2;
  std::string amount;  // "200ms", "10%"
  std::string jitter = "0ms";
  std::string to;  // comma-separated peers
  std::string clients_mode;
};

void add_commands(CLI::App& app, ChaosArgs* args);
// Runs the subcommand parsed into `args`; exit code (0 ok, 1 a node refused, 2 bad input).
int run(const ChaosArgs& args, bool json);

}  // namespace shoal::chaos
