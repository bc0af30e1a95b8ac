#include "node/uv/server.h"

#include <netdb.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "crdt/prng.h"
#include "node/api/convert.h"
#include "node/api/http.h"
#include "node/api/protocol.h"
#include "node/api/resp.h"
#include "node/api/text.h"
#include "node/core/identity.h"
#include "node/core/node.h"
#include "node/store/leveldb_store.h"
#include "node/uv/dashboard.h"
#include "node/uv/metrics.h"

namespace shoal::uvshell {

// ---- addresses ----

Result<Address> parse_address(std::string_view text) {
  Address a;
  std::string_view port = text;
  if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (colon > 0) a.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || p > 65535) p = -1;
    if (p < 0) break;
    p = p * 10 + (c - '0');
  }
  if (port.empty() || p <= 0 || p > 65535) {
    return Status::invalid_argument("bad address \"" + std::string(text) +
                                    "\": expected host:port with a port in 1..65535");
  }
  a.port = p;
  return a;
}

Result<std::vector<Member>> parse_members(std::string_view text) {
  std::vector<Member> out;
  std::set<std::string> seen;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    size_t at = item.find('@');
    if (at == std::string_view::npos || at == 0) {
      return Status::invalid_argument("bad member \"" + std::string(item) +
                                      "\": expected id@host:port");
    }
    Result<Address> addr = parse_address(item.substr(at + 1));
    if (!addr) return addr.status();
    Member m{std::string(item.substr(0, at)), *addr};
    if (!seen.insert(m.id).second) return Status::invalid_argument("member " + m.id + " twice");
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Address>> parse_addresses(std::string_view text) {
  std::vector<Address> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    Result<Address> addr = parse_address(item);
    if (!addr) return addr.status();
    out.push_back(*addr);
  }
  return out;
}

namespace {

// Seeds are dialled before their ids are known: the core addresses them as "@host:port".
bool is_seed_name(std::string_view peer) { return !peer.empty() && peer[0] == '@'; }

Result<sockaddr_storage> resolve(const Address& a) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(a.host.c_str(), std::to_string(a.port).c_str(), &hints, &res);
  if (rc != 0 || !res) {
    return Status::invalid_argument("cannot resolve " + a.to_string() + ": " + gai_strerror(rc));
  }
  sockaddr_storage out{};
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return out;
}

std::string remote_name(uv_tcp_t* tcp) {
  sockaddr_storage sa{};
  int len = sizeof(sa);
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "?";
  char ip[64] = "?";
  int port = 0;
  if (sa.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&sa);
    uv_ip4_name(in, ip, sizeof(ip));
    port = ntohs(in->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa);
    uv_ip6_name(in6, ip, sizeof(ip));
    port = ntohs(in6->sin6_port);
  }
  return std::string(ip) + ":" + std::to_string(port);
}

}  // namespace

// ---- the shell ----

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

struct Server::Impl final : core::Clock, core::Timers, core::Transport {
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
  std::multimap<uint64_t, uint64_t> deadlines;  // core timers: deadline -> timer id
  std::unordered_map<uint64_t, std::multimap<uint64_t, uint64_t>::iterator> timer_index;
  uint64_t armed_deadline = UINT64_MAX;
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
  // core::Timers
  void schedule(uint64_t timer_id, uint64_t delay_ms) override;
  void cancel(uint64_t timer_id) override;
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
  std::string status_json();
  std::string info_text();
  // A member whose co-owned data this node compares (the convergence signal applies).
  bool ring_peer(const core::MemberView& v) const {
    return v.state.id != config.node_id && v.state.status != core::MemberStatus::kLeft &&
           v.state.status != core::MemberStatus::kRemoved && node->ring().has_node(v.state.id);
  }
  std::string sync_json(const core::MemberView& v) const;
  void connect_peer(Peer* p);
  void dial_back(const std::string& id);
  void peer_failed(Peer* p, std::string_view why);
  void fire_timers();
  void arm_timer();
  void begin_drain(const char* signal_name);
  void check_drain();
  void shutdown();
};

// ---- setup ----

