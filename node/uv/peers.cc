// Server::Impl: peer links (server_impl.h).
#include <spdlog/spdlog.h>

#include "node/uv/peer_auth.h"
#include "node/uv/server_impl.h"

namespace shoal::uvshell {

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
    Result<Address> parsed = parse_peer_address(text);
    if (parsed) {
      address = *parsed;
    } else {
      log_limit("peer address", fmt::format("peer {}: its address does not parse: {}", id,
                                            parsed.status().to_string()));
    }
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

// A welcomed peer's frames are decoded a batch at a time, and the core told the batch's
// keys before it handles any (Node::prefetch): the cache misses of their lookups overlap
// instead of stalling each message in turn.
bool Server::Impl::PeerBatch::add(std::string_view payload) {
  if (messages.capacity() == 0) messages.reserve(kMaxMessages);
  Status decoded = api::decode_message_into(payload, &messages.emplace_back());
  if (!decoded.is_ok()) {
    messages.pop_back();
    error = std::move(decoded);
    return false;
  }
  bytes += payload.size();
  return true;
}

void Server::Impl::deliver(Conn* c, PeerBatch* batch) {
  if (batch->messages.empty()) return;
  node->prefetch(batch->messages.data(), batch->messages.size());
  for (const core::Message& m : batch->messages) {
    if (c->closing) break;  // as the frames after it would not have been read
    node->on_message(c->peer, m);
  }
  batch->messages.clear();
  batch->bytes = 0;
}

bool Server::Impl::handle_peer_in_frame(Conn* c, std::string_view payload) {
  SHOAL_ASSERT(!c->welcomed);  // process_frames batches a welcomed peer's frames
  return c->challenged ? accept_proof(c, payload) : accept_hello(c, payload);
}

// The dialler's hello. Protocol 2 is answered by a challenge: our id, our nonce, and our
// proof that we know the secret. Protocol 1 carried the secret itself and is welcomed at
// once, so nodes not yet upgraded can still reach this one (docs/security.md).
bool Server::Impl::accept_hello(Conn* c, std::string_view payload) {
  Result<api::Hello> hello = api::decode_hello(payload);
  Status refusal;
  if (!hello) {
    refusal = hello.status();
  } else if (hello->version != api::kProtocolVersion &&
             hello->version != api::kClearSecretVersion) {
    refusal =
        Status::invalid_argument("protocol version " + std::to_string(hello->version) +
                                 " (this node speaks " + std::to_string(api::kClearSecretVersion) +
                                 " and " + std::to_string(api::kProtocolVersion) + ")");
  } else if (hello->version < config.peer_min_protocol) {
    refusal = Status::unauthorized("peer protocol " + std::to_string(hello->version) +
                                   " sends the cluster secret in clear; this node takes protocol " +
                                   std::to_string(config.peer_min_protocol) +
                                   " and later (--peer-min-protocol)");
  } else if (hello->node == config.node_id || hello->node.empty() ||
             hello->node.size() > core::kMaxNodeIdBytes || is_seed_name(hello->node)) {
    refusal = Status::unauthorized("bad node id \"" + hello->node + "\"");
  } else if (hello->version == api::kClearSecretVersion &&
             !proof_matches(hello->secret, config.secret)) {
    refusal = Status::unauthorized("wrong cluster secret");
  } else if (hello->version == api::kProtocolVersion && hello->nonce.size() != kNonceBytes) {
    refusal = Status::invalid_argument("the hello's nonce must be " + std::to_string(kNonceBytes) +
                                       " bytes");
  } else {
    refusal = check_peer_name(c, hello->node);  // TLS: its certificate names it
  }
  if (!refusal.is_ok()) return refuse_peer(c, hello ? hello->node : "?", refusal);
  if (hello->version == api::kClearSecretVersion) {
    log_limit("clear secret",
              fmt::format("peer {} ({}) speaks peer protocol 1, which sends the cluster secret "
                          "in clear: upgrade it",
                          hello->node, c->remote),
              spdlog::level::warn);
    welcome_peer(c, hello->node, hello->peer_address);
    return true;
  }
  c->claimed = hello->node;
  c->claimed_address = hello->peer_address;
  c->nonce_theirs = hello->nonce;
  c->nonce_mine = random_nonce();
  queue(c, api::encode_challenge({config.node_id, c->nonce_mine,
                                  peer_proof(peer_key, PeerRole::kListener, c->nonce_theirs,
                                             c->nonce_mine, c->claimed, config.node_id)}));
  c->challenged = true;
  return true;
}

// The dialler's proof: it knows the secret, so it is welcomed as the node it claims.
bool Server::Impl::accept_proof(Conn* c, std::string_view payload) {
  Result<std::string> proof = api::decode_proof(payload);
  if (!proof) return refuse_peer(c, c->claimed, Status::invalid_argument(proof.status().message()));
  const std::string expected = peer_proof(peer_key, PeerRole::kDialler, c->nonce_theirs,
                                          c->nonce_mine, c->claimed, config.node_id);
  if (!proof_matches(*proof, expected)) {
    return refuse_peer(c, c->claimed, Status::unauthorized("wrong cluster secret"));
  }
  welcome_peer(c, c->claimed, c->claimed_address);
  return true;
}

// Rate limited: anyone who can reach the peer port can send hellos in a loop.
bool Server::Impl::refuse_peer(Conn* c, const std::string& claimed, const Status& refusal) {
  log_limit("hello",
            fmt::format("refused peer connection from {} (claims to be {}): {}", c->remote,
                        claimed.substr(0, core::kMaxNodeIdBytes), refusal.to_string()),
            spdlog::level::err);
  queue(c, api::encode_welcome(refusal, config.node_id));
  c->close_after_flush = true;
  return false;
}

void Server::Impl::welcome_peer(Conn* c, const std::string& id, const std::string& peer_address) {
  c->welcomed = true;
  c->peer = id;
  welcomed_stranger(c);
  c->reader.set_max_payload_bytes(api::kMaxPeerFrameBytes);
  if (!peer_address.empty() && peer_address.size() <= core::kMaxAddressBytes &&
      (hello_addresses.size() < core::kMaxMembers || hello_addresses.count(c->peer))) {
    hello_addresses[c->peer] = peer_address;
  }
  queue(c, api::encode_welcome(Status::ok(), config.node_id));
  spdlog::debug("peer {} connected from {}", c->peer, c->remote);
  dial_back(c->peer);
}

bool Server::Impl::handle_peer_out_frame(Conn* c, std::string_view payload) {
  Peer* p = peers.at(c->peer).get();
  if (c->welcomed) {  // peers answer on their own connection, never on ours
    close_conn(c, "unexpected frame");
    return false;
  }
  if (!c->challenged) return answer_challenge(c, p, payload);
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
  p->ever_ready = true;
  p->connecting = false;
  p->backoff_ms = 0;
  if (p->down_logged || !p->queued.empty()) {  // a connection that flaps: a line per 10 s
    log_limit("link " + p->id,
              fmt::format("peer {} at {} is reachable", p->id, p->address.to_string()),
              spdlog::level::info);
  }
  p->down_logged = false;
  p->overflow_logged = false;
  c->out.append(p->queued);
  p->queued.clear();
  dirty.insert(c);
  if (!is_seed_name(p->id)) {
    node->on_peer_status(p->id, true);
    log_peer_states();
  }
  return true;
}

// The listener's challenge: its proof checked, ours sent. Nothing of ours goes to a
// listener that cannot prove the secret. A refusal (a welcome with an error) may come
// instead: an old node refusing protocol 2, or a bad hello.
bool Server::Impl::answer_challenge(Conn* c, Peer* p, std::string_view payload) {
  Result<api::Challenge> ch = api::decode_challenge(payload);
  if (!ch) {
    Result<std::string> welcome = api::decode_welcome(payload);
    const Status why =
        welcome ? Status::corruption("welcomed without a challenge") : welcome.status();
    spdlog::error("peer {} at {} refused our hello: {}", p->id, p->address.to_string(),
                  why.to_string());
    p->backoff_ms = 1'000;  // a refusal will not fix itself soon
    close_conn(c, "refused");
    return false;
  }
  const std::string expected =
      peer_proof(peer_key, PeerRole::kListener, c->nonce_mine, ch->nonce, config.node_id, ch->node);
  if (!is_seed_name(p->id) && ch->node != p->id) {
    // Another node answers at this address (a stale one): what we queue is for p->id.
    log_limit("proof " + p->id,
              fmt::format("peer {} at {} answers as {}; sending it nothing", p->id,
                          p->address.to_string(), ch->node.substr(0, core::kMaxNodeIdBytes)),
              spdlog::level::err);
    close_conn(c, "another node");
    return false;
  }
  if (const Status named = check_peer_name(c, ch->node); !named.is_ok()) {
    log_limit("proof " + p->id,
              fmt::format("peer {} at {} (says it is {}): {}; sending it nothing", p->id,
                          p->address.to_string(), ch->node.substr(0, core::kMaxNodeIdBytes),
                          named.message()),
              spdlog::level::err);
    p->backoff_ms = 1'000;
    close_conn(c, "certificate of another node");
    return false;
  }
  if (ch->nonce.size() != kNonceBytes || !proof_matches(ch->proof, expected)) {
    log_limit("proof " + p->id,
              fmt::format("peer {} at {} (says it is {}) could not prove it knows the cluster "
                          "secret; sending it nothing",
                          p->id, p->address.to_string(), ch->node.substr(0, core::kMaxNodeIdBytes)),
              spdlog::level::err);
    p->backoff_ms = 1'000;
    close_conn(c, "wrong proof");
    return false;
  }
  queue(c, api::encode_proof(peer_proof(peer_key, PeerRole::kDialler, c->nonce_mine, ch->nonce,
                                        config.node_id, ch->node)));
  c->challenged = true;
  return true;
}

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
  // All a peer sends on our connection is its welcome.
  auto* c = new Conn(Conn::Kind::kPeerOut, next_conn_id++, api::kMaxHandshakeFrameBytes);
  c->peer = p->id;
  c->remote = p->address.to_string();
  uv_tcp_init(&loop, &c->tcp);
  c->tcp.data = c;
  uv_tcp_nodelay(&c->tcp, 1);
  c->accepted_ms = uv_now(&loop);  // the handshake deadline (sweep_conns) counts from here
  conns[c->id] = c;
  p->conn = c;
  p->connecting = true;
  auto* dial = new uv_connect_t;
  dial->data = c;
  int rc = uv_tcp_connect(dial, &c->tcp, reinterpret_cast<const sockaddr*>(&p->sockaddr),
                          [](uv_connect_t* req, int status) {
                            auto* conn = static_cast<Conn*>(req->data);
                            auto* self = static_cast<Impl*>(req->handle->loop->data);
                            delete req;
                            self->on_dialled(conn, status);
                          });
  if (rc != 0) {
    delete dial;
    close_conn(c, uv_strerror(rc));
  }
}

