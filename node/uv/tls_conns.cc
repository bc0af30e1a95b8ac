// Server::Impl: TLS on connections (server_impl.h, api/tls.h; docs/security.md, "TLS").
// The socket carries ciphertext; Conn::out and what the protocols parse stay plaintext.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "node/uv/server_impl.h"

namespace shoal::uvshell {

bool Server::Impl::tls_receive(Conn* c, const char* data, size_t n, std::string* plain) {
  if (!c->tls_sniffed) {
    c->tls_sniffed = true;
    if (!api::looks_like_tls({data, n})) {
      refuse_plaintext(c);
      return false;
    }
  }
  const bool was_established = c->tls->established();
  const Status s = c->tls->receive(data, n, plain, &c->tls_out);
  dirty.insert(c);  // handshake bytes to write, or what waited for the handshake
  if (s.is_ok() && !was_established && c->tls->established()) sign_in_by_certificate(c);
  if (s.is_ok()) return true;
  if (s.code() == Code::kUnavailable) {  // close_notify: the other side is done
    close_conn(c, s.message());
    return false;
  }
  log_limit("tls " + std::string(c->is_client() ? "client" : "peer"),
            fmt::format("{}: {}; closing the connection", c->remote, s.message()),
            spdlog::level::info);
  c->out.clear();  // only the alert goes out
  c->close_after_flush = true;
  end_tls_refusal(c);
  if (c->kind == Conn::Kind::kPeerOut) close_conn(c, s.message());
  return false;
}

void Server::Impl::refuse_plaintext(Conn* c) {
  log_limit("tls plaintext",
            fmt::format("{}: a plaintext client on a TLS port; told so and closed", c->remote),
            spdlog::level::info);
  c->tls.reset();  // the refusal goes out in clear: it must be readable
  c->out.clear();  // a refusal over a cap waiting for TLS: this one says more
  end_tls_refusal(c);
  const std::string why = "this port speaks TLS: connect with TLS";
  switch (c->kind) {
    case Conn::Kind::kHttp: {
      const std::string body = why + " (https://...)\n";
      queue_raw(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
      break;
    }
    case Conn::Kind::kResp:
      queue_raw(c, api::resp::error("ERR " + why + " (redis-cli --tls)"));
      break;
    case Conn::Kind::kClient: {
      api::Response r;
      r.status = Status::invalid_argument(why + " (shoal --tls-ca)");
      reply(c, r);
      break;
    }
    default:  // a peer port: nothing to tell a client of ours
      break;
  }
  c->close_after_flush = true;
  dirty.insert(c);  // flushed (or closed, with nothing to say) this turn
}

std::string* Server::Impl::wire_bytes(Conn* c) {
  if (!c->tls) return &c->out;
  Result<size_t> taken = c->tls->send(c->out, &c->tls_out);
  if (!taken) {
    close_conn(c, taken.status().message());
    return nullptr;
  }
  c->out.erase(0, *taken);
  return &c->tls_out;
}

void Server::Impl::sign_in_by_certificate(Conn* c) {
  if (!c->is_client() || !auth->enabled()) return;
  const std::vector<std::string> users = c->tls->peer_uris("shoal:user:");
  if (users.size() != 1 || !auth->exists(users[0])) {
    if (!users.empty()) {
      log_limit("tls user", fmt::format("{}: its certificate names {} user(s), none of them "
                                        "(or not one) in the users file; not signed in",
                                        c->remote, users.size()));
    }
    return;
  }
  c->user = c->cert_user = users[0];
  spdlog::debug("{}: signed in as {} by its TLS certificate", c->remote, c->user);
}

Status Server::Impl::check_peer_name(const Conn* c, const std::string& id) const {
  if (!c->tls) return Status::ok();
  // Only URI shoal:node:<id> names a node: DNS names (localhost, host names) are for the
  // clients that dial it, and must not let a certificate join as another member.
  const std::vector<std::string> names = c->tls->peer_uris("shoal:node:");
  if (std::find(names.begin(), names.end(), id) != names.end()) return Status::ok();
  std::string listed;
  for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + n.substr(0, 64);
  return Status::unauthorized("its certificate names " +
                              (listed.empty() ? "no node (URI shoal:node:ID)" : "node " + listed) +
                              ", not " + id.substr(0, core::kMaxNodeIdBytes));
}

void Server::Impl::reload_tls() {
  if (!config.tls) return;
  Result<std::shared_ptr<api::TlsContext>> fresh = api::TlsContext::load(*config.tls);
  if (!fresh) {
    spdlog::error("SIGHUP: TLS files not reloaded, the ones read before stay: {}",
                  fresh.status().to_string());
    return;
  }
  tls = std::move(fresh).value();
  spdlog::info(
      "SIGHUP: TLS certificate {} reloaded (valid until {}); open connections keep "
      "theirs",
      config.tls->cert, tls->cert_not_after());
}

}  // namespace shoal::uvshell
