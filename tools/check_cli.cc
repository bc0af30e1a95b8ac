#include "tools/check_cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "crdt/prng.h"
#include "ring/ring.h"
#include "tools/chaos.h"
#include "tools/checker.h"
#include "tools/client.h"
#include "tools/cluster.h"

namespace shoal::check {

namespace {

using Clock = std::chrono::steady_clock;
using chaos::Cut;

// The history, appended to by every client thread and the nemesis.
class Recorder {
 public:
  Recorder() : start_(Clock::now()) {}
  uint64_t now_ms() const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count());
  }
  uint64_t next_op() { return ++ops_; }
  void add(Event e) {
    e.time_ms = now_ms();
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
  }
  void nemesis(const std::string& f, const std::string& detail) {
    Event e;
    e.type = EventType::kNemesis;
    e.f = f;
    e.detail = detail;
    add(std::move(e));
    std::printf("  %6.1fs  %s %s\n", now_ms() / 1000.0, f.c_str(), detail.c_str());
    std::fflush(stdout);
  }
  std::vector<Event> take() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  Clock::time_point start_;
  std::atomic<uint64_t> ops_{0};
  std::mutex mu_;
  std::vector<Event> events_;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// ---- the nemesis ----

class Nemesis {
 public:
  Nemesis(const CheckOptions& o, client::LocalCluster& c, Recorder& rec)
      : o_(o), cluster_(c), rec_(rec), rng_(o.seed ^ 0x6e656d65736973ULL) {
    for (const client::LocalNode& n : c.nodes) nodes_.push_back(n.id);
    for (size_t i = 0, j; i <= o.faults.size(); i = j + 1) {
      j = o.faults.find(',', i);
      if (j == std::string::npos) j = o.faults.size();
      if (j > i) kinds_.push_back(o.faults.substr(i, j - i));
    }
  }

  Status validate() const {
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

  // Undoes the fault in force, then injects a random new one.
  void step() {
    undo();
    if (kinds_.empty()) return;
    const std::string kind = kinds_[rng_.below(kinds_.size())];
    std::vector<std::string> order = nodes_;
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_.below(i)]);
    if (kind == "kill" || kind == "pause") return signal(kind, order[0]);
    cut(kind, *chaos::partition_cut(kind == "partition" ? "halves" : kind, order));
  }

  // Heals everything: partitions, paused and killed nodes.
  void heal_all() {
    undo();
    apply_cut("heal", {});
  }

 private:
  static std::string describe(const Cut& c) {
    std::vector<std::string> parts;
    for (const auto& [node, peers] : c) {
      parts.push_back(node + "<-x-" +
                      join(std::vector<std::string>(peers.begin(), peers.end()), ","));
    }
    return join(parts, " ");
  }

  void cut(const std::string& kind, const Cut& c) {
    rec_.nemesis(kind, describe(c));
    apply_cut(kind, c);
    cut_active_ = true;
  }

  void apply_cut(const std::string& kind, const Cut& c) {
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
        r.rules.push_back(
            "block-in " +
            join(std::vector<std::string>(it->second.begin(), it->second.end()), ","));
      }
      rules.push_back(std::move(r));
    }
    (void)chaos::apply_rules(cluster_, kind == "heal" ? chaos::heal_rules(all) : rules);
  }

  void signal(const std::string& kind, const std::string& node) {
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

  void undo() {
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
      (void)client::start_node(cluster_, signalled_node_);
    } else if (const client::LocalNode* n = cluster_.find(signalled_node_)) {
      ::kill(n->pid, SIGCONT);
    }
    signalled_.clear();
  }

  void shell(const std::string& args) {
    const std::string cmd = o_.nemesis_cmd + " " + args;
    if (std::system(cmd.c_str()) != 0)
      std::fprintf(stderr, "nemesis command failed: %s\n", cmd.c_str());
  }

  const CheckOptions& o_;
  client::LocalCluster& cluster_;
  Recorder& rec_;
  Prng rng_;
  std::vector<std::string> nodes_, kinds_;
  bool cut_active_ = false;
  std::string signalled_, signalled_node_;
};

