// shoal: the command-line client. Data commands talk to the nodes of --host (a
// comma-separated list; $SHOAL_HOSTS or $SHOAL_HOST otherwise) through the retrying
// ClusterClient (tools/client.h): an update carries an operation id (--op-id, or a
// fresh random one) and is retried with that same id on the next node when the answer
// is timeout, unavailable or overloaded, or the connection fails. `cluster` runs a
// local cluster of shoald processes; `bench` measures one (tools/bench.h).
//
// Exit codes: 0 ok, 1 the node answered with an error (not_found, timeout, ...),
// 2 bad usage or a request refused before sending (invalid_argument).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <thread>

#include "node/api/text.h"
#include "node/core/options.h"
#include "tools/bench.h"
#include "tools/chaos.h"
#include "tools/check_cli.h"
#include "tools/client.h"
#include "tools/cluster.h"

namespace {

using namespace shoal;

struct Global {
  std::string host;  // one address or a comma-separated list
  bool json = false;
};

// The consistency flags every data command takes.
struct ConsistencyFlags {
  std::string consistency, r, w, pr, pw;
  uint32_t n = 0, timeout_ms = 0;
  bool durable = false, no_sloppy = false;

  void add_to(CLI::App* cmd) {
    cmd->add_option("-c,--consistency", consistency, "ONE, QUORUM (default), ALL or LOCAL");
    cmd->add_option("--n", n, "replicas (default 3)");
    cmd->add_option("--r", r, "read quorum: a count or one/quorum/all");
    cmd->add_option("--w", w, "write quorum: a count or one/quorum/all");
    cmd->add_option("--pr", pr, "primary replicas that must answer a read");
    cmd->add_option("--pw", pw, "primary replicas that must acknowledge a write");
    cmd->add_flag("--durable", durable, "fsync on the replicas before acknowledging");
    cmd->add_flag("--no-sloppy", no_sloppy, "never use fallback nodes");
    cmd->add_option("--timeout-ms", timeout_ms, "request timeout (default 5000)");
  }

  Result<core::RequestOptions> build() const {
    core::RequestOptions o;
    if (!consistency.empty()) {
      Result<core::RequestOptions> p = core::preset(consistency);
      if (!p) return p.status();
      o = *p;
    }
    auto quorum = [](const std::string& text, core::QuorumSpec* out) -> Status {
      if (text.empty()) return Status::ok();
      Result<core::QuorumSpec> q = core::parse_quorum(text);
      if (!q) return q.status();
      *out = *q;
      return Status::ok();
    };
    SHOAL_RETURN_IF_ERROR(quorum(r, &o.r));
    SHOAL_RETURN_IF_ERROR(quorum(w, &o.w));
    SHOAL_RETURN_IF_ERROR(quorum(pr, &o.pr));
    SHOAL_RETURN_IF_ERROR(quorum(pw, &o.pw));
    if (n) o.n = n;
    if (timeout_ms) o.timeout_ms = timeout_ms;
    if (durable) o.durable = true;
    if (no_sloppy) o.sloppy = false;
    Result<core::ResolvedOptions> checked = core::resolve(o);
    if (!checked) return checked.status();
    return o;
  }

  // How the flags read, for reports ("quorum", "r=1 w=1 sloppy", ...).
  std::string describe() const {
    std::string out = consistency.empty() ? "quorum" : consistency;
    if (!r.empty()) out += " r=" + r;
    if (!w.empty()) out += " w=" + w;
    if (!pr.empty()) out += " pr=" + pr;
    if (!pw.empty()) out += " pw=" + pw;
    if (n) out += " n=" + std::to_string(n);
    if (durable) out += " durable";
    if (no_sloppy) out += " no-sloppy";
    return out;
  }
};

int print_error(const Global& g, const Status& s) {
  if (g.json) {
    std::cout << "{\"status\":" << text::json_string(code_name(s.code()))
              << ",\"message\":" << text::json_string(s.message()) << "}\n";
  } else {
    std::cerr << s.to_string() << "\n";
  }
  return s.code() == Code::kInvalidArgument || s.code() == Code::kTooLarge ? 2 : 1;
}

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += text::json_bytes(items[i]);
  }
  return out + "]";
}

