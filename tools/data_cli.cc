#include "tools/data_cli.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "node/api/json.h"
#include "node/api/text.h"
#include "node/core/options.h"
#include "tools/client.h"

namespace shoal::cli {

bool DataArgs::op_id_given() const {
  for (const CLI::Option* o : op_id_flags) {
    if (o->count() > 0) return true;
  }
  return false;
}

namespace {

void print_json(const api::Response& r, const std::string& op_id) {
  json::Json out = {{"status", std::string(code_name(r.status.code()))}};
  if (!r.status.is_ok()) out["message"] = json::bytes(r.status.message());
  if (!op_id.empty()) out["op_id"] = json::bytes(op_id);
  if (r.duplicate) out["duplicate"] = true;
  if (r.added) out["added"] = *r.added;        // set add: members new (SADD's count)
  if (r.removed) out["removed"] = *r.removed;  // set rm without a context (SREM's count)
  if (r.type) {
    out["type"] = std::string(core::type_name(*r.type));
    switch (*r.type) {
      case core::DataType::kRegister:
      case core::DataType::kLww:
        out["values"] = json::bytes_array(r.values);
        break;
      case core::DataType::kCounter:
        out["value"] = r.counter;
        break;
      case core::DataType::kSet:
        out["members"] = json::bytes_array(r.elements);
        break;
    }
  }
  if (r.context) out["context"] = text::base64_encode(*r.context);
  if (!r.node.empty()) {
    out["node"] = json::bytes(r.node);
    out["peers"] = json::bytes_array(r.peers);
  }
  if (!r.members.empty()) {
    out["members"] = json::Json::array();
    for (const api::MemberInfo& m : r.members) {
      out["members"].push_back({{"id", json::bytes(m.id)},
                                {"status", json::bytes(m.status)},
                                {"down", m.down},
                                {"phi", m.phi}});
    }
  }
  std::cout << json::dump(out) << "\n";
}

void print_human(const api::Response& r, bool is_write) {
  if (!r.status.is_ok()) {
    std::cerr << r.status.to_string() << "\n";
    if (r.context) std::cerr << "context: " << text::base64_encode(*r.context) << "\n";
    return;
  }
  if (is_write && !r.type) {
    std::cout << "ok\n";
    return;
  }
  if (r.type) {
    switch (*r.type) {
      case core::DataType::kRegister:
      case core::DataType::kLww:
        if (is_write) {
          std::cout << "ok\n";
        } else if (r.values.size() == 1) {
          std::cout << r.values[0] << "\n";
        } else {
          std::cout << r.values.size() << " siblings (concurrent writes; put with the context "
                    << "below to resolve them):\n";
          for (size_t i = 0; i < r.values.size(); ++i) {
            std::cout << "  " << (i + 1) << ") " << r.values[i] << "\n";
          }
        }
        break;
      case core::DataType::kCounter:
        std::cout << r.counter << "\n";
        break;
      case core::DataType::kSet:
        if (is_write) {
          std::cout << "ok\n";  // the answer names only the elements written
        } else {
          for (const auto& e : r.elements) std::cout << e << "\n";
          if (r.elements.empty()) std::cout << "(empty set)\n";
        }
        break;
    }
  }
  for (const api::MemberInfo& m : r.members) {
    std::cout << m.id << "\t" << m.status << (m.down ? " (down)" : "") << "\tphi " << m.phi << "\n";
  }
  if (!r.node.empty() && r.members.empty()) {
    std::cout << "pong from " << r.node << "; reaches " << r.peers.size() << " peer(s)";
    for (const auto& p : r.peers) std::cout << " " << p;
    std::cout << "\n";
  }
  if (r.context) std::cout << "context: " << text::base64_encode(*r.context) << "\n";
}

// One request through the nodes of --host, retried by the ClusterClient. An update's
// operation id is printed in --json, and on stderr when the outcome is unknown (so the
// same update can be retried safely with --op-id).
int run_request(const Global& g, api::Request req, bool is_write) {
  std::vector<std::string> hosts = client::split_addresses(g.host);
  if (hosts.empty()) return print_error(g, Status::invalid_argument("--host names no node"));
  client::ClusterClient cc(std::move(hosts));
  Result<std::shared_ptr<api::TlsContext>> tls = client::tls_from_env();
  if (!tls) return print_error(g, tls.status());
  cc.set_tls(*tls);
  if (!g.user.empty()) {
    Result<std::string> password = password_of(g);
    if (!password) return print_error(g, password.status());
    cc.set_credentials(g.user, std::move(password).value());
  }
  const bool update = api::is_update(req.op);
  Result<api::Response> r = cc.call(std::move(req));
  const std::string& op_id = cc.last().op_id;
  // timeout is the one indeterminate answer (the ClusterClient turns a definite last
  // error after an indeterminate attempt into timeout).
  const bool unknown = (r ? r->status.code() : r.status().code()) == Code::kTimeout;
  if (update && unknown && !g.json && !op_id.empty()) {
    std::cerr << "the update may or may not have been applied; retry it safely with "
              << "--op-id " << op_id << "\n";
  }
  if (!r) {
    if (g.json && update) {
      std::cout << json::dump({{"status", std::string(code_name(r.status().code()))},
                               {"message", json::bytes(r.status().message())},
                               {"op_id", json::bytes(op_id)}})
                << "\n";
      return r.status().code() == Code::kInvalidArgument || r.status().code() == Code::kTooLarge
                 ? 2
                 : 1;
    }
    return print_error(g, r.status());
  }
  if (g.json) {
    print_json(*r, update ? op_id : std::string());
  } else {
    print_human(*r, is_write);
    if (r->duplicate) {
      std::cerr << "duplicate: operation " << op_id
                << " was applied before; this answer is from that attempt\n";
    }
  }
  return r->status.is_ok() ? 0 : 1;
}

Result<std::optional<std::string>> context_flag(const std::string& b64) {
  if (b64.empty()) return std::optional<std::string>();
  std::optional<std::string> raw = text::base64_decode(b64);
  if (!raw) return Status::invalid_argument("--ctx is not base64");
  return raw;
}

// --op-id on an update command: the operation id to send (so a script can retry the
// same update safely); default a fresh random one.
void add_op_id(CLI::App* cmd, DataArgs& a) {
  a.op_id_flags.push_back(cmd->add_option(
      "--op-id", a.op_id,
      "operation id (1..64 bytes): every attempt with the same id takes effect once "
      "(default: a fresh random one)"));
}

CLI::App* data_command(CLI::App& app, const char* name, const char* help, DataArgs& a) {
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("bucket", a.bucket, "bucket")->required();
  cmd->add_option("key", a.key, "key")->required();
  a.flags.add_to(cmd);
  return cmd;
}

}  // namespace

void add_data_commands(CLI::App& app, DataArgs* args, api::Op* op) {
  DataArgs& a = *args;
  auto on = [op](CLI::App* cmd, api::Op o) { cmd->callback([op, o] { *op = o; }); };

  on(data_command(app, "get", "read a key (any type): values/siblings and context", a),
     api::Op::kGet);
  CLI::App* put = data_command(app, "put", "write a register value", a);
  put->add_option("value", a.value, "value")->required();
  put->add_option("--ctx", a.ctx, "context from a read: supersede what it saw");
  put->add_option("--type", a.type, "register (siblings, default) or lww")->capture_default_str();
  add_op_id(put, a);
  on(put, api::Op::kPut);
  CLI::App* del = data_command(app, "del", "delete a register", a);
  del->add_option("--ctx", a.ctx, "context from a read");
  del->add_option("--type", a.type, "register or lww")->capture_default_str();
  add_op_id(del, a);
  on(del, api::Op::kDelete);

  CLI::App* counter = app.add_subcommand("counter", "PN-counters");
  counter->require_subcommand(1);
  CLI::App* cadd = data_command(*counter, "add", "add a (signed) delta", a);
  cadd->add_option("delta", a.delta, "delta")->required()->allow_extra_args(false);
  add_op_id(cadd, a);
  on(cadd, api::Op::kCounterAdd);
  on(data_command(*counter, "get", "read a counter", a), api::Op::kCounterGet);

  CLI::App* set = app.add_subcommand("set", "add-wins sets");
  set->require_subcommand(1);
  CLI::App* sadd = data_command(*set, "add", "add elements", a);
  sadd->add_option("elements", a.elements, "elements")->required();
  add_op_id(sadd, a);
  on(sadd, api::Op::kSetAdd);
  CLI::App* srm = data_command(*set, "rm", "remove elements", a);
  srm->add_option("elements", a.elements, "elements")->required();
  srm->add_option("--ctx", a.ctx, "context from a read: remove only the adds it saw");
  add_op_id(srm, a);
  on(srm, api::Op::kSetRemove);
  CLI::App* sget = data_command(*set, "get", "read a set, or test some members", a);
  sget->add_option("members", a.elements, "only these members (prints those present)");
  on(sget, api::Op::kSetGet);
  CLI::App* ping = app.add_subcommand("ping", "check that a node answers");
  on(ping, api::Op::kPing);
  CLI::App* status = app.add_subcommand(
      "status", "the members as the node at --host sees them (an admin request)");
  on(status, api::Op::kClusterStatus);
}

int run_data(const Global& g, api::Op op, const DataArgs& a) {
  api::Request req;
  req.op = op;
  req.bucket = a.bucket;
  req.key = a.key;
  req.value = a.value;
  req.delta = a.delta;
  req.elements = a.elements;
  if (a.op_id_given()) {
    if (a.op_id.empty()) {
      return print_error(g, Status::invalid_argument("--op-id: an operation id is 1..64 bytes"));
    }
    req.op_id = a.op_id;
  }
  Result<core::DataType> type = core::parse_type(a.type);
  if (!type) return print_error(g, type.status());
  req.type = *type;
  Result<std::optional<std::string>> ctx = context_flag(a.ctx);
  if (!ctx) return print_error(g, ctx.status());
  req.context = *ctx;
  Result<core::RequestOptions> opts = a.flags.build();
  if (!opts) return print_error(g, opts.status());
  req.options = *opts;
  const bool is_write = op == api::Op::kPut || op == api::Op::kDelete ||
                        op == api::Op::kCounterAdd || op == api::Op::kSetAdd ||
                        op == api::Op::kSetRemove;
  return run_request(g, std::move(req), is_write && op != api::Op::kCounterAdd);
}

int run_ping(const Global& g, api::Op op) {
  api::Request req;
  req.op = op;
  return run_request(g, std::move(req), false);
}

}  // namespace shoal::cli
