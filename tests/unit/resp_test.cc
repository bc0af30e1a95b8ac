// The RESP adapter: the parser splits multibulk and inline commands at any byte
// boundary and refuses malformed or oversized input; the session answers in command
// order whatever order the cluster answers in, maps errors to Redis error codes, and
// keeps per-connection consistency options.
#include "node/api/resp.h"

#include <catch2/catch.hpp>
#include <deque>

#include "crdt/prng.h"

namespace shoal::api::resp {
namespace {

std::string multibulk(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

TEST_CASE("the RESP parser splits commands at every byte boundary", "[resp]") {
  const std::string stream = multibulk({"SET", "k", std::string("v\r\n\0x", 5)}) +
                             "PING  hello\r\n" + multibulk({"GET", "k"}) + "\r\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    Parser p;
    std::vector<std::vector<std::string>> got;
    std::vector<std::string> args;
    std::string err;
    for (const std::string& part : {stream.substr(0, cut), stream.substr(cut)}) {
      p.feed(part.data(), part.size());
      while (p.next(&args, &err) == Parser::Next::kCommand) got.push_back(args);
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0][2] == std::string("v\r\n\0x", 5));
    CHECK(got[1] == std::vector<std::string>{"PING", "hello"});
    CHECK(got[2] == std::vector<std::string>{"GET", "k"});
  }
}

TEST_CASE("the RESP parser refuses malformed and oversized input", "[resp]") {
  const std::vector<std::string> bads = {
      "*2\r\n$3\r\nGET\r\n:1\r\n", "*x\r\n",           "*99999999\r\n",
      "*1\r\n$-5\r\n",               "*1\r\n$3\r\nGETX\r\n", "*1\r\n$999999999\r\n",
      std::string(70'000, 'a')};
  for (const std::string& bad : bads) {
    Parser p;
    p.feed(bad.data(), bad.size());
    std::vector<std::string> args;
    std::string err;
    CHECK(p.next(&args, &err) == Parser::Next::kError);
    CHECK(err.find("Protocol error") == 0);
  }
  Prng rng(4);
  for (int i = 0; i < 20'000; ++i) {  // random bytes: an answer, never a crash
    std::string junk;
    for (uint64_t n = rng.below(40); n > 0; --n) junk += static_cast<char>(rng.next());
    if (rng.chance(1, 2)) junk = "*" + junk;
    Parser p;
    p.feed(junk.data(), junk.size());
    std::vector<std::string> args;
    std::string err;
    while (p.next(&args, &err) == Parser::Next::kCommand) {
    }
  }
}

// A session over a fake cluster whose answers are released by the test, in any order.
struct Fake {
  std::deque<std::pair<Request, Session::Done>> waiting;
  std::string out;
  std::shared_ptr<Session> s = Session::make(
      {[this](Request r, Session::Done d) { waiting.emplace_back(std::move(r), std::move(d)); },
       [this] { out += s->take_output(); }, [] { return std::string("# Server\r\n"); }});
  void answer(size_t i, Response r) {
    auto d = std::move(waiting[i].second);
    waiting.erase(waiting.begin() + static_cast<long>(i));
    d(std::move(r));
  }
};

TEST_CASE("replies leave in command order and errors map to Redis codes", "[resp]") {
  Fake f;
  f.s->command({"SET", "a", "1"});
  f.s->command({"INCR", "n"});
  f.s->command({"PING"});
  REQUIRE(f.waiting.size() == 2);
  CHECK(f.waiting[0].first.type == core::DataType::kLww);
  CHECK(f.waiting[0].first.bucket == "redis");
  Response counted;
  counted.type = core::DataType::kCounter;
  counted.counter = 7;
  f.answer(1, counted);  // INCR answers first...
  CHECK(f.out.empty());  // ...but waits for SET
  Response ok;
  f.answer(0, ok);
  CHECK(f.out == "+OK\r\n:7\r\n+PONG\r\n");
  f.out.clear();
  f.s->command({"GET", "s"});
  Response wrong;
  wrong.status = Status::ok();
  wrong.type = core::DataType::kSet;
  f.answer(0, wrong);
  CHECK(f.out.rfind("-WRONGTYPE", 0) == 0);
  f.out.clear();
  f.s->command({"GET", "x"});
  Response down;
  down.status = Status::unavailable("1 of 3 replicas reachable");
  f.answer(0, down);
  CHECK(f.out == "-UNAVAILABLE 1 of 3 replicas reachable\r\n");
  f.out.clear();
  f.s->command({"NOPE", "x"});
  f.s->command({"GET"});
  f.s->command({"SET", "k", "v", "EX", "10"});
  f.s->command({"INCRBY", "k", "ten"});
  CHECK(f.out ==
        "-ERR unknown command 'NOPE', with args beginning with: 'x'\r\n"
        "-ERR wrong number of arguments for 'get' command\r\n"
        "-ERR SET options (EX, PX, NX, XX, KEEPTTL, GET) are not supported: Shoal has no "
        "expiry and no conditional writes\r\n"
        "-ERR value is not an integer or out of range\r\n");
}

TEST_CASE("SHOAL.CONSISTENCY sets this connection's options and refuses bad ones", "[resp]") {
  Fake f;
  f.s->command({"SHOAL.CONSISTENCY", "LOCAL"});
  CHECK(f.s->options().local);
  f.s->command({"SHOAL.CONSISTENCY", "r", "1", "w", "all", "durable", "yes"});
  CHECK(!f.s->options().local);
  CHECK(f.s->options().r == core::QuorumSpec::of(1));
  CHECK(f.s->options().w == core::QuorumSpec::all());
  CHECK(f.s->options().durable);
  f.s->command({"SHOAL.CONSISTENCY", "r", "4"});  // r > n: refused, options unchanged
  f.s->command({"SHOAL.CONSISTENCY", "sometimes"});
  CHECK(f.s->options().r == core::QuorumSpec::of(1));
  CHECK(f.out.find("+OK\r\n+OK\r\n-ERR invalid_argument: r=4 exceeds n=3\r\n-ERR") == 0);
  f.s->command({"GET", "k"});
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.options.durable);  // requests carry the connection's options
}

TEST_CASE("SADD and SREM count what they change and SREM removes with the context it read",
          "[resp]") {
  Fake f;
  f.s->command({"SREM", "s", "a", "b"});
  Response read;
  read.type = core::DataType::kSet;
  read.elements = {"a", "z"};
  read.context = "ctx";
  f.answer(0, read);
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kSetRemove);
  CHECK(f.waiting[0].first.elements == std::vector<std::string>{"a"});
  CHECK(f.waiting[0].first.context == std::optional<std::string>("ctx"));
  f.answer(0, Response{});
  CHECK(f.out == ":1\r\n");
}

}  // namespace
}  // namespace shoal::api::resp
