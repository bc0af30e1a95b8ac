// Server::Impl: connection limits (server_impl.h; docs/limits.md has the table). Whoever
// can reach a port must not be able to exhaust the node's memory or its client slots:
// - peer port: a connection is a stranger until its hello is accepted. Its frames are at
//   most api::kMaxHandshakeFrameBytes, the hello must come within
//   peer_handshake_timeout_ms, and strangers are capped per node and per address; over a
//   cap the oldest stranger in that scope makes room (a real peer says hello within a
//   round trip, so it is the newest, not the oldest).
// - client ports (native, RESP, HTTP): slots are capped per node and per address; over a
//   cap, a newcomer takes the slot of the longest-idle client in that scope (idle for at
//   least client_reap_idle_ms), else it is refused with overloaded. Quiet clients are
//   closed after client_idle_timeout_ms, and an HTTP request must arrive at a minimum
//   pace (slow-loris).
// One timer sweeps every connection each second for the deadlines.
#include <spdlog/spdlog.h>

#include "node/uv/server_impl.h"

namespace shoal::uvshell {

namespace {

constexpr uint64_t kSweepMs = 1'000;
constexpr uint64_t kLogEveryMs = 10'000;

// The HTTP watcher's callbacks (Conn::HttpPace): where requests begin and end.
const http_parser_settings& pace_settings() {
  static const http_parser_settings settings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_message_begin = [](http_parser* p) {
      auto* pace = static_cast<Conn::HttpPace*>(p->data);
      pace->request_ms = pace->now_ms;
      pace->body_ms = 0;
      pace->body_bytes = 0;
      return 0;
    };
    s.on_headers_complete = [](http_parser* p) {
      auto* pace = static_cast<Conn::HttpPace*>(p->data);
      pace->body_ms = pace->now_ms;
      return 0;
    };
    s.on_body = [](http_parser* p, const char*, size_t n) {
      static_cast<Conn::HttpPace*>(p->data)->body_bytes += n;
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      auto* pace = static_cast<Conn::HttpPace*>(p->data);
      pace->request_ms = pace->body_ms = 0;
      return 0;
    };
    return s;
  }();
  return settings;
}

void count_down(std::map<std::string, size_t, std::less<>>* counts, const std::string& key) {
  auto it = counts->find(key);
  if (it != counts->end() && --it->second == 0) counts->erase(it);
}

size_t count_of(const std::map<std::string, size_t, std::less<>>& counts, const std::string& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

void Server::Impl::start_conn_limits() {
  uv_timer_init(&loop, &limits_timer);
  limits_timer.data = this;
  uv_timer_start(
      &limits_timer, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->sweep_conns(); }, kSweepMs,
      kSweepMs);
  // The listeners keep the loop running; the sweep alone must not (a drained node exits).
  uv_unref(reinterpret_cast<uv_handle_t*>(&limits_timer));
}

void Server::Impl::stop_conn_limits() {
  auto* h = reinterpret_cast<uv_handle_t*>(&limits_timer);
  if (limits_timer.loop != nullptr && !uv_is_closing(h)) uv_close(h, nullptr);
}

Status Server::Impl::admit(Conn* c) {
  if (c->kind == Conn::Kind::kPeerIn) {
    admit_stranger(c);
    return Status::ok();
  }
  return c->is_client() ? admit_client(c) : Status::ok();
}

void Server::Impl::admit_stranger(Conn* c) {
  if (count_of(strangers_by_address, c->address) >= config.max_peer_strangers_per_address) {
    if (Conn* old = oldest_stranger(&c->address)) {
      log_limit("strangers", fmt::format("peer port: too many connections without a hello "
                                         "from {} (limit {} per address); closed the oldest",
                                         c->address, config.max_peer_strangers_per_address));
      close_conn(old, "too many connections without a hello from its address");
    }
  }
  if (strangers >= config.max_peer_strangers) {
    if (Conn* old = oldest_stranger(nullptr)) {
      log_limit("strangers",
                fmt::format("peer port: {} connections without a hello (limit {} "
                            "per node); closed the oldest ({}) for {}",
                            strangers, config.max_peer_strangers, old->remote, c->remote));
      close_conn(old, "too many connections without a hello");
    }
  }
  c->stranger = true;
  ++strangers;
  ++strangers_by_address[c->address];
}

Status Server::Impl::admit_client(Conn* c) {
  const uint64_t now = uv_now(&loop);
  // The per-address cap first: an address over its share gives up its own idle slot, not
  // someone else's.
  const std::string* scopes[] = {&c->address, nullptr};  // nullptr: the whole node
  for (const std::string* scope : scopes) {
    const size_t used = scope ? count_of(clients_by_address, *scope) : client_conns;
    const size_t limit =
        scope ? config.max_client_connections_per_address : config.max_client_connections;
    if (used < limit) continue;
    const std::string what = scope ? fmt::format("from {} (limit {} per address)", *scope, limit)
                                   : fmt::format("(limit {})", limit);
    Conn* idle = idlest_client(scope, now);
    if (idle == nullptr) {
      log_limit("clients refused",
                fmt::format("too many client connections {}; refused {}", what, c->remote));
      return Status::overloaded("too many client connections " + what);
    }
    log_limit("clients reaped",
              fmt::format("too many client connections {}; closed {}, idle for {} s, for {}", what,
                          idle->remote, (now - idle->active_ms) / 1000, c->remote));
    close_conn(idle, "idle, its slot taken by a new connection");
  }
  c->slot = true;
  ++client_conns;
  ++clients_by_address[c->address];
  return Status::ok();
}

void Server::Impl::welcomed_stranger(Conn* c) {
  if (!c->stranger) return;
  c->stranger = false;
  --strangers;
  count_down(&strangers_by_address, c->address);
}

void Server::Impl::end_tls_refusal(Conn* c) {
  if (!c->tls_refusal) return;
  c->tls_refusal = false;
  --tls_refusals;
  // No dirty.insert here: close_conn calls this after taking `c` out of `dirty`; the
  // callers that go on writing (tls_receive, refuse_plaintext) mark `c` dirty themselves.
}

void Server::Impl::release_limits(Conn* c) {
  welcomed_stranger(c);
  end_tls_refusal(c);
  if (!c->slot) return;
  c->slot = false;
  --client_conns;
  count_down(&clients_by_address, c->address);
}

bool Server::Impl::client_quiet(const Conn* c) const {
  if (!c->slot || c->closing || c->close_after_flush || c->write_busy || !c->out.empty() ||
      !c->tls_out.empty()) {
    return false;
  }
  switch (c->kind) {
    case Conn::Kind::kClient:
      return c->inflight == 0;
    case Conn::Kind::kResp:
      return c->resp->pending() == 0;
    case Conn::Kind::kHttp:
      return c->http->pending() == 0 && !c->http->holds_input();
    default:
      return false;
  }
}

Conn* Server::Impl::idlest_client(const std::string* address, uint64_t now) {
  Conn* idlest = nullptr;
  for (const auto& [id, c] : conns) {
    if (!client_quiet(c) || (address && c->address != *address) ||
        now - c->active_ms < config.client_reap_idle_ms) {
      continue;
    }
    if (idlest == nullptr || c->active_ms < idlest->active_ms) idlest = c;
  }
  return idlest;
}

Conn* Server::Impl::oldest_stranger(const std::string* address) {
  Conn* oldest = nullptr;
  for (const auto& [id, c] : conns) {
    if (!c->stranger || c->closing || (address && c->address != *address)) continue;
    if (oldest == nullptr || c->accepted_ms < oldest->accepted_ms) oldest = c;
  }
  return oldest;
}

void Server::Impl::watch_http(Conn* c, const char* data, size_t n) {
  Conn::HttpPace& pace = c->http_pace;
  if (pace.broken) return;
  if (pace.watch.data == nullptr) {
    http_parser_init(&pace.watch, HTTP_REQUEST);
    pace.watch.data = &pace;
  }
  pace.now_ms = uv_now(&loop);
  const size_t parsed = http_parser_execute(&pace.watch, &pace_settings(), data, n);
  // Malformed input, an upgrade, bytes after a last request: the session refuses or ignores
  // them and closes the connection itself.
  if (parsed != n || HTTP_PARSER_ERRNO(&pace.watch) != HPE_OK || pace.watch.upgrade) {
    pace.broken = true;
  }
}

// Only while the node waits on the client alone: while it holds the client's input back or
// owes it answers, the clock starts again (a pipelining client is not slow).
bool Server::Impl::http_too_slow(Conn* c, uint64_t now) {
  Conn::HttpPace& pace = c->http_pace;
  if (pace.request_ms == 0 || pace.broken) return false;
  if (!c->reading || !client_quiet(c)) {
    pace.request_ms = now;
    if (pace.body_ms != 0) {
      pace.body_ms = now;
      pace.body_bytes = 0;
    }
    return false;
  }
  if (pace.body_ms == 0) return now - pace.request_ms >= config.http_header_timeout_ms;
  uint64_t allowed = config.http_body_timeout_ms;
  if (config.http_body_min_bytes_per_s > 0) {
    allowed += pace.body_bytes * 1000 / config.http_body_min_bytes_per_s;
  }
  return now - pace.body_ms >= allowed;
}

bool Server::Impl::request_too_slow(Conn* c, uint64_t now) {
  if (c->tls && !c->tls->established()) {
    return now - c->accepted_ms >= config.http_header_timeout_ms;
  }
  if (c->kind != Conn::Kind::kResp || c->resp_partial_ms == 0) return false;
  if (!c->reading || !client_quiet(c)) {  // paused by the node, not slow: the clock restarts
    c->resp_partial_ms = now;
    c->resp_partial_bytes = 0;
    return false;
  }
  // As an HTTP body: the deadline, plus 1 s per http_body_min_bytes_per_s bytes received.
  uint64_t allowed = config.http_header_timeout_ms;
  if (config.http_body_min_bytes_per_s > 0) {
    allowed += c->resp_partial_bytes * 1000 / config.http_body_min_bytes_per_s;
  }
  return now - c->resp_partial_ms >= allowed;
}

void Server::Impl::sweep_conns() {
  log_peer_states();
  peer_states.keep_only(node->ring().nodes());  // peers that left the ring are forgotten
  const uint64_t now = uv_now(&loop);
  std::vector<Conn*> late, unanswered, idle, slow;
  for (const auto& [id, c] : conns) {
    if (c->closing) continue;
    const bool handshake_late = now - c->accepted_ms >= config.peer_handshake_timeout_ms;
    if (c->stranger && handshake_late) {
      late.push_back(c);
    } else if (c->kind == Conn::Kind::kPeerOut && !c->welcomed && handshake_late) {
      unanswered.push_back(c);  // a dial (or a listener) that hangs: redial instead
    } else if (c->slot && config.client_idle_timeout_ms > 0 &&
               now - c->active_ms >= config.client_idle_timeout_ms &&
               (client_quiet(c) || c->write_busy)) {
      idle.push_back(c);  // quiet, or not reading its answers
    } else if (c->slot && c->kind == Conn::Kind::kHttp && http_too_slow(c, now)) {
      slow.push_back(c);
    } else if ((c->slot || c->tls_refusal) && request_too_slow(c, now)) {
      slow.push_back(c);  // a RESP command or a TLS handshake trickling in
    }
  }
  for (Conn* c : late) {
    log_limit("no hello", fmt::format("peer port: {} sent no hello within {} ms; closed", c->remote,
                                      config.peer_handshake_timeout_ms));
    close_conn(c, "no hello in time");
  }
  for (Conn* c : unanswered) {
    log_limit("handshake " + c->peer,
              fmt::format("peer {} at {}: no welcome within {} ms of dialling; redialling", c->peer,
                          c->remote, config.peer_handshake_timeout_ms));
    close_conn(c, "no welcome in time");
  }
  for (Conn* c : idle) {
    spdlog::debug("client {}: idle for {} s; closed", c->remote, (now - c->active_ms) / 1000);
    close_conn(c, "idle");
  }
  for (Conn* c : slow) {
    if (c->kind != Conn::Kind::kHttp || (c->tls && !c->tls->established())) {
      log_limit("slow request",
                fmt::format("client {}: {} arriving too slowly; closed", c->remote,
                            c->tls && !c->tls->established() ? "TLS handshake" : "RESP command"));
      close_conn(c, "too slow");
      continue;
    }
    const bool in_body = c->http_pace.body_ms != 0;
    log_limit("slow http", fmt::format("HTTP client {}: request {} too slowly; closed", c->remote,
                                       in_body ? "body arriving" : "headers arriving"));
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    c->reading = false;
    queue_raw(c, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    c->close_after_flush = true;
  }
  // The 408s go out at the end of this loop turn, not after the next poll.
  if (!slow.empty()) wake_next_turn();
}

void Server::Impl::log_limit(const std::string& kind, std::string_view line,
                             spdlog::level::level_enum level) {
  auto& [next_ms, unlogged] = limit_logs[kind];
  const uint64_t now = uv_now(&loop);
  if (now < next_ms) {
    ++unlogged;
    return;
  }
  if (unlogged > 0) {
    spdlog::log(level, "{} ({} more like it not logged since the last)", line, unlogged);
  } else {
    spdlog::log(level, "{}", line);
  }
  next_ms = now + kLogEveryMs;
  unlogged = 0;
}

// ---- a client's unread answers (docs/limits.md) ----

bool Server::Impl::client_backlogged(const Conn* c) const {
  const size_t pending = c->kind == Conn::Kind::kResp   ? c->resp->pending()
                         : c->kind == Conn::Kind::kHttp ? c->http->pending()
                                                        : c->inflight;
  if (c->auth_busy) return true;  // its credentials are being checked: the rest waits
  if (pending >= config.max_inflight_per_connection) return true;
  if (c->reads_in_flight >= config.max_reads_in_flight_per_connection) return true;
  const size_t unread = c->out.size() + c->tls_out.size() + c->writing.size();
  const size_t bound = config.max_output_bytes_per_connection;
  if (unread > bound) return true;
  // One more request is always let through when none is in flight (an answer bigger than
  // the bound still gets sent); beyond that the answers to come are counted too.
  return pending > 0 && unread + (pending + 1) * c->answer_bytes > bound;
}

std::function<void(api::Response)> Server::Impl::count_read(
    uint64_t conn_id, api::Op op, std::function<void(api::Response)> done) {
  if (op != api::Op::kGet && op != api::Op::kSetGet && op != api::Op::kCounterGet) return done;
  auto it = conns.find(conn_id);
  if (it == conns.end()) return done;
  ++it->second->reads_in_flight;
  return [this, conn_id, done = std::move(done)](api::Response r) {
    if (auto found = conns.find(conn_id); found != conns.end()) --found->second->reads_in_flight;
    done(std::move(r));
  };
}

void Server::Impl::note_answer(Conn* c, size_t bytes) {
  c->answer_bytes = std::max(bytes, c->answer_bytes - c->answer_bytes / 8);
}

}  // namespace shoal::uvshell
