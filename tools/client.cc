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
#include <cstring>
#include <random>
#include <thread>

#include "node/api/convert.h"
#include "node/core/update.h"

namespace shoal::client {

namespace {

uint64_t mono_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

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
  if (api::is_admin(r.op)) return api::check_request(r);
  // The node's own checks, run here so nothing invalid is sent.
  Result<core::ResolvedOptions> opts = core::resolve(r.options);
  if (!opts) return opts.status();
  SHOAL_RETURN_IF_ERROR(api::check_request(r));
  Result<core::ClientRequest> c = api::to_core(r);
  if (!c) return c.status();
  if (c->op == core::ClientRequest::Op::kUpdate) return core::validate(c->update);
  return Status::ok();
}

Result<std::unique_ptr<Client>> Client::connect_address(const std::string& address,
                                                        uint32_t timeout_ms) {
  size_t colon = address.rfind(':');
  std::string host =
      colon == std::string::npos || colon == 0 ? "127.0.0.1" : address.substr(0, colon);
  std::string port = colon == std::string::npos ? address : address.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p <= 0 || p > 65535) {
    return Status::invalid_argument("bad address \"" + address + "\": expected host:port");
  }
  return connect(host, static_cast<int>(p), timeout_ms);
}

Result<std::unique_ptr<Client>> Client::connect(const std::string& host, int port,
                                                uint32_t timeout_ms) {
  const std::string address = host + ":" + std::to_string(port);
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
  return std::unique_ptr<Client>(new Client(fd, address, timeout_ms));
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
  size_t off = 0;
  const uint64_t deadline = mono_ms() + timeout_ms_;
  while (off < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      SHOAL_RETURN_IF_ERROR(wait_fd(fd_, POLLOUT, deadline, "sending to " + address_));
    } else {
      out_.clear();
      return Status::unavailable("connection to " + address_ + " lost: " + std::strerror(errno));
    }
  }
  out_.clear();
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
    if (n > 0) {
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

bool retryable(Code code) {
  return code == Code::kTimeout || code == Code::kUnavailable || code == Code::kOverloaded;
}

std::vector<std::string> split_addresses(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string a = list.substr(pos, comma - pos);
    const size_t b = a.find_first_not_of(" \t"), e = a.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(a.substr(b, e - b + 1));
    pos = comma + 1;
  }
  return out;
}

ClusterClient::ClusterClient(std::vector<std::string> addresses, RetryPolicy policy)
    : addresses_(std::move(addresses)), policy_(policy), op_ids_(seeded_prng()) {
  for (const std::string& a : addresses_) nodes_.push_back(Node{a, nullptr});
  if (policy_.max_attempts < 1) policy_.max_attempts = 1;
}

namespace {

// Errors a client gives before anything is sent: every node would give them too.
bool refused_before_sending(Code code) {
  return code == Code::kInvalidArgument || code == Code::kTooLarge;
}

// The answer when the last attempt definitely failed but an earlier one may have applied
// the update: timeout, naming every attempt's outcome.
api::Response indeterminate(const Result<api::Response>& last,
                            const std::vector<ClusterClient::Attempt>& attempts) {
  std::string trail;
  for (const ClusterClient::Attempt& a : attempts) {
    trail += (trail.empty() ? "" : "; ") + a.address + ": " + a.outcome.to_string();
  }
  api::Response r;
  r.id = last ? last->id : 0;
  r.status =
      Status::timeout("indeterminate: an earlier attempt may have applied it (" + trail + ")");
  return r;
}

}  // namespace

Result<api::Response> ClusterClient::call(api::Request request) {
  last_ = Last();
  if (nodes_.empty()) return Status::invalid_argument("no node address to send to");
  const bool update = api::is_update(request.op);
  // One op id for every attempt: that is what makes the retries safe.
  if (update && request.op_id.empty()) request.op_id = random_op_id(op_ids_);
  last_.op_id = request.op_id;
  SHOAL_RETURN_IF_ERROR(validate_request(request));
  const int attempts = api::is_admin(request.op) ? 1 : policy_.max_attempts;
  const uint64_t deadline = mono_ms() + policy_.deadline_ms;
  const uint32_t natural_wait = request.options.timeout_ms + 2'000;

  bool maybe_applied = false;  // an earlier attempt of this update may have landed
  std::optional<Result<api::Response>> result;
  size_t at = preferred_;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      at = (at + 1) % nodes_.size();
      const uint64_t pause = static_cast<uint64_t>(attempt) * policy_.backoff_ms;
      if (mono_ms() + pause >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    }
    const uint64_t now = mono_ms();
    if (now >= deadline) break;
    const auto left = static_cast<uint32_t>(deadline - now);
    Node& node = nodes_[at];
    bool sent = false;
    Result<api::Response> r = try_node(node, request, std::min(natural_wait, left),
                                       std::min(policy_.connect_timeout_ms, left), &sent);
    // Refused before sending: the same everywhere, final.
    if (sent && !r && refused_before_sending(r.status().code())) {
      last_.attempts.push_back({node.address, r.status()});
      return r;
    }
    const Status outcome = r ? r->status : r.status();
    last_.attempts.push_back({node.address, outcome});
    // Indeterminate: the node said timeout, or the request left and nothing came back.
    const bool indeterminate = outcome.code() == Code::kTimeout || (sent && !r);
    if (update && indeterminate) maybe_applied = true;
    result = std::move(r);
    // Final: the node's answer (ok or a definite error), or a connection failure that
    // another node cannot help with (a response that does not decode).
    if (!retryable(outcome.code())) {
      if (result->is_ok()) preferred_ = at;
      break;
    }
  }
  if (!result) {
    return Status::unavailable("no attempt could start within the deadline of " +
                               std::to_string(policy_.deadline_ms) + " ms");
  }
  const Status final_status = *result ? (*result)->status : result->status();
  if (maybe_applied &&
      (final_status.code() == Code::kUnavailable || final_status.code() == Code::kOverloaded)) {
    // The last attempt's "not applied" speaks for itself only: an earlier one may have.
    return indeterminate(*result, last_.attempts);
  }
  return std::move(*result);
}

Result<api::Response> ClusterClient::try_node(Node& node, const api::Request& request,
                                              uint32_t wait_ms, uint32_t connect_ms, bool* sent) {
  Result<api::Response> r = Status::internal("no attempt");
  if (!node.conn) {
    Result<std::unique_ptr<Client>> c = Client::connect_address(node.address, connect_ms);
    if (c) {
      node.conn = std::move(c).value();
    } else {
      r = c.status();  // nothing left: definite
    }
  }
  if (node.conn) {
    *sent = true;
    r = node.conn->call_within(request, wait_ms);
    if (!r && !refused_before_sending(r.status().code())) {
      node.conn.reset();  // the stream may be out of step: start afresh next time
    }
  }
  return r;
}

}  // namespace shoal::client
