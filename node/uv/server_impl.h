// Server::Impl, the libuv shell's state, shared by its files by job: server.cc (setup,
// loop turns, admin, drain), connections.cc (clients: accept, read, frames, backpressure,
// replies), peers.cc (peer links: dial, hello, backoff, send). Private to node/uv.
#pragma once

#include <spdlog/spdlog.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/prng.h"
#include "node/api/http.h"
#include "node/api/protocol.h"
#include "node/api/resp.h"
#include "node/api/tls.h"
#include "node/core/node.h"
#include "node/store/leveldb_store.h"
#include "node/store/store_doctor.h"
#include "node/uv/address.h"
#include "node/uv/authenticator.h"
#include "node/uv/metrics.h"
#include "node/uv/peer_state_log.h"
#include "node/uv/server.h"
#include "node/uv/snapshot.h"
#include "node/uv/timer_queue.h"

namespace shoal::uvshell {

struct Conn {
  enum class Kind { kClient, kPeerIn, kPeerOut, kResp, kHttp };
  bool is_client() const {
    return kind == Kind::kClient || kind == Kind::kResp || kind == Kind::kHttp;
  }
  Conn(Kind k, uint64_t i, size_t max_frame) : kind(k), id(i), reader(max_frame) {}

  uv_tcp_t tcp{};
  Kind kind;
  uint64_t id;
  api::FrameReader reader;
  std::string out;  // frames of this turn (plaintext)
  // TLS (tls_conns.cc): the stream, and ciphertext waiting for the socket. tls_sniffed: the
  // first bytes were checked (a plaintext client on a TLS port is answered in clear).
  std::unique_ptr<api::TlsStream> tls;
  std::string tls_out;
  bool tls_sniffed = false;
  std::string writing;  // the buffer of the write in flight
  uv_write_t write_req{};
  bool write_busy = false;
  bool closing = false;
  bool close_after_flush = false;
  bool reading = false;
  bool welcomed = false;  // peer-in: hello accepted; peer-out: welcome received
  // The peer handshake (peer_auth.h): this side's nonce and the other's; peer-in: the
  // challenge went out and the dialler's proof is due; peer-out: our proof went out.
  std::string nonce_mine, nonce_theirs;
  std::string claimed, claimed_address;  // peer-in: the hello's node id and address
  bool challenged = false;
  std::string peer;  // peer id (peer-in after hello; peer-out: the target)
  std::string remote;
  // Connection limits (conn_limits.cc).
  std::string address;       // per-address caps: address_key (an IPv4 address, an IPv6 /64)
  uint64_t accepted_ms = 0;  // peer-in: the hello deadline counts from here
  uint64_t active_ms = 0;    // the last byte read or write finished: idle clients are closed
  bool slot = false;         // holds a client slot (a refused newcomer holds none)
  // A TLS client refused at accept (over a cap): its handshake is completed first so the
  // refusal can be read (Impl::tls_refusals counts these, kMaxTlsRefusals at most).
  bool tls_refusal = false;
  bool stranger = false;  // peer-in counted as waiting for its hello
  // kHttp: a second parser that only watches where requests begin and end (the session's
  // is private), for the header and body deadlines; 0: not in that part of a request.
  struct HttpPace {
    http_parser watch{};
    bool broken = false;      // the session refuses such input itself
    uint64_t now_ms = 0;      // for the parser's callbacks
    uint64_t request_ms = 0;  // the first byte of the request being received
    uint64_t body_ms = 0;     // its headers ended
    uint64_t body_bytes = 0;
  } http_pace;
  // kResp: when the command being received began arriving (0: none partial); a client in
  // its TLS handshake counts from accepted_ms. Both are held to http_header_timeout_ms.
  uint64_t resp_partial_ms = 0;
  uint64_t resp_partial_bytes = 0;  // received since
  // Client authentication (client_auth.cc): the user this connection signed in as (kHttp:
  // the current request's; "": none), and whether a check of credentials is running (the
  // connection's input waits for it, so requests keep their order).
  std::string user;
  std::string cert_user;  // the user its TLS client certificate names (tls_conns.cc)
  bool auth_busy = false;
  size_t inflight = 0;  // client requests awaiting the core
  // A running guess of one answer's size (the largest lately, decaying by 1/8 per answer;
  // the first ones are assumed biggish): what a request in flight will add to `out`.
  size_t answer_bytes = 512u << 10;
  size_t reads_in_flight = 0;  // get, set_get, counter_get awaiting the core
  // kResp: the Redis-protocol parser and session (replies in command order).
  std::unique_ptr<api::resp::Parser> resp_parser;
  std::shared_ptr<api::resp::Session> resp;
  std::shared_ptr<api::http::Session> http;  // kHttp
};

struct Peer {
  std::string id;
  Address address;
  sockaddr_storage sockaddr{};
  Conn* conn = nullptr;
  bool ready = false;
  bool ever_ready = false;  // since this node started: only then is its state news
  bool connecting = false;
  bool down_logged = false;
  bool overflow_logged = false;
  bool retired = false;  // left or removed: no more dialling
  std::string queued;    // frames sent while connecting
  uint32_t backoff_ms = 0;
  uv_timer_t retry{};
};

struct Server::Impl final : core::Clock, core::Transport {
  ServerConfig config;
  std::string peer_key;  // peer_auth.h: what handshake proofs are keyed by
  uv_loop_t loop{};
  uv_tcp_t client_listener{}, peer_listener{}, resp_listener{}, http_listener{};
  uv_check_t check{};
  uv_idle_t wake{};  // started to make the next poll non-blocking
  uv_timer_t core_timer{}, drain_timer{};
  uv_signal_t sigint{}, sigterm{}, sighup{};
  std::unique_ptr<Authenticator> auth;   // client authentication (off without a users file)
  std::shared_ptr<api::TlsContext> tls;  // every listener and peer link; nullptr: none
  std::unique_ptr<store::LevelDbStore> store;
  std::unique_ptr<store::StoreDoctor> doctor;  // treats the store's faults after each turn
  bool store_fault_logged = false;             // the current fault was logged
  bool store_failure_logged = false;           // a failed treatment of it was logged
  std::unique_ptr<core::Node> node;
  std::unique_ptr<core::SeededRng> core_rng;
  Metrics metrics;
  std::map<uint64_t, Conn*> conns;
  std::set<Conn*> dirty;
  std::vector<uint64_t> resume;  // paused client connections the core answered
  std::map<std::string, std::unique_ptr<Peer>> peers;
  // Peer listener addresses announced in hellos (bounded): how to answer a node that
  // dialled us before gossip told us about it.
  std::map<std::string, std::string> hello_addresses;
  TimerQueue timers{*this, [this](uint64_t deadline_ms) { arm_core_timer(deadline_ms); }};
  uint64_t next_conn_id = 1;
  size_t client_conns = 0;
  bool draining = false;
  uint64_t drain_deadline_ms = 0;
  Prng rng{std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32)};
  char read_buf[64 * 1024];