Status Server::Impl::init() {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec)
    return Status::internal("cannot create data dir " + config.data_dir + ": " + ec.message());
  auto opened = store::LevelDbStore::open(config.data_dir);
  if (!opened) {
    return Status(opened.status().code(),
                  "cannot open data dir " + config.data_dir +
                      " (is another shoald using it?): " + opened.status().message());
  }
  store = std::move(opened).value();
  core::SeededRng seeded(rng.next());
  Result<crdt::Actor> actor = core::new_incarnation(*store, seeded);
  if (!actor) return actor.status();

  uv_loop_init(&loop);
  loop.data = this;
  uv_check_init(&loop, &check);
  check.data = this;
  uv_check_start(&check, [](uv_check_t* h) { static_cast<Impl*>(h->data)->end_turn(); });
  uv_idle_init(&loop, &wake);
  uv_timer_init(&loop, &core_timer);
  core_timer.data = this;
  uv_timer_init(&loop, &drain_timer);
  drain_timer.data = this;

  core::NodeConfig nc;
  nc.self = config.node_id;
  nc.vnodes_per_node = config.vnodes;
  nc.object_cache_bytes = config.object_cache_bytes;
  nc.cluster = config.cluster;
  nc.peer_address = (config.advertise_peer ? *config.advertise_peer : config.peer).to_string();
  nc.client_address = config.client.to_string();
  for (const Member& m : config.members) nc.members.push_back(m.id);
  for (const Address& a : config.seeds) {
    std::string seed = "@";
    seed += a.to_string();  // (not "@" + ...: GCC 12 -Wrestrict false positive)
    nc.seeds.push_back(std::move(seed));
  }
  core_rng = std::make_unique<core::SeededRng>(rng.next());
  node = std::make_unique<core::Node>(nc, core::NodeEnv{*this, *this, *this, *store, *core_rng},
                                      *actor);
  spdlog::info("node {} actor {:016x}, {} static members, {} seeds, data in {}", config.node_id,
               *actor, nc.members.size(), nc.seeds.size(), config.data_dir);

  SHOAL_RETURN_IF_ERROR(listen(&client_listener, config.client, [](uv_stream_t* s, int status) {
    if (status == 0) static_cast<Impl*>(s->data)->on_accept(s, Conn::Kind::kClient);
  }));
  SHOAL_RETURN_IF_ERROR(listen(&peer_listener, config.peer, [](uv_stream_t* s, int status) {
    if (status == 0) static_cast<Impl*>(s->data)->on_accept(s, Conn::Kind::kPeerIn);
  }));
  if (config.resp) {
    SHOAL_RETURN_IF_ERROR(listen(&resp_listener, *config.resp, [](uv_stream_t* s, int status) {
      if (status == 0) static_cast<Impl*>(s->data)->on_accept(s, Conn::Kind::kResp);
    }));
  }
  if (config.http) {
    SHOAL_RETURN_IF_ERROR(listen(&http_listener, *config.http, [](uv_stream_t* s, int status) {
      if (status == 0) static_cast<Impl*>(s->data)->on_accept(s, Conn::Kind::kHttp);
    }));
  }
  for (const Member& m : config.members) {
    if (m.id == config.node_id) continue;
    if (!resolve(m.peer)) return resolve(m.peer).status();
    peer_for(m.id);
  }
  return Status::ok();
}

// The connection to a peer, created (and dialled) on first use. Its address comes from
// the static member list, from the seed name itself, or from gossip.
Peer* Server::Impl::peer_for(const std::string& id) {
  if (auto it = peers.find(id); it != peers.end()) return it->second.get();
  if (id == config.node_id || draining) return nullptr;
  std::optional<Address> address;
  for (const Member& m : config.members) {
    if (m.id == id) address = m.peer;
  }
  std::string text = is_seed_name(id) ? id.substr(1) : std::string();
  if (!address && text.empty()) {
    const core::MemberState* st = node->membership().find(id);
    if (st) text = st->peer_address;
  }
  if (!address && text.empty()) {
    auto it = hello_addresses.find(id);
    if (it != hello_addresses.end()) text = it->second;
  }
  if (!address && !text.empty()) {
    Result<Address> parsed = parse_address(text);
    if (parsed) address = *parsed;
  }
  if (!address) return nullptr;
  Result<sockaddr_storage> sa = resolve(*address);
  if (!sa) {
    spdlog::warn("peer {}: cannot resolve {}: {}", id, address->to_string(),
                 sa.status().to_string());
    return nullptr;
  }
  auto p = std::make_unique<Peer>();
  p->id = id;
  p->address = *address;
  p->sockaddr = *sa;
  uv_timer_init(&loop, &p->retry);
  p->retry.data = p.get();
  Peer* raw = p.get();
  peers[id] = std::move(p);
  connect_peer(raw);
  return raw;
}

Status Server::Impl::listen(uv_tcp_t* listener, const Address& at, uv_connection_cb cb) {
  Result<sockaddr_storage> sa = resolve(at);
  if (!sa) return sa.status();
  uv_tcp_init(&loop, listener);
  listener->data = this;
  int rc = uv_tcp_bind(listener, reinterpret_cast<const sockaddr*>(&*sa), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener), 511, cb);
  if (rc != 0) {
    return Status::unavailable("cannot listen on " + at.to_string() + ": " + uv_strerror(rc));
  }
  return Status::ok();
}

// ---- connections ----

void Server::Impl::on_accept(uv_stream_t* listener, Conn::Kind kind) {
  const size_t max_frame =
      kind == Conn::Kind::kClient ? api::kMaxClientFrameBytes : api::kMaxPeerFrameBytes;
  auto* c = new Conn(kind, next_conn_id++, max_frame);
  uv_tcp_init(&loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
             [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->remote = remote_name(&c->tcp);
  conns[c->id] = c;
  if (c->is_client()) {
    ++client_conns;
    if (client_conns > config.max_client_connections) {
      const Status s = Status::overloaded("too many client connections (limit " +
                                          std::to_string(config.max_client_connections) + ")");
      if (kind == Conn::Kind::kResp) {
        queue_raw(c, api::resp::error_for(s));
      } else if (kind == Conn::Kind::kHttp) {
        queue_raw(
            c, "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      } else {
        api::Response r;
        r.status = s;
        reply(c, r);
      }
      c->close_after_flush = true;
      return;
    }
  }
  if (kind == Conn::Kind::kResp) start_resp(c);
  if (kind == Conn::Kind::kHttp) start_http(c);
  start_reading(c);
}

void Server::Impl::start_reading(Conn* c) {
  if (c->reading || c->closing) return;
  c->reading = true;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<Impl*>(h->loop->data);
        *buf = uv_buf_init(self->read_buf, sizeof(self->read_buf));
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* c = static_cast<Conn*>(s->data);
        static_cast<Impl*>(s->loop->data)->on_read(c, n, buf);
      });
}

void Server::Impl::on_read(Conn* c, ssize_t n, const uv_buf_t* buf) {
  if (n < 0) {
    close_conn(c, n == UV_EOF ? "closed by the other side" : uv_strerror(static_cast<int>(n)));
    return;
  }
  if (n == 0 || c->closing) return;
  if (c->close_after_flush) {  // refused: what else it sends is not read, or buffered
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    c->reading = false;
    return;
  }
  if (c->kind == Conn::Kind::kHttp) {
    if (!c->http->feed(buf->base, static_cast<size_t>(n))) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
      c->reading = false;
    }
    if (c->reading &&
        (c->http->pending() >= config.max_inflight_per_connection ||
         c->out.size() + c->writing.size() > config.max_output_bytes_per_connection)) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));  // resumed by on_output / a write
      c->reading = false;
    }
    return;
  }
  if (c->kind == Conn::Kind::kResp) {
    c->resp_parser->feed(buf->base, static_cast<size_t>(n));
  } else {
    c->reader.feed(buf->base, static_cast<size_t>(n));
  }
  process_frames(c);
}