void print_json(const api::Response& r, const std::string& op_id) {
  std::string out = "{\"status\":" + text::json_string(code_name(r.status.code()));
  if (!r.status.is_ok()) out += ",\"message\":" + text::json_string(r.status.message());
  if (!op_id.empty()) out += ",\"op_id\":" + text::json_bytes(op_id);
  if (r.duplicate) out += ",\"duplicate\":true";
  if (r.type) {
    out += ",\"type\":" + text::json_string(core::type_name(*r.type));
    switch (*r.type) {
      case core::DataType::kRegister:
      case core::DataType::kLww:
        out += ",\"values\":" + json_list(r.values);
        break;
      case core::DataType::kCounter:
        out += ",\"value\":" + std::to_string(r.counter);
        break;
      case core::DataType::kSet:
        out += ",\"members\":" + json_list(r.elements);
        break;
    }
  }
  if (r.context) out += ",\"context\":" + text::json_string(text::base64_encode(*r.context));
  if (!r.node.empty()) {
    out += ",\"node\":" + text::json_string(r.node) + ",\"peers\":" + json_list(r.peers);
  }
  std::cout << out << "}\n";
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
  if (!r.node.empty()) {
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
      std::cout << "{\"status\":" << text::json_string(code_name(r.status().code()))
                << ",\"message\":" << text::json_string(r.status().message())
                << ",\"op_id\":" << text::json_bytes(op_id) << "}\n";
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

// ---- data commands ----

struct DataArgs {
  std::string bucket, key, value, ctx, type = "register";
  int64_t delta = 0;
  std::vector<std::string> elements;
  ConsistencyFlags flags;
  std::string op_id;
  std::vector<CLI::Option*> op_id_flags;  // one per update command
  bool op_id_given() const {
    for (const CLI::Option* o : op_id_flags) {
      if (o->count() > 0) return true;
    }
    return false;
  }
};

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

// ---- cluster commands ----

std::string random_secret() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

std::string processes_json(client::LocalCluster& c) {
  std::string out = "{\"dir\":" + text::json_string(c.dir) + ",\"nodes\":[";
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const client::LocalNode& n = c.nodes[i];
    bool up = false;
    if (client::node_running(n)) {
      auto cl = client::Client::connect("127.0.0.1", n.client_port, 1000);
      up = cl && (*cl)->ping().is_ok();
    }
    out += std::string(i ? "," : "") + "{\"id\":" + text::json_string(n.id) +
           ",\"client\":" + text::json_string(n.client_address()) +
           ",\"resp\":" + std::to_string(n.resp_port()) +
           ",\"http\":" + std::to_string(n.http_port()) +
           ",\"pid\":" + std::to_string(client::node_running(n) ? n.pid : 0) +
           ",\"up\":" + (up ? "true" : "false") + "}";
  }
  return out + "]}";
}

void print_cluster(const Global& g, client::LocalCluster& c) {
  if (g.json) {
    std::cout << processes_json(c) << "\n";
    return;
  }
  for (const client::LocalNode& n : c.nodes) {
    std::string state = "down";
    if (client::node_running(n)) {
      auto cl = client::Client::connect("127.0.0.1", n.client_port, 1000);
      auto pong = cl ? (*cl)->ping() : Result<api::Response>(cl.status());
      state = pong && pong->status.is_ok() ? "up" : "not answering";
      // A process that answers but is not (yet) up in its own view: joining, leaving.
      if (auto view = state == "up" ? (*cl)->cluster_status()
                                    : Result<api::Response>(Status::unavailable(state));
          view && view->status.is_ok()) {
        for (const api::MemberInfo& m : view->members) {
          if (m.id == n.id && m.status != "up") state = m.status;
        }
      }
    }
    std::printf("  %-4s %-14s client %-16s peer :%-6d resp :%-6d http :%-6d pid %-7d log %s\n",
                n.id.c_str(), state.c_str(), n.client_address().c_str(), n.peer_port, n.resp_port(),
                n.http_port(), client::node_running(n) ? n.pid : 0, c.log_path(n).c_str());
  }
}

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

// The cluster as a running node sees it: `via` if given, else the first that answers.
Result<api::Response> cluster_view(client::LocalCluster& c, const std::string& via,
                                   std::string* asked) {
  Status last = Status::unavailable("no node of " + c.dir + " is running");
  for (const client::LocalNode& n : c.nodes) {
    if ((!via.empty() && n.id != via) || !client::node_running(n)) continue;
    auto cl = client::Client::connect("127.0.0.1", n.client_port, 1000);
    if (!cl) {
      last = cl.status();
      continue;
    }
    auto r = (*cl)->cluster_status();
    if (r && r->status.is_ok()) {
      *asked = n.id;
      return r;
    }
    last = r ? r->status : r.status();
  }
  return last;
}

int64_t stat(const api::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.stats) {
    if (k == name) return v;
  }
  return 0;
}

