// Server::Impl, the libuv shell's state, shared by its files by job: server.cc (setup,
// loop turns, admin, drain), connections.cc (clients: accept, read, frames, backpressure,
// replies), peers.cc (peer links: dial, hello, backoff, send). Private to node/uv.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/prng.h"
#include "node/api/http.h"
#include "node/api/protocol.h"
#include "node/api/resp.h"
#include "node/core/node.h"
#include "node/store/leveldb_store.h"
#include "node/uv/address.h"
#include "node/uv/metrics.h"
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
  std::string out;      // frames of this turn
  std::string writing;  // the buffer of the write in flight
  uv_write_t write_req{};
  bool write_busy = false;
  bool closing = false;
  bool close_after_flush = false;
  bool reading = false;
  bool welcomed = false;  // peer-in: hello accepted; peer-out: welcome received
  std::string peer;       // peer id (peer-in after hello; peer-out: the target)
  std::string remote;
  size_t inflight = 0;  // client requests awaiting the core
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
  uv_loop_t loop{};
  uv_tcp_t client_listener{}, peer_listener{}, resp_listener{}, http_listener{};
  uv_check_t check{};
  uv_idle_t wake{};  // started to make the next poll non-blocking
  uv_timer_t core_timer{}, drain_timer{};
  uv_signal_t sigint{}, sigterm{};
  std::unique_ptr<store::LevelDbStore> store;
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
  bool handle_client_frame(Conn* c, std::string_view payload);
  bool handle_peer_in_frame(Conn* c, std::string_view payload);
  bool handle_peer_out_frame(Conn* c, std::string_view payload);
  void reply(Conn* c, const api::Response& r);
  void queue(Conn* c, std::string_view payload);
  void queue_raw(Conn* c, std::string_view bytes);
  void flush(Conn* c);
  // A write finished: resume reading if the connection was paused on its output.
  void on_written(Conn* c, int status);
  void end_turn();
  void close_conn(Conn* c, std::string_view why);
  Peer* peer_for(const std::string& id);
  bool handle_admin(const api::Request& req, api::Response* r);
  // Runs a client request through the core (the native, RESP and HTTP paths share it):
  // refused at once when draining or overloaded, else answered from the core's turn.
  void submit(api::Request req, std::function<void(api::Response)> done);
  void start_resp(Conn* c);
  void process_resp(Conn* c);
  void start_http(Conn* c);
  // HTTP input held back (Session::holds_input) is parsed once answers drained (the
  // node answered, the client read); then reading resumes.
  void process_http(Conn* c);
  bool http_may_continue(const Conn* c) const;
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