void Server::Impl::process_frames(Conn* c) {
  if (c->kind == Conn::Kind::kResp) {
    process_resp(c);
    return;
  }
  std::string_view payload;
  size_t claimed = 0;
  while (!c->closing && !c->close_after_flush) {
    if (c->kind == Conn::Kind::kClient &&
        (c->inflight >= config.max_inflight_per_connection ||
         c->out.size() + c->writing.size() > config.max_output_bytes_per_connection)) {
      // Backpressure: stop reading until the core answers some requests, or until a
      // client that does not read its answers drains them.
      if (c->reading) uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
      c->reading = false;
      return;
    }
    api::FrameReader::Next next = c->reader.next(&payload, &claimed);
    if (next == api::FrameReader::Next::kNeedMore) break;
    if (next == api::FrameReader::Next::kTooLarge) {
      const size_t limit =
          c->kind == Conn::Kind::kClient ? api::kMaxClientFrameBytes : api::kMaxPeerFrameBytes;
      spdlog::warn("{}: frame of {} bytes exceeds the {}-byte limit; closing the connection",
                   c->remote, claimed, limit);
      if (c->kind == Conn::Kind::kClient) {
        api::Response r;
        r.status = Status::too_large("frame of " + std::to_string(claimed) +
                                     " bytes exceeds the limit of " + std::to_string(limit) +
                                     " bytes; closing the connection");
        reply(c, r);
        c->close_after_flush = true;
      } else {
        close_conn(c, "oversized frame");
      }
      return;
    }
    bool keep = c->kind == Conn::Kind::kClient   ? handle_client_frame(c, payload)
                : c->kind == Conn::Kind::kPeerIn ? handle_peer_in_frame(c, payload)
                                                 : handle_peer_out_frame(c, payload);
    if (!keep) return;
  }
  if (!c->reading && !c->closing && !c->close_after_flush && !draining) start_reading(c);
}

bool Server::Impl::handle_client_frame(Conn* c, std::string_view payload) {
  uint64_t id = 0;
  Result<api::Request> req = api::decode_request(payload, &id);
  api::Response r;
  r.id = id;
  if (!req) {
    r.status = req.status();
    reply(c, r);
    return true;
  }
  if (req->op == api::Op::kPing) {
    r.node = config.node_id;
    // Reachable: connected, and not convicted by the failure detector (a partition
    // that drops packets leaves the TCP connection up).
    for (const auto& [pid, p] : peers) {
      if (p->ready && !is_seed_name(pid) && !node->is_down(pid)) r.peers.push_back(pid);
    }
    reply(c, r);
    return true;
  }
  if (api::is_admin(req->op)) {
    handle_admin(*req, &r);
    reply(c, r);
    return true;
  }
  ++c->inflight;
  submit(std::move(req).value(), [this, conn_id = c->id](api::Response a) {
    auto it = conns.find(conn_id);
    if (it == conns.end()) return;  // the client went away
    Conn* conn = it->second;
    --conn->inflight;
    reply(conn, a);
    if (!conn->reading && !draining) resume.push_back(conn_id);
  });
  return true;
}

void Server::Impl::submit(api::Request req, std::function<void(api::Response)> done) {
  api::Response r;
  r.id = req.id;
  if (draining) {
    r.status = Status::unavailable("node " + config.node_id + " is shutting down");
  } else if (node->pending_requests() >= config.max_pending_requests) {
    r.status = Status::overloaded(
        "node " + config.node_id + " has " + std::to_string(node->pending_requests()) +
        " requests in flight (limit " + std::to_string(config.max_pending_requests) + ")");
  }
  Result<core::ClientRequest> creq =
      r.status.is_ok() ? api::to_core(req) : Result<core::ClientRequest>(r.status);
  if (!creq) {
    r.status = creq.status();
    done(std::move(r));
    return;
  }
  // The answer needs only the request's identity; drop the payload.
  api::Request head;
  head.id = req.id;
  head.op = req.op;
  head.bucket = std::move(req.bucket);
  head.key = std::move(req.key);
  const uint64_t start_ns = uv_hrtime();
  node->on_client_request(std::move(creq).value(),
                          [this, head = std::move(head), done = std::move(done), start_ns,
                           cons = Metrics::consistency_label(req.options)](core::ClientResponse a) {
                            api::Response r = api::to_response(head, std::move(a));
                            metrics.observe(head.op, cons, r.status.code(),
                                            static_cast<double>(uv_hrtime() - start_ns) / 1e9);
                            done(std::move(r));
                          });
}

