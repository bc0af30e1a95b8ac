// A local cluster of shoald processes on loopback, each with its own data directory
// and log, described by a state file (DIR/cluster.state) so separate `shoal cluster`
// invocations (and tests) can find, kill and restart its nodes.
//
// Layout: DIR/cluster.state, DIR/<id>/data (LevelDB), DIR/<id>/shoald.log.
// Node i (1-based) is n<i>, client port base+i-1, peer port base+100+i-1, RESP port
// base+200+i-1, HTTP port base+300+i-1.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "crdt/status.h"
#include "node/api/protocol.h"

namespace shoal::client {

struct LocalNode {
  std::string id;
  int client_port = 0;
  int peer_port = 0;
  pid_t pid = 0;                   // 0: not started by us / stopped
  std::string data_dir;            // DIR/<id>/data; also how a pid is recognised as this node's
  std::string seed;                // a node added by join: the seed's peer address ("": a founder)
  std::string host = "127.0.0.1";  // where its client port listens (shoal check --nodes)
  std::string client_address() const { return "127.0.0.1:" + std::to_string(client_port); }
  int resp_port() const { return client_port + 200; }
  int http_port() const { return client_port + 300; }
};

struct LocalCluster {
  std::string dir;
  std::string secret;
  uint32_t vnodes = 256;
  std::vector<LocalNode> nodes;
  std::vector<std::string> extra_args;  // passed to every shoald
  bool die_with_parent = false;         // tests: nodes get SIGKILL when we exit
  bool external = false;                // nodes this tool did not start (--nodes): no pids to check

  std::string log_path(const LocalNode& n) const { return dir + "/" + n.id + "/shoald.log"; }
  LocalNode* find(const std::string& id);
  std::string members() const;  // the --members value (the founders)
};

// The shoald next to this executable, or $SHOAL_SHOALD.
std::string shoald_path();

// Creates the layout for n nodes (does not start them). invalid_argument if DIR already
// holds a running cluster.
Result<LocalCluster> make_cluster(const std::string& dir, int n, int base_port, std::string secret,
                                  uint32_t vnodes);
Result<LocalCluster> load_cluster(const std::string& dir);
Status save_cluster(const LocalCluster& cluster);

// Adds node n<k+1> (not started) that joins through `seed_id`'s peer address; ports follow
// the layout (client base+k, peer base+100+k).
Result<LocalNode> add_node(LocalCluster& cluster, const std::string& seed_id);

// Starts the node and waits (up to wait_ms) until it answers a ping.
Status start_node(LocalCluster& cluster, const std::string& id, uint32_t wait_ms = 10'000);
// Sends `signal`; with wait, waits until the process is gone (SIGKILL after wait_ms).
Status stop_node(LocalCluster& cluster, const std::string& id, int signal, uint32_t wait_ms);
// True when node.pid is alive and is this node's shoald (its command line names the
// node's data directory), so a pid reused after a reboot is never signalled.
bool node_running(const LocalNode& node);
// Waits until every running node reaches every other running node.
Status wait_connected(LocalCluster& cluster, uint32_t wait_ms = 10'000);

// Nodes started some other way (compose, network namespaces), as id=host:port,... of
// their client listeners.
Result<LocalCluster> external_cluster(const std::string& spec, uint32_t vnodes);

// A base port with 2*span free consecutive ports around it (tests).
int pick_free_base_port(int span);

// ---- settling: the convergence signal of every node (`shoal cluster settle`, settle.cc) ----

// One node's answer to cluster_status, judged. Settled: its own status is up, it reports
// every ring peer in sync (anti-entropy found every segment equal since it last changed,
// node/core/anti_entropy.cc), holds no hints and has no handoff pending or running.
struct NodeSettle {
  std::string id;
  bool answered = false;
  bool settled = false;
  uint64_t ring = 0;                // its ring fingerprint
  std::vector<std::string> issues;  // why not settled ("hints held 12", "n3: down", ...)
};

struct SettleRound {
  std::vector<NodeSettle> nodes;
  bool settled = false;         // some node answered, every one that did is settled, same ring
  std::string summary() const;  // "n1: n3: 37 segments unconfirmed; n2: settled; ..."
};

// Asks every node (a local cluster's running ones; every node given with --nodes) once.
SettleRound settle_round(LocalCluster& cluster, uint32_t wait_ms = 2'000);

// Polls every poll_ms until two rounds in a row are settled (true) or timeout_ms passed
// (false). `progress` sees each round and the time since the start.
bool settle(LocalCluster& cluster, uint32_t timeout_ms, uint32_t poll_ms,
            const std::function<void(const SettleRound&, uint64_t elapsed_ms)>& progress);

// A ring peer's sync as one cell of `shoal cluster status`: "yes since 12s",
// "no (37 segments unconfirmed)", "no (down)", "no (4 hints for it)", "no (handoff
// pending)"; "-" when the signal does not apply (itself, not in the ring, an older node).
std::string sync_label(const api::MemberInfo& m, uint64_t now_wall_ms);

}  // namespace shoal::client
