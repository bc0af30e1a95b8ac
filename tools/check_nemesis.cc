#include "tools/check_nemesis.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <set>

namespace shoal::check {

namespace {

using chaos::Cut;

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

Nemesis::Nemesis(const CheckOptions& o, client::LocalCluster& c, Recorder& rec)
    : o_(o), cluster_(c), rec_(rec), rng_(o.seed ^ 0x6e656d65736973ULL) {
  for (const client::LocalNode& n : c.nodes) nodes_.push_back(n.id);
  for (size_t i = 0, j; i <= o.faults.size(); i = j + 1) {
    j = o.faults.find(',', i);
    if (j == std::string::npos) j = o.faults.size();
    if (j > i) kinds_.push_back(o.faults.substr(i, j - i));
  }
}

Status Nemesis::validate() const {
  static const std::set<std::string> kKnown{"partition", "isolate", "one-way", "bridge",
                                            "ring",      "kill",    "pause"};
  for (const std::string& k : kinds_) {
    if (!kKnown.count(k)) {
      return Status::invalid_argument("--faults: unknown fault \"" + k + "\" (" +
                                      "partition, isolate, one-way, bridge, ring, kill, pause)");
    }
  }
  if (nodes_.size() < 3) return Status::invalid_argument("shoal check needs 3 or more nodes");
  return Status::ok();
}

void Nemesis::step() {
  undo();
  if (kinds_.empty()) return;
  const std::string kind = kinds_[rng_.below(kinds_.size())];
  std::vector<std::string> order = nodes_;
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_.below(i)]);
  if (kind == "kill" || kind == "pause") return signal(kind, order[0]);
  cut(kind, *chaos::partition_cut(kind == "partition" ? "halves" : kind, order));
}

void Nemesis::heal_all() {
  undo();
  apply_cut("heal", {});
}

std::string Nemesis::describe(const Cut& c) {
  std::vector<std::string> parts;
  for (const auto& [node, peers] : c) {
    parts.push_back(node + "<-x-" +
                    join(std::vector<std::string>(peers.begin(), peers.end()), ","));
  }
  return join(parts, " ");
}

void Nemesis::cut(const std::string& kind, const Cut& c) {
  rec_.nemesis(kind, describe(c));
  apply_cut(kind, c);
  cut_active_ = true;
}

void Nemesis::apply_cut(const std::string& kind, const Cut& c) {
  if (!o_.nemesis_cmd.empty()) {
    if (kind == "heal") return shell("heal");
    for (const auto& [node, peers] : c) {
      shell("block " + node + " " +
            join(std::vector<std::string>(peers.begin(), peers.end()), ","));
    }
    return;
  }
  std::set<std::string> all(nodes_.begin(), nodes_.end());
  std::vector<chaos::NodeRules> rules;
  for (const std::string& n : nodes_) {
    chaos::NodeRules r{n, {"unblock-in " + join(nodes_, ",")}};
    if (auto it = c.find(n); it != c.end()) {
      r.rules.push_back("block-in " +
                        join(std::vector<std::string>(it->second.begin(), it->second.end()), ","));
    }
    rules.push_back(std::move(r));
  }
  (void)chaos::apply_rules(cluster_, kind == "heal" ? chaos::heal_rules(all) : rules);
}

void Nemesis::signal(const std::string& kind, const std::string& node) {
  rec_.nemesis(kind, node);
  if (!o_.nemesis_cmd.empty()) {
    shell(kind + " " + node);
  } else if (kind == "kill") {
    (void)client::stop_node(cluster_, node, SIGKILL, 5'000);
  } else if (const client::LocalNode* n = cluster_.find(node); n && client::node_running(*n)) {
    ::kill(n->pid, SIGSTOP);
  }
  signalled_ = kind;
  signalled_node_ = node;
}

void Nemesis::undo() {
  if (cut_active_) {
    rec_.nemesis("heal", "");
    apply_cut("heal", {});
    cut_active_ = false;
  }
  if (signalled_.empty()) return;
  const std::string back = signalled_ == "kill" ? "restart" : "resume";
  rec_.nemesis(back, signalled_node_);
  if (!o_.nemesis_cmd.empty()) {
    shell((signalled_ == "kill" ? "start " : "resume ") + signalled_node_);
  } else if (signalled_ == "kill") {
    restart(signalled_node_);
  } else if (const client::LocalNode* n = cluster_.find(signalled_node_)) {
    ::kill(n->pid, SIGCONT);
  }
  signalled_.clear();
}

// A node that stays down would make the final read fail for a reason that is not the
// store's, so a failed restart is retried and, if it still fails, said on stderr.
void Nemesis::restart(const std::string& node) {
  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = client::start_node(cluster_, node);
    if (s.is_ok()) return;
  }
  std::fprintf(stderr, "nemesis could not restart %s: %s\n", node.c_str(), s.to_string().c_str());
}

void Nemesis::shell(const std::string& args) {
  const std::string cmd = o_.nemesis_cmd + " " + args;
  if (std::system(cmd.c_str()) != 0)
    std::fprintf(stderr, "nemesis command failed: %s\n", cmd.c_str());
}

}  // namespace shoal::check