void Server::Impl::start_resp(Conn* c) {
  c->resp_parser = std::make_unique<api::resp::Parser>();
  api::resp::Session::Hooks hooks;
  hooks.submit = [this](api::Request r, api::resp::Session::Done done) {
    submit(std::move(r), std::move(done));
  };
  hooks.on_output = [this, conn_id = c->id] {
    auto it = conns.find(conn_id);
    if (it == conns.end()) return;
    Conn* conn = it->second;
    queue_raw(conn, conn->resp->take_output());
    if (conn->resp->wants_close()) conn->close_after_flush = true;
    if (!conn->reading && !draining) resume.push_back(conn_id);
  };
  hooks.info = [this] { return info_text(); };
  c->resp = api::resp::Session::make(std::move(hooks));
}

void Server::Impl::process_resp(Conn* c) {
  std::vector<std::string> args;
  std::string error;
  while (!c->closing && !c->close_after_flush) {
    if (c->resp->pending() >= config.max_inflight_per_connection ||
        c->out.size() + c->writing.size() > config.max_output_bytes_per_connection) {
      if (c->reading) uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
      c->reading = false;
      return;
    }
    api::resp::Parser::Next next = c->resp_parser->next(&args, &error);
    if (next == api::resp::Parser::Next::kNeedMore) break;
    if (next == api::resp::Parser::Next::kError) {
      spdlog::warn("{}: RESP {}; closing the connection", c->remote, error);
      queue_raw(c, c->resp->take_output());
      queue_raw(c, api::resp::error("ERR " + error));
      c->close_after_flush = true;
      return;
    }
    c->resp->command(std::move(args));
  }
  if (!c->reading && !c->closing && !c->close_after_flush && !draining) start_reading(c);
}

void Server::Impl::start_http(Conn* c) {
  api::http::Session::Hooks hooks;
  hooks.submit = [this](api::Request r, api::http::Session::Done done) {
    submit(std::move(r), std::move(done));
  };
  hooks.on_output = [this, conn_id = c->id] {
    auto it = conns.find(conn_id);
    if (it == conns.end()) return;
    Conn* conn = it->second;
    queue_raw(conn, conn->http->take_output());
    if (conn->http->wants_close()) conn->close_after_flush = true;
    if (!conn->reading && !conn->close_after_flush && !draining &&
        conn->http->pending() < config.max_inflight_per_connection) {
      start_reading(conn);
    }
  };
  hooks.node_id = [this] { return config.node_id; };
  hooks.dashboard = [] { return std::string(kDashboardHtml); };
  hooks.status_json = [this] { return status_json(); };
  hooks.metrics_text = [this] {
    return metrics.render(*node, {store->approximate_size(), client_conns});
  };
  c->http = api::http::Session::make(std::move(hooks));
}

std::string Server::Impl::sync_json(const core::MemberView& v) const {
  if (!ring_peer(v)) return "null";
  return std::string("{\"in_sync\":") + (v.sync.in_sync ? "true" : "false") +
         ",\"since_ms\":" + std::to_string(v.sync.since_wall_ms) +
         ",\"unconfirmed\":" + std::to_string(v.sync.unconfirmed) + "}";
}

std::string Server::Impl::status_json() {
  std::string out = "{\"node\":" + text::json_string(config.node_id) + ",\"members\":[";
  bool first = true;
  for (const core::MemberView& v : node->members_view()) {
    char num[128];
    std::snprintf(num, sizeof(num), ",\"phi\":%.3f,\"ownership\":%.5f,\"generation\":%llu", v.phi,
                  v.ownership, static_cast<unsigned long long>(v.state.generation));
    out += std::string(first ? "" : ",") + "{\"id\":" + text::json_string(v.state.id) +
           ",\"status\":" + text::json_string(std::string(core::status_name(v.state.status))) +
           ",\"self\":" + (v.state.id == config.node_id ? "true" : "false") +
           ",\"down\":" + (v.down ? "true" : "false") + num + ",\"hints\":" +
           std::to_string(v.state.id == config.node_id ? node->hints_held() : v.state.hints) +
           ",\"hints_here\":" + std::to_string(v.hints_here) +
           ",\"handoff_keys\":" + std::to_string(v.state.handoff_keys) +
           ",\"client\":" + text::json_string(v.state.client_address) +
           ",\"sync\":" + sync_json(v) + "}";
    first = false;
  }
  const core::HandoffProgress& h = node->handoff();
  const core::AntiEntropyStats& ae = node->anti_entropy();
  // Hex, as `shoal cluster ring` prints it, so the two can be compared at a glance.
  char fingerprint[17];
  std::snprintf(fingerprint, sizeof fingerprint, "%016llx",
                static_cast<unsigned long long>(node->ring().fingerprint()));
  out += "],\"ring\":{\"size\":" + std::to_string(node->ring().size()) +
         ",\"fingerprint\":" + text::json_string(fingerprint) +
         "},\"hints\":{\"held\":" + std::to_string(node->hints_held()) +
         ",\"replayed\":" + std::to_string(node->hints_replayed()) +
         "},\"handoff\":{\"active\":" + (h.active ? "true" : "false") +
         ",\"not_owned\":" + std::to_string(h.not_owned) +
         ",\"sent\":" + std::to_string(h.keys_sent) +
         ",\"dropped\":" + std::to_string(h.keys_dropped) +
         ",\"inflight\":" + std::to_string(h.inflight) +
         "},\"anti_entropy\":{\"exchanges\":" + std::to_string(ae.exchanges) +
         ",\"keys_repaired\":" + std::to_string(ae.keys_repaired) +
         "},\"in_sync\":" + (node->in_sync() ? "true" : "false") +
         ",\"actor_renewals\":" + std::to_string(node->actor_renewals()) +
         ",\"duplicates_answered\":" + std::to_string(node->duplicates_answered()) +
         ",\"pending_requests\":" + std::to_string(node->pending_requests()) +
         ",\"client_connections\":" + std::to_string(client_conns) +
         ",\"traffic\":{\"requests\":" + std::to_string(metrics.requests()) +
         ",\"seconds\":" + std::to_string(metrics.seconds()) + "}}";
  return out;
}

