// shoald: one Shoal node. Flags or a config file (`--config FILE`, key = value lines
// with the flag names); every address defaults to 127.0.0.1.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "crdt/assert.h"
#include "node/store/leveldb_store.h"
#include "node/uv/server.h"

namespace shoal {
namespace {

struct Flags {
  std::string id, data_dir, client = "127.0.0.1:7001", peer = "127.0.0.1:7101", members;
  std::string secret, secret_file, log_level = "info", seeds, resp, http, advertise, profile;
  core::ClusterOptions cluster;
  uint32_t vnodes = ring::Ring::kDefaultVnodes;
  uint32_t drain_timeout_ms = 5000;
  size_t max_clients = 1024;
  size_t cache_mb = 128;
  size_t key_filter_mb = 16;
  size_t write_buffer_mb = store::Tuning{}.write_buffer_bytes >> 20;
  size_t block_kb = store::Tuning{}.block_bytes >> 10;
  std::string compression = store::Tuning{}.compress ? "snappy" : "none";
  size_t max_set_read_members = 100'000;
  uint64_t min_free_mb = 100;
  bool repair = false;
  bool insecure = false;
  std::string users_file;
  bool metrics_open = false;
  api::TlsFiles tls;
  std::string tls_min_version = "1.3";
  uvshell::ServerConfig limits;  // the connection limits' flags write here
};

// Identity and addresses.
void add_network_flags(CLI::App& app, Flags& f) {
  app.add_option("--id", f.id, "this node's id (unique in the cluster; required unless --repair)");
  app.add_option("--data-dir", f.data_dir, "directory of this node's LevelDB")->required();
  app.add_option("--client", f.client, "client listener host:port")->capture_default_str();
  app.add_option("--peer", f.peer, "peer listener host:port")->capture_default_str();
  app.add_option("--resp", f.resp,
                 "RESP (Redis protocol) listener host:port, e.g. 127.0.0.1:6379 (default: off)");
  app.add_option("--advertise-peer", f.advertise,
                 "the peer address other nodes should dial (default: --peer); set it when "
                 "--peer listens on 0.0.0.0");
  app.add_option("--http", f.http,
                 "HTTP listener host:port (API, /status, /metrics, dashboard; default: off)");
  app.add_option("--members", f.members,
                 "every node as id@host:port of its peer listener, comma separated "
                 "(static membership; default: this node alone)");
  app.add_flag("--insecure", f.insecure,
               "serve on addresses other machines can reach although this version has no TLS "
               "and no client authentication (a trusted network only: docs/security.md)");
  app.add_option("--seeds", f.seeds,
                 "peer addresses (host:port, comma separated) of nodes to join through; "
                 "this node starts as joining and turns up once its arcs are handed to it");
}

// Timing, replication and repair (core::ClusterOptions).
void add_cluster_flags(CLI::App& app, Flags& f) {
  app.add_option("--gossip-interval-ms", f.cluster.gossip_interval_ms, "one gossip round")
      ->capture_default_str()
      ->check(CLI::Range(10u, 60'000u));
  app.add_option("--heartbeat-interval-ms", f.cluster.heartbeat_interval_ms,
                 "heartbeats to every peer (the failure detector's rhythm)")
      ->capture_default_str()
      ->check(CLI::Range(10u, 60'000u));
  app.add_option("--phi-threshold", f.cluster.phi_threshold,
                 "phi-accrual conviction threshold (Cassandra: 8)")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 32.0));
  app.add_option("--phi-window", f.cluster.phi_window, "heartbeat intervals the detector keeps")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--replicas", f.cluster.replicas,
                 "n used to decide which keys this node owns (handoff, anti-entropy)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 16u));
  app.add_option("--hint-window-ms", f.cluster.hint_window_ms,
                 "hints older than this are dropped instead of replayed (default 3 h)")
      ->capture_default_str();
  app.add_option("--op-window-ms", f.cluster.op_window_ms,
                 "how long a key remembers operation ids: retries within it count once "
                 "(default 6 h; at least --hint-window-ms)")
      ->capture_default_str();
  app.add_option("--profile", f.profile,
                 "timing preset. edge: heartbeats every 250 ms and phi threshold 5, so a node "
                 "cut off from its peers refuses QUORUM requests after ~3 s instead of ~18 s; "
                 "flags given explicitly win")
      ->check(CLI::IsMember({"default", "edge"}));
  app.add_option("--max-hints-per-target", f.cluster.max_hints_per_target,
                 "hints a fallback holds per down node before refusing writes")
      ->capture_default_str();
  app.add_option("--hints-per-tick", f.cluster.hints_per_tick,
                 "hint replay throttle: hints sent per target every tick (100 ms)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--handoff-keys-per-tick", f.cluster.handoff_keys_per_tick,
                 "handoff throttle: keys sent every tick (100 ms)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--ae-interval-ms", f.cluster.ae_interval_ms,
                 "one anti-entropy exchange (a segment of the ring with one peer) per interval; "
                 "0: none")
      ->capture_default_str();
}

// Security, limits and logging.
void add_node_flags(CLI::App& app, Flags& f) {
  app.add_option("--secret", f.secret,
                 "cluster secret; peers must prove they know the same one (never sent)");
  app.add_option("--secret-file", f.secret_file, "read the cluster secret from this file");
  app.add_option("--users-file", f.users_file,
                 "clients must authenticate as a user of this file (shoal user add; reread on "
                 "SIGHUP; docs/security.md). Default: none, every client may do everything");
  app.add_flag("--metrics-open", f.metrics_open,
               "with --users-file, GET /metrics needs no credentials (for scrapers)");
  app.add_option("--tls-cert", f.tls.cert,
                 "TLS on every listener and peer link: this node's certificate (PEM; its "
                 "subjectAltName names the node id, URI:shoal:node:<id>); reread on SIGHUP");
  app.add_option("--tls-key", f.tls.key, "the certificate's private key (PEM)");
  app.add_option("--tls-ca", f.tls.ca,
                 "the CA that signs every node's certificate: a peer must present one signed "
                 "by it naming the node id it claims");
  app.add_option("--tls-min-version", f.tls_min_version, "1.3 (default) or 1.2")
      ->capture_default_str();
  app.add_option("--vnodes", f.vnodes, "virtual nodes per node (same on every node)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 65536u));
  app.add_option("--drain-timeout-ms", f.drain_timeout_ms,
                 "on SIGTERM, how long in-flight requests may take")
      ->capture_default_str();
  app.add_option("--cache-mb", f.cache_mb, "decoded objects kept in memory (0: none)")
      ->capture_default_str();
  app.add_option("--key-filter-mb", f.key_filter_mb,
                 "the in-memory filter of the keys this node holds, ~10 bits per key, so a new "
                 "key's write skips a disk search (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{1024}));
  app.add_option("--max-clients", f.max_clients, "client connection limit")->capture_default_str();
  app.add_option("--max-set-read-members", f.max_set_read_members,
                 "a whole read (SMEMBERS, SCARD, GET) of a set with more members is refused with "
                 "too_large: read it by pages (SSCAN, ?cursor=)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 40));
  app.add_option("--min-free-mb", f.min_free_mb,
                 "refuse writes (unavailable, reads go on) while the data dir's disk has less "
                 "free space than this; 0: no floor")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
  app.add_flag("--repair", f.repair,
               "repair the stopped node's --data-dir with LevelDB's RepairDB and exit (damaged "
               "tables move to DIR/lost; docs/operations.md, \"When data is corrupted\")");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
}

// LevelDB's knobs (docs/storage.md, "Tuning").
void add_storage_flags(CLI::App& app, Flags& f) {
  app.add_option("--write-buffer-mb", f.write_buffer_mb,
                 "LevelDB memtable size before it is written out as a table (the log replayed "
                 "at start grows to it; LevelDB may hold two)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  app.add_option("--block-kb", f.block_kb, "LevelDB table block size before compression")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  app.add_option("--compression", f.compression, "LevelDB table blocks: snappy or none")
      ->check(CLI::IsMember({"snappy", "none"}))
      ->capture_default_str();
}

// Connection limits (docs/limits.md).
void add_limit_flags(CLI::App& app, uvshell::ServerConfig& l) {
  app.add_option("--max-clients-per-address", l.max_client_connections_per_address,
                 "client connections from one remote IP (an IPv6 /64 is one address)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--client-reap-idle-ms", l.client_reap_idle_ms,
                 "when client slots are full, a newcomer takes the slot of the idlest client "
                 "idle at least this long")
      ->capture_default_str();
  app.add_option("--client-idle-timeout-ms", l.client_idle_timeout_ms,
                 "close a client silent this long with nothing in flight, or not reading its "
                 "answers this long (0: never)")
      ->capture_default_str();
  app.add_option("--http-header-timeout-ms", l.http_header_timeout_ms,
                 "an HTTP request's headers must arrive within this of its first byte (408)")
      ->capture_default_str()
      ->check(CLI::Range(100u, 3'600'000u));
  app.add_option("--http-body-timeout-ms", l.http_body_timeout_ms,
                 "an HTTP body must arrive within this of the headers, plus 1 s per "
                 "--http-body-min-rate bytes received (408)")
      ->capture_default_str()
      ->check(CLI::Range(100u, 3'600'000u));
  app.add_option("--http-body-min-rate", l.http_body_min_bytes_per_s,
                 "bytes per second that extend the body deadline (0: none)")
      ->capture_default_str();
  app.add_option("--peer-handshake-timeout-ms", l.peer_handshake_timeout_ms,
                 "a peer connection's hello must arrive within this")
      ->capture_default_str()
      ->check(CLI::Range(100u, 600'000u));
  app.add_option("--peer-min-protocol", l.peer_min_protocol,
                 "the oldest peer protocol welcomed: 2 refuses protocol 1 hellos, which send "
                 "the cluster secret in clear")
      ->capture_default_str()
      ->check(CLI::Range(1u, 2u));
  app.add_option("--max-peer-strangers", l.max_peer_strangers,
                 "peer connections waiting for their hello; beyond, the oldest is closed")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 16));
  app.add_option("--max-peer-strangers-per-address", l.max_peer_strangers_per_address,
                 "the same, per remote IP")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 16));
}

void start_logging(const std::string& id, const std::string& level) {
  auto logger = spdlog::stderr_color_mt("shoald");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e [" + id + "] %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(level));
  set_invariant_handler([](const char* message) {
    spdlog::critical("{}; stopping (a bug in shoald: please report this log)", message);
    spdlog::default_logger()->flush();
  });
}

// Secure by default: a listener other machines can reach needs --insecure, since there is
// no TLS yet: data, and passwords if clients authenticate, would cross the network in clear
// (issue #16; docs/security.md).
Status check_exposure(const uvshell::ServerConfig& c, bool insecure) {
  std::string exposed;
  for (auto [name, a] : {std::pair{"client", std::optional(c.client)},
                         {"peer", std::optional(c.peer)},
                         {"resp", c.resp},
                         {"http", c.http}}) {
    if (a && !uvshell::is_loopback(*a))
      exposed += fmt::format("{}{} ({})", exposed.empty() ? "" : ", ", a->to_string(), name);
  }
  if (exposed.empty() || (c.tls && !c.users_file.empty())) return Status::ok();
  std::vector<std::string> missing, risks;
  if (!c.tls) {
    missing.push_back("TLS (--tls-cert, --tls-key, --tls-ca)");
    risks.push_back("read the traffic, passwords included");
  }
  if (c.users_file.empty()) {
    missing.push_back("client authentication (--users-file)");
    risks.push_back("read and change every key and run admin operations");
  }
  const std::string lacks = fmt::format("{}", fmt::join(missing, " and "));
  if (!insecure) {
    return Status::invalid_argument(fmt::format(
        "refusing to listen on {} without {}: anyone who reaches them could {}. Listen on "
        "127.0.0.1, or pass --insecure on a network you trust (docs/security.md)",
        exposed, lacks, fmt::join(risks, ", and ")));
  }
  spdlog::warn("--insecure: listening on {} without {}", exposed, lacks);
  return Status::ok();
}

// --tls-*: all three files or none.
Status tls_config(const Flags& f, uvshell::ServerConfig* config) {
  const int given = !f.tls.cert.empty() + !f.tls.key.empty() + !f.tls.ca.empty();
  if (given == 0) return Status::ok();
  if (given != 3) {
    return Status::invalid_argument("TLS needs --tls-cert, --tls-key and --tls-ca together");
  }
  config->tls = f.tls;
  return api::parse_tls_min_version(f.tls_min_version, &config->tls->allow_tls12);
}

// The listeners and the membership the flags name.
Status set_addresses(const Flags& f, uvshell::ServerConfig* config) {
  Result<uvshell::Address> c = uvshell::parse_address(f.client);
  if (!c) return c.status();
  Result<uvshell::Address> p = uvshell::parse_address(f.peer);
  if (!p) return p.status();
  config->client = *c;
  config->peer = *p;
  for (auto [text, slot] : {std::pair{&f.resp, &config->resp},
                            {&f.advertise, &config->advertise_peer},
                            {&f.http, &config->http}}) {
    if (text->empty()) continue;
    Result<uvshell::Address> a = uvshell::parse_address(*text);
    if (!a) return a.status();
    *slot = *a;
  }
  SHOAL_RETURN_IF_ERROR(check_exposure(*config, f.insecure));
  Result<std::vector<uvshell::Member>> m = uvshell::parse_members(f.members);
  if (!m) return m.status();
  config->members = *m;
  Result<std::vector<uvshell::Address>> sd = uvshell::parse_addresses(f.seeds);
  if (!sd) return sd.status();
  config->seeds = *sd;
  if (!config->members.empty() && !config->seeds.empty()) {
    return Status::invalid_argument("give --members (a static cluster) or --seeds, not both");
  }
  return Status::ok();
}

// Timing and replication, with the profile's presets under flags given explicitly.
Result<core::ClusterOptions> cluster_options(const Flags& f, const CLI::App& app) {
  core::ClusterOptions cluster = f.cluster;
  if (f.profile == "edge") {
    if (app.count("--heartbeat-interval-ms") == 0) cluster.heartbeat_interval_ms = 250;
    if (app.count("--phi-threshold") == 0) cluster.phi_threshold = 5;
  }
  if (cluster.op_window_ms < cluster.hint_window_ms) {
    return Status::invalid_argument(
        "--op-window-ms " + std::to_string(cluster.op_window_ms) + " is below --hint-window-ms " +
        std::to_string(cluster.hint_window_ms) +
        ": a hint can deliver an update that late, and its retries must still count once");
  }
  return cluster;
}

Result<uvshell::ServerConfig> server_config(const Flags& f, const CLI::App& app) {
  uvshell::ServerConfig config = f.limits;
  config.node_id = f.id;
  config.data_dir = f.data_dir;
  config.vnodes = f.vnodes;
  config.drain_timeout_ms = f.drain_timeout_ms;
  config.max_client_connections = f.max_clients;
  config.object_cache_bytes = f.cache_mb << 20;
  config.storage = {f.write_buffer_mb << 20, f.block_kb << 10, f.compression == "snappy"};
  config.key_filter_bytes = f.key_filter_mb << 20;
  config.max_set_read_members = f.max_set_read_members;
  config.min_free_bytes = f.min_free_mb << 20;
  config.users_file = f.users_file;
  config.metrics_open = f.metrics_open;
  SHOAL_RETURN_IF_ERROR(tls_config(f, &config));
  if (f.metrics_open && f.users_file.empty()) {
    return Status::invalid_argument(
        "--metrics-open needs --users-file (without one, /metrics is open)");
  }
  SHOAL_RETURN_IF_ERROR(set_addresses(f, &config));
  Result<core::ClusterOptions> cluster = cluster_options(f, app);
  if (!cluster) return cluster.status();
  config.cluster = *cluster;
  std::string secret = f.secret;
  if (!f.secret_file.empty()) {
    std::ifstream in(f.secret_file);
    if (!in) return Status::invalid_argument("cannot read secret file " + f.secret_file);
    std::getline(in, secret);
  }
  if (secret.empty() && !uvshell::is_loopback(config.peer) && !config.tls) {
    // --insecure opens a trusted network to the node, not the cluster to anyone.
    return Status::invalid_argument("the peer listener " + config.peer.to_string() +
                                    " is reachable from other machines: give the cluster a "
                                    "secret (--secret-file, docs/security.md)");
  }
  if (secret.empty() && (config.members.size() > 1 || !config.seeds.empty())) {
    spdlog::warn("no cluster secret set: any process that can reach the peer port may join");
  }
  config.secret = secret;
  return config;
}

// `shoald --repair`: the offline repair of a stopped node's data directory. Exit 0 when
// the directory opens afterwards, 1 when it still does not.
int repair(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) {
    spdlog::critical("--repair: {} is not a directory", dir);
    return 2;
  }
  spdlog::info("repairing {} (LevelDB RepairDB; damaged tables move to {}/lost)", dir, dir);
  Result<store::RepairReport> report = store::LevelDbStore::repair_dir(dir);
  Status s = report.status();
  if (s.is_ok()) s = store::LevelDbStore::open(dir).status();
  if (!s.is_ok()) {
    spdlog::critical("repair of {} failed: {}", dir, s.to_string());
    return 1;
  }
  spdlog::info(
      "repaired {}: {}. It opens; start the node and anti-entropy restores what was lost "
      "from the other replicas",
      dir, store::describe(*report));
  return 0;
}

}  // namespace
}  // namespace shoal

int main(int argc, char** argv) {
  using namespace shoal;
  CLI::App app{"shoald: a Shoal node (leaderless, Dynamo-style key-value store)"};
  app.set_config("--config", "", "config file (TOML/INI: one `flag = value` per line)");
  Flags flags;
  add_network_flags(app, flags);
  add_cluster_flags(app, flags);
  add_node_flags(app, flags);
  add_storage_flags(app, flags);
  add_limit_flags(app, flags.limits);
  // Bad flags are bad usage: exit 2 (CLI11's own codes are 100+); --help exits 0.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (flags.id.empty() && !flags.repair) {
    std::fprintf(stderr, "--id is required\nRun with --help for more information.\n");
    return 2;
  }
  start_logging(flags.id, flags.log_level);
  auto fail = [](const Status& s) {
    spdlog::critical("{}", s.to_string());
    return 2;
  };
  if (flags.repair) return repair(flags.data_dir);
  Result<uvshell::ServerConfig> config = server_config(flags, app);
  if (!config) return fail(config.status());
  Result<std::unique_ptr<uvshell::Server>> server = uvshell::Server::open(std::move(*config));
  if (!server) return fail(server.status());
  return (*server)->run();
}
