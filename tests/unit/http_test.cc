// The HTTP adapter and its JSON reader: requests split at any byte boundary, pipelined
// responses in order, bad input answered (never a crash), and JSON parsed or refused.
#include <catch2/catch.hpp>
#include <deque>

#include "crdt/prng.h"
#include "node/api/http.h"
#include "node/api/json.h"

namespace shoal::api::http {
namespace {

struct Fake {
  std::deque<std::pair<Request, Session::Done>> waiting;
  std::string out;
  std::shared_ptr<Session> s = Session::make(
      {[this](Request r, Session::Done d) { waiting.emplace_back(std::move(r), std::move(d)); },
       [this] { out += s->take_output(); }, [] { return std::string("n1"); },
       [] { return std::string("{}"); }, [] { return std::string("m 1\n"); },
       [] { return std::string("<html>"); }});
};

TEST_CASE("HTTP requests split anywhere are parsed and answered in order", "[http]") {
  const std::string two =
      "POST /buckets/b/counters/c?w=all HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n"
      "{\"delta\": 3}GET /buckets/b/keys/k HTTP/1.1\r\nX-Shoal-Context: AAE=\r\n\r\n";
  for (size_t cut = 0; cut <= two.size(); ++cut) {
    Fake f;
    REQUIRE(f.s->feed(two.data(), cut));
    REQUIRE(f.s->feed(two.data() + cut, two.size() - cut));
    REQUIRE(f.waiting.size() == 2);
    CHECK(f.waiting[0].first.op == Op::kCounterAdd);
    CHECK(f.waiting[0].first.delta == 3);
    CHECK(f.waiting[0].first.options.w == core::QuorumSpec::all());
    CHECK(f.waiting[1].first.context == std::optional<std::string>(std::string("\0\1", 2)));
  }
  Fake f;
  REQUIRE(f.s->feed(two.data(), two.size()));
  Response value;
  value.type = core::DataType::kRegister;
  value.values = {"v"};
  auto second = std::move(f.waiting[1].second);
  second(value);
  CHECK(f.out.empty());  // waits for the first
  Response counter;
  counter.type = core::DataType::kCounter;
  counter.counter = 3;
  f.waiting[0].second(counter);
  CHECK(f.out.find("HTTP/1.1 200 OK") == 0);
  CHECK(f.out.find("\"value\":3") < f.out.find("\r\n\r\nv"));
}

TEST_CASE("bad HTTP input gets an answer and never a crash", "[http][fuzz]") {
  Fake f;
  CHECK_FALSE(f.s->feed("BLAH / HTTP/1.1\r\n\r\n", 19));
  CHECK(f.out.find("400 Bad Request") != std::string::npos);
  CHECK(f.s->wants_close());
  Fake big;
  const std::string huge = "PUT /buckets/b/keys/k HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n";
  CHECK_FALSE(big.s->feed(huge.data(), huge.size()));
  CHECK(big.out.find("413") != std::string::npos);
  Prng rng(8);
  const std::string valid = "GET /buckets/b/sets/s?r=1 HTTP/1.1\r\n\r\n";
  for (int i = 0; i < 20'000; ++i) {
    std::string p = valid;
    for (uint64_t n = rng.below(4) + 1; n > 0 && !p.empty(); --n)
      p[rng.below(p.size())] = static_cast<char>(rng.next());
    Fake g;
    (void)g.s->feed(p.data(), p.size());
    for (auto& [r, d] : g.waiting) d(Response{});
  }
}

TEST_CASE("the JSON reader parses what the API takes and refuses garbage", "[http][json]") {
  auto v = json::parse(R"( {"delta": -42, "add": ["a", "\u00e9\ud83d\ude00", {"base64": "AA=="}],
                           "ok": true, "none": null, "x": 1.5e3} )");
  REQUIRE(v.is_ok());
  CHECK(v->get("delta")->integer == -42);
  CHECK(v->get("delta")->integral);
  CHECK(v->get("add")->array[1].string == "\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v->get("ok")->boolean);
  CHECK_FALSE(v->get("x")->integral);
  for (const char* bad : {"{", "{\"a\" 1}", "[1,]", "\"\\x\"", "tru", "{\"a\":1} x", "\"\\ud800\"",
                          "99999999999999999999999"}) {
    auto r = json::parse(bad);
    if (std::string(bad) == "99999999999999999999999") {
      REQUIRE(r.is_ok());
      CHECK_FALSE(r->integral);  // out of int64: not usable as a delta
      continue;
    }
    CHECK_FALSE(r.is_ok());
  }
  std::string deep(100, '[');
  CHECK_FALSE(json::parse(deep).is_ok());
  Prng rng(2);
  for (int i = 0; i < 20'000; ++i) {
    std::string junk;
    const std::string_view alphabet = "{}[]\",:0-1.e\\u\"ab ";
    for (uint64_t n = rng.below(30); n > 0; --n) junk += alphabet[rng.below(alphabet.size())];
    (void)json::parse(junk);
  }
}

}  // namespace
}  // namespace shoal::api::http
