// Node: the pure, single-threaded state machine of one Shoal node.
//
// Fed events (client requests, peer messages, timers), it acts only through the seams
// of env.h. Any node coordinates any request: it sends to the key's N replicas, answers
// the client once R (or W) of them did, keeps listening until all N answered or the
// timeout fired, then read-repairs the stale ones with the merged value. Updates are
// applied on one replica (the coordinator itself when it is one), which mints the dot;
// the resulting delta is merged into the others.
//
// Turns: everything a turn writes is staged in the Store; end_turn() commits it as one
// batch (fsynced if any write was durable) and only then sends the turn's messages and
// client replies, so nothing is acknowledged before it is stored.
//
// Membership is static here (every node is given the full member list).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/core/env.h"
#include "node/core/messages.h"
#include "node/core/object.h"
#include "node/core/object_cache.h"
#include "node/core/options.h"
#include "node/core/quorum.h"
#include "node/core/update.h"
#include "ring/ring.h"

namespace shoal::core {

struct ClientRequest {
  enum class Op : uint8_t { kGet, kUpdate };
  Op op = Op::kGet;
  std::string bucket;
  std::string key;
  Update update;  // kUpdate
  RequestOptions options;
};

struct ClientResponse {
  Status status;
  // kGet: the merged value (null: not_found). kUpdate: the minting replica's new
  // state when known.
  ObjectPtr object;
};

using ReplyFn = std::function<void(ClientResponse)>;

struct NodeConfig {
  ring::NodeId self;
  std::vector<ring::NodeId> members;  // including self
  uint32_t vnodes_per_node = ring::Ring::kDefaultVnodes;
  size_t object_cache_bytes = 32u << 20;  // decoded objects kept in memory (0: none)
};

struct NodeEnv {
  Clock& clock;
  Transport& transport;
  Timers& timers;
  Store& store;
};

class Node {
 public:
  // REQUIRES: config.members contains config.self; actor != 0.
  Node(NodeConfig config, NodeEnv env, crdt::Actor actor);

  void on_client_request(ClientRequest request, ReplyFn reply);
  void on_message(const ring::NodeId& from, const Message& message);
  void on_timer(uint64_t timer_id);
  // The shell reports whether it can reach a peer (connected and handshaken). An
  // unreachable replica is not waited for: a request that cannot reach its quorum fails
  // at once with unavailable, and another reachable replica mints updates. (The
  // phi-accrual failure detector of #4 feeds the same event.)
  void on_peer_status(const ring::NodeId& peer, bool reachable);
  void end_turn();

  const ring::Ring& ring() const { return ring_; }
  crdt::Actor actor() const { return actor_; }
  size_t pending_requests() const { return pending_.size(); }
  const ObjectCache& cache() const { return cache_; }
  bool reachable(const ring::NodeId& peer) const { return !unreachable_.count(peer); }

 private:
  struct Pending {
    ClientRequest::Op op = ClientRequest::Op::kGet;
    std::string bucket, key;
    ResolvedOptions options;
    std::vector<ring::NodeId> targets;
    std::map<ring::NodeId, ObjectPtr> replies;  // ok replies (reads); null: not found
    std::set<ring::NodeId> answered_by;
    QuorumGoal goal;
    Tally tally;
    ObjectPtr merged;  // reads: join of the ok replies
    ObjectPtr delta;   // updates: what the minter produced
    ObjectPtr state;   // updates: the minter's new state
    Status first_error;
    ReplyFn reply;
    bool replied = false;
  };

  void start_get(uint64_t id, Pending& p);
  void start_update(uint64_t id, Pending& p, const Update& update);
  void spread_delta(uint64_t id, Pending& p, const ring::NodeId& minter);
  void record(uint64_t id, const ring::NodeId& from, bool ok, const Status& error);
  void finish_if_done(uint64_t id);
  void read_repair(Pending& p);
  void respond(Pending& p, ClientResponse response);

  void handle_replica(const ring::NodeId& from, const Message& m);
  struct LocalApplied {
    ObjectPtr state, delta;
  };
  Result<LocalApplied> local_update(const Update& update, const std::string& bucket,
                                    const std::string& key, bool durable);
  Result<ObjectPtr> load(const std::string& bucket, const std::string& key);
  Status merge_local(const std::string& bucket, const std::string& key, const Object& delta,
                     bool durable);
  void save(const std::string& bucket, const std::string& key, ObjectPtr o, bool durable);
  void send(const ring::NodeId& to, Message m);

  NodeConfig config_;
  NodeEnv env_;
  crdt::Actor actor_;
  ring::Ring ring_;
  ObjectCache cache_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;
  std::set<ring::NodeId> unreachable_;
  // This turn's effects, released by end_turn() after the store commit.
  std::vector<std::pair<ring::NodeId, Message>> outbox_;
  std::vector<std::pair<ReplyFn, ClientResponse>> replies_;
  bool sync_needed_ = false;
};

}  // namespace shoal::core
