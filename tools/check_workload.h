// The clients of `shoal check` and the end of the run. Each client adds to counters
// (c0..) and adds and removes set elements (s0..) at the run's consistency, recording
// every attempt in the history; then, after the faults are healed, settle_and_read()
// waits for the replicas to agree and reads every replica of every key with LOCAL.
//
// REQUIRES: the cluster has at least one node; `stop` is set before the client threads
// are joined (a client blocked on connecting gives up only then).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "node/api/protocol.h"
#include "tools/check_cli.h"
#include "tools/check_recorder.h"
#include "tools/client.h"
#include "tools/cluster.h"

namespace shoal::check {

struct Workload {
  const CheckOptions& o;
  client::LocalCluster& cluster;
  Recorder& rec;
  std::string bucket;
  std::atomic<bool> stop{false};

  // One client's connection, to one node at a time (the next one after a failure).
  struct Conn {
    std::unique_ptr<client::Client> c;
    size_t node = 0;
  };

  // One client: counter adds (±), set adds of unique elements, and removes of elements it
  // added, each read first so the remove carries the context that saw it. Every update
  // carries an operation id; an attempt whose outcome is unknown (timeout, a broken
  // connection) or that another node may serve (unavailable, overloaded) is sent again,
  // with the same id, through the next node, up to --attempts in all.
  void client_loop(uint32_t process);

  // The parts of a client's loop.

  // Connects to the next node that takes the connection (false: the run is over).
  bool connect_next(Conn& conn);
  api::Request request(api::Op op, const std::string& key, const std::string& op_id) const;
  static Event event(uint32_t process, const std::string& f, const std::string& key,
                     const std::string& op_id);
  // Sends the operation, attempt after attempt (each recorded as its own invoke and
  // completion with the operation's id) until one is definite or none are left.
  void run_op(Conn& conn, const api::Request& r, Event e);
  // Records an attempt's completion as the client must read it (checker.h, classify:
  // unavailable and the other definite errors are failures; a timeout or no answer is
  // indeterminate).
  EventType complete(Event e, const Result<api::Response>& r);
  void remove_seen(Conn& conn, uint32_t p, const std::string& key, const std::string& elem,
                   const std::string& op_id);
};

// Waits (up to --quiet-limit) until nothing is left to hand off and two rounds of reads
// agree; returns the last reads either way (the checker judges them). An error means no
// round of reads succeeded (a replica did not answer).
Result<std::vector<Event>> settle_and_read(const CheckOptions& o, client::LocalCluster& c,
                                           const std::string& bucket, Recorder& rec);

}  // namespace shoal::check
