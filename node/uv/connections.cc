// Server::Impl: client connections (server_impl.h).
#include <spdlog/spdlog.h>

#include "node/api/convert.h"
#include "node/uv/dashboard.h"
#include "node/uv/server_impl.h"

namespace shoal::uvshell {

namespace {

// "ip:port" ("[v6]:port") in *name; in *address, the key per-address caps count by
// (address.h: the IPv4 address, or an IPv6 address's /64); "?" when unknown.
void remote_name(uv_tcp_t* tcp, std::string* name, std::string* address) {
  sockaddr_storage sa{};
  int len = sizeof(sa);
  *name = *address = "?";
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return;
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
  *address = address_key(reinterpret_cast<const sockaddr*>(&sa));
  *name = Address{ip, port}.to_string();
}

}  // namespace

// ---- connections ----

void Server::Impl::on_accept(uv_stream_t* listener, Conn::Kind kind) {
  // A peer-in connection is a stranger until its hello is accepted (peers.cc).
  const size_t max_frame =
      kind == Conn::Kind::kClient ? api::kMaxClientFrameBytes : api::kMaxHandshakeFrameBytes;
  auto* c = new Conn(kind, next_conn_id++, max_frame);
  uv_tcp_init(&loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
             [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  remote_name(&c->tcp, &c->remote, &c->address);
  c->accepted_ms = c->active_ms = uv_now(&loop);
  conns[c->id] = c;
  if (tls) c->tls = api::TlsStream::accept(tls->server(kind == Conn::Kind::kPeerIn));
  if (const Status s = admit(c); !s.is_ok()) {  // a client over a cap (a stranger makes room)
    if (kind == Conn::Kind::kResp) {
      queue_raw(c, api::resp::error_for(s));
    } else if (kind == Conn::Kind::kHttp) {
      queue_raw(c,
                "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    } else {
      api::Response r;
      r.status = s;
      reply(c, r);
    }
    c->close_after_flush = true;
    if (c->tls && tls_refusals < kMaxTlsRefusals) {  // it can read why once TLS is up
      c->tls_refusal = true;
      ++tls_refusals;
      start_reading(c);
    }
    return;
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
        auto* conn = static_cast<Conn*>(s->data);
        static_cast<Impl*>(s->loop->data)->on_read(conn, n, buf);
      });
}

void Server::Impl::on_read(Conn* c, ssize_t n, const uv_buf_t* buf) {
  if (n < 0) {
    close_conn(c, n == UV_EOF ? "closed by the other side" : uv_strerror(static_cast<int>(n)));
    return;
  }
  if (n == 0 || c->closing) return;
  c->active_ms = uv_now(&loop);
  std::string plain;  // TLS: what the ciphertext read holds
  const char* data = buf->base;
  size_t len = static_cast<size_t>(n);
  if (c->tls && (!c->close_after_flush || c->tls_refusal)) {
    if (!tls_receive(c, data, len, &plain)) return;
    if (c->tls_refusal) {  // what it sends is not read; the refusal goes once TLS is up
      if (c->tls->established()) end_tls_refusal(c);
      return;
    }
    data = plain.data();
    len = plain.size();
    if (len == 0) return;  // handshake records only
  }
  if (c->close_after_flush) {  // refused: what else it sends is not read, or buffered
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    c->reading = false;
    return;
  }
  if (c->kind == Conn::Kind::kHttp) {
    watch_http(c, data, len);
    const bool usable = c->http->feed(data, len);
    if (!usable || c->http->holds_input() || !http_may_continue(c)) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));  // resumed by process_http
      c->reading = false;
    }
    return;
  }
  if (c->kind == Conn::Kind::kResp) {
    if (c->resp_partial_ms != 0) c->resp_partial_bytes += len;
    c->resp_parser->feed(data, len);
  } else {
    c->reader.feed(data, len);
  }
  process_frames(c);
}