// ---- the workload ----

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

  // Connects to the next node that takes the connection (false: the run is over).
  bool connect_next(Conn& conn) {
    while (!conn.c) {
      conn.node = (conn.node + 1) % cluster.nodes.size();
      const client::LocalNode& n = cluster.nodes[conn.node];
      auto got = client::Client::connect(n.host, n.client_port, 500);
      if (got) {
        conn.c = std::move(got).value();
      } else {
        if (stop) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return true;
  }

  // One client: counter adds (±), set adds of unique elements, and removes of elements it
  // added, each read first so the remove carries the context that saw it. Every update
  // carries an operation id; an attempt whose outcome is unknown (timeout, a broken
  // connection) or that another node may serve (unavailable, overloaded) is sent again,
  // with the same id, through the next node, up to --attempts in all.
  void client_loop(uint32_t process) {
    Prng rng(o.seed * 7919 + process);
    Conn conn{nullptr, process % cluster.nodes.size()};
    std::vector<std::string> mine;
    uint64_t seq = 0;
    while (!stop) {
      if (!connect_next(conn)) break;
      const std::string key = std::to_string(rng.below(o.keys));
      const uint64_t pick = rng.below(100);
      const std::string op_id = "p" + std::to_string(process) + "-" + std::to_string(++seq);
      if (pick < 50) {
        const int64_t delta = rng.range(-2, 5) | 1;
        api::Request r = request(api::Op::kCounterAdd, "c" + key, op_id);
        r.delta = delta;
        Event e = event(process, "counter_add", "c" + key, op_id);
        e.delta = delta;
        run_op(conn, std::move(r), std::move(e));
      } else if (pick < 85 || mine.empty()) {
        const std::string elem = "p" + std::to_string(process) + "-" + std::to_string(seq);
        api::Request r = request(api::Op::kSetAdd, "s" + key, op_id);
        r.elements = {elem};
        Event e = event(process, "set_add", "s" + key, op_id);
        e.element = elem;
        run_op(conn, std::move(r), std::move(e));
        mine.push_back("s" + key + "/" + elem);
      } else {
        const std::string& pickd = mine[rng.below(mine.size())];
        remove_seen(conn, process, pickd.substr(0, pickd.find('/')),
                    pickd.substr(pickd.find('/') + 1), op_id);
      }
    }
  }

  api::Request request(api::Op op, const std::string& key, const std::string& op_id) const {
    api::Request r;
    r.op = op;
    r.bucket = bucket;
    r.key = key;
    r.options = o.options;
    r.op_id = op_id;
    return r;
  }

  static Event event(uint32_t process, const std::string& f, const std::string& key,
                     const std::string& op_id) {
    Event e;
    e.process = process;
    e.f = f;
    e.key = key;
    e.op_id = op_id;
    return e;
  }

  // Sends the operation, attempt after attempt (each recorded as its own invoke and
  // completion with the operation's id) until one is definite or none are left.
  void run_op(Conn& conn, const api::Request& r, Event e) {
    for (uint32_t attempt = 1; attempt <= std::max(1u, o.attempts); ++attempt) {
      if (!connect_next(conn)) return;
      Event in = e;
      in.type = EventType::kInvoke;
      in.op = rec.next_op();
      in.node = cluster.nodes[conn.node].id;
      rec.add(in);
      const Result<api::Response> got = conn.c->call(r);
      const EventType t = complete(std::move(in), got);
      if (!got) conn.c.reset();  // no answer on this connection: it is unusable now
      const Code code = got ? got->status.code() : Code::kTimeout;
      if (!worth_retrying(t, code)) return;
      conn.c.reset();  // the next attempt goes through another node
    }
  }

  // Records an attempt's completion as the client must read it (checker.h, classify:
  // unavailable and the other definite errors are failures; a timeout or no answer is
  // indeterminate).
  EventType complete(Event e, const Result<api::Response>& r) {
    if (!r) {
      e.type = EventType::kInfo;
      e.detail = r.status().to_string();
    } else {
      e.type = classify(r->status);
      if (!r->status.is_ok()) e.detail = r->status.to_string();
      if (r->status.is_ok() && r->duplicate) e.detail = "duplicate";
    }
    const EventType t = e.type;
    rec.add(std::move(e));
    return t;
  }

  void remove_seen(Conn& conn, uint32_t p, const std::string& key, const std::string& elem,
                   const std::string& op_id) {
    Result<api::Response> seen = conn.c->set_get(bucket, key, o.options, {elem});
    if (!seen) {
      conn.c.reset();
      return;
    }
    if (!seen->status.is_ok() || !seen->context || seen->elements.empty()) return;
    api::Request r = request(api::Op::kSetRemove, key, op_id);
    r.elements = {elem};
    r.context = seen->context;
    Event e = event(p, "set_remove", key, op_id);
    e.element = elem;
    Result<crdt::DotContext> dc = crdt::DotContext::decode(*seen->context);
    if (dc) e.ctx = std::move(dc).value();
    run_op(conn, std::move(r), std::move(e));
  }
};

// ---- settling and the final reads ----

// True when no node holds hints or keys it must hand off (all running nodes answered).
bool drained(client::LocalCluster& c) {
  for (const client::LocalNode& n : c.nodes) {
    auto cl = client::Client::connect(n.host, n.client_port, 1000);
    if (!cl) return false;
    auto st = (*cl)->cluster_status();
    if (!st || !st->status.is_ok()) return false;
    for (const auto& [name, value] : st->stats) {
      if ((name == "hints_held" || name == "handoff_not_owned") && value != 0) return false;
    }
  }
  return true;
}

// LOCAL reads of every key at each of its replicas.
Result<std::vector<Event>> final_reads(client::LocalCluster& c, const std::string& bucket,
                                       uint32_t keys) {
  std::vector<std::string> ids;
  for (const client::LocalNode& n : c.nodes) ids.push_back(n.id);
  const ring::Ring ring(ids, c.vnodes);
  core::RequestOptions local = core::preset("LOCAL").value();
  std::vector<Event> out;
  for (uint32_t k = 0; k < keys; ++k) {
    for (const std::string& key : {"c" + std::to_string(k), "s" + std::to_string(k)}) {
      for (const std::string& owner : ring.preference_list(ring::key_hash(bucket, key), 3)) {
        const client::LocalNode* n = c.find(owner);
        auto cl = client::Client::connect(n->host, n->client_port, 2000);
        if (!cl) return cl.status();
        auto r = key[0] == 'c' ? (*cl)->counter_get(bucket, key, local)
                               : (*cl)->set_get(bucket, key, local);
        if (!r) return r.status();
        Event e;
        e.type = EventType::kRead;
        e.f = key[0] == 'c' ? "counter" : "set";
        e.key = key;
        e.node = owner;
        e.found = r->status.is_ok();
        e.counter = r->counter;
        e.values = r->elements;
        out.push_back(std::move(e));
      }
    }
  }
  return out;
}

bool converged(const std::vector<Event>& reads) {
  std::map<std::string, const Event*> first;
  for (const Event& r : reads) {
    auto [it, fresh] = first.emplace(r.key, &r);
    if (!fresh && (it->second->found != r.found || it->second->counter != r.counter ||
                   it->second->values != r.values)) {
      return false;
    }
  }
  return true;
}

// Waits (up to quiet_limit_s) until nothing is left to hand off and two rounds of reads
// agree; returns the last reads either way (the checker judges them).
Result<std::vector<Event>> settle(const CheckOptions& o, client::LocalCluster& c,
                                  const std::string& bucket, Recorder& rec) {
  const auto deadline = Clock::now() + std::chrono::seconds(o.quiet_limit_s);
  int agreeing = 0;
  Result<std::vector<Event>> reads = Status::unavailable("no read yet");
  while (Clock::now() < deadline && agreeing < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    reads = final_reads(c, bucket, o.keys);
    agreeing = reads && converged(*reads) && drained(c) ? agreeing + 1 : 0;
  }
  rec.nemesis("settled", agreeing >= 2 ? "replicas agree" : "gave up waiting");
  return reads;
}

int write_outputs(const CheckOptions& o, const std::vector<Event>& history, const Verdict& v,
                  const std::string& title) {
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  std::ofstream hist(o.out + "/history.jsonl");
  for (const Event& e : history) hist << to_json_line(e) << "\n";
  std::ofstream page(o.out + "/timeline.html");
  page << timeline_html(history, v, title);
  if (!hist || !page) {
    std::fprintf(stderr, "could not write to %s\n", o.out.c_str());
    return 2;
  }
  return 0;
}

// --nodes id=host:port,...: a cluster this tool did not start.
Result<client::LocalCluster> parse_nodes(const CheckOptions& o) {
  if (o.nemesis_cmd.empty() && !o.faults.empty()) {
    return Status::invalid_argument("--nodes needs --nemesis-cmd (or --faults '')");
  }
  return client::external_cluster(o.nodes, o.vnodes);
}

}  // namespace

