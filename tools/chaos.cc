#include "tools/chaos.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "node/api/fault_rule.h"
#include "node/api/json.h"
#include "tools/client.h"

namespace shoal::chaos {

namespace {

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& x : s) out += (out.empty() ? "" : ",") + x;
  return out;
}

std::set<std::string> others(const std::set<std::string>& all, const std::set<std::string>& mine) {
  std::set<std::string> out;
  for (const std::string& n : all) {
    if (!mine.count(n)) out.insert(n);
  }
  return out;
}

std::set<std::string> node_ids(const client::LocalCluster& c) {
  std::set<std::string> out;
  for (const client::LocalNode& n : c.nodes) out.insert(n.id);
  return out;
}

}  // namespace

Result<std::vector<std::set<std::string>>> parse_groups(const std::string& spec,
                                                        const std::set<std::string>& known) {
  std::vector<std::set<std::string>> groups(1);
  std::set<std::string> seen;
  std::string cur;
  auto take = [&]() -> Status {
    if (cur.empty()) return Status::invalid_argument("partition \"" + spec + "\": empty node name");
    if (!known.count(cur)) {
      return Status::invalid_argument("partition \"" + spec + "\": unknown node \"" + cur + "\"");
    }
    if (!seen.insert(cur).second) {
      return Status::invalid_argument("partition \"" + spec + "\": " + cur + " named twice");
    }
    groups.back().insert(cur);
    cur.clear();
    return Status::ok();
  };
  for (char ch : spec) {
    if (ch == ',' || ch == '|') {
      SHOAL_RETURN_IF_ERROR(take());
      if (ch == '|') groups.emplace_back();
    } else if (ch != ' ') {
      cur.push_back(ch);
    }
  }
  SHOAL_RETURN_IF_ERROR(take());
  if (groups.size() < 2) {
    return Status::invalid_argument("partition \"" + spec +
                                    "\": give two or more groups, e.g. \"n1,n2|n3,n4,n5\"");
  }
  return groups;
}