std::string members_json(const api::Response& r, const std::string& asked) {
  std::string out = "{\"asked\":" + text::json_string(asked) + ",\"members\":[";
  for (size_t i = 0; i < r.members.size(); ++i) {
    const api::MemberInfo& m = r.members[i];
    char num[96];
    std::snprintf(num, sizeof(num), ",\"phi\":%.3f,\"ownership\":%.5f", m.phi, m.ownership);
    out += std::string(i ? "," : "") + "{\"id\":" + text::json_string(m.id) +
           ",\"status\":" + text::json_string(m.status) +
           ",\"down\":" + (m.down ? "true" : "false") + num +
           ",\"hints\":" + std::to_string(m.hints) +
           ",\"hints_for_it\":" + std::to_string(m.hints_here) +
           ",\"handoff_keys\":" + std::to_string(m.handoff_keys) +
           ",\"client\":" + text::json_string(m.client_address) + ",\"sync\":" +
           (m.sync_known ? std::string("{\"in_sync\":") + (m.in_sync ? "true" : "false") +
                               ",\"since_ms\":" + std::to_string(m.sync_since_ms) +
                               ",\"unconfirmed\":" + std::to_string(m.unconfirmed) + "}"
                         : std::string("null")) +
           "}";
  }
  out += "],\"stats\":{";
  for (size_t i = 0; i < r.stats.size(); ++i) {
    out += std::string(i ? "," : "") + text::json_string(r.stats[i].first) + ":" +
           std::to_string(r.stats[i].second);
  }
  return out + "}}";
}

// `cluster status`: the processes, then the membership as one node sees it.
int cluster_status(const Global& g, client::LocalCluster& c, const ClusterArgs& a) {
  std::string asked;
  Result<api::Response> view = cluster_view(c, a.node, &asked);
  if (g.json) {
    std::cout << "{\"processes\":" << processes_json(c)
              << ",\"view\":" << (view ? members_json(*view, asked) : "null") << "}\n";
    return 0;
  }
  std::printf("processes:\n");
  print_cluster(g, c);
  if (!view) {
    std::printf("\nno membership view: %s\n", view.status().to_string().c_str());
    return 0;
  }
  std::printf("\nmembership as %s sees it (down and phi are %s's own view):\n", asked.c_str(),
              asked.c_str());
  std::printf("  %-6s %-8s %-5s %8s %7s %8s %10s %9s  %-16s %s\n", "node", "status", "seen", "phi",
              "owns", "hints", "hints-for", "handoff", "client", "sync");
  const uint64_t now_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  for (const api::MemberInfo& m : view->members) {
    std::printf("  %-6s %-8s %-5s %8.2f %6.1f%% %8llu %10llu %9llu  %-16s %s\n", m.id.c_str(),
                m.status.c_str(),
                m.id == asked                                 ? "self"
                : m.status == "left" || m.status == "removed" ? "-"
                : m.down                                      ? "DOWN"
                                                              : "up",
                m.phi, m.ownership * 100, static_cast<unsigned long long>(m.hints),
                static_cast<unsigned long long>(m.hints_here),
                static_cast<unsigned long long>(m.handoff_keys), m.client_address.c_str(),
                client::sync_label(m, now_ms).c_str());
  }
  std::printf(
      "\n%s: ring of %lld nodes; hints held %lld, replayed %lld; handoff %s: "
      "%lld keys not owned, %lld sent, %lld dropped, %lld in flight\n",
      asked.c_str(), static_cast<long long>(stat(*view, "ring_size")),
      static_cast<long long>(stat(*view, "hints_held")),
      static_cast<long long>(stat(*view, "hints_replayed")),
      stat(*view, "handoff_active") ? "running" : "idle",
      static_cast<long long>(stat(*view, "handoff_not_owned")),
      static_cast<long long>(stat(*view, "handoff_sent")),
      static_cast<long long>(stat(*view, "handoff_dropped")),
      static_cast<long long>(stat(*view, "handoff_inflight")));
  for (const api::MemberInfo& m : view->members) {
    if (m.id == asked && m.status == "joining") {
      std::printf(
          "%s is joining: it serves only LOCAL requests until it has heard from its "
          "seeds, and turns up once the data it now owns was handed to it\n",
          asked.c_str());
    }
  }
  std::printf("%s: %s\n", asked.c_str(),
              stat(*view, "in_sync") ? "in sync with every ring peer (no hints, handoff idle)"
                                     : "not in sync with every ring peer yet (see the sync "
                                       "column; `shoal cluster settle` waits for it)");
  return 0;
}

