// The client library against fake nodes on loopback (threads that speak the native
// protocol and answer as scripted): every update leaves with an operation id, and the
// ClusterClient retries the same request (same id) on the next node exactly when the
// outcome is timeout, unavailable, overloaded or a failed connection, never after a
// definite answer, within its attempt bound; an indeterminate attempt followed by a
// "not applied" answer is reported as timeout.
#include "tools/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <mutex>
#include <thread>

#include "crdt/coding.h"

namespace shoal::client {
namespace {

// A fake node: accepts connections and answers each request with what `script` says
// for the n-th request it got (0-based): a status, or kClose (close the connection
// without answering) or kSilent (never answer).
class FakeNode {
 public:
  enum class Act { kAnswer, kClose, kSilent, kHugeFrame };
  struct Step {
    Act act = Act::kAnswer;
    Status status;
  };
  explicit FakeNode(std::function<Step(int)> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeNode() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<api::Request> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  void run() {
    std::vector<int> conns;
    std::vector<api::FrameReader> readers;
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (int c : conns) fds.push_back({c, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) {
          conns.push_back(c);
          readers.emplace_back(api::kMaxClientFrameBytes);
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        const int c = conns[i - 1];
        char buf[4096];
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) {
          ::close(c);
          conns[i - 1] = -1;
          continue;
        }
        api::FrameReader& reader = readers[i - 1];
        reader.feed(buf, static_cast<size_t>(n));
        std::string_view payload;
        while (conns[i - 1] >= 0 && reader.next(&payload) == api::FrameReader::Next::kFrame) {
          uint64_t id = 0;
          Result<api::Request> req = api::decode_request(payload, &id);
          int index = -1;
          if (req.is_ok()) {  // (no Catch assertions off the main thread)
            std::lock_guard<std::mutex> l(mu_);
            seen_.push_back(*req);
            index = static_cast<int>(seen_.size()) - 1;
          }
          const Step step = req.is_ok() ? script_(index) : Step{Act::kAnswer, req.status()};
          if (step.act == Act::kClose) {
            ::close(c);
            conns[i - 1] = -1;
            break;
          }
          if (step.act == Act::kSilent) continue;
          if (step.act == Act::kHugeFrame) {  // a header claiming one byte over the limit
            std::string header;
            coding::put_be32(&header, static_cast<uint32_t>(api::kMaxResponseFrameBytes + 1));
            (void)::send(c, header.data(), header.size(), MSG_NOSIGNAL);
            continue;
          }
          api::Response r;
          r.id = id;
          r.status = step.status;
          if (step.status.is_ok() && req->op == api::Op::kCounterAdd) {
            r.type = core::DataType::kCounter;
            r.counter = req->delta;
          }
          std::string frame;
          api::append_frame(&frame, api::encode_response(r));
          (void)::send(c, frame.data(), frame.size(), MSG_NOSIGNAL);
        }
      }
      for (size_t i = conns.size(); i-- > 0;) {
        if (conns[i] < 0) {
          conns.erase(conns.begin() + static_cast<long>(i));
          readers.erase(readers.begin() + static_cast<long>(i));
        }
      }
    }
    for (int c : conns) ::close(c);
  }