  // core::Clock
  uint64_t now_ms() override { return uv_now(&loop); }
  uint64_t wall_ms() override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
  // core::Transport
  void send(const std::string& to, const core::Message& message) override;

  Status init();
  Status listen(uv_tcp_t* listener, const Address& at, uv_connection_cb cb);
  void on_accept(uv_stream_t* listener, Conn::Kind kind);
  void start_reading(Conn* c);
  void on_read(Conn* c, ssize_t n, const uv_buf_t* buf);
  void process_frames(Conn* c);
  // A welcomed peer's messages, decoded and not yet handed to the core (filled by
  // process_frames in connections.cc; add() and deliver() are in peers.cc).
  struct PeerBatch {
    static constexpr size_t kMaxMessages = 64;
    static constexpr size_t kMaxBytes = size_t{1} << 20;  // of frames: bounds its memory
    std::vector<core::Message> messages;
    size_t bytes = 0;
    Status error;  // why add() failed
    bool add(std::string_view payload);
    bool full() const { return messages.size() >= kMaxMessages || bytes >= kMaxBytes; }
  };
  // Hands the batch to the core (prefetch, then each message in order), and empties it.
  void deliver(Conn* c, PeerBatch* batch);
  // process_frames' batch, kept so its storage is reused (the core only queues what it
  // sends, so nothing re-enters process_frames while a batch is delivered).
  PeerBatch peer_batch;
  bool handle_client_frame(Conn* c, std::string_view payload);
  // The handshake's frames; a welcomed peer's go through a PeerBatch.
  bool handle_peer_in_frame(Conn* c, std::string_view payload);
  bool handle_peer_out_frame(Conn* c, std::string_view payload);
  // The peer handshake (peers.cc): the listener's steps, then the dialler's.
  bool accept_hello(Conn* c, std::string_view payload);
  bool accept_proof(Conn* c, std::string_view payload);
  bool refuse_peer(Conn* c, const std::string& claimed, const Status& refusal);
  void welcome_peer(Conn* c, const std::string& id, const std::string& peer_address);
  bool answer_challenge(Conn* c, Peer* p, std::string_view payload);
  void reply(Conn* c, const api::Response& r);
  void queue(Conn* c, std::string_view payload);
  void queue_raw(Conn* c, std::string_view bytes);
  void flush(Conn* c);
  // A write finished: resume reading if the connection was paused on its output.
  void on_written(Conn* c, int status);
  void after_write(Conn* c);  // a write finished: what queued meanwhile, paused reads
  void end_turn();
  core::NodeConfig node_config() const;  // the core's configuration, from `config`
  // Keeps the next loop turn from blocking in poll (work is waiting for its check phase).
  void wake_next_turn();
  // After a turn: lets the doctor treat a store fault, logs what it did (once per fault),
  // and tells the node when the store was repaired or reopened.
  void check_store();
  // Connection limits (conn_limits.cc, docs/limits.md): started by init(), stopped by
  // shutdown(). A timer sweeps every connection each second for deadlines.
  void start_conn_limits();
  void stop_conn_limits();
  // At accept: counts `c` against the caps of its kind, closing the longest-idle client or
  // the oldest stranger to make room; a status to refuse `c` with when nothing could be.
  Status admit(Conn* c);
  void admit_stranger(Conn* c);
  Status admit_client(Conn* c);
  // The peer-in connection's hello was accepted: it is no longer a stranger.
  void welcomed_stranger(Conn* c);
  // Gives back what `c` was counted against (close_conn).
  void release_limits(Conn* c);
  void sweep_conns();
  // Logs peers that went down or came back (peer_state_log.h).
  void log_peer_states();
  // A client with nothing in flight and nothing unread for its client to read.
  bool client_quiet(const Conn* c) const;
  Conn* idlest_client(const std::string* address, uint64_t now);
  Conn* oldest_stranger(const std::string* address);
  bool http_too_slow(Conn* c, uint64_t now);
  // A RESP command, or a client's TLS handshake, not complete within http_header_timeout_ms
  // of its first byte (slow-loris).
  bool request_too_slow(Conn* c, uint64_t now);
  // Feeds what an HTTP connection received to its watcher (Conn::http_pace).
  void watch_http(Conn* c, const char* data, size_t n);
  // Logs a limit being hit, at most once per 10 s for each kind (strangers can hit them in
  // a loop), saying how many were not logged since.
  void log_limit(const std::string& kind, std::string_view line,
                 spdlog::level::level_enum level = spdlog::level::warn);
  uv_timer_t limits_timer{};
  size_t strangers = 0;  // peer-in connections whose hello is not accepted yet
  // TLS clients refused over a cap, finishing their handshake to read why (Conn::tls_refusal):
  // beyond this many at once, one is closed without the refusal, as without TLS it never is.
  static constexpr size_t kMaxTlsRefusals = 64;
  size_t tls_refusals = 0;
  void end_tls_refusal(Conn* c);
  std::map<std::string, size_t, std::less<>> clients_by_address, strangers_by_address;
  std::map<std::string, std::pair<uint64_t, size_t>> limit_logs;  // kind: next log, not logged
  PeerStateLog peer_states;  // what was logged of peers going down and back
  void close_conn(Conn* c, std::string_view why);
  Peer* peer_for(const std::string& id);
  bool handle_admin(const api::Request& req, api::Response* r);
  // Runs a client request of connection `conn_id` through the core (the native, RESP and
  // HTTP paths share it): refused at once when its user may not (authorize), when
  // draining or overloaded, else answered from the core's turn.
  void submit(uint64_t conn_id, api::Request&& req, std::function<void(api::Response)> done);
  // Client authentication (client_auth.cc). Whether connection `c` may do `access` on
  // `bucket` (nullopt: anything a signed-in user may, such as ping): ok when
  // authentication is off.
  Status authorize(const Conn* c, std::optional<api::Access> access, std::string_view bucket);
  // Checks credentials for `c` (native auth, RESP AUTH, HTTP Authorization): on ok, `c` is
  // that user. While a check runs, `c`'s input waits (Conn::auth_busy). `done` runs once,
  // now or later (not if `c` closed meanwhile).
  void login(Conn* c, std::string user, std::string password, std::function<void(Status)> done);
  // HTTP: who sent the request, from its Authorization header (nullopt: nobody).
  void identify_http(Conn* c, const std::optional<std::string>& authorization,
                     std::function<void(Status)> then);
  Status allow_page(const Conn* c, std::string_view page);
  // SIGHUP: reads the users file again (a bad file leaves the users in force, logged).
  void reload_users();
  // TLS (tls_conns.cc). Ciphertext read on `c`: decrypted into *plain; false when `c` was
  // refused or its TLS failed (it closes once the alert or refusal is written).
  bool tls_receive(Conn* c, const char* data, size_t n, std::string* plain);
  // What flush writes: `c`'s queued plaintext encrypted into c->tls_out (as much as the
  // handshake allows), or c->out itself without TLS; nullptr when `c` was closed.
  std::string* wire_bytes(Conn* c);
  // A plaintext client on a TLS port: told so in its own protocol, in clear, and closed.
  void refuse_plaintext(Conn* c);
  // A client whose TLS handshake just finished: signed in as the user its certificate names
  // (URI shoal:user:NAME), if it names one user of the users file.
  void sign_in_by_certificate(Conn* c);
  // A peer link's certificate must name the node id `id` claims (api::TlsStream::peer_names).
  Status check_peer_name(const Conn* c, const std::string& id) const;
  // SIGHUP: reads the TLS files again; new connections use them, open ones keep theirs.
  void reload_tls();
  void start_resp(Conn* c);
  void process_resp(Conn* c);
  void start_http(Conn* c);
  // HTTP input held back (Session::holds_input) is parsed once answers drained (the
  // node answered, the client read); then reading resumes.
  void process_http(Conn* c);
  bool http_may_continue(const Conn* c) const;
  // A client's backlog (conn_limits.cc): true while the node should not read more of its
  // requests (too many in flight, or their answers would pass the unread bound).
  bool client_backlogged(const Conn* c) const;
  // After answers were queued to a client: updates its answer-size guess.
  void note_answer(Conn* c, size_t bytes);
  // A request of `op` goes to the core for connection `conn_id`: a read is counted in its
  // reads_in_flight until the returned callback (which then calls `done`) runs.
  std::function<void(api::Response)> count_read(uint64_t conn_id, api::Op op,
                                                std::function<void(api::Response)> done);
  // with_store_bytes: also LevelDB's approximate size (costly; /metrics only).
  NodeSnapshot snapshot(bool with_store_bytes = false) const;
  void connect_peer(Peer* p);
  // An outgoing peer connection finished dialling: say hello, or close it on an error.
  void on_dialled(Conn* c, int status);
  void dial_back(const std::string& id);
  void peer_failed(Peer* p, std::string_view why);
  void arm_core_timer(uint64_t deadline_ms);
  void begin_drain(const char* signal_name);
  void check_drain();
  void shutdown();
};

}  // namespace shoal::uvshell