void Server::Impl::process_frames(Conn* c) {
  if (c->kind == Conn::Kind::kResp) {
    process_resp(c);
    return;
  }
  if (c->kind == Conn::Kind::kHttp) {
    process_http(c);
    return;
  }
  std::string_view payload;
  size_t claimed = 0;
  PeerBatch& batch = peer_batch;
  SHOAL_ASSERT(batch.messages.empty());  // delivered before process_frames returns
  while (!c->closing && !c->close_after_flush) {
    if (c->kind == Conn::Kind::kClient && client_backlogged(c)) {
      // Backpressure: stop reading until the core answers some requests, or until a
      // client that does not read its answers drains them.
      if (c->reading) uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
      c->reading = false;
      return;
    }
    api::FrameReader::Next next = c->reader.next(&payload, &claimed);
    if (next == api::FrameReader::Next::kNeedMore) break;
    if (next == api::FrameReader::Next::kFrame && c->kind == Conn::Kind::kPeerIn && c->welcomed) {
      if (!batch.add(payload)) {
        deliver(c, &batch);
        spdlog::warn("peer {} ({}): {}; closing the connection", c->peer, c->remote,
                     batch.error.to_string());
        close_conn(c, "bad peer frame");
        return;
      }
      if (batch.full()) deliver(c, &batch);
      continue;
    }
    deliver(c, &batch);  // in order: what came before this frame first
    if (next == api::FrameReader::Next::kTooLarge) {
      const size_t limit = c->reader.max_payload_bytes();
      log_limit(
          "frame",
          fmt::format("{}: frame of {} bytes exceeds the {}-byte limit{}; closing the connection",
                      c->remote, claimed, limit,
                      c->kind == Conn::Kind::kPeerIn && !c->welcomed ? " before a hello" : ""));
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
  deliver(c, &batch);
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
  if (req->op == api::Op::kAuth) {
    login(c, std::move(req->user), std::move(req->password), [this, conn_id = c->id, id](Status s) {
      auto it = conns.find(conn_id);
      if (it == conns.end()) return;
      api::Response a;
      a.id = id;
      a.status = std::move(s);
      reply(it->second, a);
    });
    return true;
  }
  // Data requests are authorized in submit(), where every API's pass.
  if (Status s = req->op == api::Op::kPing || api::is_admin(req->op)
                     ? authorize(c, api::access_for(*req), "")
                     : Status::ok();
      !s.is_ok()) {
    r.status = std::move(s);
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
  const api::Op op = req->op;
  submit(c->id, std::move(req).value(),
         count_read(c->id, op, [this, conn_id = c->id](api::Response a) {
           auto it = conns.find(conn_id);
           if (it == conns.end()) return;  // the client went away
           Conn* conn = it->second;
           --conn->inflight;
           reply(conn, a);
           if (!conn->reading && !draining) resume.push_back(conn_id);
         }));
  return true;
}

void Server::Impl::submit(uint64_t conn_id, api::Request&& req,
                          std::function<void(api::Response)> done) {
  api::Response refusal;
  refusal.id = req.id;
  if (auth->enabled()) {  // the one place every API's data request passes
    auto it = conns.find(conn_id);
    const std::optional<api::Access> access = api::access_for(req);
    refusal.status = it == conns.end() ? Status::unavailable("the connection closed")
                     : !access         ? Status::internal("no grant is defined for this request")
                                       : authorize(it->second, access, req.bucket);
  }
  if (draining && refusal.status.is_ok()) {
    refusal.status = Status::unavailable("node " + config.node_id + " is shutting down");
  }
  // The answer needs only the request's identity; the core takes the payload.
  api::Asked asked = api::Asked::of(req);
  const Metrics::Consistency cons = Metrics::consistency_of(req.options);
  Result<core::ClientRequest> creq = refusal.status.is_ok()
                                         ? api::to_core(std::move(req))
                                         : Result<core::ClientRequest>(refusal.status);
  if (!creq) {
    refusal.status = creq.status();
    done(std::move(refusal));
    return;
  }
  const uint64_t start_ns = uv_hrtime();
  node->on_client_request(std::move(creq).value(),
                          [this, asked = std::move(asked), done = std::move(done), start_ns,
                           cons](core::ClientResponse a) {
                            api::Response r = api::to_response(asked, std::move(a));
                            metrics.observe(asked.op, cons, r.status.code(),
                                            static_cast<double>(uv_hrtime() - start_ns) / 1e9);
                            done(std::move(r));
                          });
}

void Server::Impl::start_resp(Conn* c) {
  c->resp_parser = std::make_unique<api::resp::Parser>();
  api::resp::Session::Hooks hooks;
  hooks.submit = [this, conn_id = c->id](api::Request&& r, api::resp::Session::Done done) {
    const api::Op op = r.op;
    submit(conn_id, std::move(r), count_read(conn_id, op, std::move(done)));
  };
  hooks.authenticate = [this, conn_id = c->id](std::string user, std::string password,
                                               std::function<void(Status)> done) {
    auto it = conns.find(conn_id);
    if (it != conns.end()) login(it->second, std::move(user), std::move(password), std::move(done));
  };
  hooks.authorize = [this, conn_id = c->id](std::optional<api::Access> access) {
    auto it = conns.find(conn_id);
    return it == conns.end() ? Status::unavailable("closed") : authorize(it->second, access, "");
  };
  hooks.on_output = [this, conn_id = c->id] {
    auto it = conns.find(conn_id);
    if (it == conns.end()) return;
    Conn* conn = it->second;
    queue_raw(conn, conn->resp->take_output());
    if (conn->resp->wants_close()) conn->close_after_flush = true;
    if (!conn->reading && !draining) resume.push_back(conn_id);
  };
  hooks.info = [this] { return info_text(snapshot()); };
  c->resp = api::resp::Session::make(std::move(hooks));
}

void Server::Impl::process_resp(Conn* c) {
  std::vector<std::string> args;
  std::string error;
  bool parsed = false;  // a command ended here: a partial one after it began here too
  while (!c->closing && !c->close_after_flush) {
    if (client_backlogged(c)) {
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
    parsed = true;
  }
  // The slow-loris clock (request_too_slow): from the first byte of a command not complete.
  if (!c->resp_parser->partial()) {
    c->resp_partial_ms = c->resp_partial_bytes = 0;
  } else if (parsed || c->resp_partial_ms == 0) {
    c->resp_partial_ms = uv_now(&loop);
    c->resp_partial_bytes = 0;
  }
  if (!c->reading && !c->closing && !c->close_after_flush && !draining) start_reading(c);
}

void Server::Impl::start_http(Conn* c) {
  api::http::Session::Hooks hooks;
  hooks.submit = [this, conn_id = c->id](api::Request&& r, api::http::Session::Done done) {
    const api::Op op = r.op;
    submit(conn_id, std::move(r), count_read(conn_id, op, std::move(done)));
  };
  hooks.identify = [this, conn_id = c->id](const std::optional<std::string>& authorization,
                                           std::function<void(Status)> then) {
    auto it = conns.find(conn_id);
    if (it != conns.end()) identify_http(it->second, authorization, std::move(then));
  };
  hooks.allow_page = [this, conn_id = c->id](std::string_view page) {
    auto it = conns.find(conn_id);
    return it == conns.end() ? Status::unavailable("closed") : allow_page(it->second, page);
  };
  hooks.on_output = [this, conn_id = c->id] {
    auto it = conns.find(conn_id);
    if (it == conns.end()) return;
    Conn* conn = it->second;
    queue_raw(conn, conn->http->take_output());
    if (conn->http->wants_close()) conn->close_after_flush = true;
    // Not parsed here: this may run inside the parser (an answer without the core).
    if (!conn->reading && !draining) resume.push_back(conn_id);
  };
  hooks.may_continue = [this, conn_id = c->id] {
    auto it = conns.find(conn_id);
    return it != conns.end() && http_may_continue(it->second);
  };
  hooks.node_id = [this] { return config.node_id; };
  hooks.health = [this] { return doctor->health(); };
  hooks.dashboard = [] { return std::string(kDashboardHtml); };
  hooks.status_json = [this] { return status_json(snapshot()); };
  hooks.metrics_text = [this] { return metrics.render(snapshot(true)); };
  c->http = api::http::Session::make(std::move(hooks));
}

void Server::Impl::process_http(Conn* c) {
  if (c->closing || c->close_after_flush || c->http->closing() || !http_may_continue(c)) return;
  if (c->http->holds_input() && !c->http->parse_held()) return;  // a 400 or 413 is queued
  if (!c->reading && !c->http->holds_input() && http_may_continue(c) && !draining) {
    start_reading(c);
  }
}

bool Server::Impl::http_may_continue(const Conn* c) const { return !client_backlogged(c); }

void Server::Impl::reply(Conn* c, const api::Response& r) { queue(c, api::encode_response(r)); }

void Server::Impl::queue_raw(Conn* c, std::string_view bytes) {
  c->out.append(bytes);
  dirty.insert(c);
  if (c->is_client()) note_answer(c, bytes.size());
}

void Server::Impl::queue(Conn* c, std::string_view payload) {
  const size_t before = c->out.size();
  api::append_frame(&c->out, payload);
  dirty.insert(c);
  if (c->is_client()) note_answer(c, c->out.size() - before);
}

void Server::Impl::flush(Conn* c) {
  if (c->closing || c->write_busy) return;
  std::string* wire = wire_bytes(c);  // TLS: the records of what was queued
  if (wire == nullptr) return;
  if (wire->empty()) {
    if (c->close_after_flush && !c->tls_refusal) close_conn(c, "after the last reply");
    return;
  }
  // Most writes complete at once. uv_try_write then spares libuv's write request, whose
  // completion goes through the pending queue and re-arms the socket in epoll: one
  // epoll_ctl per reply on libuv 1.44 (strace: 20,983 for 20,000 SETs on n1).
  uv_buf_t now = uv_buf_init(wire->data(), static_cast<unsigned>(wire->size()));
  const int sent = uv_try_write(reinterpret_cast<uv_stream_t*>(&c->tcp), &now, 1);
  if (sent < 0 && sent != UV_EAGAIN) {
    close_conn(c, uv_strerror(sent));
    return;
  }
  if (sent > 0 && static_cast<size_t>(sent) == wire->size()) {
    wire->clear();
    after_write(c);
    return;
  }
  if (sent > 0) wire->erase(0, static_cast<size_t>(sent));
  c->writing.swap(*wire);
  wire->clear();
  c->write_busy = true;
  c->write_req.data = c;
  uv_buf_t b = uv_buf_init(c->writing.data(), static_cast<unsigned>(c->writing.size()));
  uv_write(&c->write_req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1,
           [](uv_write_t* req, int status) {
             static_cast<Impl*>(req->handle->loop->data)
                 ->on_written(static_cast<Conn*>(req->data), status);
           });
}

void Server::Impl::on_written(Conn* c, int status) {
  c->write_busy = false;
  c->writing.clear();
  if (c->closing) return;
  if (status < 0) {
    close_conn(c, uv_strerror(status));
    return;
  }
  after_write(c);
}

void Server::Impl::after_write(Conn* c) {
  c->active_ms = uv_now(&loop);
  // What queued meanwhile was committed by an earlier end_turn (frames only reach `out`
  // from end_turn, or are replies needing no storage), so it can go now; waiting for the
  // check phase could wait for the next event.
  flush(c);
  if (c->is_client() && !c->reading && !draining) {
    // Paused on its output: read again from the next turn (the idle handle keeps the loop
    // from blocking in poll before that turn's check).
    resume.push_back(c->id);
    wake_next_turn();
  }
}

void Server::Impl::close_conn(Conn* c, std::string_view why) {
  if (c->closing) return;
  c->closing = true;
  conns.erase(c->id);
  dirty.erase(c);
  release_limits(c);
  if (c->kind == Conn::Kind::kPeerOut) {
    auto it = peers.find(c->peer);
    if (it != peers.end() && it->second->conn == c) {
      peer_failed(it->second.get(), why);
    }
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
           [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
}

}  // namespace shoal::uvshell
