// The peer handshake on a real node's peer port, step by step (node/uv/peer_auth.h): a
// dialler that proves the cluster secret is welcomed; a wrong proof, a short nonce or a
// protocol 1 hello with the wrong secret is refused and nothing it sent afterwards is
// applied; a protocol 1 hello with the right secret is still welcomed (old nodes), and the
// node logs that it sent the secret in clear.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "node/api/frames.h"
#include "node/api/peer_codec.h"
#include "node/core/object.h"
#include "node/uv/peer_auth.h"

namespace shoal::test {
namespace {

// A blocking connection to a peer port that reads whole frames.
class PeerLink {
 public:
  explicit PeerLink(int port) : reader_(api::kMaxPeerFrameBytes) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~PeerLink() { close(fd_); }
  void send(std::string_view payload) {
    std::string f;
    api::append_frame(&f, payload);
    send_bytes(f);
  }
  void send_bytes(std::string_view f) {
    REQUIRE(::send(fd_, f.data(), f.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(f.size()));
  }
  // The next frame's payload; "" on EOF or after 5 s without one.
  std::string next() {
    for (;;) {
      std::string_view payload;
      if (reader_.next(&payload) == api::FrameReader::Next::kFrame) return std::string(payload);
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return "";
      reader_.feed(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  api::FrameReader reader_;
};

constexpr const char* kSecret = "handshake-secret";
const std::string& key() {  // what the node's proofs are keyed by
  static const std::string k = uvshell::peer_key(kSecret);
  return k;
}

// Sends a protocol 2 hello as `node`; returns the challenge (checked: n1 proved the secret).
api::Challenge hello(PeerLink& link, const std::string& node, const std::string& nonce) {
  link.send(api::encode_hello({api::kProtocolVersion, node, "", "", nonce}));
  Result<api::Challenge> ch = api::decode_challenge(link.next());
  REQUIRE(ch.is_ok());
  CHECK(ch->node == "n1");
  CHECK(ch->proof ==
        uvshell::peer_proof(key(), uvshell::PeerRole::kListener, nonce, ch->nonce, node, "n1"));
  return *ch;
}

TEST_CASE("the peer handshake welcomes a proof of the secret and refuses anything else",
          "[cluster][bad]") {
  TestCluster tc(1, kSecret);
  const int port = tc.peer_port("n1");
  const std::string nonce = uvshell::random_nonce();
  {
    PeerLink link(port);
    const api::Challenge ch = hello(link, "n7", nonce);
    link.send(api::encode_proof(
        uvshell::peer_proof(key(), uvshell::PeerRole::kDialler, nonce, ch.nonce, "n7", "n1")));
    Result<std::string> welcome = api::decode_welcome(link.next());
    INFO(welcome.status().to_string());
    CHECK(welcome.is_ok());
  }
  {  // the listener's own proof sent back (a reflection) is not the dialler's
    PeerLink link(port);
    const api::Challenge ch = hello(link, "n8", nonce);
    link.send(api::encode_proof(ch.proof));
    Result<std::string> welcome = api::decode_welcome(link.next());
    CHECK(welcome.status().code() == Code::kUnauthorized);
    CHECK_THAT(welcome.status().message(), Catch::Contains("wrong cluster secret"));
    CHECK(link.next().empty());  // closed (or 5 s without a frame: the log below tells)
  }
  {  // a short nonce
    PeerLink link(port);
    link.send(api::encode_hello({api::kProtocolVersion, "n8", "", "", "short"}));
    CHECK(api::decode_welcome(link.next()).status().code() == Code::kInvalidArgument);
  }
  {  // protocol 1: the secret in clear, wrong, then right
    PeerLink wrong(port);
    wrong.send(api::encode_hello({api::kClearSecretVersion, "n8", "guess", "", ""}));
    CHECK(api::decode_welcome(wrong.next()).status().code() == Code::kUnauthorized);
    PeerLink right(port);
    right.send(api::encode_hello({api::kClearSecretVersion, "n9", kSecret, "", ""}));
    CHECK(api::decode_welcome(right.next()).is_ok());
  }
  CHECK(eventually([&] {
    return tc.log("n1").find("n9 (127.0.0.1") != std::string::npos &&
           tc.log("n1").find("sends the cluster secret in clear") != std::string::npos;
  }));
  CHECK_THAT(tc.log("n1"), Catch::Contains("claims to be n8)"));
  CHECK_THAT(tc.log("n1"), Catch::Contains("wrong cluster secret"));
  CHECK(tc.log("n1").find(kSecret) == std::string::npos);  // never logged
}

// A merge of register `key` = `value`, as a peer's read repair sends it (no ack awaited).
std::string repair_merge(const std::string& key, const std::string& value) {
  core::Message m = core::Message::make(core::Message::Kind::kMerge, 0, "b", key);
  m.object = std::make_shared<const core::Object>(crdt::DvvSet{}.put(0x7e57, {}, value));
  return api::encode_message(m);
}

// A merge of `key` whose last field is not a boolean: it fails to decode only after its
// kind, key and object did, so a receiver that kept the half-decoded message would apply it.
std::string merge_bad_at_the_end(const std::string& key, const std::string& value) {
  core::Message m = core::Message::make(core::Message::Kind::kMerge, 0, "b", key);
  m.object = std::make_shared<const core::Object>(crdt::DvvSet{}.put(0x7e57, {}, value));
  m.base = 1;  // the 16-field form, which ends with `full`, a boolean
  std::string bytes = api::encode_message(m);
  bytes.back() = '\x01';  // the integer 1 where `full` was
  return bytes;
}

TEST_CASE("a welcomed peer's frames before a bad one are applied, then its link is closed",
          "[cluster][bad]") {
  TestCluster tc(1, kSecret);
  PeerLink link(tc.peer_port("n1"));
  const std::string nonce = uvshell::random_nonce();
  const api::Challenge ch = hello(link, "n7", nonce);
  link.send(api::encode_proof(
      uvshell::peer_proof(key(), uvshell::PeerRole::kDialler, nonce, ch.nonce, "n7", "n1")));
  REQUIRE(api::decode_welcome(link.next()).is_ok());
  // In one write, so they arrive in one read and are decoded as one batch.
  std::string frames;
  api::append_frame(&frames, repair_merge("k1", "v1"));
  api::append_frame(&frames, repair_merge("k2", "v2"));
  api::append_frame(&frames, merge_bad_at_the_end("k4", "v4"));
  api::append_frame(&frames, repair_merge("k3", "v3"));  // after the bad frame: dropped
  link.send_bytes(frames);
  CHECK(link.next().empty());  // closed (or 5 s without a frame: the log below tells)
  auto c = tc.connect("n1");
  for (const auto& [k, v] : {std::pair{"k1", "v1"}, {"k2", "v2"}}) {
    INFO(k);
    auto got = c->get("b", k, opts("one"));
    REQUIRE(got.is_ok());
    CHECK(got->values == std::vector<std::string>{v});
  }
  for (const char* k : {"k3", "k4"}) {  // after the bad frame, and the bad frame itself
    INFO(k);
    auto dropped = c->get("b", k, opts("one"));
    REQUIRE(dropped.is_ok());
    CHECK(dropped->values.empty());
  }
  CHECK_THAT(tc.log("n1"), Catch::Contains("peer n7 ("));
  CHECK_THAT(tc.log("n1"), Catch::Contains("peer message: expected a boolean"));
  CHECK_THAT(tc.log("n1"), Catch::Contains("; closing the connection"));
}

TEST_CASE("a listener with --peer-min-protocol=2 refuses a hello that sends the secret in clear",
          "[cluster][bad]") {
  TestCluster tc(1, kSecret, /*start=*/true, {"--peer-min-protocol=2"});
  const int port = tc.peer_port("n1");
  {  // the right secret, in clear: refused, and the connection closed
    PeerLink clear(port);
    clear.send(api::encode_hello({api::kClearSecretVersion, "n9", kSecret, "", ""}));
    Result<std::string> welcome = api::decode_welcome(clear.next());
    CHECK(welcome.status().code() == Code::kUnauthorized);
    CHECK_THAT(welcome.status().message(), Catch::Contains("--peer-min-protocol"));
    CHECK(clear.next().empty());
  }
  {  // protocol 2 is still welcomed
    PeerLink link(port);
    const std::string nonce = uvshell::random_nonce();
    const api::Challenge ch = hello(link, "n7", nonce);
    link.send(api::encode_proof(
        uvshell::peer_proof(key(), uvshell::PeerRole::kDialler, nonce, ch.nonce, "n7", "n1")));
    CHECK(api::decode_welcome(link.next()).is_ok());
  }
  CHECK_THAT(tc.log("n1"), Catch::Contains("sends the cluster secret in clear; this node takes"));
  CHECK(tc.log("n1").find(kSecret) == std::string::npos);  // never logged
}

// A listener that accepts and never answers (a hung process, a half-open middlebox): the
// dialler gives up on the connection after --peer-handshake-timeout-ms and dials again,
// instead of holding its queue for the peer on a connection that will never welcome it.
TEST_CASE("a dialled peer that never answers the hello is redialled after the deadline",
          "[cluster][bad]") {
  TestCluster tc(2, kSecret, /*start=*/false, {"--peer-handshake-timeout-ms=1500"});
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(tc.peer_port("n2")));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(listen(fd, 16) == 0);
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  tc.start_node("n1");    // n2 stays down: this socket holds its peer port
  std::vector<int> held;  // accepted and never answered
  for (int second = 0; second < 15 && held.size() < 3; ++second) {
    if (const int c = accept(fd, nullptr, nullptr); c >= 0) held.push_back(c);
  }
  CHECK(held.size() >= 3);  // the first dial and at least two more
  CHECK_THAT(tc.log("n1"), Catch::Contains("no welcome within 1500 ms of dialling"));
  for (int c : held) close(c);
  close(fd);
}

}  // namespace
}  // namespace shoal::test
