// The HTTP adapter and its JSON reader: requests split at any byte boundary, pipelined
// responses in order, bad input answered (never a crash), and JSON parsed or refused.
#include "node/api/http.h"

#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <optional>
#include <utility>

#include "crdt/prng.h"
#include "node/api/json.h"
#include "node/api/users.h"

namespace shoal::api::http {
namespace {

struct Fake {
  std::deque<std::pair<Request, Session::Done>> waiting;
  std::string out;
  std::shared_ptr<Session> s = Session::make(
      {[this](Request r, Session::Done d) { waiting.emplace_back(std::move(r), std::move(d)); },
       [this] { out += s->take_output(); }, [] { return std::string("n1"); },
       [] { return std::string("{}"); }, [] { return std::string("m 1\n"); },
       [] { return std::string("<html>"); }, nullptr, nullptr, nullptr, nullptr});
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
    CHECK_FALSE(f.waiting[1].first.context);  // a read takes no context: the header is ignored
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

TEST_CASE("input is held while the client has too many answers pending, then parsed in order",
          "[http]") {
  // A counter add with a body, a /ping answered at once (inside the parser), a read.
  const std::string three =
      "POST /buckets/b/counters/c HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"delta\": 3}"
      "GET /ping HTTP/1.1\r\n\r\nGET /buckets/b/keys/k HTTP/1.1\r\n\r\n";
  for (size_t cut = 0; cut <= three.size(); ++cut) {
    Fake f;
    size_t allowed = 0;  // requests dispatched before may_continue says no
    size_t dispatched = 0;
    Hooks hooks;
    hooks.submit = [&](Request r, Session::Done d) { f.waiting.emplace_back(std::move(r), d); };
    hooks.on_output = [&] { f.out += f.s->take_output(); };
    hooks.node_id = [] { return std::string("n1"); };
    hooks.may_continue = [&] { return ++dispatched < allowed; };
    f.s = Session::make(hooks);
    allowed = 1;
    REQUIRE(f.s->feed(three.data(), cut));
    REQUIRE(f.s->feed(three.data() + cut, three.size() - cut));
    CHECK(dispatched == 1);  // only the add
    REQUIRE(f.waiting.size() == 1);
    CHECK(f.s->holds_input());
    CHECK(f.out.empty());
    for (int round = 0; round < 3 && f.s->holds_input(); ++round) {
      allowed = dispatched + 1;
      REQUIRE(f.s->parse_held());
    }
    CHECK_FALSE(f.s->holds_input());
    CHECK(dispatched == 3);
    REQUIRE(f.waiting.size() == 2);
    CHECK(f.waiting[0].first.op == Op::kCounterAdd);
    CHECK(f.waiting[1].first.op == Op::kGet);
    CHECK(f.out.empty());  // the ping waits for the add's answer (order)
  }
}

TEST_CASE("requests pipelined after Connection: close are not dispatched", "[http]") {
  const std::string two =
      "GET /buckets/b/keys/k HTTP/1.1\r\nConnection: close\r\n\r\n"
      "POST /buckets/b/counters/c HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"delta\": 3}";
  for (size_t cut = 0; cut <= two.size(); ++cut) {
    Fake f;
    REQUIRE(f.s->feed(two.data(), cut));
    (void)f.s->feed(two.data() + cut, two.size() - cut);
    CHECK(f.s->closing());
    CHECK_FALSE(f.s->parse_held());
    REQUIRE(f.waiting.size() == 1);  // the read only: the add after "close" never runs
    CHECK(f.waiting[0].first.op == Op::kGet);
  }
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

TEST_CASE("a URL over kMaxUrlBytes or headers over kMaxHeaderBytes get 400 and a close",
          "[http][limits]") {
  const std::string url_ok = "/buckets/b/keys/" + std::string(kMaxUrlBytes - 16, 'k');
  const std::string url_over = url_ok + "kk";
  REQUIRE(url_ok.size() == kMaxUrlBytes);
  {
    Fake f;  // at the limit: parsed and routed (its key is then over the key limit)
    const std::string req = "GET " + url_ok + " HTTP/1.1\r\n\r\n";
    CHECK(f.s->feed(req.data(), req.size()));
    CHECK_THAT(f.out, Catch::Contains("key is 16368 bytes"));
    CHECK_FALSE(f.s->wants_close());
  }
  {
    Fake f;
    const std::string req = "GET " + url_over + " HTTP/1.1\r\n\r\n";
    CHECK_FALSE(f.s->feed(req.data(), req.size()));
    CHECK(f.out.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
    CHECK(f.s->wants_close());
    CHECK(f.waiting.empty());
  }
  {
    Fake f;  // many headers, each small: their total counts
    std::string req = "GET /buckets/b/keys/k HTTP/1.1\r\n";
    for (size_t counted = 0; counted <= kMaxHeaderBytes + 1'000; counted += 5 + 100) {
      req += "X-Pad: " + std::string(100, 'p') + "\r\n";  // names and values count
    }
    req += "\r\n";
    CHECK_FALSE(f.s->feed(req.data(), req.size()));
    CHECK(f.out.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
    CHECK(f.s->wants_close());
    CHECK(f.waiting.empty());
  }
}

// Feeds one request; returns what came out (the request, if any, waits in f.waiting).
std::string one(Fake& f, const std::string& request) {
  REQUIRE(f.s->feed(request.data(), request.size()));
  return f.out;
}

std::string post(const std::string& path, const std::string& body,
                 const std::string& headers = "") {
  return "POST " + path + " HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         headers + "\r\n" + body;
}

// A 400 naming `want`, and nothing submitted to the cluster.
void bad_request(const std::string& request, const std::string& want) {
  Fake f;
  const std::string out = one(f, request);
  INFO(request << "\n->\n" << out);
  CHECK(out.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
  CHECK(out.find("\"code\":\"invalid_argument\"") != std::string::npos);
  CHECK_THAT(out, Catch::Contains(want));
  CHECK(f.waiting.empty());
}

TEST_CASE("HTTP bodies lacking a field or with an unknown one are refused by name",
          "[http][strict]") {
  bad_request(post("/buckets/b/counters/c", "{}"), "field \\\"delta\\\": missing");
  bad_request(post("/buckets/b/counters/c", "{\"dleta\": 5}"),
              "field \\\"dleta\\\": unknown field");
  bad_request(post("/buckets/b/counters/c", "{\"delta\": 5, \"note\": 1}"),
              "field \\\"note\\\": unknown field");
  bad_request(post("/buckets/b/counters/c", "{\"delta\": 1.5}"),
              "field \\\"delta\\\": expected a signed 64-bit integer");
  bad_request(post("/buckets/b/counters/c", "[5]"), "must be a JSON object");
  bad_request(post("/buckets/b/sets/s", "{\"add\": [\"a\"], \"contxt\": \"AA==\"}"),
              "field \\\"contxt\\\": unknown field");
  bad_request(post("/buckets/b/sets/s", "{\"add\": [\"a\"], \"context\": \"AA==\"}"),
              "field \\\"context\\\": applies to remove only");
  bad_request(post("/buckets/b/sets/s", "{\"remove\": [\"a\"], \"context\": 5}"),
              "field \\\"context\\\": expected a base64 string");
  bad_request(post("/buckets/b/sets/s", "{\"add\": \"a\"}"),
              "field \\\"add\\\": expected an array");
  bad_request(post("/buckets/b/sets/s", "{\"add\": [{\"base64\": \"AA==\", \"x\": 1}]}"),
              "an element is a string or");
  bad_request(post("/buckets/b/sets/s", "{\"remove\": [\"a\"], \"context\": \"AAE=\"}",
                   "X-Shoal-Context: AAI=\r\n"),
              "differ");
  // A PUT without a body is not an empty value; Content-Length: 0 is.
  bad_request("PUT /buckets/b/keys/k HTTP/1.1\r\nHost: x\r\n\r\n", "PUT needs the value");
  bad_request("DELETE /buckets/b/keys/k HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
              "DELETE takes no body");
  bad_request("GET /buckets/b/keys/k HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", "GET takes no body");
  Fake f;
  one(f, "PUT /buckets/b/keys/k HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kPut);
  CHECK(f.waiting[0].first.value.empty());
  Fake chunked;
  one(chunked,
      "PUT /buckets/b/keys/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n");
  REQUIRE(chunked.waiting.size() == 1);
  CHECK(chunked.waiting[0].first.value == "abc");
  // The context header is kept by the operations that take one, not by a counter add.
  Fake del;
  one(del, "DELETE /buckets/b/keys/k HTTP/1.1\r\nX-Shoal-Context: AAE=\r\n\r\n");
  REQUIRE(del.waiting.size() == 1);
  CHECK(del.waiting[0].first.op == Op::kDelete);
  CHECK(del.waiting[0].first.context == std::optional<std::string>(std::string("\0\1", 2)));
  Fake ctx;
  one(ctx, post("/buckets/b/counters/c", "{\"delta\": 2}", "X-Shoal-Context: AAE=\r\n"));
  REQUIRE(ctx.waiting.size() == 1);
  CHECK_FALSE(ctx.waiting[0].first.context);
  Fake rm;
  one(rm, post("/buckets/b/sets/s", "{\"remove\": [\"a\"], \"context\": \"AAE=\"}"));
  REQUIRE(rm.waiting.size() == 1);
  CHECK(rm.waiting[0].first.context == std::optional<std::string>(std::string("\0\1", 2)));
}

TEST_CASE("Idempotency-Key carries the op id of an update, and a replay is marked",
          "[http][op_id]") {
  Fake f;
  one(f, post("/buckets/b/counters/c", "{\"delta\": 2}", "Idempotency-Key: add-7f3a\r\n"));
  one(f, "PUT /buckets/b/keys/k HTTP/1.1\r\nIdempotency-Key: put-1\r\nContent-Length: 1\r\n\r\nv");
  one(f, "DELETE /buckets/b/keys/k HTTP/1.1\r\nIdempotency-Key: del-1\r\n\r\n");
  one(f, post("/buckets/b/sets/s", "{\"add\": [\"a\"]}",
              "Idempotency-Key: " + std::string(64, 'k') + "\r\n"));
  one(f, post("/buckets/b/counters/c", "{\"delta\": 1}"));
  REQUIRE(f.waiting.size() == 5);
  CHECK(f.waiting[0].first.op_id == "add-7f3a");
  CHECK(f.waiting[1].first.op_id == "put-1");
  CHECK(f.waiting[2].first.op_id == "del-1");
  CHECK(f.waiting[3].first.op_id == std::string(64, 'k'));
  CHECK(f.waiting[4].first.op_id.empty());
  Response dup;
  dup.type = core::DataType::kCounter;
  dup.counter = 2;
  dup.duplicate = true;
  f.waiting[0].second(dup);
  Response fresh;
  f.waiting[1].second(fresh);
  const std::string out = f.out;
  const size_t second = out.find("HTTP/1.1", 1);
  REQUIRE(second != std::string::npos);
  CHECK(out.substr(0, second).find("Idempotent-Replayed: true\r\n") != std::string::npos);
  CHECK(out.substr(second).find("Idempotent-Replayed") == std::string::npos);

  bad_request(post("/buckets/b/counters/c", "{\"delta\": 2}", "Idempotency-Key:\r\n"),
              "header Idempotency-Key: 0 bytes; an operation id is 1..64 bytes");
  bad_request(post("/buckets/b/counters/c", "{\"delta\": 2}",
                   "Idempotency-Key: " + std::string(65, 'k') + "\r\n"),
              "header Idempotency-Key: 65 bytes");
  bad_request("GET /buckets/b/counters/c HTTP/1.1\r\nIdempotency-Key: x\r\n\r\n",
              "applies to updates");
}

TEST_CASE("the JSON reader parses what the API takes and refuses garbage", "[http][json]") {
  auto v = json::parse(R"( {"delta": -42, "add": ["a", "\u00e9\ud83d\ude00", {"base64": "AA=="}],
                           "ok": true, "none": null, "x": 1.5e3} )");
  REQUIRE(v.is_ok());
  CHECK(json::int64_of((*v)["delta"]) == -42);
  CHECK(json::bytes_of((*v)["add"][1]) == "\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(json::bytes_of((*v)["add"][2]) == std::string(1, '\0'));
  CHECK((*v)["ok"].get<bool>());
  CHECK_FALSE(json::int64_of((*v)["x"]));  // 1.5e3: not written as an integer
  for (const char* bad : {"{", "{\"a\" 1}", "[1,]", "\"\\x\"", "tru", "{\"a\":1} x", "\"\\ud800\"",
                          "\"\xff\"", "99999999999999999999999"}) {
    auto r = json::parse(bad);
    if (std::string(bad) == "99999999999999999999999") {
      REQUIRE(r.is_ok());
      CHECK_FALSE(json::int64_of(*r));  // out of int64: not usable as a delta
      continue;
    }
    CHECK_FALSE(r.is_ok());
    CHECK(r.status().message().find("malformed JSON at byte") == 0);
  }
  CHECK(json::int64_of(*json::parse("9223372036854775807")) == INT64_MAX);
  CHECK_FALSE(json::int64_of(*json::parse("9223372036854775808")));
  CHECK(json::uint64_of(*json::parse("18446744073709551615")) == UINT64_MAX);
  // Bytes that are not UTF-8 go out as base64 and come back as the same bytes.
  const std::string raw(
      "a\xff\0"
      "b",
      4);
  CHECK(json::dump(json::bytes(raw)) == R"({"base64":"Yf8AYg=="})");
  CHECK(json::bytes_of(*json::parse(json::dump(json::bytes(raw)))) == raw);
  // Overlong, surrogate and past-U+10FFFF forms are not UTF-8: base64, so never altered.
  for (const char* odd : {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x9f\xbf"}) {
    CHECK(json::bytes(odd).is_object());
    CHECK(json::bytes_of(*json::parse(json::dump(json::bytes(odd)))) == odd);
  }
  CHECK(json::bytes("\xf4\x8f\xbf\xbf\xe2\x82\xac").is_string());  // U+10FFFF, euro sign
  std::string at_limit(json::kMaxDepth + 1, '[');
  at_limit += std::string(json::kMaxDepth + 1, ']');
  CHECK(json::parse(at_limit).is_ok());
  CHECK_FALSE(json::parse("[" + at_limit + "]").is_ok());
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

// A session with authentication hooks: identify records the Authorization header of each
// request and answers `at_once` if set, else holds its answer until the test gives it
// (identify_with); allow_page records the pages asked and answers `page_answer`.
struct AuthFake {
  std::deque<std::pair<Request, Session::Done>> waiting;
  std::vector<std::optional<std::string>> seen;  // identify's argument, request by request
  std::deque<std::function<void(Status)>> held;  // identify's answers not given yet
  std::optional<Status> at_once;
  std::vector<std::string> pages;
  Status page_answer = Status::ok();
  std::string out;
  std::shared_ptr<Session> s = Session::make(hooks());

  Hooks hooks() {
    Hooks h;
    h.submit = [this](Request r, Session::Done d) { waiting.emplace_back(std::move(r), d); };
    h.on_output = [this] { out += s->take_output(); };
    h.identify = [this](const std::optional<std::string>& authorization,
                        std::function<void(Status)> then) {
      seen.push_back(authorization);
      if (at_once) return then(*at_once);
      held.push_back(std::move(then));
    };
    h.allow_page = [this](std::string_view page) {
      pages.emplace_back(page);
      return page_answer;
    };
    return h;
  }
  void identify_with(Status result) {
    REQUIRE_FALSE(held.empty());
    auto then = std::move(held.front());
    held.pop_front();
    then(std::move(result));
  }
  std::string feed(const std::string& request) {
    REQUIRE(s->feed(request.data(), request.size()));
    return std::exchange(out, "");
  }
};

const std::string kChallenge = "WWW-Authenticate: Basic realm=\"shoal\"\r\n";

TEST_CASE("identify gets each request's Authorization, and a refusal is 401 with a challenge",
          "[http][auth]") {
  AuthFake f;
  f.at_once = Status::ok();
  f.feed("GET /buckets/b/keys/k HTTP/1.1\r\n\r\n");
  REQUIRE(f.seen.size() == 1);
  CHECK(f.seen[0] == std::nullopt);
  REQUIRE(f.waiting.size() == 1);  // ok at once: routed at once
  f.waiting[0].second(Response{});
  f.waiting.clear();
  f.out.clear();

  f.at_once = wrong_credentials();
  const std::string refused = f.feed("GET /buckets/b/keys/k HTTP/1.1\r\nAuthorization: x\r\n\r\n");
  CHECK(refused.rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
  CHECK_THAT(refused, Catch::Contains(kChallenge));
  CHECK_THAT(refused, Catch::Contains("\"code\":\"unauthorized\""));
  CHECK(f.waiting.empty());

  f.at_once.reset();  // from now on identify answers later (a password check)
  CHECK(f.feed("GET /buckets/b/keys/k HTTP/1.1\r\nAuthorization: Basic xyz\r\n\r\n").empty());
  REQUIRE(f.seen.size() == 3);
  CHECK(f.seen[2] == std::optional<std::string>("Basic xyz"));
  CHECK(f.waiting.empty());  // not routed before identify answers
  f.identify_with(wrong_credentials());
  CHECK(f.out.rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
  CHECK_THAT(f.out, Catch::Contains(kChallenge));
  CHECK(f.waiting.empty());
  f.out.clear();

  // Two pipelined: the first identified ok (submitted), the second refused; the answers
  // leave in request order.
  f.feed(
      "PUT /buckets/b/keys/k HTTP/1.1\r\nAuthorization: Bearer u.t\r\nContent-Length: 1\r\n\r\nv"
      "GET /status HTTP/1.1\r\n\r\n");
  REQUIRE(f.seen.size() == 5);
  CHECK(f.seen[3] == std::optional<std::string>("Bearer u.t"));
  CHECK(f.seen[4] == std::nullopt);
  f.identify_with(Status::ok());
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kPut);
  f.identify_with(unauthenticated());
  CHECK(f.pages.empty());  // refused before routing
  CHECK(f.out.empty());    // waits for the PUT
  f.waiting[0].second(Response{});
  const size_t second = f.out.find("HTTP/1.1", 1);
  CHECK(f.out.rfind("HTTP/1.1 204", 0) == 0);
  REQUIRE(second != std::string::npos);
  CHECK(f.out.substr(second).rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
}

TEST_CASE("every page but /ping asks allow_page: 403 without the grant, 401 without credentials",
          "[http][auth]") {
  AuthFake f;
  f.at_once = Status::ok();
  CHECK(f.feed("GET /status HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(f.feed("GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(f.feed("GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(f.feed("GET /ping HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(f.pages == std::vector<std::string>{"status", "metrics", "dashboard"});

  f.page_answer = forbidden("u", Access::kAdmin, "");
  const std::string no_grant = f.feed("GET /status HTTP/1.1\r\n\r\n");
  CHECK(no_grant.rfind("HTTP/1.1 403 Forbidden\r\n", 0) == 0);
  CHECK_THAT(no_grant, Catch::Contains("user u has no admin grant"));
  CHECK(no_grant.find("WWW-Authenticate") == std::string::npos);
  f.page_answer = unauthenticated();
  const std::string no_credentials = f.feed("GET /metrics HTTP/1.1\r\n\r\n");
  CHECK(no_credentials.rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
  CHECK_THAT(no_credentials, Catch::Contains(kChallenge));
  CHECK(f.feed("GET /ping HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(f.pages.size() == 5);  // /ping was never asked
  CHECK(f.waiting.empty());

  // The error table: a known user without the grant 403, no or wrong credentials 401.
  CHECK(error_reply(forbidden("u", Access::kWrite, "b")).status == 403);
  CHECK(error_reply(forbidden("u", Access::kAdmin, "")).headers.empty());
  CHECK(error_reply(unauthenticated()).status == 401);
  CHECK(error_reply(wrong_credentials()).status == 401);
  CHECK(error_reply(unauthenticated()).headers ==
        std::vector<std::pair<std::string, std::string>>{
            {"WWW-Authenticate", "Basic realm=\"shoal\""}});
  CHECK(error_reply(Status::overloaded("busy")).status == 429);
}

}  // namespace
}  // namespace shoal::api::http
