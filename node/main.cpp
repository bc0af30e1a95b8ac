// shoald: one Shoal node. Flags or a config file (`--config FILE`, key = value lines
// with the flag names); every address defaults to 127.0.0.1.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "crdt/assert.h"
#include "node/uv/server.h"

int main(int argc, char** argv) {
  using namespace shoal;
  CLI::App app{"shoald: a Shoal node (leaderless, Dynamo-style key-value store)"};
  app.set_config("--config", "", "config file (TOML/INI: one `flag = value` per line)");
  std::string id, data_dir, client = "127.0.0.1:7001", peer = "127.0.0.1:7101", members;
  std::string secret, secret_file, log_level = "info", seeds, resp, http, advertise, profile;
  core::ClusterOptions cluster;
  uint32_t vnodes = ring::Ring::kDefaultVnodes;
  uint32_t drain_timeout_ms = 5000;
  size_t max_clients = 1024;
  size_t cache_mb = 32;
  app.add_option("--id", id, "this node's id (unique in the cluster)")->required();
  app.add_option("--data-dir", data_dir, "directory of this node's LevelDB")->required();
  app.add_option("--client", client, "client listener host:port")->capture_default_str();
  app.add_option("--peer", peer, "peer listener host:port")->capture_default_str();
  app.add_option("--resp", resp,
                 "RESP (Redis protocol) listener host:port, e.g. 127.0.0.1:6379 (default: off)");
  app.add_option("--advertise-peer", advertise,
                 "the peer address other nodes should dial (default: --peer); set it when "
                 "--peer listens on 0.0.0.0");
  app.add_option("--http", http,
                 "HTTP listener host:port (API, /status, /metrics, dashboard; default: off)");
  app.add_option("--members", members,
                 "every node as id@host:port of its peer listener, comma separated "
                 "(static membership; default: this node alone)");
  app.add_option("--seeds", seeds,
                 "peer addresses (host:port, comma separated) of nodes to join through; "
                 "this node starts as joining and turns up once its arcs are handed to it");
  app.add_option("--gossip-interval-ms", cluster.gossip_interval_ms, "one gossip round")
      ->capture_default_str()
      ->check(CLI::Range(10u, 60'000u));
  app.add_option("--heartbeat-interval-ms", cluster.heartbeat_interval_ms,
                 "heartbeats to every peer (the failure detector's rhythm)")
      ->capture_default_str()
      ->check(CLI::Range(10u, 60'000u));
  app.add_option("--phi-threshold", cluster.phi_threshold,
                 "phi-accrual conviction threshold (Cassandra: 8)")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 32.0));
  app.add_option("--phi-window", cluster.phi_window, "heartbeat intervals the detector keeps")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--replicas", cluster.replicas,
                 "n used to decide which keys this node owns (handoff, anti-entropy)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 16u));
  app.add_option("--hint-window-ms", cluster.hint_window_ms,
                 "hints older than this are dropped instead of replayed (default 3 h)")
      ->capture_default_str();
  app.add_option("--op-window-ms", cluster.op_window_ms,
                 "how long a key remembers operation ids: retries within it count once "
                 "(default 6 h; at least --hint-window-ms)")
      ->capture_default_str();
  app.add_option("--profile", profile,
                 "timing preset. edge: heartbeats every 250 ms and phi threshold 5, so a node "
                 "cut off from its peers refuses QUORUM requests after ~3 s instead of ~18 s; "
                 "flags given explicitly win")
      ->check(CLI::IsMember({"default", "edge"}));
  app.add_option("--max-hints-per-target", cluster.max_hints_per_target,
                 "hints a fallback holds per down node before refusing writes")
      ->capture_default_str();
  app.add_option("--hints-per-tick", cluster.hints_per_tick,
                 "hint replay throttle: hints sent per target every tick (100 ms)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--handoff-keys-per-tick", cluster.handoff_keys_per_tick,
                 "handoff throttle: keys sent every tick (100 ms)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--ae-interval-ms", cluster.ae_interval_ms,
                 "one anti-entropy exchange (a segment of the ring with one peer) per interval; "
                 "0: none")
      ->capture_default_str();
  app.add_option("--secret", secret, "cluster secret; peers must present the same one");
  app.add_option("--secret-file", secret_file, "read the cluster secret from this file");
  app.add_option("--vnodes", vnodes, "virtual nodes per node (same on every node)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 65536u));
  app.add_option("--drain-timeout-ms", drain_timeout_ms,
                 "on SIGTERM, how long in-flight requests may take")
      ->capture_default_str();
  app.add_option("--cache-mb", cache_mb, "decoded objects kept in memory (0: none)")
      ->capture_default_str();
  app.add_option("--max-clients", max_clients, "client connection limit")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  // Bad flags are bad usage: exit 2 (CLI11's own codes are 100+); --help exits 0.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto logger = spdlog::stderr_color_mt("shoald");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e [" + id + "] %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));
  shoal::set_invariant_handler([](const char* message) {
    spdlog::critical("{}; stopping (a bug in shoald: please report this log)", message);
    spdlog::default_logger()->flush();
  });

  uvshell::ServerConfig config;
  config.node_id = id;
  config.data_dir = data_dir;
  config.vnodes = vnodes;
  config.drain_timeout_ms = drain_timeout_ms;
  config.max_client_connections = max_clients;
  config.object_cache_bytes = cache_mb << 20;
  auto fail = [](const Status& s) {
    spdlog::critical("{}", s.to_string());
    return 2;
  };
  Result<uvshell::Address> c = uvshell::parse_address(client);
  if (!c) return fail(c.status());
  Result<uvshell::Address> p = uvshell::parse_address(peer);
  if (!p) return fail(p.status());
  config.client = *c;
  config.peer = *p;
  if (!resp.empty()) {
    Result<uvshell::Address> r = uvshell::parse_address(resp);
    if (!r) return fail(r.status());
    config.resp = *r;
  }
  if (!advertise.empty()) {
    Result<uvshell::Address> a = uvshell::parse_address(advertise);
    if (!a) return fail(a.status());
    config.advertise_peer = *a;
  }
  if (!http.empty()) {
    Result<uvshell::Address> h = uvshell::parse_address(http);
    if (!h) return fail(h.status());
    config.http = *h;
  }
  Result<std::vector<uvshell::Member>> m = uvshell::parse_members(members);
  if (!m) return fail(m.status());
  config.members = *m;
  Result<std::vector<uvshell::Address>> sd = uvshell::parse_addresses(seeds);
  if (!sd) return fail(sd.status());
  config.seeds = *sd;
  if (!config.members.empty() && !config.seeds.empty()) {
    return fail(Status::invalid_argument("give --members (a static cluster) or --seeds, not both"));
  }
  if (profile == "edge") {
    if (app.count("--heartbeat-interval-ms") == 0) cluster.heartbeat_interval_ms = 250;
    if (app.count("--phi-threshold") == 0) cluster.phi_threshold = 5;
  }
  if (cluster.op_window_ms < cluster.hint_window_ms) {
    return fail(Status::invalid_argument(
        "--op-window-ms " + std::to_string(cluster.op_window_ms) + " is below --hint-window-ms " +
        std::to_string(cluster.hint_window_ms) +
        ": a hint can deliver an update that late, and its retries must still count once"));
  }
  config.cluster = cluster;
  if (!secret_file.empty()) {
    std::ifstream in(secret_file);
    if (!in) return fail(Status::invalid_argument("cannot read secret file " + secret_file));
    std::getline(in, secret);
  }
  if (secret.empty() && (config.members.size() > 1 || !config.seeds.empty())) {
    spdlog::warn("no cluster secret set: any process that can reach the peer port may join");
  }
  config.secret = secret;
  Result<std::unique_ptr<uvshell::Server>> server = uvshell::Server::open(std::move(config));
  if (!server) return fail(server.status());
  return (*server)->run();
}