std::string Server::Impl::info_text() {
  std::string out = "# Server\r\nredis_version:7.0.0-shoal\r\nshoal_node:" + config.node_id +
                    "\r\nclient_address:" + config.client.to_string() + "\r\n# Cluster\r\n";
  out += "ring_size:" + std::to_string(node->ring().size()) + "\r\n";
  out += "members:" + std::to_string(node->membership().states().size()) + "\r\n";
  out += "hints_held:" + std::to_string(node->hints_held()) + "\r\n";
  out += "pending_requests:" + std::to_string(node->pending_requests()) + "\r\n";
  // The convergence signal: 1 when every ring peer's data is known equal here and no
  // hints or handoff are pending; then each peer's view.
  out += std::string("in_sync:") + (node->in_sync() ? "1" : "0") + "\r\n";
  for (const core::MemberView& v : node->members_view()) {
    if (!ring_peer(v)) continue;
    out += "peer_" + v.state.id + ":in_sync=" + (v.sync.in_sync ? "1" : "0") +
           ",unconfirmed=" + std::to_string(v.sync.unconfirmed) + ",down=" + (v.down ? "1" : "0") +
           ",hints_here=" + std::to_string(v.hints_here) + "\r\n";
  }
  out += "actor_renewals:" + std::to_string(node->actor_renewals()) + "\r\n";
  out += "duplicates_answered:" + std::to_string(node->duplicates_answered()) + "\r\n";
  return out;
}

bool Server::Impl::handle_admin(const api::Request& req, api::Response* r) {
  r->node = config.node_id;
  if (req.op == api::Op::kLeave) {
    r->status = node->leave();
    if (r->status.is_ok()) spdlog::info("leaving the cluster: handing off all data first");
    return true;
  }
  if (req.op == api::Op::kRemove) {
    r->status = node->remove(req.key);
    if (r->status.is_ok()) spdlog::info("removed {} from the cluster", req.key);
    return true;
  }
  if (req.op == api::Op::kChaos) {
    Result<std::string> rules = node->chaos(req.key);
    r->status = rules.status();
    if (rules) {
      r->chaos = *rules;
      spdlog::warn("chaos: '{}'; rules now: {}", req.key, rules->empty() ? "none" : *rules);
    }
    return true;
  }
  for (const core::MemberView& v : node->members_view()) {
    api::MemberInfo m;
    m.id = v.state.id;
    m.status = std::string(core::status_name(v.state.status));
    m.peer_address = v.state.peer_address;
    m.client_address = v.state.client_address;
    m.generation = v.state.generation;
    m.down = v.down;
    m.phi = v.phi;
    m.ownership = v.ownership;
    m.hints_here = v.hints_here;
    m.hints = v.state.id == config.node_id ? node->hints_held() : v.state.hints;
    m.handoff_keys =
        v.state.id == config.node_id ? node->handoff().not_owned : v.state.handoff_keys;
    if (ring_peer(v)) {
      m.sync_known = true;
      m.in_sync = v.sync.in_sync;
      m.sync_since_ms = v.sync.since_wall_ms;
      m.unconfirmed = v.sync.unconfirmed;
    }
    r->members.push_back(std::move(m));
  }
  const core::HandoffProgress& h = node->handoff();
  const core::AntiEntropyStats& ae = node->anti_entropy();
  r->stats = {{"actor_renewals", static_cast<int64_t>(node->actor_renewals())},
              {"ae_differences", static_cast<int64_t>(ae.differing_leaves)},
              {"ae_exchanges", static_cast<int64_t>(ae.exchanges)},
              {"ae_keys_repaired", static_cast<int64_t>(ae.keys_repaired)},
              {"ae_keys_sent", static_cast<int64_t>(ae.keys_sent)},
              {"chaos_dropped", static_cast<int64_t>(node->faults().dropped)},
              {"duplicates_answered", static_cast<int64_t>(node->duplicates_answered())},
              {"gossip_rounds", static_cast<int64_t>(node->gossip_rounds())},
              {"handoff_active", h.active ? 1 : 0},
              {"handoff_dropped", static_cast<int64_t>(h.keys_dropped)},
              {"handoff_inflight", static_cast<int64_t>(h.inflight)},
              {"handoff_not_owned", static_cast<int64_t>(h.not_owned)},
              {"handoff_sent", static_cast<int64_t>(h.keys_sent)},
              {"hints_held", static_cast<int64_t>(node->hints_held())},
              {"hints_replayed", static_cast<int64_t>(node->hints_replayed())},
              {"in_sync", node->in_sync() ? 1 : 0},
              {"ring_fingerprint", static_cast<int64_t>(node->ring().fingerprint())},
              {"ring_size", static_cast<int64_t>(node->ring().size())}};
  return true;
}