  std::function<Step(int)> script_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<api::Request> seen_;
  std::thread thread_;
};

FakeNode::Step answer(Status s) { return {FakeNode::Act::kAnswer, std::move(s)}; }
std::function<FakeNode::Step(int)> always(Status s) {
  return [s](int) { return answer(s); };
}

// An address nothing listens on (a port just released).
std::string dead_address() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

api::Request counter_add(int64_t delta) {
  api::Request r;
  r.op = api::Op::kCounterAdd;
  r.bucket = "b";
  r.key = "k";
  r.delta = delta;
  return r;
}

bool hex32(const std::string& s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST_CASE("every update leaves with an operation id and the caller's is kept", "[client][op_id]") {
  FakeNode node(always(Status::ok()));
  auto c = Client::connect_address(node.address());
  REQUIRE(c.is_ok());
  REQUIRE((*c)->call(counter_add(1)).is_ok());
  REQUIRE((*c)->call(counter_add(2)).is_ok());
  api::Request mine = counter_add(3);
  mine.op_id = "mine-1";
  REQUIRE((*c)->call(mine).is_ok());
  api::Request read;
  read.op = api::Op::kGet;
  read.bucket = "b";
  read.key = "k";
  REQUIRE((*c)->call(read).is_ok());
  REQUIRE((*c)->send(counter_add(4)).is_ok());  // pipelined updates too
  REQUIRE((*c)->recv(5'000).is_ok());
  const auto seen = node.seen();
  REQUIRE(seen.size() == 5);
  CHECK(hex32(seen[0].op_id));
  CHECK(hex32(seen[1].op_id));
  CHECK(seen[0].op_id != seen[1].op_id);
  CHECK(seen[2].op_id == "mine-1");
  CHECK(seen[3].op_id.empty());  // reads carry none
  CHECK(hex32(seen[4].op_id));
  // An op id on a read, or over 64 bytes, is refused before sending.
  read.op_id = "x";
  CHECK((*c)->call(read).status().code() == Code::kInvalidArgument);
  mine.op_id = std::string(65, 'x');
  CHECK((*c)->call(mine).status().code() == Code::kInvalidArgument);
  CHECK(node.seen().size() == 5);
}

TEST_CASE("ClusterClient retries the same request on the next node when it may",
          "[client][retry]") {
  SECTION("overloaded, then a node that answers") {
    FakeNode a(always(Status::overloaded("busy"))), b(always(Status::ok()));
    ClusterClient cc({a.address(), b.address()});
    auto r = cc.call(counter_add(5));
    REQUIRE(r.is_ok());
    CHECK(r->status.is_ok());
    CHECK(r->counter == 5);
    REQUIRE(a.seen().size() == 1);
    REQUIRE(b.seen().size() == 1);
    CHECK(hex32(a.seen()[0].op_id));
    CHECK(a.seen()[0].op_id == b.seen()[0].op_id);  // the same operation, once
    CHECK(cc.last().op_id == a.seen()[0].op_id);
    CHECK(cc.last().attempts.size() == 2);
    // The node that answered is asked first next time.
    REQUIRE(cc.call(counter_add(1)).is_ok());
    CHECK(a.seen().size() == 1);
    CHECK(b.seen().size() == 2);
    CHECK(b.seen()[1].op_id != b.seen()[0].op_id);  // a new operation, a new id
  }
  SECTION("a node that cannot be reached, and the caller's op id") {
    FakeNode b(always(Status::ok()));
    ClusterClient cc({dead_address(), b.address()});
    api::Request add = counter_add(2);
    add.op_id = "script-42";
    auto r = cc.call(add);
    REQUIRE(r.is_ok());
    CHECK(r->status.is_ok());
    REQUIRE(b.seen().size() == 1);
    CHECK(b.seen()[0].op_id == "script-42");
  }
  SECTION("a connection that breaks after the request left, then timeout answers") {
    FakeNode a([](int) { return FakeNode::Step{FakeNode::Act::kClose, Status::ok()}; });
    FakeNode b(always(Status::timeout("quorum did not answer")));
    FakeNode c(always(Status::ok()));
    ClusterClient cc({a.address(), b.address(), c.address()});
    auto r = cc.call(counter_add(1));
    REQUIRE(r.is_ok());
    CHECK(r->status.is_ok());
    REQUIRE(c.seen().size() == 1);
    CHECK(c.seen()[0].op_id == a.seen()[0].op_id);
    CHECK(b.seen()[0].op_id == a.seen()[0].op_id);
  }
  SECTION("reads are retried too, without an op id") {
    FakeNode a(always(Status::unavailable("1 of 3 replicas reachable"))), b(always(Status::ok()));
    ClusterClient cc({a.address(), b.address()});
    api::Request get;
    get.op = api::Op::kGet;
    get.bucket = "b";
    get.key = "k";
    auto r = cc.call(get);
    REQUIRE(r.is_ok());
    CHECK(r->status.is_ok());
    CHECK(b.seen().size() == 1);
    CHECK(b.seen()[0].op_id.empty());
  }
}

TEST_CASE("ClusterClient never retries a definite answer", "[client][retry]") {
  for (const Status& s :
       {Status::invalid_argument("bad"), Status::type_mismatch("a set"), Status::too_large("big"),
        Status::not_found("nothing"), Status::unauthorized("who"), Status::corruption("bits"),
        Status::internal("disk")}) {
    FakeNode a(always(s)), b(always(Status::ok()));
    ClusterClient cc({a.address(), b.address()});
    auto r = cc.call(counter_add(1));
    INFO(s.to_string());
    REQUIRE(r.is_ok());
    CHECK(r->status.code() == s.code());
    CHECK(a.seen().size() == 1);
    CHECK(b.seen().empty());
    CHECK(cc.last().attempts.size() == 1);
  }
  // Refused before sending: nothing reaches any node.
  FakeNode a(always(Status::ok()));
  ClusterClient cc({a.address()});
  api::Request bad = counter_add(1);
  bad.options.timeout_ms = 0;
  CHECK(cc.call(bad).status().code() == Code::kInvalidArgument);
  CHECK(a.seen().empty());
}

TEST_CASE("ClusterClient bounds its attempts and keeps an indeterminate outcome",
          "[client][retry]") {
  SECTION("three attempts at most, then the last answer") {
    FakeNode a(always(Status::unavailable("a"))), b(always(Status::unavailable("b")));
    ClusterClient cc({a.address(), b.address()});
    auto r = cc.call(counter_add(1));
    REQUIRE(r.is_ok());
    CHECK(r->status.code() == Code::kUnavailable);  // nothing was applied anywhere
    CHECK(a.seen().size() + b.seen().size() == 3);
    CHECK(cc.last().attempts.size() == 3);
  }
  SECTION("a timeout, then unavailable: the outcome stays unknown (timeout)") {
    FakeNode a(always(Status::timeout("2 of 3 acknowledged"))),
        b(always(Status::unavailable("1 of 3 replicas reachable")));
    ClusterClient cc({a.address(), b.address()}, RetryPolicy{2, 30'000, 2'000, 10});
    auto r = cc.call(counter_add(1));
    REQUIRE(r.is_ok());
    CHECK(r->status.code() == Code::kTimeout);
    CHECK_THAT(r->status.message(), Catch::Contains("indeterminate"));
  }
  SECTION("a broken connection, then no node reachable: unknown as well") {
    FakeNode a([](int) { return FakeNode::Step{FakeNode::Act::kClose, Status::ok()}; });
    ClusterClient cc({a.address(), dead_address()}, RetryPolicy{2, 30'000, 2'000, 10});
    auto r = cc.call(counter_add(1));
    const Status s = r ? r->status : r.status();
    CHECK(s.code() == Code::kTimeout);
  }
  SECTION("the deadline bounds a node that never answers") {
    FakeNode a([](int) { return FakeNode::Step{FakeNode::Act::kSilent, Status::ok()}; });
    ClusterClient cc({a.address()}, RetryPolicy{3, 600, 500, 10});
    const auto start = std::chrono::steady_clock::now();
    auto r = cc.call(counter_add(1));
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK((r ? r->status : r.status()).code() == Code::kTimeout);
    CHECK(took < std::chrono::seconds(3));
  }
}

TEST_CASE("an answer frame over kMaxResponseFrameBytes fails the call with too_large",
          "[client][limits]") {
  FakeNode node([](int) { return FakeNode::Step{FakeNode::Act::kHugeFrame, Status::ok()}; });
  auto c = Client::connect_address(node.address());
  REQUIRE(c.is_ok());
  Result<api::Response> r = (*c)->call(counter_add(1));
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::kTooLarge);
  CHECK_THAT(r.status().message(),
             Catch::Contains(std::to_string(api::kMaxResponseFrameBytes + 1)));
  // The stream cannot be trusted after it: the connection stays failed.
  Result<api::Response> again = (*c)->call(counter_add(2));
  REQUIRE_FALSE(again.is_ok());
  CHECK(again.status().code() == Code::kTooLarge);
}

TEST_CASE("host lists split on commas", "[client]") {
  CHECK(split_addresses("a:1, b:2,,c:3 ") == std::vector<std::string>{"a:1", "b:2", "c:3"});
  CHECK(split_addresses("127.0.0.1:7001") == std::vector<std::string>{"127.0.0.1:7001"});
  CHECK(split_addresses("").empty());
}

}  // namespace
}  // namespace shoal::client