void Server::Impl::on_dialled(Conn* c, int status) {
  if (c->closing) return;
  if (status < 0) {
    close_conn(c, uv_strerror(status));
    return;
  }
  start_reading(c);
  if (tls) {  // the hello below waits for the TLS handshake (wire_bytes)
    c->tls = api::TlsStream::connect(tls->client());
    c->tls_sniffed = true;
    c->tls->start(&c->tls_out);
    dirty.insert(c);
  }
  // The secret stays here: the handshake proves it (peer_auth.h).
  c->nonce_mine = random_nonce();
  api::Hello hello{api::kProtocolVersion, config.node_id, "",
                   (config.advertise_peer ? *config.advertise_peer : config.peer).to_string(),
                   c->nonce_mine};
  queue(c, api::encode_hello(hello));
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
  if (!is_seed_name(p->id)) {
    node->on_peer_status(p->id, false);
    log_peer_states();
  }
  if (draining) return;
  if (const core::MemberState* st = node->membership().find(p->id);
      st &&
      (st->status == core::MemberStatus::kLeft || st->status == core::MemberStatus::kRemoved)) {
    spdlog::info("peer {} is {}; no longer dialling it", p->id, core::status_name(st->status));
    p->retired = true;
    return;
  }
  if (was_ready || !p->down_logged) {
    log_limit("link " + p->id, fmt::format("peer {} at {} unreachable ({}); retrying", p->id,
                                           p->address.to_string(), why));
    p->down_logged = true;
  }
  // Exponential backoff 50 ms .. 1 s with jitter, so restarts do not reconnect in step.
  p->backoff_ms = std::clamp<uint32_t>(p->backoff_ms * 2, 50, 1'000);
  const uint64_t delay = p->backoff_ms / 2 + rng.below(p->backoff_ms / 2 + 1);
  uv_timer_start(
      &p->retry,
      [](uv_timer_t* t) {
        static_cast<Impl*>(t->loop->data)->connect_peer(static_cast<Peer*>(t->data));
      },
      delay, 0);
}

// Every ring peer's state as the core sees it (connection lost, or convicted by the
// failure detector), logged when it changes: at most a line per peer per 10 s. Called
// after every core timer (convictions happen there) and connection change, so a down
// spell shorter than any poll period is still logged.
void Server::Impl::log_peer_states() {
  const uint64_t now = uv_now(&loop);
  for (const ring::NodeId& id : node->ring().nodes()) {
    // A peer not reached yet since this node started (it starts first) is not news: its
    // link logs "unreachable; retrying" instead.
    auto link = peers.find(id);
    if (id == config.node_id || link == peers.end() || !link->second->ever_ready) continue;
    const std::optional<PeerStateLog::Line> line = peer_states.observe(id, node->is_down(id), now);
    if (!line) continue;
    const std::string unlogged =
        line->unlogged == 0
            ? ""
            : fmt::format(" ({} changes since the last line not logged)", line->unlogged);
    if (line->down) {
      const double phi = node->phi(id);
      const std::string why =
          phi >= config.cluster.phi_threshold
              ? fmt::format("convicted by the failure detector (phi {:.1f})", phi)
              : std::string("no connection");
      spdlog::warn(
          "peer {} is down: {}; requests stop waiting for it and its writes go to "
          "fallbacks as hints{}",
          id, why, unlogged);
    } else {
      const std::string late = line->up_for_ms < 1'000
                                   ? ""
                                   : fmt::format(", back {:.1f} s ago", line->up_for_ms / 1000.0);
      spdlog::info("peer {} is up again after {:.1f} s down{}{}", id, line->down_for_ms / 1000.0,
                   late, unlogged);
    }
  }
}

}  // namespace shoal::uvshell
