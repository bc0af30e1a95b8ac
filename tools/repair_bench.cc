// shoal-repair-bench: how fast a cluster heals, on fresh local clusters.
//
//   hints: 4 nodes; n2 is killed, K counter keys are written at QUORUM through n1 (the
//          fallbacks take n2's share as hints), n2 restarts; measures the time until
//          every hint was replayed, and hints/s.
//   wipe:  3 nodes (n = 3: each holds every key); K keys are written, n2 is killed, its
//          data directory wiped and n2 restarted empty; measures the time until
//          anti-entropy has rebuilt all K keys on n2 (no client reads), and keys/s.
//
// Usage: shoal-repair-bench hints|wipe [--keys K] [--base-port P] [--node-arg=FLAG ...]
// Prints one JSON line per run (docs/benchmarks.md records them).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "tools/client.h"
#include "tools/cluster.h"

namespace {

using namespace shoal;
using Clock = std::chrono::steady_clock;

int64_t stat(const api::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.stats) {
    if (k == name) return v;
  }
  return 0;
}

Result<api::Response> status_of(client::LocalCluster& c, const std::string& id) {
  auto cl = client::Client::connect("127.0.0.1", c.find(id)->client_port, 2000);
  if (!cl) return cl.status();
  return (*cl)->cluster_status();
}

Status write_keys(client::LocalCluster& c, const std::string& via, int keys) {
  auto cl = client::Client::connect("127.0.0.1", c.find(via)->client_port, 5000);
  if (!cl) return cl.status();
  constexpr int kWindow = 512;
  for (int from = 0; from < keys; from += kWindow) {
    int n = 0;
    for (int i = from; i < std::min(keys, from + kWindow); ++i, ++n) {
      api::Request r;
      r.op = api::Op::kCounterAdd;
      r.bucket = "bench";
      r.key = "k" + std::to_string(i);
      r.delta = 1;
      SHOAL_RETURN_IF_ERROR((*cl)->send(r).status());
    }
    SHOAL_RETURN_IF_ERROR((*cl)->flush());
    for (int i = 0; i < n; ++i) {
      auto a = (*cl)->recv(30'000);
      if (!a) return a.status();
      if (!a->status.is_ok()) return a->status;
    }
  }
  return Status::ok();
}

// Polls `value` every 20 ms until it reaches `target`; returns the seconds it took.
template <typename Fn>
Result<double> time_until(Fn value, int64_t target, uint32_t limit_s) {
  const auto start = Clock::now();
  while (value() < target) {
    if (Clock::now() - start > std::chrono::seconds(limit_s)) {
      return Status::timeout("not done after " + std::to_string(limit_s) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Status bench_hints(client::LocalCluster& c, int keys) {
  SHOAL_RETURN_IF_ERROR(client::stop_node(c, "n2", SIGKILL, 5000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  SHOAL_RETURN_IF_ERROR(write_keys(c, "n1", keys));
  auto held = [&] {
    int64_t n = 0;
    for (const char* id : {"n1", "n3", "n4"}) {
      auto s = status_of(c, id);
      if (s && s->status.is_ok()) n += stat(*s, "hints_held");
    }
    return n;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int64_t hints = held();
  SHOAL_RETURN_IF_ERROR(client::start_node(c, "n2"));
  Result<double> s = time_until([&] { return hints - held(); }, hints, 600);
  if (!s) return s.status();
  std::printf(
      "{\"bench\":\"hint_replay\",\"keys\":%d,\"hints\":%lld,\"seconds\":%.2f,"
      "\"hints_per_s\":%.0f}\n",
      keys, static_cast<long long>(hints), *s, static_cast<double>(hints) / *s);
  return Status::ok();
}

Status bench_wipe(client::LocalCluster& c, int keys) {
  SHOAL_RETURN_IF_ERROR(write_keys(c, "n1", keys));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  SHOAL_RETURN_IF_ERROR(client::stop_node(c, "n2", SIGKILL, 5000));
  std::error_code ec;
  std::filesystem::remove_all(c.find("n2")->data_dir, ec);
  SHOAL_RETURN_IF_ERROR(client::start_node(c, "n2"));
  auto repaired = [&] {
    auto s = status_of(c, "n2");
    return s && s->status.is_ok() ? stat(*s, "ae_keys_repaired") : 0;
  };
  Result<double> s = time_until(repaired, keys, 1200);
  if (!s) return s.status();
  std::printf(
      "{\"bench\":\"wiped_replica_repair\",\"keys\":%d,\"seconds\":%.2f,"
      "\"keys_per_s\":%.0f}\n",
      keys, *s, static_cast<double>(keys) / *s);
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shoal-repair-bench: hint replay rate and wiped-replica repair time"};
  std::string kind;
  int keys = 0, base_port = 7951;
  std::vector<std::string> node_args;
  app.add_option("kind", kind, "hints or wipe")
      ->required()
      ->check(CLI::IsMember({"hints", "wipe"}));
  app.add_option("--keys", keys, "keys written (default: hints 20000, wipe 100000)");
  app.add_option("--base-port", base_port, "client ports from here, peer ports +100")
      ->capture_default_str();
  app.add_option("--node-arg", node_args, "a flag for every shoald (repeatable)");
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  if (keys <= 0) keys = kind == "hints" ? 20'000 : 100'000;
  char tmpl[] = "/tmp/shoal-repair-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 2;
  auto c = client::make_cluster(tmpl, kind == "hints" ? 4 : 3, base_port, "bench", 4096);
  if (!c) {
    std::fprintf(stderr, "%s\n", c.status().to_string().c_str());
    return 2;
  }
  c->die_with_parent = true;
  c->extra_args = node_args;
  Status s;
  for (const auto& n : c->nodes) {
    if (s.is_ok()) s = client::start_node(*c, n.id);
  }
  if (s.is_ok()) s = client::wait_connected(*c);
  if (s.is_ok()) s = kind == "hints" ? bench_hints(*c, keys) : bench_wipe(*c, keys);
  for (const auto& n : c->nodes) (void)client::stop_node(*c, n.id, SIGTERM, 10'000);
  std::filesystem::remove_all(tmpl);
  if (!s.is_ok()) {
    std::fprintf(stderr, "repair bench failed: %s\n", s.to_string().c_str());
    return 1;
  }
  return 0;
}