bool Server::Impl::handle_peer_in_frame(Conn* c, std::string_view payload) {
  if (!c->welcomed) {
    Result<api::Hello> hello = api::decode_hello(payload);
    Status refusal;
    if (!hello) {
      refusal = hello.status();
    } else if (hello->version != api::kProtocolVersion) {
      refusal = Status::invalid_argument("protocol version " + std::to_string(hello->version) +
                                         " (this node speaks " +
                                         std::to_string(api::kProtocolVersion) + ")");
    } else if (hello->secret != config.secret) {
      refusal = Status::unauthorized("wrong cluster secret");
    } else if (hello->node == config.node_id || hello->node.empty() ||
               hello->node.size() > core::kMaxNodeIdBytes || is_seed_name(hello->node)) {
      refusal = Status::unauthorized("bad node id \"" + hello->node + "\"");
    }
    if (!refusal.is_ok()) {
      spdlog::error("refused peer connection from {} (claims to be {}): {}", c->remote,
                    hello ? hello->node : "?", refusal.to_string());
      queue(c, api::encode_welcome(refusal, config.node_id));
      c->close_after_flush = true;
      return false;
    }
    c->welcomed = true;
    c->peer = hello->node;
    if (!hello->peer_address.empty() && hello->peer_address.size() <= core::kMaxAddressBytes &&
        (hello_addresses.size() < core::kMaxMembers || hello_addresses.count(c->peer))) {
      hello_addresses[c->peer] = hello->peer_address;
    }
    queue(c, api::encode_welcome(Status::ok(), config.node_id));
    spdlog::debug("peer {} connected from {}", c->peer, c->remote);
    dial_back(c->peer);
    return true;
  }
  Result<core::Message> m = api::decode_message(payload);
  if (!m) {
    spdlog::warn("peer {} ({}): {}; closing the connection", c->peer, c->remote,
                 m.status().to_string());
    close_conn(c, "bad peer frame");
    return false;
  }
  node->on_message(c->peer, *m);
  return true;
}

bool Server::Impl::handle_peer_out_frame(Conn* c, std::string_view payload) {
  Peer* p = peers.at(c->peer).get();
  if (c->welcomed) {  // peers answer on their own connection, never on ours
    close_conn(c, "unexpected frame");
    return false;
  }
  Result<std::string> welcome = api::decode_welcome(payload);
  if (!welcome) {
    spdlog::error("peer {} at {} refused our hello: {}", p->id, p->address.to_string(),
                  welcome.status().to_string());
    p->backoff_ms = 1'000;  // a refusal will not fix itself soon
    close_conn(c, "refused");
    return false;
  }
  c->welcomed = true;
  p->ready = true;
  p->connecting = false;
  p->backoff_ms = 0;
  if (p->down_logged || !p->queued.empty()) {
    spdlog::info("peer {} at {} is reachable", p->id, p->address.to_string());
  }
  p->down_logged = false;
  p->overflow_logged = false;
  c->out.append(p->queued);
  p->queued.clear();
  dirty.insert(c);
  if (!is_seed_name(p->id)) node->on_peer_status(p->id, true);
  return true;
}

void Server::Impl::reply(Conn* c, const api::Response& r) { queue(c, api::encode_response(r)); }

void Server::Impl::queue_raw(Conn* c, std::string_view bytes) {
  c->out.append(bytes);
  dirty.insert(c);
}

void Server::Impl::queue(Conn* c, std::string_view payload) {
  api::append_frame(&c->out, payload);
  dirty.insert(c);
}

void Server::Impl::flush(Conn* c) {
  if (c->closing || c->write_busy) return;
  if (c->out.empty()) {
    if (c->close_after_flush) close_conn(c, "after the last reply");
    return;
  }
  c->writing.swap(c->out);
  c->out.clear();
  c->write_busy = true;
  c->write_req.data = c;
  uv_buf_t b = uv_buf_init(c->writing.data(), static_cast<unsigned>(c->writing.size()));
  uv_write(&c->write_req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1,
           [](uv_write_t* req, int status) {
             auto* c = static_cast<Conn*>(req->data);
             auto* self = static_cast<Impl*>(req->handle->loop->data);
             c->write_busy = false;
             c->writing.clear();
             if (c->closing) return;
             if (status < 0) {
               self->close_conn(c, uv_strerror(status));
               return;
             }
             // What queued meanwhile was committed by an earlier end_turn (frames only
             // reach `out` from end_turn, or are replies needing no storage), so it can
             // go now; waiting for the check phase could wait for the next event.
             self->flush(c);
             if (c->kind == Conn::Kind::kHttp) {
               if (!c->reading && !c->close_after_flush && !self->draining &&
                   c->http->pending() < self->config.max_inflight_per_connection &&
                   c->out.size() < self->config.max_output_bytes_per_connection) {
                 self->start_reading(c);
               }
             } else if (c->is_client() && !c->reading && !self->draining) {
               // Paused on its output: read again from the next turn (the idle handle
               // keeps the loop from blocking in poll before that turn's check).
               self->resume.push_back(c->id);
               uv_idle_start(&self->wake, [](uv_idle_t* h) { uv_idle_stop(h); });
             }
           });
}

