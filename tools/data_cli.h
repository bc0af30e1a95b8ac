// The data commands: get, put, del, counter add/get, set add/rm/get, and ping. Each sends
// one request through the nodes of --host with the retrying ClusterClient
// (tools/client.h): an update carries an operation id (--op-id, or a fresh random one)
// and is retried with that same id on the next node when the answer is timeout,
// unavailable or overloaded, or the connection fails.
//
// REQUIRES: the DataArgs and Op given to add_data_commands outlive the parse (the
// commands write into them).
// Exit codes as tools/cli.h: 0 ok, 1 the node answered with an error, 2 bad usage or a
// request refused before sending.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/api/protocol.h"
#include "tools/cli.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace shoal::cli {

// What the data commands parse into (one set shared by all of them: one command runs).
struct DataArgs {
  std::string bucket, key, value, ctx, type = "register";
  int64_t delta = 0;
  std::vector<std::string> elements;
  ConsistencyFlags flags;
  std::string op_id;
  std::vector<CLI::Option*> op_id_flags;  // one per update command
  bool op_id_given() const;
};

// Adds the data commands and ping to `app`, in the order --help lists them; the one
// parsed sets *op.
void add_data_commands(CLI::App& app, DataArgs* a, api::Op* op);

// Runs data command `op` (not ping) with `a`; returns the exit code.
int run_data(const Global& g, api::Op op, const DataArgs& a);
// `shoal ping`: asks a node of --host whether it answers and whom it reaches.
// ping, or status (cluster_status: the members as the node sees them).
int run_ping(const Global& g, api::Op op);

}  // namespace shoal::cli
