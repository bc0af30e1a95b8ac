// Server::Impl: client authentication and grants (server_impl.h, authenticator.h;
// docs/security.md, "Users").
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "node/api/text.h"
#include "node/uv/server_impl.h"

namespace shoal::uvshell {
namespace {

// A name a client sent, fit for a log line: at most 64 bytes, anything but printable ASCII
// as '?' (no forged lines, no terminal escapes).
std::string printable(std::string_view name) {
  std::string out(name.substr(0, api::kMaxUserNameBytes));
  for (char& ch : out) {
    if (ch < 0x20 || ch > 0x7e) ch = '?';
  }
  return out;
}

}  // namespace

Status Server::Impl::authorize(const Conn* c, std::optional<api::Access> access,
                               std::string_view bucket) {
  if (!auth->enabled()) return Status::ok();
  if (c->user.empty()) return api::unauthenticated();
  if (!access) return auth->exists(c->user) ? Status::ok() : api::unauthenticated();
  return auth->authorize(c->user, *access, bucket);
}

void Server::Impl::login(Conn* c, std::string user, std::string password,
                         std::function<void(Status)> done) {
  if (!auth->enabled()) {
    OPENSSL_cleanse(password.data(), password.size());
    return done(Status::invalid_argument(
        "this node has no users file (shoald --users-file): every client may do everything"));
  }
  c->auth_busy = true;
  const uint64_t conn_id = c->id;
  // A password is checked on the threadpool (the loop goes on, this connection's input
  // waits); the answer resumes the connection in the turn it arrives in (end_turn).
  auth->verify(user, std::move(password), c->address,
               [this, conn_id, user, done = std::move(done)](Status s) {
                 auto it = conns.find(conn_id);
                 if (it == conns.end()) return;  // the client went away
                 Conn* conn = it->second;
                 conn->auth_busy = false;
                 // A failed attempt leaves the connection as it was (Redis's AUTH does the same).
                 if (s.is_ok()) conn->user = user;
                 if (!s.is_ok()) {  // rate limited: a client can fail in a loop
                   log_limit("auth refused",
                             fmt::format("{}: authentication as \"{}\" refused: {}", conn->remote,
                                         printable(user), s.message()),
                             spdlog::level::info);
                 }
                 done(s);
                 if (!conn->reading && !draining) resume.push_back(conn_id);
               });
}

void Server::Impl::identify_http(Conn* c, const std::optional<std::string>& authorization,
                                 std::function<void(Status)> then) {
  c->user = c->cert_user;  // HTTP is stateless: each request says who it is (or its certificate)
  if (!auth->enabled() || !authorization) return then(Status::ok());
  const std::string_view h = *authorization;
  std::optional<std::pair<std::string, std::string>> cred;
  if (h.substr(0, 6) == "Basic ") {
    if (std::optional<std::string> text = text::base64_decode(h.substr(6))) {
      if (const size_t colon = text->find(':'); colon != std::string::npos) {
        cred.emplace(text->substr(0, colon), text->substr(colon + 1));
      }
      OPENSSL_cleanse(text->data(), text->size());
    }
  } else if (h.substr(0, 7) == "Bearer ") {
    cred = api::split_bearer(h.substr(7));
  }
  if (!cred || cred->first.empty() || cred->first.size() > api::kMaxUserNameBytes ||
      cred->second.size() > api::kMaxPasswordBytes) {
    return then(Status::unauthorized(
        "authentication required: the Authorization header is neither Basic base64(user:password) "
        "nor Bearer NAME.TOKEN"));
  }
  login(c, std::move(cred->first), std::move(cred->second), std::move(then));
}

Status Server::Impl::allow_page(const Conn* c, std::string_view page) {
  if (page == "metrics" && config.metrics_open) return Status::ok();
  return authorize(c, api::Access::kAdmin, "");
}

void Server::Impl::reload_users() {
  if (!auth->enabled()) {
    spdlog::info("SIGHUP: no users file to reload (shoald --users-file)");
    return;
  }
  const Status s = auth->reload();
  if (!s.is_ok()) {
    spdlog::error("SIGHUP: users file not reloaded, the users read before stay: {}", s.to_string());
    return;
  }
  spdlog::info("SIGHUP: users file {} reloaded: {} users", auth->path(), auth->user_count());
}

}  // namespace shoal::uvshell
