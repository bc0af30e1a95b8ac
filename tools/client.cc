#include "tools/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include "node/api/convert.h"
#include "node/core/update.h"
#include "tools/mono_ms.h"

namespace shoal::client {

namespace {

Status wait_fd(int fd, short events, uint64_t deadline_ms, const std::string& what) {
  for (;;) {
    const uint64_t now = mono_ms();
    if (now >= deadline_ms) return Status::timeout(what);
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(deadline_ms - now));
    if (rc > 0) return Status::ok();
    if (rc < 0 && errno != EINTR) return Status::unavailable(std::strerror(errno));
  }
}

}  // namespace

Status validate_request(const api::Request& r) {
  if (r.op == api::Op::kPing) return Status::ok();
  if (api::is_admin(r.op) || r.op == api::Op::kAuth) return api::check_request(r);
  // The node's own checks, run here so nothing invalid is sent.
  Result<core::ResolvedOptions> opts = core::resolve(r.options);
  if (!opts) return opts.status();
  SHOAL_RETURN_IF_ERROR(api::check_request(r));
  Result<core::ClientRequest> c = api::to_core(r);
  if (!c) return c.status();
  if (c->op == core::ClientRequest::Op::kUpdate) return core::validate(c->update);
  return Status::ok();
}

Result<std::unique_ptr<Client>> Client::connect_address(
    const std::string& address, uint32_t timeout_ms, const std::shared_ptr<api::TlsContext>& tls) {
  size_t colon = address.rfind(':');
  std::string host =
      colon == std::string::npos || colon == 0 ? "127.0.0.1" : address.substr(0, colon);
  std::string port = colon == std::string::npos ? address : address.substr(colon + 1);
  // "[v6]:port": the brackets part the host's colons from the port's.
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p <= 0 || p > 65535 ||
      (!bracketed && host.find(':') != std::string::npos)) {
    return Status::invalid_argument("bad address \"" + address +
                                    "\": expected host:port or [IPv6]:port");
  }
  return connect(host, static_cast<int>(p), timeout_ms, tls);
}

Result<std::unique_ptr<Client>> Client::connect(const std::string& host, int port,
                                                uint32_t timeout_ms,
                                                const std::shared_ptr<api::TlsContext>& tls) {
  const std::string address =
      (host.find(':') == std::string::npos ? host : "[" + host + "]") + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    return Status::invalid_argument("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return Status::internal(std::string("socket: ") + std::strerror(errno));
  }
  int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  Status s;
  if (rc != 0 && errno == EINPROGRESS) {
    s = wait_fd(fd, POLLOUT, mono_ms() + timeout_ms, "connecting to " + address);
    int err = 0;
    socklen_t len = sizeof(err);
    if (s.is_ok() && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
      s = Status::unavailable("cannot connect to " + address + ": " + std::strerror(err));
    }
  } else if (rc != 0) {
    s = Status::unavailable("cannot connect to " + address + ": " + std::strerror(errno));
  }
  if (!s.is_ok()) {
    ::close(fd);
    if (s.code() == Code::kTimeout) return Status::unavailable(s.message() + " timed out");
    return s;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::unique_ptr<Client> c(new Client(fd, address, timeout_ms));
  if (tls) SHOAL_RETURN_IF_ERROR(c->handshake(host, tls));
  return c;
}

// The TLS handshake, bounded by the connection's timeout.
Status Client::handshake(const std::string& host, const std::shared_ptr<api::TlsContext>& tls) {
  const uint64_t deadline = mono_ms() + timeout_ms_;
  tls_ = api::TlsStream::connect(tls->client(), host);
  std::string cipher, plain;
  tls_->start(&cipher);
  char buf[16 * 1024];
  while (!tls_->established()) {
    SHOAL_RETURN_IF_ERROR(write_all(cipher, deadline));
    cipher.clear();
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n == 0)
      return Status::unavailable("TLS with " + address_ + ": closed during the handshake");
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return Status::unavailable("TLS with " + address_ + ": " + std::strerror(errno));
    }
    if (n < 0) {
      SHOAL_RETURN_IF_ERROR(wait_fd(fd_, POLLIN, deadline, "TLS handshake with " + address_));
      continue;
    }
    const Status s = tls_->receive(buf, static_cast<size_t>(n), &plain, &cipher);
    if (!s.is_ok()) {
      (void)write_all(cipher, deadline);  // the alert, so the node logs why
      return Status::unavailable("TLS with " + address_ + ": " + s.message());
    }
  }
  reader_.feed(plain.data(), plain.size());
  return write_all(cipher, deadline);
}