// Every node first forgets the previous partition, then blocks the other groups.
std::vector<NodeRules> partition_rules(const std::vector<std::set<std::string>>& groups,
                                       const std::set<std::string>& all) {
  std::vector<NodeRules> out;
  for (const std::string& n : all) {
    NodeRules r{n, {"unblock-in " + join(all)}};
    for (const auto& g : groups) {
      if (!g.count(n)) continue;
      std::set<std::string> cut;
      for (const auto& h : groups) {
        if (&h != &g) cut.insert(h.begin(), h.end());
      }
      if (!cut.empty()) r.rules.push_back("block-in " + join(cut));
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<NodeRules> isolate_rules(const std::string& node, const std::set<std::string>& all) {
  return partition_rules({{node}, others(all, {node})}, all);
}

std::vector<NodeRules> one_way_rules(const std::string& from, const std::string& to,
                                     const std::set<std::string>& all) {
  std::vector<NodeRules> out;
  for (const std::string& n : all) {
    NodeRules r{n, {"unblock-in " + join(all)}};
    if (n == to) r.rules.push_back("block-in " + from);
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<Cut> partition_cut(const std::string& kind, const std::vector<std::string>& order) {
  const size_t n = order.size();
  Cut c;
  // Nodes order[from..mid) and order[mid..to) cannot reach each other.
  auto split = [&](size_t from, size_t mid, size_t to) {
    for (size_t i = from; i < to; ++i) {
      for (size_t j = from; j < to; ++j) {
        if ((i < mid) != (j < mid)) c[order[i]].insert(order[j]);
      }
    }
  };
  if (kind == "halves") {
    split(0, n / 2, n);
  } else if (kind == "isolate" && n > 0) {
    split(0, 1, n);
  } else if (kind == "bridge" && n > 0) {
    split(1, 1 + (n - 1) / 2, n);
  } else if (kind == "ring") {
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        const size_t d = (i + n - j) % n;
        if (d > 1 && d < n - 1) c[order[i]].insert(order[j]);
      }
    }
  } else if (kind == "one-way" && n > 1) {
    c[order[1]].insert(order[0]);
  } else {
    return std::nullopt;
  }
  return c;
}

std::vector<NodeRules> heal_rules(const std::set<std::string>& all) {
  std::vector<NodeRules> out;
  for (const std::string& n : all) out.push_back(NodeRules{n, {"heal"}});
  return out;
}

std::vector<Applied> apply_rules(client::LocalCluster& cluster,
                                 const std::vector<NodeRules>& rules) {
  std::vector<Applied> out;
  for (const NodeRules& nr : rules) {
    Applied a{nr.node, Status::ok(), ""};
    const client::LocalNode* n = cluster.find(nr.node);
    if (!n || (!cluster.external && !client::node_running(*n))) {
      a.status = Status::unavailable(nr.node + " is not running (a restart starts without rules)");
      out.push_back(std::move(a));
      continue;
    }
    auto c = client::connect_env(n->host, n->client_port, 2000);
    if (!c) a.status = c.status();
    for (const std::string& rule : nr.rules) {
      if (!a.status.is_ok()) break;
      auto r = (*c)->chaos(rule);
      a.status = r ? r->status : r.status();
      if (a.status.is_ok() && r->chaos) a.rules = *r->chaos;
    }
    out.push_back(std::move(a));
  }
  return out;
}

void add_commands(CLI::App& app, ChaosArgs* a) {
  CLI::App* chaos = app.add_subcommand("chaos", "inject network faults into a local cluster");
  chaos->require_subcommand(1);
  auto sub = [&](const char* name, const char* help) {
    CLI::App* cmd = chaos->add_subcommand(name, help);
    cmd->callback([a, name] { a->what = name; });
    cmd->add_option("--dir", a->dir, "cluster directory")->capture_default_str();
    cmd->add_option("--nodes", a->nodes,
                    "nodes not started by `shoal cluster up`: id=host:port,... of their client "
                    "ports (e.g. a compose cluster)");
    return cmd;
  };
  sub("partition", "cut the cluster into groups, e.g. \"n1,n2|n3,n4,n5\"")
      ->add_option("groups", a->spec, "groups of nodes separated by |")
      ->required();
  sub("isolate", "cut one node from all others")->add_option("node", a->node)->required();
  CLI::App* ow = sub("one-way", "drop messages from NODE to OTHER (OTHER still reaches NODE)");
  ow->add_option("node", a->node)->required();
  ow->add_option("other", a->node2)->required();
  CLI::App* dl = sub("delay", "delay a node's outgoing peer messages");
  dl->add_option("node", a->node)->required();
  dl->add_option("delay", a->amount, "e.g. 200ms")->required();
  dl->add_option("--jitter", a->jitter, "± this much, e.g. 50ms")->capture_default_str();
  dl->add_option("--to", a->to, "only to these peers (comma-separated)");
  CLI::App* dr = sub("drop", "drop a share of a node's outgoing peer messages");
  dr->add_option("node", a->node)->required();
  dr->add_option("percent", a->amount, "e.g. 10%")->required();
  dr->add_option("--to", a->to, "only to these peers (comma-separated)");
  CLI::App* du = sub("dup", "duplicate a share of a node's outgoing peer messages");
  du->add_option("node", a->node)->required();
  du->add_option("percent", a->amount, "e.g. 5%")->required();
  du->add_option("--to", a->to, "only to these peers (comma-separated)");
  CLI::App* cl = sub("clients", "make a node refuse client requests, or serve them again");
  cl->add_option("node", a->node)->required();
  cl->add_option("mode", a->clients_mode)->required()->check(CLI::IsMember({"refuse", "serve"}));
  sub("heal", "clear every rule on every node");
  sub("status", "each node's rules");
}

namespace {

Result<std::vector<NodeRules>> rules_for(const ChaosArgs& a, const std::set<std::string>& all) {
  auto need = [&](const std::string& n) -> Status {
    if (all.count(n)) return Status::ok();
    return Status::invalid_argument("unknown node \"" + n + "\" (this cluster has " + join(all) +
                                    ")");
  };
  const std::string to = a.to.empty() ? "" : " to " + a.to;
  if (a.what == "partition") {
    auto groups = parse_groups(a.spec, all);
    if (!groups) return groups.status();
    return partition_rules(*groups, all);
  }
  if (a.what == "heal") return heal_rules(all);
  if (a.what == "status") {
    std::vector<NodeRules> out;
    for (const std::string& n : all) out.push_back(NodeRules{n, {"show"}});
    return out;
  }
  SHOAL_RETURN_IF_ERROR(need(a.node));
  if (a.what == "isolate") return isolate_rules(a.node, all);
  if (a.what == "one-way") {
    SHOAL_RETURN_IF_ERROR(need(a.node2));
    if (a.node == a.node2) return Status::invalid_argument("one-way needs two different nodes");
    return one_way_rules(a.node, a.node2, all);
  }
  if (a.what == "delay") {
    return std::vector<NodeRules>{{a.node, {"delay " + a.amount + " " + a.jitter + to}}};
  }
  if (a.what == "drop" || a.what == "dup") {
    return std::vector<NodeRules>{{a.node, {a.what + " " + a.amount + to}}};
  }
  if (a.what == "clients") return std::vector<NodeRules>{{a.node, {"clients " + a.clients_mode}}};
  return Status::invalid_argument("unknown chaos command " + a.what);
}

}  // namespace

int run(const ChaosArgs& a, bool json) {
  Result<client::LocalCluster> c =
      a.nodes.empty() ? client::load_cluster(a.dir) : client::external_cluster(a.nodes, 0);
  auto fail = [&](const Status& s) {
    if (json) {
      std::cout << json::dump({{"status", std::string(code_name(s.code()))},
                               {"message", json::bytes(s.message())}})
                << "\n";
    } else {
      std::cerr << s.to_string() << "\n";
    }
    return s.code() == Code::kInvalidArgument ? 2 : 1;
  };
  if (!c) return fail(c.status());
  Result<std::vector<NodeRules>> rules = rules_for(a, node_ids(*c));
  if (!rules) return fail(rules.status());
  // Bad usage is refused here, before any node has changed.
  for (const NodeRules& nr : *rules) {
    for (const std::string& rule : nr.rules) {
      if (Result<core::FaultRule> r = api::parse_fault_rule(rule); !r) return fail(r.status());
    }
  }
  int rc = 0;
  json::Json out = json::Json::array();
  for (const Applied& r : apply_rules(*c, *rules)) {
    const bool down = r.status.code() == Code::kUnavailable;
    if (!r.status.is_ok() && !down) rc = 1;  // a running node refused its rule
    if (json) {
      out.push_back({{"node", json::bytes(r.node)},
                     {"status", std::string(code_name(r.status.code()))},
                     {"rules", json::bytes(r.rules)}});
    } else if (!r.status.is_ok()) {
      std::printf("%-4s %s\n", r.node.c_str(), r.status.to_string().c_str());
    } else {
      std::string rules_text = r.rules.empty() ? "no rules" : r.rules;
      if (!rules_text.empty() && rules_text.back() == '\n') rules_text.pop_back();
      for (size_t i; (i = rules_text.find('\n')) != std::string::npos;) rules_text[i] = ';';
      std::printf("%-4s %s\n", r.node.c_str(), rules_text.c_str());
    }
  }
  if (json) std::cout << json::dump(out) << "\n";
  return rc;
}

}  // namespace shoal::chaos