// `cluster ring`: each ring member's share of the hash space (as replica, n = 3).
int cluster_ring(const Global& g, client::LocalCluster& c, const ClusterArgs& a) {
  std::string asked;
  Result<api::Response> view = cluster_view(c, a.node, &asked);
  if (!view) return print_error(g, view.status());
  if (g.json) {
    std::cout << members_json(*view, asked) << "\n";
    return 0;
  }
  std::printf(
      "ring as %s sees it: %lld nodes, fingerprint %016llx; share of the hash space "
      "each node holds a replica of (n = 3):\n",
      asked.c_str(), static_cast<long long>(stat(*view, "ring_size")),
      static_cast<unsigned long long>(stat(*view, "ring_fingerprint")));
  for (const api::MemberInfo& m : view->members) {
    if (m.ownership <= 0) continue;
    const int bar = static_cast<int>(m.ownership * 60 + 0.5);
    std::printf("  %-6s %6.2f%%  %s\n", m.id.c_str(), m.ownership * 100,
                std::string(static_cast<size_t>(bar), '#').c_str());
  }
  return 0;
}

int cluster_join(const Global& g, client::LocalCluster& c, const ClusterArgs& a) {
  Result<client::LocalNode> added = client::add_node(c, a.seed);
  if (!added) return print_error(g, added.status());
  Status s = client::start_node(c, added->id);
  if (!s.is_ok()) return print_error(g, s);
  if (!g.json) {
    std::printf(
        "%s joins through %s (client %s); it turns up once the data it now owns "
        "was handed to it (see `shoal cluster status`)\n",
        added->id.c_str(), a.seed.c_str(), added->client_address().c_str());
  }
  return 0;
}