// One loop turn ends: commit the turn's writes, then send what the turn produced.
void Server::Impl::end_turn() {
  node->end_turn();
  // Connections paused at their in-flight limit read their buffered frames now; their
  // requests form one more core turn.
  while (!resume.empty()) {
    auto ids = std::move(resume);
    resume.clear();
    for (uint64_t id : ids) {
      auto it = conns.find(id);
      if (it != conns.end() && !it->second->reading) process_frames(it->second);
    }
    node->end_turn();
  }
  auto batch = std::move(dirty);
  dirty.clear();
  for (Conn* c : batch) flush(c);
  if (!draining && node->wants_stop()) {
    begin_drain(node->membership().self().status == core::MemberStatus::kLeft
                    ? "left the cluster"
                    : "removed from the cluster");
  }
}

void Server::Impl::close_conn(Conn* c, std::string_view why) {
  if (c->closing) return;
  c->closing = true;
  conns.erase(c->id);
  dirty.erase(c);
  if (c->is_client()) --client_conns;
  if (c->kind == Conn::Kind::kPeerOut) {
    auto it = peers.find(c->peer);
    if (it != peers.end() && it->second->conn == c) {
      peer_failed(it->second.get(), why);
    }
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
           [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
}

// ---- peers ----

void Server::Impl::send(const std::string& to, const core::Message& message) {
  Peer* p = peer_for(to);
  if (p == nullptr || p->retired) return;  // no address known (yet): like a lost message
  std::string payload = api::encode_message(message);
  if (p->ready && p->conn) {
    // A peer that cannot keep up loses messages beyond the bound instead of growing our
    // memory; the coordinators waiting on them time out (as on a lossy network).
    if (p->conn->out.size() + p->conn->writing.size() + payload.size() <=
        config.max_peer_queue_bytes) {
      queue(p->conn, payload);
    } else if (!p->overflow_logged) {
      spdlog::warn("peer {} is not keeping up: over {} bytes queued; dropping messages", p->id,
                   config.max_peer_queue_bytes);
      p->overflow_logged = true;
    }
  } else if (p->connecting && p->queued.size() + payload.size() <= config.max_peer_queue_bytes) {
    api::append_frame(&p->queued, payload);
  }
  // Otherwise the peer is unreachable: the core already stopped counting on it.
}

void Server::Impl::connect_peer(Peer* p) {
  if (draining) return;
  auto* c = new Conn(Conn::Kind::kPeerOut, next_conn_id++, api::kMaxClientFrameBytes);
  c->peer = p->id;
  c->remote = p->address.to_string();
  uv_tcp_init(&loop, &c->tcp);
  c->tcp.data = c;
  uv_tcp_nodelay(&c->tcp, 1);
  conns[c->id] = c;
  p->conn = c;
  p->connecting = true;
  auto* req = new uv_connect_t;
  req->data = c;
  int rc = uv_tcp_connect(
      req, &c->tcp, reinterpret_cast<const sockaddr*>(&p->sockaddr),
      [](uv_connect_t* req, int status) {
        auto* c = static_cast<Conn*>(req->data);
        auto* self = static_cast<Impl*>(req->handle->loop->data);
        delete req;
        if (c->closing) return;
        if (status < 0) {
          self->close_conn(c, uv_strerror(status));
          return;
        }
        self->start_reading(c);
        api::Hello hello{
            api::kProtocolVersion, self->config.node_id, self->config.secret,
            (self->config.advertise_peer ? *self->config.advertise_peer : self->config.peer)
                .to_string()};
        self->queue(c, api::encode_hello(hello));
      });
  if (rc != 0) {
    delete req;
    close_conn(c, uv_strerror(rc));
  }
}

// A peer dialled us, so it is up now (a restart, typically). If our own connection to it is
// down and waiting out its redial backoff (up to 1 s), dial at once: what we send it until
// then (the answers to its first requests above all) waits in the queue of a connection
// being made instead of being dropped, which left a restarted node's first requests
// waiting out their timeout. A peer we stopped dialling because it left or was removed
// and that comes back (restarted: a new generation) is dialled again too.
void Server::Impl::dial_back(const std::string& id) {
  if (draining) return;
  Peer* p = peer_for(id);  // a peer not known yet is created and dialled here
  if (p == nullptr || p->ready || p->connecting) return;
  p->retired = false;
  uv_timer_stop(&p->retry);
  p->backoff_ms = 0;
  connect_peer(p);
}

void Server::Impl::peer_failed(Peer* p, std::string_view why) {
  const bool was_ready = p->ready;
  p->conn = nullptr;
  p->ready = false;
  p->connecting = false;
  p->queued.clear();
  if (!is_seed_name(p->id)) node->on_peer_status(p->id, false);
  if (draining) return;
  if (const core::MemberState* st = node->membership().find(p->id);
      st &&
      (st->status == core::MemberStatus::kLeft || st->status == core::MemberStatus::kRemoved)) {
    spdlog::info("peer {} is {}; no longer dialling it", p->id, core::status_name(st->status));
    p->retired = true;
    return;
  }
  if (was_ready || !p->down_logged) {
    spdlog::warn("peer {} at {} unreachable ({}); retrying", p->id, p->address.to_string(), why);
    p->down_logged = true;
  }
  // Exponential backoff 50 ms .. 1 s with jitter, so restarts do not reconnect in step.
  p->backoff_ms = std::clamp<uint32_t>(p->backoff_ms * 2, 50, 1'000);
  const uint64_t delay = p->backoff_ms / 2 + rng.below(p->backoff_ms / 2 + 1);
  uv_timer_start(
      &p->retry,
      [](uv_timer_t* t) {
        auto* p = static_cast<Peer*>(t->data);
        static_cast<Impl*>(t->loop->data)->connect_peer(p);
      },
      delay, 0);
}

// ---- core timers: one uv timer armed for the earliest deadline ----

void Server::Impl::schedule(uint64_t timer_id, uint64_t delay_ms) {
  cancel(timer_id);
  timer_index[timer_id] = deadlines.emplace(uv_now(&loop) + delay_ms, timer_id);
  arm_timer();
}

void Server::Impl::cancel(uint64_t timer_id) {
  auto it = timer_index.find(timer_id);
  if (it == timer_index.end()) return;
  deadlines.erase(it->second);
  timer_index.erase(it);
  // The uv timer may stay armed for the cancelled deadline; it then fires and re-arms.
}

void Server::Impl::arm_timer() {
  if (deadlines.empty()) return;
  const uint64_t first = deadlines.begin()->first;
  if (first == armed_deadline && uv_is_active(reinterpret_cast<uv_handle_t*>(&core_timer))) return;
  armed_deadline = first;
  const uint64_t now = uv_now(&loop);
  uv_timer_start(
      &core_timer, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->fire_timers(); },
      first > now ? first - now : 0, 0);
}

void Server::Impl::fire_timers() {
  armed_deadline = UINT64_MAX;
  const uint64_t now = uv_now(&loop);
  while (!deadlines.empty() && deadlines.begin()->first <= now) {
    const uint64_t id = deadlines.begin()->second;
    deadlines.erase(deadlines.begin());
    timer_index.erase(id);
    node->on_timer(id);
  }
  arm_timer();
}

// ---- shutdown ----

void Server::Impl::begin_drain(const char* signal_name) {
  if (draining) return;
  draining = true;
  spdlog::info("{}: draining {} in-flight requests, then closing", signal_name,
               node->pending_requests());
  uv_close(reinterpret_cast<uv_handle_t*>(&client_listener), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&peer_listener), nullptr);
  if (config.resp) uv_close(reinterpret_cast<uv_handle_t*>(&resp_listener), nullptr);
  if (config.http) uv_close(reinterpret_cast<uv_handle_t*>(&http_listener), nullptr);
  drain_deadline_ms = uv_now(&loop) + config.drain_timeout_ms;
  uv_timer_start(
      &drain_timer, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->check_drain(); }, 0, 20);
}

