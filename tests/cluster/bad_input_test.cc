// Bad input against a real node: oversized and malformed frames, 30 s of random bytes
// and truncated frames on the client and peer ports, and a wrong cluster secret. The
// node must answer clearly or close the connection, keep serving, and lose nothing.
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <msgpack.hpp>
#include <thread>

#include "crdt/prng.h"
#include "harness.h"
#include "node/api/text.h"
#include "tests/request_fields.h"

namespace shoal::test {
namespace {

// A raw TCP connection for sending garbage.
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    timeval tv{0, 200'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Raw() { close(fd_); }
  bool ok() const { return ok_; }
  void send_bytes(const std::string& b) { (void)::send(fd_, b.data(), b.size(), MSG_NOSIGNAL); }
  // Ends both directions: a send blocked on a node that stopped reading returns.
  void shutdown_both() { ::shutdown(fd_, SHUT_RDWR); }
  // Appends what arrives within the receive timeout to *out; false on EOF or an error.
  bool recv_into(std::string* out) {
    const size_t had = out->size();
    out->resize(had + (256u << 10));
    const ssize_t n = recv(fd_, out->data() + had, 256u << 10, 0);
    out->resize(had + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  }
  // Reads whatever arrives until EOF or the receive timeout; *eof tells which.
  std::string drain(bool* eof) {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      // EOF, or a reset (the node closed with our unread bytes in its buffer).
      *eof = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      return out;
    }
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

std::string frame_of(std::string_view payload) {
  std::string f;
  api::append_frame(&f, payload);
  return f;
}

std::vector<api::Response> responses(const std::string& bytes) {
  api::FrameReader reader(api::kMaxResponseFrameBytes);
  reader.feed(bytes.data(), bytes.size());
  std::vector<api::Response> out;
  std::string_view payload;
  while (reader.next(&payload) == api::FrameReader::Next::kFrame) {
    auto r = api::decode_response(payload);
    REQUIRE(r.is_ok());
    out.push_back(*r);
  }
  return out;
}

void expect_serving(TestCluster& tc, const std::string& id) {
  REQUIRE(tc.running(id));
  auto c = tc.connect(id);
  auto pong = c->ping();
  REQUIRE(pong.is_ok());
  REQUIRE(pong->status.is_ok());
}

TEST_CASE("an oversized frame is refused with too_large and the connection closed",
          "[cluster][bad]") {
  TestCluster tc(1);
  Raw raw(tc.client_port("n1"));
  REQUIRE(raw.ok());
  std::string header(4, '\0');
  const uint32_t claimed = api::kMaxClientFrameBytes + 1;
  header[0] = static_cast<char>(claimed >> 24);
  header[1] = static_cast<char>(claimed >> 16);
  header[2] = static_cast<char>(claimed >> 8);
  header[3] = static_cast<char>(claimed);
  raw.send_bytes(header + std::string(1000, 'x'));
  bool eof = false;
  auto got = responses(raw.drain(&eof));
  CHECK(eof);
  REQUIRE(got.size() == 1);
  CHECK(got[0].status.code() == Code::kTooLarge);
  CHECK_THAT(got[0].status.message(), Catch::Contains("limit"));
  expect_serving(tc, "n1");
}

TEST_CASE("malformed frames get invalid_argument and the connection keeps working",
          "[cluster][bad]") {
  TestCluster tc(1);
  Raw raw(tc.client_port("n1"));
  REQUIRE(raw.ok());
  raw.send_bytes(frame_of("\xc1 not msgpack"));
  raw.send_bytes(frame_of("\x93\x01\x02\x03"));              // an array, not a map
  raw.send_bytes(frame_of("\x82\xa2id\x05\xa2op\xa4nope"));  // {"id":5,"op":"nope"}
  api::Request ping;
  ping.id = 9;
  ping.op = api::Op::kPing;
  raw.send_bytes(frame_of(api::encode_request(ping)));
  bool eof = false;
  auto got = responses(raw.drain(&eof));
  CHECK_FALSE(eof);
  REQUIRE(got.size() == 4);
  CHECK(got[0].status.code() == Code::kInvalidArgument);
  CHECK(got[1].status.code() == Code::kInvalidArgument);
  CHECK(got[2].status.code() == Code::kInvalidArgument);
  CHECK(got[2].id == 5);
  CHECK_THAT(got[2].status.message(), Catch::Contains("unknown operation"));
  CHECK(got[3].id == 9);
  CHECK(got[3].status.is_ok());
}

// Random garbage, truncated and mutated valid frames, and connections dropped mid-frame.
std::string garbage(Prng& rng, const std::vector<std::string>& valid) {
  std::string b;
  switch (rng.below(4)) {
    case 0:  // pure noise
      for (uint64_t i = rng.below(512); i > 0; --i) b += static_cast<char>(rng.next());
      break;
    case 1: {  // a valid frame cut short
      const std::string& v = valid[rng.below(valid.size())];
      b = v.substr(0, rng.below(v.size()));
      break;
    }
    case 2: {  // a valid frame with flipped bytes (header kept)
      b = valid[rng.below(valid.size())];
      for (int i = 0; i < 3; ++i) {
        size_t at = 4 + rng.below(b.size() - 4);
        b[at] = static_cast<char>(rng.next());
      }
      break;
    }
    default: {  // a frame header with random payload
      std::string payload;
      for (uint64_t i = rng.below(256); i > 0; --i) payload += static_cast<char>(rng.next());
      b = frame_of(payload);
    }
  }
  return b;
}

TEST_CASE("30 s of random bytes and truncated frames on both ports leave data intact",
          "[cluster][bad][fuzz]") {
  TestCluster tc(3);
  auto n1 = tc.connect("n1");
  for (int i = 0; i < 50; ++i) {
    REQUIRE(
        n1->put("keep", "k" + std::to_string(i), "v" + std::to_string(i), std::nullopt, opts("all"))
            ->status.is_ok());
  }
  REQUIRE(n1->counter_add("keep", "count", 42, opts("all"))->status.is_ok());

  // Valid frames to mutate: client requests, and peer hellos and messages.
  std::vector<std::string> client_frames, peer_frames;
  api::Request put;
  put.id = 1;
  put.op = api::Op::kPut;
  put.bucket = "fuzz";
  put.key = "k";
  put.value = "v";
  client_frames.push_back(frame_of(api::encode_request(put)));
  put.op = api::Op::kSetAdd;
  put.elements = {"a", "b"};
  client_frames.push_back(frame_of(api::encode_request(put)));
  peer_frames.push_back(
      frame_of(api::encode_hello({api::kClearSecretVersion, "n2", "test-secret", "", ""})));
  core::Message m;
  m.kind = core::Message::Kind::kMerge;
  m.bucket = "keep";
  m.key = "k1";
  m.object = std::make_shared<const core::Object>(core::DataType::kCounter);
  peer_frames.push_back(peer_frames[0] + frame_of(api::encode_message(m)));
  // Protocol 2: a hello, then a proof (wrong: the blaster cannot know the nonce).
  peer_frames.push_back(
      frame_of(api::encode_hello({api::kProtocolVersion, "n3", "", "", std::string(32, 'n')})) +
      frame_of(api::encode_proof(std::string(32, 'p'))));

  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::atomic<uint64_t> sent{0};
  auto blast = [&](int port, const std::vector<std::string>& valid, uint64_t seed) {
    Prng rng(seed);
    while (std::chrono::steady_clock::now() < end) {
      Raw raw(port);
      if (!raw.ok()) continue;
      for (uint64_t i = rng.below(8) + 1; i > 0; --i) {
        raw.send_bytes(garbage(rng, valid));
        ++sent;
      }
      if (rng.chance(1, 2)) {
        bool eof = false;
        (void)raw.drain(&eof);
      }
    }
  };
  std::thread a(blast, tc.client_port("n1"), client_frames, 1);
  std::thread b(blast, tc.peer_port("n1"), peer_frames, 2);
  std::thread c(blast, tc.peer_port("n2"), peer_frames, 3);
  a.join();
  b.join();
  c.join();
  INFO("sent " << sent.load() << " garbage writes");
  CHECK(sent.load() > 1000);

  for (const char* id : {"n1", "n2", "n3"}) expect_serving(tc, id);
  auto n2 = tc.connect("n2");
  for (int i = 0; i < 50; ++i) {
    auto r = n2->get("keep", "k" + std::to_string(i), opts("all"));
    REQUIRE(r.is_ok());
    REQUIRE(r->values == std::vector<std::string>{"v" + std::to_string(i)});
  }
  CHECK(n2->counter_get("keep", "count", opts("all"))->counter == 42);
}

// ---- strict requests: every API refuses a request lacking a field or naming an
// unknown one, clearly, and nothing stored changes ----

using namespace fields;  // str, bin, num, map_of (tests/request_fields.h)
std::string request_frame(const std::vector<F>& fields) { return frame_of(map_of(fields)); }

// Reads from `raw` until `done(bytes so far)` or 10 s.
template <typename Done>
std::string read_until(Raw& raw, Done done) {
  std::string got;
  for (int i = 0; i < 50 && !done(got); ++i) {
    bool eof = false;
    got += raw.drain(&eof);
    if (eof) break;
  }
  return got;
}

// What the four keys hold, read at ALL through the native API.
std::string snapshot(client::Client& c) {
  std::string out;
  auto reg = c.get("users", "alice", opts("all"));
  REQUIRE(reg.is_ok());
  out += "register:" + std::string(code_name(reg->status.code()));
  for (const auto& v : reg->values) out += " [" + v + "]";
  auto lww = c.get("cfg", "mode", opts("all"));
  REQUIRE(lww.is_ok());
  out += "; lww:" + std::string(code_name(lww->status.code()));
  for (const auto& v : lww->values) out += " [" + v + "]";
  auto counter = c.counter_get("stats", "visits", opts("all"));
  REQUIRE(counter.is_ok());
  out += "; counter:" + std::to_string(counter->counter);
  auto set = c.set_get("tags", "t1", opts("all"));
  REQUIRE(set.is_ok());
  out += "; set:";
  for (const auto& e : set->elements) out += " " + e;
  return out;
}

TEST_CASE(
    "requests lacking a field or naming an unknown one are refused on every API and "
    "change nothing",
    "[cluster][bad][strict]") {
  TestCluster tc(1);
  auto c = tc.connect("n1");
  const core::RequestOptions all = opts("all");
  auto put = c->put("users", "alice", "alice@example.com", std::nullopt, all);
  REQUIRE(put->status.is_ok());
  const std::string ctx = *put->context;
  REQUIRE(c->put("cfg", "mode", "fast", std::nullopt, all, core::DataType::kLww)->status.is_ok());
  REQUIRE(c->counter_add("stats", "visits", 42, all)->status.is_ok());
  auto added = c->set_add("tags", "t1", {"green", "red"}, all);
  REQUIRE(added->status.is_ok());
  const std::string set_ctx = *added->context;
  const std::string before = snapshot(*c);
  REQUIRE(before == "register:ok [alice@example.com]; lww:ok [fast]; counter:42; set: green red");

  SECTION("native") {
    struct Case {
      std::vector<F> fields;
      uint64_t id;
      std::string want;
    };
    const F users = str("b", "users"), alice = str("k", "alice");
    const F stats = str("b", "stats"), visits = str("k", "visits");
    F opt_typo{"opt", [](Pk& pk) {
                 pk.pack_map(2);
                 pk.pack(std::string("w"));
                 pk.pack(std::string("all"));
                 pk.pack(std::string("timout_ms"));
                 pk.pack(100);
               }};
    F one_elem{"elems", [](Pk& pk) {
                 pk.pack_array(1);
                 pk.pack(std::string("red"));
               }};
    const std::vector<Case> cases = {
        // a misspelt value with a context would have replaced the real one with ""
        {{num("id", 1), str("op", "put"), users, alice, str("value", "oops"), bin("ctx", ctx)},
         1,
         "field \"value\": unknown field"},
        {{num("id", 2), str("op", "put"), users, alice, bin("ctx", ctx)},
         2,
         "field \"v\": missing"},
        {{num("id", 3), str("op", "counter_add"), stats, visits}, 3, "field \"delta\": missing"},
        {{num("id", 4), str("op", "set_rm"), str("b", "tags"), str("k", "t1"), bin("ctx", set_ctx)},
         4,
         "field \"elems\": missing"},
        {{str("op", "put"), users, alice, bin("v", "no id"), bin("ctx", ctx)},
         0,
         "field \"id\": missing"},
        {{num("id", 6), str("op", "put"), users, alice, bin("v", "x"), bin("ctx", ctx), opt_typo},
         6,
         "field \"opt.timout_ms\": unknown option"},
        {{num("id", 7), str("op", "counter_add"), stats, visits, num("delta", 1), num("op_id", 9)},
         7,
         "field \"op_id\": expected a byte string"},
        {{num("id", 8), str("op", "counter_add"), stats, visits, num("delta", 1), str("op_id", "")},
         8,
         "field \"op_id\": empty"},
        {{num("id", 9), str("op", "counter_add"), stats, visits, num("delta", 1),
          str("op_id", std::string(65, 'x'))},
         9,
         "field \"op_id\": 65 bytes"},
        {{num("id", 10), str("op", "counter_get"), stats, visits, str("op_id", "a")},
         10,
         "op_id applies to updates only"},
        {{num("id", 11), str("op", "set_rm"), str("b", "tags"), str("k", "t1"), one_elem,
          bin("ctx", set_ctx), num("delta", 3)},
         11,
         "field \"delta\": does not apply to set_rm"},
        {{num("id", 12), str("op", "del"), users, alice, bin("ctx", ctx), str("tpye", "lww")},
         12,
         "field \"tpye\": unknown field"},
    };
    Raw raw(tc.client_port("n1"));
    REQUIRE(raw.ok());
    for (const Case& k : cases) raw.send_bytes(request_frame(k.fields));
    std::vector<api::Response> got;
    read_until(raw, [&](const std::string& bytes) {
      got = responses(bytes);
      return got.size() >= cases.size();
    });
    REQUIRE(got.size() == cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      INFO("case " << i << ": " << got[i].status.to_string());
      CHECK(got[i].id == cases[i].id);  // one connection, answered in order (no cluster trip)
      CHECK(got[i].status.code() == Code::kInvalidArgument);
      CHECK_THAT(got[i].status.message(), Catch::Contains(cases[i].want));
    }
    // The well-formed update with an op id goes through (to another key).
    raw.send_bytes(request_frame({num("id", 20), str("op", "counter_add"), stats, str("k", "other"),
                                  num("delta", 5), str("op_id", "ok-1")}));
    std::vector<api::Response> fine;
    read_until(raw, [&](const std::string& bytes) {
      fine = responses(bytes);
      return !fine.empty();
    });
    REQUIRE(fine.size() == 1);
    CHECK(fine[0].id == 20);
    CHECK(fine[0].status.is_ok());
    CHECK(fine[0].counter == 5);
  }

  SECTION("HTTP") {
    const int port = tc.cluster().find("n1")->http_port();
    auto http = [&](const std::string& request) {
      Raw raw(port);
      REQUIRE(raw.ok());
      raw.send_bytes(request);
      return read_until(raw, [](const std::string& b) {
        const size_t end = b.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        const size_t cl = b.find("Content-Length: ");
        return cl != std::string::npos && b.size() >= end + 4 + std::stoul(b.substr(cl + 16));
      });
    };
    auto post = [](const std::string& path, const std::string& body,
                   const std::string& headers = "") {
      return "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n" + headers + "\r\n" + body;
    };
    const std::string b64ctx = text::base64_encode(ctx);
    const std::string b64set = text::base64_encode(set_ctx);
    struct Case {
      std::string request, want;
    };
    const std::vector<Case> cases = {
        {"PUT /buckets/users/keys/alice HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
         "X-Shoal-Context: " +
             b64ctx + "\r\n\r\n",
         "PUT needs the value"},
        {post("/buckets/stats/counters/visits", "{}"), "field \\\"delta\\\": missing"},
        {post("/buckets/stats/counters/visits", "{\"dleta\": 5}"), "field \\\"dleta\\\": unknown"},
        {post("/buckets/stats/counters/visits", "{\"delta\": 5, \"by\": 2}"),
         "field \\\"by\\\": unknown"},
        {post("/buckets/tags/sets/t1", "{\"remove\": [\"red\"], \"contxt\": \"" + b64set + "\"}"),
         "field \\\"contxt\\\": unknown"},
        {post("/buckets/tags/sets/t1", "{\"remove\": \"red\"}"), "field \\\"remove\\\""},
        {post("/buckets/stats/counters/visits", "{\"delta\": 1}", "Idempotency-Key:\r\n"),
         "header Idempotency-Key: 0 bytes"},
        {post("/buckets/stats/counters/visits", "{\"delta\": 1}",
              "Idempotency-Key: " + std::string(65, 'k') + "\r\n"),
         "header Idempotency-Key: 65 bytes"},
        {"GET /buckets/stats/counters/visits HTTP/1.1\r\nConnection: close\r\n"
         "Idempotency-Key: a\r\n\r\n",
         "applies to updates"},
        {post("/buckets/stats/counters/visits?timout_ms=50", "{\"delta\": 1}"),
         "unknown query parameter \\\"timout_ms\\\""},
    };
    for (const Case& k : cases) {
      const std::string out = http(k.request);
      INFO(k.request << "\n->\n" << out);
      CHECK(out.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
      CHECK_THAT(out, Catch::Contains("\"code\":\"invalid_argument\""));
      CHECK_THAT(out, Catch::Contains(k.want));
    }
    const std::string fine = http(
        post("/buckets/stats/counters/other-http", "{\"delta\": 3}", "Idempotency-Key: h-1\r\n"));
    CHECK(fine.rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK_THAT(fine, Catch::Contains("\"value\":3"));
  }

  SECTION("RESP") {
    Raw raw(tc.cluster().find("n1")->resp_port());
    REQUIRE(raw.ok());
    auto cmd = [](const std::vector<std::string>& args) {
      std::string out = "*" + std::to_string(args.size()) + "\r\n";
      for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
      return out;
    };
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"SHOAL.ONCE", "", "INCRBY", "visits", "5"},
         "-ERR invalid_argument: SHOAL.ONCE op_id of 0 bytes"},
        {{"SHOAL.ONCE", std::string(65, 'x'), "INCRBY", "visits", "5"},
         "-ERR invalid_argument: SHOAL.ONCE op_id of 65 bytes"},
        {{"SHOAL.ONCE", "r-1", "GET", "visits"}, "-ERR SHOAL.ONCE runs an update"},
        {{"SHOAL.ONCE", "r-1", "INCRBY", "visits"}, "-ERR wrong number of arguments for 'incrby'"},
        {{"SHOAL.ONCE", "r-1", "INCRBY", "visits", "5x"}, "-ERR value is not an integer"},
        {{"SHOAL.ONCE", "r-1", "HINCRBY", "visits", "f", "5"}, "-ERR unknown command 'HINCRBY'"},
        {{"SHOAL.ONCE", "r-1"}, "-ERR wrong number of arguments for 'shoal.once'"},
        {{"INCRBY", "visits"}, "-ERR wrong number of arguments for 'incrby'"},
        {{"SHOAL.ONCE", "r-1", "SREM", "t1"}, "-ERR wrong number of arguments for 'srem'"},
        {{"SHOAL.ONCE", "r-1", "DEL", "alice", "bob"}, "-ERR SHOAL.ONCE DEL takes one key"},
        {{"SHOAL.ONCE", "r-1", "SET", "mode", "slow", "NX"}, "-ERR SET options"},
    };
    // The keys live in buckets stats, tags, users, cfg; each case runs in the right one.
    std::string batch = cmd({"SHOAL.BUCKET", "stats"});
    for (const auto& [args, want] : cases) batch += cmd(args);
    batch += cmd({"SHOAL.ONCE", "r-ok", "INCRBY", "other-resp", "7"});
    raw.send_bytes(batch);
    const std::string out = read_until(raw, [&](const std::string& b) {
      return std::count(b.begin(), b.end(), '\n') >= static_cast<long>(cases.size() + 2);
    });
    std::vector<std::string> lines;
    for (size_t at = 0; at < out.size();) {
      const size_t nl = out.find("\r\n", at);
      if (nl == std::string::npos) break;
      lines.push_back(out.substr(at, nl - at));
      at = nl + 2;
    }
    REQUIRE(lines.size() == cases.size() + 2);
    CHECK(lines[0] == "+OK");
    for (size_t i = 0; i < cases.size(); ++i) {
      INFO("case " << i);
      CHECK(lines[i + 1].rfind(cases[i].second, 0) == 0);
    }
    CHECK(lines.back() == ":7");
  }

  // Whatever was refused, the stored values are what they were.
  CHECK(snapshot(*c) == before);
}

TEST_CASE("a node with the wrong cluster secret is refused with a clear log line",
          "[cluster][bad]") {
  TestCluster tc(2, "right-secret", /*start=*/false);
  tc.start_node("n1");
  tc.cluster().secret = "wrong-secret";
  tc.start_node("n2");
  // Each dials the other, checks the listener's proof of the secret, finds it wrong and
  // sends nothing more (peer_handshake_test.cc: a dialler's wrong proof is refused).
  const std::string refused = "could not prove it knows the cluster secret";
  REQUIRE(eventually([&] { return tc.log("n1").find(refused) != std::string::npos; }));
  REQUIRE(eventually([&] { return tc.log("n2").find(refused) != std::string::npos; }));

  auto n2 = tc.connect("n2");
  auto pong = n2->ping();
  CHECK(pong->peers.empty());
  core::RequestOptions both = opts("all");
  both.n = 2;
  auto w = n2->put("s", "k", "v", std::nullopt, both);
  CHECK(w->status.code() == Code::kUnavailable);
}

}  // namespace
}  // namespace shoal::test

namespace shoal::test {
namespace {

// One node whose RSS tracks what it holds, holding big/v, a 50 KB value. Under ASan,
// freed memory sits in a 256 MiB quarantine and inflates RSS; keep it small for this node.
struct BigValueNode {
  explicit BigValueNode(size_t value_bytes = 50'000) : kValueBytes(value_bytes) {
    const std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
    setenv("ASAN_OPTIONS", (asan + ":quarantine_size_mb=8").c_str(), 1);
    tc = std::make_unique<TestCluster>(1);
    setenv("ASAN_OPTIONS", asan.c_str(), 1);
    REQUIRE(tc->connect("n1")
                ->put("big", "v", std::string(kValueBytes, 'x'), std::nullopt, opts("one"))
                ->status.is_ok());
    pid = tc->cluster().find("n1")->pid;
    rss_before_kib = rss_kib(pid);
  }
  long grown_mib() const { return (rss_kib(pid) - rss_before_kib) / 1024; }