// Asks a node to hand off everything and leave; waits until its process exits.
int cluster_leave(const Global& g, client::LocalCluster& c, const ClusterArgs& a) {
  client::LocalNode* n = c.find(a.node);
  auto cl = client::Client::connect("127.0.0.1", n->client_port, 2000);
  if (!cl) return print_error(g, cl.status());
  auto r = (*cl)->leave();
  if (!r) return print_error(g, r.status());
  if (!r->status.is_ok()) {
    print_error(g, r->status);
    return 1;  // the node's answer
  }
  if (!g.json) std::printf("%s is leaving: handing off its data...\n", a.node.c_str());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(a.wait_ms);
  while (client::node_running(*n)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return print_error(
          g, Status::timeout(a.node + " is still handing off after " + std::to_string(a.wait_ms) +
                             " ms; it keeps going " + "(watch `shoal cluster status`)"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  n->pid = 0;
  (void)client::save_cluster(c);
  if (!g.json) std::printf("%s left the cluster and stopped\n", a.node.c_str());
  return 0;
}

int cluster_remove(const Global& g, client::LocalCluster& c, const ClusterArgs& a) {
  Status last = Status::unavailable("no other node is running to remove " + a.node);
  for (const client::LocalNode& n : c.nodes) {
    if (n.id == a.node || !client::node_running(n)) continue;
    auto cl = client::Client::connect("127.0.0.1", n.client_port, 1000);
    if (!cl) continue;
    auto r = (*cl)->remove(a.node);
    if (!r) continue;
    if (!r->status.is_ok()) {
      print_error(g, r->status);
      return 1;  // the node's answer (exit 2 is for requests refused before sending)
    }
    if (!g.json)
      std::printf("%s removed (via %s); gossip spreads it\n", a.node.c_str(), n.id.c_str());
    return 0;
  }
  return print_error(g, last);
}

int cluster_up(const Global& g, const ClusterArgs& a) {
  Result<client::LocalCluster> c = client::make_cluster(
      a.dir, a.nodes, a.base_port, a.secret.empty() ? random_secret() : a.secret, a.vnodes);
  if (!c) return print_error(g, c.status());
  c->extra_args = a.node_args;
  if (Status saved = client::save_cluster(*c); !saved.is_ok()) return print_error(g, saved);
  for (const client::LocalNode& n : c->nodes) {
    Status s = client::start_node(*c, n.id);
    if (!s.is_ok()) return print_error(g, s);
  }
  Status s = client::wait_connected(*c);
  if (!s.is_ok()) return print_error(g, s);
  if (!g.json) std::printf("started %d nodes in %s\n", a.nodes, a.dir.c_str());
  print_cluster(g, *c);
  if (!g.json) {
    std::printf("\ntry:  shoal --host %s put demo greeting hello\n",
                c->nodes[0].client_address().c_str());
    std::printf("stop: shoal cluster down --dir %s\n", a.dir.c_str());
  }
  return 0;
}

// `cluster settle`: polls every node until each reports every ring peer in sync, with no
// hints and no handoff (client::settle). 0 settled, 1 timed out, 2 bad usage.
int cluster_settle(const Global& g, const ClusterArgs& a) {
  if (a.timeout_s == 0) return print_error(g, Status::invalid_argument("--timeout-s must be >= 1"));
  Result<client::LocalCluster> c =
      a.node_spec.empty() ? client::load_cluster(a.dir) : client::external_cluster(a.node_spec, 0);
  if (!c) {
    // No cluster there is bad usage, as an unparsable --nodes is.
    return print_error(g, Status::invalid_argument(c.status().message()));
  }
  std::string names;
  for (const client::LocalNode& n : c->nodes) names += (names.empty() ? "" : ", ") + n.id;
  if (!g.json) {
    std::printf(
        "waiting until %s report every ring peer in sync, with no hints and no "
        "handoff (at most %u s)\n",
        names.c_str(), a.timeout_s);
    std::fflush(stdout);
  }
  std::string last_summary;
  uint64_t last_print_ms = 0;
  client::SettleRound last;
  const bool settled = client::settle(
      *c, a.timeout_s * 1000, 250, [&](const client::SettleRound& round, uint64_t t) {
        last = round;
        const std::string summary = round.summary();
        if (!g.json && (summary != last_summary || t >= last_print_ms + 5'000)) {
          std::printf("  %5.1fs  %s\n", static_cast<double>(t) / 1000, summary.c_str());
          std::fflush(stdout);
          last_summary = summary;
          last_print_ms = t;
        }
      });
  if (g.json) {
    std::string out = std::string("{\"settled\":") + (settled ? "true" : "false") + ",\"nodes\":[";
    for (size_t i = 0; i < last.nodes.size(); ++i) {
      const client::NodeSettle& n = last.nodes[i];
      out += std::string(i ? "," : "") + "{\"id\":" + text::json_string(n.id) +
             ",\"answered\":" + (n.answered ? "true" : "false") +
             ",\"settled\":" + (n.settled ? "true" : "false") +
             ",\"issues\":" + json_list(n.issues) + "}";
    }
    std::cout << out << "]}\n";
  } else if (settled) {
    std::printf(
        "settled: every node that answered reports every ring peer in sync, no hints, "
        "no handoff\n");
  } else {
    std::printf("not settled after %u s: %s\n", a.timeout_s, last.summary().c_str());
  }
  return settled ? 0 : 1;
}

int cluster_command(const Global& g, const std::string& what, const ClusterArgs& a) {
  if (what == "up") return cluster_up(g, a);
  if (what == "settle") return cluster_settle(g, a);
  Result<client::LocalCluster> c = client::load_cluster(a.dir);
  if (!c) return print_error(g, c.status());
  if (what == "status") return cluster_status(g, *c, a);
  if (what == "ring") return cluster_ring(g, *c, a);
  if (what == "join") return cluster_join(g, *c, a);
  if (what == "down") {
    for (const client::LocalNode& n : c->nodes) {
      Status s = client::stop_node(*c, n.id, SIGTERM, 10'000);
      if (!s.is_ok()) return print_error(g, s);
    }
    if (!g.json)
      std::printf("stopped %zu nodes in %s (data kept)\n", c->nodes.size(), a.dir.c_str());
    return 0;
  }
  if (!c->find(a.node)) {
    return print_error(g, Status::invalid_argument("no node \"" + a.node + "\" in " + a.dir));
  }
  if (what == "leave") return cluster_leave(g, *c, a);
  if (what == "remove") return cluster_remove(g, *c, a);
  Status s;
  if (what == "kill") {
    s = client::stop_node(*c, a.node, SIGKILL, 5'000);
  } else if (what == "stop") {
    s = client::stop_node(*c, a.node, SIGTERM, 10'000);
  } else if (what == "start") {
    s = client::start_node(*c, a.node);
    if (s.is_ok()) s = client::wait_connected(*c);
  } else if (what == "pause" || what == "resume") {
    const client::LocalNode* n = c->find(a.node);
    if (!client::node_running(*n))
      return print_error(g, Status::unavailable(a.node + " is not running"));
    if (::kill(n->pid, what == "pause" ? SIGSTOP : SIGCONT) != 0) {
      return print_error(g, Status::internal(std::string("kill: ") + std::strerror(errno)));
    }
  } else if (what == "restart") {
    s = client::stop_node(*c, a.node, SIGTERM, 10'000);
    if (s.is_ok()) s = client::start_node(*c, a.node);
    if (s.is_ok()) s = client::wait_connected(*c);
  }
  if (!s.is_ok()) return print_error(g, s);
  if (!g.json) std::printf("%s: %s\n", a.node.c_str(), what.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shoal: client for Shoal, a leaderless Dynamo-style key-value store"};
  app.require_subcommand(1);
  Global g;
  const char* env_hosts = std::getenv("SHOAL_HOSTS");
  const char* env_host = std::getenv("SHOAL_HOST");
  g.host = env_hosts && *env_hosts ? env_hosts
           : env_host && *env_host ? env_host
                                   : "127.0.0.1:7001";
  app.add_option("-H,--host", g.host,
                 "node(s) to talk to: host:port, or a comma-separated list to fail over "
                 "along ($SHOAL_HOSTS, $SHOAL_HOST)")
      ->capture_default_str();
  app.add_flag("--json", g.json, "machine-readable output");
  // --json and --host work before or after the command (`shoal get k --json`): a
  // subcommand hands options it does not know to this level (inherited by each).
  app.fallthrough();

  DataArgs a;
  api::Op op = api::Op::kPing;
  auto on = [&op](CLI::App* cmd, api::Op o) { cmd->callback([&op, o] { op = o; }); };

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

  ClusterArgs ca;
  std::string cluster_what;
  CLI::App* cluster = app.add_subcommand("cluster", "run a local cluster of shoald processes");
  cluster->require_subcommand(1);
  auto cl = [&](const char* name, const char* help, bool takes_node) {
    CLI::App* cmd = cluster->add_subcommand(name, help);
    cmd->callback([&cluster_what, name] { cluster_what = name; });
    if (takes_node) cmd->add_option("node", ca.node, "node id, e.g. n2")->required();
    cmd->add_option("--dir", ca.dir, "cluster directory")->capture_default_str();
    return cmd;
  };
  CLI::App* up = cl("up", "start N local nodes", false);
  up->add_option("-n,--nodes", ca.nodes, "number of nodes")->capture_default_str();
  up->add_option("--base-port", ca.base_port, "client ports base.., peer ports base+100..")
      ->capture_default_str();
  up->add_option("--secret", ca.secret, "cluster secret (default: random)");
  up->add_option("--vnodes", ca.vnodes, "virtual nodes per node")->capture_default_str();
  up->add_option(
      "--node-arg", ca.node_args,
      "a flag for every shoald (repeatable), e.g. --node-arg=--heartbeat-interval-ms=200");
  CLI::App* st = cl("status", "each process, and the membership as a node sees it", false);
  st->add_option("--node", ca.node, "the node whose view to show (default: the first up)");
  CLI::App* se = cl("settle",
                    "wait until every node reports every ring peer in sync (no hints, no "
                    "handoff): exit 0, or 1 after --timeout-s",
                    false);
  se->add_option("--timeout-s", ca.timeout_s, "give up after this many seconds")
      ->capture_default_str();
  se->add_option("--nodes", ca.node_spec,
                 "client addresses of nodes started some other way: id=host:port,... "
                 "(instead of --dir)")
      ->excludes(se->get_option("--dir"));
  CLI::App* rg = cl("ring", "each node's share of the ring", false);
  rg->add_option("--node", ca.node, "the node whose view to show (default: the first up)");
  CLI::App* jn = cl("join", "start one more node that joins through a seed", false);
  jn->add_option("seed,--seed", ca.seed, "the node to join through (its id in this cluster)")
      ->capture_default_str();
  CLI::App* lv = cl("leave", "a node hands all its data off, then stops", true);
  lv->add_option("--wait-ms", ca.wait_ms, "how long to wait for it")->capture_default_str();
  cl("remove", "forget a dead node for good (its replicas are rebuilt elsewhere)", true);
  cl("down", "stop every node (SIGTERM; data kept)", false);
  cl("kill", "kill -9 one node", true);
  cl("stop", "stop one node cleanly (SIGTERM)", true);
  cl("start", "start one stopped node", true);
  cl("restart", "stop and start one node", true);
  cl("pause", "freeze one node (SIGSTOP): it holds its connections but answers nothing", true);
  cl("resume", "let a paused node run again (SIGCONT)", true);

  chaos::ChaosArgs chaos_args;
  chaos::add_commands(app, &chaos_args);

  check::CheckOptions check_opts;
  ConsistencyFlags check_flags;
  CLI::App* check_cmd = app.add_subcommand(
      "check", "run clients and faults against a local cluster, then check the history");
  check::add_flags(check_cmd, &check_opts);
  check_flags.add_to(check_cmd);
  bool is_check = false;
  check_cmd->callback([&] { is_check = true; });

  bench::BenchOptions bo;
  std::string bench_consistency;
  CLI::App* bcmd = app.add_subcommand("bench", "load a node or cluster and report latency");
  bench::add_flags(bcmd, &bo);
  bool is_bench = false;
  bcmd->callback([&] { is_bench = true; });

  // Bad flags are bad usage: exit 2 (CLI11's own codes are 100+); --help exits 0.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (!cluster_what.empty()) return cluster_command(g, cluster_what, ca);
  if (!chaos_args.what.empty()) return chaos::run(chaos_args, g.json);
  if (is_check) {
    Result<core::RequestOptions> o = check_flags.build();
    if (!o) return print_error(g, o.status());
    check_opts.options = *o;
    check_opts.options_label = check_flags.describe();
    return check::run(check_opts);
  }
  if (is_bench) return bench::run(g.host, bo, g.json);
  if (op == api::Op::kPing) {
    api::Request req;
    req.op = api::Op::kPing;
    return run_request(g, std::move(req), false);
  }
  return run_data(g, op, a);
}
