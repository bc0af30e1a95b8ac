// Server: the libuv shell around one node core (the only place, with tools/, that
// touches libuv).
//
// One thread, one loop. Client and peer listeners read length-prefixed msgpack frames
// (node/api/protocol.h) and feed the core; a uv_check handle ends every loop turn: the
// core commits the turn's writes as one LevelDB WriteBatch, then each connection's
// frames of that turn go out in one write. Peers are dialled with backoff; a peer is
// reachable once our hello was welcomed (same cluster secret) and unreachable when the
// connection fails, which the core hears about at once. SIGINT/SIGTERM stop accepting,
// let in-flight requests finish (bounded by drain_timeout_ms) and close the DB cleanly.
//
// Limits (docs/limits.md has them all): client frames <= api::kMaxClientFrameBytes, peer
// frames <= api::kMaxPeerFrameBytes (api::kMaxHandshakeFrameBytes before the hello),
// max_inflight_per_connection and max_output_bytes_per_connection (reading pauses beyond
// either), max_pending_requests (handed to the core, which answers overloaded beyond it),
// max_peer_queue_bytes (frames queued for a peer, while it connects or while it is slow;
// dropped beyond it), and the connection limits below.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"
#include "node/api/tls.h"
#include "node/core/node.h"
#include "node/store/leveldb_store.h"
#include "node/uv/address.h"
#include "ring/ring.h"

namespace shoal::uvshell {

struct ServerConfig {
  std::string node_id;
  std::string data_dir;
  Address client{"127.0.0.1", 7001};
  Address peer{"127.0.0.1", 7101};
  // The peer address other nodes should dial (published in gossip and the hello); none:
  // `peer` itself. Needed when listening on 0.0.0.0 (containers).
  std::optional<Address> advertise_peer;
  std::optional<Address> resp;  // RESP (Redis protocol) listener; none: off
  std::optional<Address> http;  // HTTP API, /status, /metrics, dashboard; none: off
  // A static cluster (all members up from the start), this node included; or empty,
  // with `seeds` to join an existing cluster through (or neither: a cluster of one).
  std::vector<Member> members;
  std::vector<Address> seeds;  // peer addresses of nodes to join through
  core::ClusterOptions cluster;
  std::string secret;  // cluster secret, checked in the peer handshake
  // Client authentication (authenticator.h): the users file, read at start and on SIGHUP;
  // empty: off (every client may do everything). metrics_open: GET /metrics needs no
  // credentials (scrapers), when a users file is set.
  std::string users_file;
  bool metrics_open = false;
  // TLS on every listener and peer link (api/tls.h): the node's certificate and key and the
  // cluster CA, reread on SIGHUP. None: plaintext.
  std::optional<api::TlsFiles> tls;
  uint32_t vnodes = ring::Ring::kDefaultVnodes;
  // Client connections (native, RESP and HTTP together) and per remote address. A newcomer
  // over either cap takes the slot of the longest-idle client in that scope idle for at
  // least client_reap_idle_ms (that client is closed); without one it is refused.
  size_t max_client_connections = 1024;
  size_t max_client_connections_per_address = 256;
  uint32_t client_reap_idle_ms = 10'000;
  // A client with nothing in flight and nothing unread is closed after this long without a
  // byte from it; so is one that has not read its answers for this long (0: never).
  uint32_t client_idle_timeout_ms = 300'000;
  // An HTTP request's headers must arrive within http_header_timeout_ms of its first byte;
  // its body within http_body_timeout_ms of the headers' end plus 1 s per
  // http_body_min_bytes_per_s bytes received (a minimum pace; 0: no extension).
  uint32_t http_header_timeout_ms = 10'000;
  uint32_t http_body_timeout_ms = 10'000;
  uint32_t http_body_min_bytes_per_s = 1024;
  // Peer-in connections whose hello is not accepted yet ("strangers"): the hello must come
  // within peer_handshake_timeout_ms; over a cap, the oldest stranger in that scope is closed
  // (a real peer says hello within a round trip, so it is never the oldest for long).
  uint32_t peer_handshake_timeout_ms = 5'000;
  // The oldest peer protocol a listener welcomes: 1 also takes a hello that carries the
  // secret in clear (nodes not yet upgraded, warned about); 2 refuses it.
  uint32_t peer_min_protocol = 1;
  size_t max_peer_strangers = 64;
  size_t max_peer_strangers_per_address = 16;
  size_t max_inflight_per_connection = 1024;
  // Unread answers: past max_output_bytes_per_connection the node stops reading the
  // connection, and also stops while its requests in flight, counted at the size of its
  // recent answers, would take it past (a burst of reads of big values). Reads in flight
  // are capped apart, so the answers to come are bounded whatever that guess (a client
  // that read small values, then pipelines reads of big ones): unread answers stay
  // within max_output_bytes_per_connection + max_reads_in_flight_per_connection answers.
  size_t max_output_bytes_per_connection = 16u << 20;
  size_t max_reads_in_flight_per_connection = 64;
  size_t max_pending_requests = 100'000;
  size_t max_peer_queue_bytes = 64u << 20;
  uint32_t drain_timeout_ms = 5'000;
  size_t object_cache_bytes = 128u << 20;
  store::Tuning storage;                  // LevelDB's write buffer, block size, compression
  size_t key_filter_bytes = 16u << 20;    // core::NodeConfig's
  size_t max_set_read_members = 100'000;  // core::NodeConfig's
  // Writes are refused below this much free disk (0: no floor; store_doctor.h).
  uint64_t min_free_bytes = 100u << 20;
};

class Server {
 public:
  // Opens the data directory (creating it), loads or mints the actor identity, binds
  // both listeners. Fails with a clear Status (port in use, DB locked, bad address).
  static Result<std::unique_ptr<Server>> open(ServerConfig config);
  ~Server();

  // Serves until SIGINT or SIGTERM, then drains and closes. Returns the exit code.
  int run();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::uvshell