Prng seeded_prng() {
  std::random_device rd;
  uint64_t seed = 0;
  for (int i = 0; i < 4; ++i) seed = (seed << 16) ^ rd();
  // Mixed with the clock and the address of a local: distinct even where random_device
  // is weak.
  seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  seed ^= reinterpret_cast<uintptr_t>(&seed);
  return Prng(seed);
}

std::string random_op_id(Prng& rng) {
  char buf[33];
  const uint64_t a = rng.next(), b = rng.next();
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

Client::Client(int fd, std::string address, uint32_t timeout_ms)
    : fd_(fd), address_(std::move(address)), timeout_ms_(timeout_ms), op_ids_(seeded_prng()) {}

Client::~Client() { ::close(fd_); }

Status Client::send_raw(std::string_view bytes) {
  out_.append(bytes);
  return flush();
}

Status Client::flush() {
  const uint64_t deadline = mono_ms() + timeout_ms_;
  std::string cipher;
  if (tls_ && !out_.empty()) {
    Result<size_t> taken = tls_->send(out_, &cipher);
    if (!taken) {
      out_.clear();
      return Status::unavailable("TLS with " + address_ + ": " + taken.status().message());
    }
  }
  const Status s = write_all(tls_ ? std::string_view(cipher) : std::string_view(out_), deadline);
  out_.clear();
  return s;
}

Status Client::write_all(std::string_view bytes, uint64_t deadline) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      SHOAL_RETURN_IF_ERROR(wait_fd(fd_, POLLOUT, deadline, "sending to " + address_));
    } else {
      return Status::unavailable("connection to " + address_ + " lost: " + std::strerror(errno));
    }
  }
  return Status::ok();
}

Result<uint64_t> Client::send(api::Request request) {
  request.id = next_id_++;
  if (auto_op_ids_ && api::is_update(request.op) && request.op_id.empty()) {
    request.op_id = random_op_id(op_ids_);
  }
  const std::string payload = api::encode_request(request);
  if (payload.size() > api::kMaxClientFrameBytes) {
    return Status::too_large("request of " + std::to_string(payload.size()) +
                             " bytes exceeds the frame limit of " +
                             std::to_string(api::kMaxClientFrameBytes));
  }
  api::append_frame(&out_, payload);
  return request.id;
}

Result<api::Response> Client::recv(uint32_t wait_ms) {
  SHOAL_RETURN_IF_ERROR(flush());
  const uint64_t deadline = mono_ms() + wait_ms;
  char buf[64 * 1024];
  for (;;) {
    std::string_view payload;
    size_t claimed = 0;
    switch (reader_.next(&payload, &claimed)) {
      case api::FrameReader::Next::kFrame: {
        Result<api::Response> r = api::decode_response(payload);
        if (!r)
          return Status::corruption("bad response from " + address_ + ": " + r.status().message());
        return r;
      }
      case api::FrameReader::Next::kTooLarge:
        return Status::too_large("response of " + std::to_string(claimed) + " bytes");
      case api::FrameReader::Next::kNeedMore:
        break;
    }
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0 && tls_) {
      std::string plain, cipher;
      const Status s = tls_->receive(buf, static_cast<size_t>(n), &plain, &cipher);
      if (!s.is_ok()) return Status::unavailable("TLS with " + address_ + ": " + s.message());
      SHOAL_RETURN_IF_ERROR(write_all(cipher, deadline));  // TLS 1.3 key updates
      reader_.feed(plain.data(), plain.size());
    } else if (n > 0) {
      reader_.feed(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return Status::unavailable("connection closed by " + address_);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      SHOAL_RETURN_IF_ERROR(wait_fd(fd_, POLLIN, deadline, "no answer from " + address_));
    } else {
      return Status::unavailable("connection to " + address_ + " lost: " + std::strerror(errno));
    }
  }
}

