#include "tools/check_cli.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "tools/check_nemesis.h"
#include "tools/check_recorder.h"
#include "tools/check_workload.h"
#include "tools/checker.h"
#include "tools/client.h"
#include "tools/cluster.h"

namespace shoal::check {

namespace {

using Clock = std::chrono::steady_clock;

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
  // A bucket of its own per run: a second run with the same seed on the same cluster
  // must not read the first run's writes as phantoms or its own as lost.
  const auto run_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Workload w{o,
             *c,
             rec,
             "check-" + std::to_string(o.seed % 1'000'000'007) + "-" + std::to_string(run_ms),
             {}};
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
  Result<std::vector<Event>> reads = settle_and_read(o, *c, w.bucket, rec);
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