void Server::Impl::check_drain() {
  bool writes_pending = false;
  for (const auto& [id, c] : conns) {
    if (c->is_client() && (c->write_busy || !c->out.empty())) writes_pending = true;
  }
  if ((node->pending_requests() > 0 || writes_pending) && uv_now(&loop) < drain_deadline_ms) {
    return;
  }
  if (node->pending_requests() > 0) {
    spdlog::warn("drain timed out with {} requests in flight", node->pending_requests());
  }
  shutdown();
}

void Server::Impl::shutdown() {
  end_turn();
  Status s = store->flush(true);
  if (!s.is_ok()) spdlog::error("final flush failed: {}", s.to_string());
  std::vector<Conn*> all;
  for (auto& [id, c] : conns) all.push_back(c);
  for (Conn* c : all) close_conn(c, "shutdown");
  for (auto& [id, p] : peers) uv_close(reinterpret_cast<uv_handle_t*>(&p->retry), nullptr);
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&check), reinterpret_cast<uv_handle_t*>(&wake),
        reinterpret_cast<uv_handle_t*>(&core_timer), reinterpret_cast<uv_handle_t*>(&drain_timer),
        reinterpret_cast<uv_handle_t*>(&sigint), reinterpret_cast<uv_handle_t*>(&sigterm)}) {
    uv_close(h, nullptr);
  }
}

// ---- Server ----

Result<std::unique_ptr<Server>> Server::open(ServerConfig config) {
  bool self_listed = false;
  for (const Member& m : config.members) self_listed = self_listed || m.id == config.node_id;
  if (!self_listed) config.members.push_back({config.node_id, config.peer});
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  Status s = impl->init();
  if (!s.is_ok()) {
    if (impl->loop.data) {
      uv_walk(
          &impl->loop,
          [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
          },
          nullptr);
      uv_run(&impl->loop, UV_RUN_DEFAULT);
      uv_loop_close(&impl->loop);
    }
    return s;
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (!impl_) return;
  impl_->node.reset();
  impl_->store.reset();  // closes the DB
}

int Server::run() {
  Impl& s = *impl_;
  signal(SIGPIPE, SIG_IGN);
  uv_signal_init(&s.loop, &s.sigint);
  uv_signal_init(&s.loop, &s.sigterm);
  s.sigint.data = s.sigterm.data = &s;
  uv_signal_start(
      &s.sigint, [](uv_signal_t* h, int) { static_cast<Impl*>(h->data)->begin_drain("SIGINT"); },
      SIGINT);
  uv_signal_start(
      &s.sigterm, [](uv_signal_t* h, int) { static_cast<Impl*>(h->data)->begin_drain("SIGTERM"); },
      SIGTERM);
  spdlog::info("node {} serving clients on {}, peers on {}", s.config.node_id,
               s.config.client.to_string(), s.config.peer.to_string());
  uv_run(&s.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&s.loop);
  if (rc != 0) spdlog::warn("loop closed with handles open: {}", uv_strerror(rc));
  s.node.reset();
  s.store.reset();
  spdlog::info("node {} stopped; database closed", s.config.node_id);
  return 0;
}

}  // namespace shoal::uvshell