Result<api::Response> Client::call(api::Request request) {
  // The node answers by the request's own timeout; allow for the round trip.
  const uint32_t wait_ms = std::max(timeout_ms_, request.options.timeout_ms + 2'000);
  return call_within(std::move(request), wait_ms);
}

Result<api::Response> Client::call_within(api::Request request, uint32_t wait_ms) {
  SHOAL_RETURN_IF_ERROR(validate_request(request));
  Result<uint64_t> id = send(std::move(request));
  if (!id) return id.status();
  for (;;) {
    Result<api::Response> r = recv(wait_ms);
    if (!r) return r;
    if (r->id == *id || r->id == 0) return r;  // id 0: the node could not read our id
  }
}

Result<api::Response> Client::ping() {
  api::Request r;
  r.op = api::Op::kPing;
  return call(std::move(r));
}

Result<std::shared_ptr<api::TlsContext>> tls_from_env() {
  static const Result<std::shared_ptr<api::TlsContext>> loaded =
      []() -> Result<std::shared_ptr<api::TlsContext>> {
    const char* ca = std::getenv("SHOAL_TLS_CA");
    if (!ca || !*ca) return std::shared_ptr<api::TlsContext>();
    const char* cert = std::getenv("SHOAL_TLS_CERT");
    const char* key = std::getenv("SHOAL_TLS_KEY");
    return api::TlsContext::load_client({cert ? cert : "", key ? key : "", ca, true});
  }();
  return loaded;
}

Result<std::unique_ptr<Client>> connect_env(const std::string& host, int port,
                                            uint32_t timeout_ms) {
  return connect_env_address(host + ":" + std::to_string(port), timeout_ms);
}

Result<std::unique_ptr<Client>> connect_env_address(const std::string& address,
                                                    uint32_t timeout_ms) {
  Result<std::shared_ptr<api::TlsContext>> tls = tls_from_env();
  if (!tls) return tls.status();
  Result<std::unique_ptr<Client>> c = Client::connect_address(address, timeout_ms, *tls);
  const char* user = std::getenv("SHOAL_USER");
  if (!c || !user || !*user) return c;
  const char* password = std::getenv("SHOAL_PASSWORD");
  Result<api::Response> in = (*c)->login(user, password ? password : "");
  if (!in) return in.status();
  if (!in->status.is_ok()) return in->status;
  return c;
}

Result<api::Response> Client::login(const std::string& user, const std::string& password) {
  api::Request r;
  r.op = api::Op::kAuth;
  r.user = user;
  r.password = password;
  return call(std::move(r));
}

Result<api::Response> Client::cluster_status() {
  api::Request r;
  r.op = api::Op::kClusterStatus;
  return call(std::move(r));
}

Result<api::Response> Client::leave() {
  api::Request r;
  r.op = api::Op::kLeave;
  return call(std::move(r));
}

Result<api::Response> Client::remove(const std::string& node) {
  api::Request r;
  r.op = api::Op::kRemove;
  r.node = node;
  return call(std::move(r));
}

Result<api::Response> Client::chaos(const std::string& rule) {
  api::Request r;
  r.op = api::Op::kChaos;
  r.rule = rule;
  return call(std::move(r));
}

namespace {
api::Request make(api::Op op, const std::string& b, const std::string& k,
                  const core::RequestOptions& o) {
  api::Request r;
  r.op = op;
  r.bucket = b;
  r.key = k;
  r.options = o;
  return r;
}
}  // namespace

Result<api::Response> Client::get(const std::string& b, const std::string& k,
                                  const core::RequestOptions& o) {
  return call(make(api::Op::kGet, b, k, o));
}

Result<api::Response> Client::put(const std::string& b, const std::string& k, std::string value,
                                  std::optional<std::string> context, const core::RequestOptions& o,
                                  core::DataType type) {
  api::Request r = make(api::Op::kPut, b, k, o);
  r.value = std::move(value);
  r.context = std::move(context);
  r.type = type;
  return call(std::move(r));
}

Result<api::Response> Client::del(const std::string& b, const std::string& k,
                                  std::optional<std::string> context, const core::RequestOptions& o,
                                  core::DataType type) {
  api::Request r = make(api::Op::kDelete, b, k, o);
  r.context = std::move(context);
  r.type = type;
  return call(std::move(r));
}

Result<api::Response> Client::counter_add(const std::string& b, const std::string& k, int64_t delta,
                                          const core::RequestOptions& o) {
  api::Request r = make(api::Op::kCounterAdd, b, k, o);
  r.delta = delta;
  return call(std::move(r));
}

Result<api::Response> Client::counter_get(const std::string& b, const std::string& k,
                                          const core::RequestOptions& o) {
  return call(make(api::Op::kCounterGet, b, k, o));
}

Result<api::Response> Client::set_add(const std::string& b, const std::string& k,
                                      std::vector<std::string> elements,
                                      const core::RequestOptions& o) {
  api::Request r = make(api::Op::kSetAdd, b, k, o);
  r.elements = std::move(elements);
  return call(std::move(r));
}

Result<api::Response> Client::set_remove(const std::string& b, const std::string& k,
                                         std::vector<std::string> elements,
                                         std::optional<std::string> context,
                                         const core::RequestOptions& o) {
  api::Request r = make(api::Op::kSetRemove, b, k, o);
  r.elements = std::move(elements);
  r.context = std::move(context);
  return call(std::move(r));
}

Result<api::Response> Client::set_get(const std::string& b, const std::string& k,
                                      const core::RequestOptions& o,
                                      std::vector<std::string> members) {
  api::Request r = make(api::Op::kSetGet, b, k, o);
  r.elements = std::move(members);
  return call(std::move(r));
}

// ---- ClusterClient ----

}  // namespace shoal::client