void add_flags(CLI::App* cmd, CheckOptions* o) {
  cmd->add_option("--dir", o->dir, "the cluster (started by `shoal cluster up`)")
      ->capture_default_str();
  cmd->add_option(
      "--nodes", o->nodes,
      "nodes not started by `shoal cluster up`: id=host:port,... (needs --nemesis-cmd)");
  cmd->add_option("--vnodes", o->vnodes, "with --nodes: the nodes' --vnodes")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "where history.jsonl and timeline.html go")
      ->capture_default_str();
  cmd->add_option("--time-limit", o->time_limit_s, "seconds of workload and faults")
      ->capture_default_str();
  cmd->add_option("--clients", o->clients, "concurrent clients")->capture_default_str();
  cmd->add_option("--keys", o->keys, "counters and sets (each)")->capture_default_str();
  cmd->add_option("--nemesis-interval-ms", o->nemesis_interval_ms, "a new fault this often")
      ->capture_default_str();
  cmd->add_option("--faults", o->faults, "faults to draw from (empty: none)")
      ->capture_default_str();
  cmd->add_option("--nemesis-cmd", o->nemesis_cmd,
                  "run faults as `CMD block NODE PEERS|heal|kill|start|pause|resume NODE`");
  cmd->add_option("--attempts", o->attempts,
                  "attempts per operation: an indeterminate or unavailable one is retried, with "
                  "the same operation id, through another node")
      ->capture_default_str();
  cmd->add_option("--quiet-limit", o->quiet_limit_s, "seconds to wait for replicas to settle")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "the nemesis and workload seed (0: from the clock)");
}