  const size_t kValueBytes;
  std::unique_ptr<TestCluster> tc;
  pid_t pid = 0;
  long rss_before_kib = 0;
};

// Sends `count` reads of big/`key` at ONE on `c` without reading their answers.
template <typename Client>
void pipeline_gets(Client& c, const std::string& key, int count) {
  api::Request get;
  get.op = api::Op::kGet;
  get.bucket = "big";
  get.key = key;
  get.options = opts("one");
  for (int i = 0; i < count; ++i) REQUIRE(c->send(get).is_ok());
  REQUIRE(c->flush().is_ok());
}

TEST_CASE("a client that does not read its answers cannot make the node buffer them all",
          "[cluster][bad]") {
  BigValueNode node;
  TestCluster& tc = *node.tc;

  // 20,000 reads of a 50 KB value (1 GB of answers), and no reading for a while.
  auto slow = tc.connect("n1");
  constexpr int kRequests = 20'000;
  pipeline_gets(slow, "v", kRequests);
  // The node keeps serving others meanwhile.
  REQUIRE(eventually([&] {
    auto other = tc.connect("n1");
    auto pong = other->ping();
    return pong.is_ok() && pong->status.is_ok();
  }));
  usleep(1'000'000);
  const long grown_mib = node.grown_mib();
  INFO("node RSS grew by " << grown_mib << " MiB while its answers went unread");
  // Measured: 35 MiB bounded (46-60 under ASan); 480 (413 under ASan) after 1 s unbounded.
  CHECK(grown_mib < 200);

  for (int i = 0; i < kRequests; ++i) {
    auto r = slow->recv(30'000);
    REQUIRE(r.is_ok());
    REQUIRE(r->status.is_ok());
    REQUIRE(r->values.size() == 1);
    REQUIRE(r->values[0].size() == 50'000);
  }
}

TEST_CASE("an HTTP client that pipelines reads and does not read its answers is bounded too",
          "[cluster][bad]") {
  // Regression: HTTP dispatched every request of a read at once and resumed reading while
  // its answers sat unread: RSS grew without bound (1.9 GB in 85 s measured).
  BigValueNode node;
  TestCluster& tc = *node.tc;

  constexpr int kRequests = 20'000;  // 1 GB of answers
  std::string requests;
  for (int i = 0; i < kRequests; ++i) requests += "GET /buckets/big/keys/v?r=1 HTTP/1.1\r\n\r\n";
  Raw slow(tc.cluster().find("n1")->http_port());
  REQUIRE(slow.ok());
  std::thread sender([&] { slow.send_bytes(requests); });  // blocks once the node stops reading
  struct JoinAtExit {  // also when a REQUIRE throws: never destroy a running thread
    Raw& raw;
    std::thread& thread;
    ~JoinAtExit() {
      raw.shutdown_both();
      thread.join();
    }
  } join_at_exit{slow, sender};
  REQUIRE(eventually([&] {  // others are served meanwhile
    auto pong = tc.connect("n1")->ping();
    return pong.is_ok() && pong->status.is_ok();
  }));
  usleep(1'500'000);
  const long grown_mib = node.grown_mib();
  INFO("node RSS grew by " << grown_mib << " MiB while its HTTP answers went unread");
  CHECK(grown_mib < 200);

  size_t answers = 0;  // every request is answered, in full, once the client reads
  std::string got;
  const std::string body(50'000, 'x');
  size_t at = 0;
  for (int idle = 0; answers < kRequests && idle < 50;) {
    const size_t had = got.size();
    if (!slow.recv_into(&got)) break;
    idle = got.size() == had ? idle + 1 : 0;
    for (;;) {  // whole answers: a 200 head, then a body of the 50,000 x
      const size_t head = got.find("\r\n\r\n", at);
      if (head == std::string::npos || got.size() < head + 4 + body.size()) break;
      REQUIRE(got.compare(at, 15, "HTTP/1.1 200 OK") == 0);
      REQUIRE(got.compare(head + 4, body.size(), body) == 0);
      ++answers;
      at = head + 4 + body.size();
    }
    if (at > (1u << 20)) {
      got.erase(0, at);
      at = 0;
    }
  }
  CHECK(answers == kRequests);
}

TEST_CASE("pipelined reads of 1 MB values are bounded by their answers' size, not their count",
          "[cluster][bad]") {
  // Issue #14 case 3: up to 1024 requests in flight per connection, each answered with a
  // 1 MB value, made 1 GB of answers before the 16 MiB unread bound could stop reading.
  // The requests in flight are now counted at the size of the connection's recent answers.
  BigValueNode node(1'000'000);
  TestCluster& tc = *node.tc;
  constexpr int kRequests = 500;  // 500 MB of answers
  auto slow = tc.connect("n1");
  pipeline_gets(slow, "v", kRequests);
  REQUIRE(eventually([&] {
    auto pong = tc.connect("n1")->ping();
    return pong.is_ok() && pong->status.is_ok();
  }));
  usleep(1'000'000);
  const long grown_mib = node.grown_mib();
  INFO("node RSS grew by " << grown_mib << " MiB while 500 MB of answers went unread");
  std::printf("1 MB values, 500 pipelined reads unread: RSS +%ld MiB\n", grown_mib);
  CHECK(grown_mib < 150);
  for (int i = 0; i < kRequests; ++i) {  // a client that reads late loses nothing
    auto r = slow->recv(30'000);
    REQUIRE(r.is_ok());
    REQUIRE(r->status.is_ok());
    REQUIRE(r->values.size() == 1);
    REQUIRE(r->values[0].size() == 1'000'000);
  }
}

TEST_CASE("reads of big answers pipelined after small ones stay bounded by the reads in flight",
          "[cluster][bad]") {
  // The guess of an answer's size comes from the connection's recent answers: after small
  // reads it lets many requests through. Reads in flight are capped apart (64), so 300
  // pipelined reads of a register with two 1 MB siblings, never read, stay within 16 MiB
  // + 64 answers, and are all answered once the client reads.
  BigValueNode node(1'000'000);
  TestCluster& tc = *node.tc;
  auto c = tc.connect("n1");
  const std::string mb(1'000'000, 'y');
  REQUIRE(c->put("big", "two", mb, std::nullopt, opts("one"))->status.is_ok());
  REQUIRE(c->put("big", "two", mb, std::nullopt, opts("one"))->status.is_ok());  // a sibling
  REQUIRE(c->get("big", "two", opts("one"))->values.size() == 2);
  REQUIRE(c->put("big", "small", "x", std::nullopt, opts("one"))->status.is_ok());
  for (int i = 0; i < 200; ++i) REQUIRE(c->get("big", "small", opts("one"))->status.is_ok());
  const long before_mib = node.grown_mib();
  constexpr int kRequests = 300;  // 600 MB of answers
  pipeline_gets(c, "two", kRequests);
  REQUIRE(eventually([&] {
    auto pong = tc.connect("n1")->ping();
    return pong.is_ok() && pong->status.is_ok();
  }));
  usleep(1'000'000);
  const long grown_mib = node.grown_mib() - before_mib;
  std::printf("300 pipelined 2 MB reads after small ones, unread: RSS +%ld MiB\n", grown_mib);
  CHECK(grown_mib < 250);
  for (int i = 0; i < kRequests; ++i) {
    auto r = c->recv(30'000);
    REQUIRE(r.is_ok());
    REQUIRE(r->status.is_ok());
    REQUIRE(r->values.size() == 2);
  }
}

TEST_CASE(
    "a key with 100 siblings refuses another blind write with too_large and a write with "
    "the read's context resolves them",
    "[cluster][bad]") {
  TestCluster tc(1);
  auto c = tc.connect("n1");
  for (int i = 0; i < 100; ++i) {
    auto put = c->put("sib", "k", "v" + std::to_string(i), std::nullopt, opts("one"));
    REQUIRE(put.is_ok());
    REQUIRE(put->status.is_ok());
  }
  auto refused = c->put("sib", "k", "one too many", std::nullopt, opts("one"));
  REQUIRE(refused.is_ok());
  CHECK(refused->status.code() == Code::kTooLarge);
  INFO(refused->status.to_string());
  CHECK(refused->status.message().find("siblings") != std::string::npos);
  auto read = c->get("sib", "k", opts("one"));
  REQUIRE(read.is_ok());
  CHECK(read->values.size() == 100);
  auto resolved = c->put("sib", "k", "resolved", read->context, opts("one"));
  REQUIRE(resolved.is_ok());
  CHECK(resolved->status.is_ok());
  CHECK(c->get("sib", "k", opts("one"))->values == std::vector<std::string>{"resolved"});
  auto st = c->cluster_status();
  REQUIRE(st.is_ok());
  int64_t warnings = -1;
  for (const auto& [name, value] : st->stats) {
    if (name == "sibling_warnings") warnings = value;
  }
  CHECK(warnings == 76);  // the writes that left 25..100 siblings
}

}  // namespace
}  // namespace shoal::test
