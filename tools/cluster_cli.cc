#include "tools/cluster_cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <thread>

#include "node/api/json.h"
#include "tools/client.h"
#include "tools/cluster.h"

namespace shoal::cli {

namespace {

std::string random_secret() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

json::Json processes_json(client::LocalCluster& c) {
  json::Json nodes = json::Json::array();
  for (const client::LocalNode& n : c.nodes) {
    bool up = false;
    if (client::node_running(n)) {
      auto cl = client::connect_env("127.0.0.1", n.client_port, 1000);
      up = cl && (*cl)->ping().is_ok();
    }
    nodes.push_back({{"id", json::bytes(n.id)},
                     {"client", n.client_address()},
                     {"resp", n.resp_port()},
                     {"http", n.http_port()},
                     {"pid", client::node_running(n) ? n.pid : 0},
                     {"up", up}});
  }
  return {{"dir", json::bytes(c.dir)}, {"nodes", std::move(nodes)}};
}

void print_cluster(const Global& g, client::LocalCluster& c) {
  if (g.json) {
    std::cout << json::dump(processes_json(c)) << "\n";
    return;
  }
  for (const client::LocalNode& n : c.nodes) {
    std::string state = "down";
    if (client::node_running(n)) {
      auto cl = client::connect_env("127.0.0.1", n.client_port, 1000);
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

// The cluster as a running node sees it: `via` if given, else the first that answers.
Result<api::Response> cluster_view(client::LocalCluster& c, const std::string& via,
                                   std::string* asked) {
  Status last = Status::unavailable("no node of " + c.dir + " is running");
  for (const client::LocalNode& n : c.nodes) {
    if ((!via.empty() && n.id != via) || !client::node_running(n)) continue;
    auto cl = client::connect_env("127.0.0.1", n.client_port, 1000);
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

json::Json members_json(const api::Response& r, const std::string& asked) {
  json::Json members = json::Json::array();
  for (const api::MemberInfo& m : r.members) {
    json::Json sync = nullptr;
    if (m.sync_known) {
      sync = {
          {"in_sync", m.in_sync}, {"since_ms", m.sync_since_ms}, {"unconfirmed", m.unconfirmed}};
    }
    members.push_back({{"id", json::bytes(m.id)},
                       {"status", json::bytes(m.status)},
                       {"down", m.down},
                       {"phi", json::rounded(m.phi, 3)},
                       {"ownership", json::rounded(m.ownership, 5)},
                       {"hints", m.hints},
                       {"hints_for_it", m.hints_here},
                       {"handoff_keys", m.handoff_keys},
                       {"client", json::bytes(m.client_address)},
                       {"sync", std::move(sync)}});
  }
  json::Json stats = json::Json::object();
  for (const auto& [name, value] : r.stats) {
    stats[name] = value;
    if (name == "ring_fingerprint") {  // hex, as the text output and /status show it
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx",
                    static_cast<unsigned long long>(static_cast<uint64_t>(value)));
      stats[name] = hex;
    }
  }
  return {
      {"asked", json::bytes(asked)}, {"members", std::move(members)}, {"stats", std::move(stats)}};
}

// `cluster status`: the processes, then the membership as one node sees it.
int cluster_status(const Global& g, client::LocalCluster& c, const ClusterArgs& a) {
  std::string asked;
  Result<api::Response> view = cluster_view(c, a.node, &asked);
  if (g.json) {
    std::cout << json::dump({{"processes", processes_json(c)},
                             {"view", view ? members_json(*view, asked) : json::Json()}})
              << "\n";
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
  auto cl = client::connect_env("127.0.0.1", n->client_port, 2000);
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
    auto cl = client::connect_env("127.0.0.1", n.client_port, 1000);
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
    json::Json nodes = json::Json::array();
    for (const client::NodeSettle& n : last.nodes) {
      nodes.push_back({{"id", json::bytes(n.id)},
                       {"answered", n.answered},
                       {"settled", n.settled},
                       {"issues", json::bytes_array(n.issues)}});
    }
    std::cout << json::dump({{"settled", settled}, {"nodes", std::move(nodes)}}) << "\n";
  } else if (settled) {
    std::printf(
        "settled: every node that answered reports every ring peer in sync, no hints, "
        "no handoff\n");
  } else {
    std::printf("not settled after %u s: %s\n", a.timeout_s, last.summary().c_str());
  }
  return settled ? 0 : 1;
}

}  // namespace

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

void add_cluster_commands(CLI::App& app, ClusterArgs* args, std::string* what) {
  ClusterArgs& ca = *args;
  CLI::App* cluster = app.add_subcommand("cluster", "run a local cluster of shoald processes");
  cluster->require_subcommand(1);
  auto cl = [&](const char* name, const char* help, bool takes_node) {
    CLI::App* cmd = cluster->add_subcommand(name, help);
    cmd->callback([what, name] { *what = name; });
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
      "a flag for every shoald (repeatable), e.g. --node-arg=--heartbeat-interval-ms=200; "
      "{id} in it is the node's id (--node-arg=--tls-cert=pki/{id}.crt)");
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
}

}  // namespace shoal::cli