int run(const CheckOptions& opts) {
  CheckOptions o = opts;
  if (o.seed == 0) o.seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) | 1;
  Result<client::LocalCluster> c = o.nodes.empty() ? client::load_cluster(o.dir) : parse_nodes(o);
  if (!c) {
    std::cerr << c.status().to_string() << "\n";
    return 2;
  }
  if (o.clients == 0 || o.keys == 0 || o.time_limit_s == 0 || o.attempts == 0) {
    std::cerr << "invalid_argument: --clients, --keys, --time-limit and --attempts must be "
                 "positive\n";
    return 2;
  }
  Recorder rec;
  Nemesis nemesis(o, *c, rec);
  if (Status s = nemesis.validate(); !s.is_ok()) {
    std::cerr << s.to_string() << "\n";
    return 2;
  }
  Workload w{o, *c, rec, "check-" + std::to_string(o.seed % 1'000'000'007), {}};
  std::printf(
      "shoal check: %u clients, %s, up to %u attempts, faults {%s} every %u ms for %u s, "
      "seed %llu\n",
      o.clients, o.options_label.c_str(), o.attempts, o.faults.c_str(), o.nemesis_interval_ms,
      o.time_limit_s, static_cast<unsigned long long>(o.seed));
  std::vector<std::thread> clients;
  for (uint32_t p = 0; p < o.clients; ++p) clients.emplace_back([&w, p] { w.client_loop(p); });
  const auto end = Clock::now() + std::chrono::seconds(o.time_limit_s);
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(
        o.nemesis_interval_ms,
        std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count())));
    if (Clock::now() < end) nemesis.step();
  }
  nemesis.heal_all();
  w.stop = true;
  for (std::thread& t : clients) t.join();
  Result<std::vector<Event>> reads = settle(o, *c, w.bucket, rec);
  if (!reads) {
    std::cerr << "could not read the replicas: " << reads.status().to_string() << "\n";
    return 2;
  }
  for (Event& r : *reads) rec.add(std::move(r));
  const std::vector<Event> history = rec.take();
  const Verdict v = check_history(history);
  std::printf("\n%s", summary_table(v).c_str());
  const int wrote = write_outputs(o, history, v, "shoal check, seed " + std::to_string(o.seed));
  std::printf("\nhistory: %s/history.jsonl\ntimeline: %s/timeline.html\n", o.out.c_str(),
              o.out.c_str());
  if (wrote != 0) return wrote;
  return v.valid ? 0 : 1;
}

}  // namespace shoal::check
