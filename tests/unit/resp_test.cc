// The RESP adapter: the parser splits multibulk and inline commands at any byte
// boundary, in work linear in its input, and refuses malformed or oversized input (a
// command over kMaxCommandBytes before its data arrives); the session answers in command
// order whatever order the cluster answers in, maps errors to Redis error codes, and
// keeps per-connection consistency options.
#include "node/api/resp.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <optional>
#include <utility>

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

// Found by tests/fuzz/resp_fuzz.cc: a zero-padded length line over 33 bytes was taken
// when it arrived whole and refused when the stream was cut before its end.
TEST_CASE("a length line over 33 bytes is refused however the stream is cut", "[resp]") {
  const std::string padded = "*" + std::string(33, '0') + "1\r\n$4\r\nPING\r\n";
  const std::string fits = "*" + std::string(31, '0') + "1\r\n$4\r\nPING\r\n";  // 33 bytes
  for (const std::string& stream : {padded, fits}) {
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
      Parser p;
      std::vector<std::string> args;
      std::string err;
      Parser::Next last = Parser::Next::kNeedMore;
      for (const std::string& part : {stream.substr(0, cut), stream.substr(cut)}) {
        p.feed(part.data(), part.size());
        last = p.next(&args, &err);
        if (last != Parser::Next::kNeedMore) break;
      }
      INFO("cut at " << cut);
      CHECK(last == (stream == padded ? Parser::Next::kError : Parser::Next::kCommand));
    }
  }
}

TEST_CASE("the RESP parser refuses malformed and oversized input", "[resp]") {
  const std::vector<std::string> bads = {"*2\r\n$3\r\nGET\r\n:1\r\n",
                                         "*x\r\n",
                                         "*99999999\r\n",
                                         "*1\r\n$-5\r\n",
                                         "*1\r\n$3\r\nGETX\r\n",
                                         "*1\r\n$999999999\r\n",
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

// Every command of `stream` fed in `chunk`-byte pieces (the last may be shorter).
std::vector<std::vector<std::string>> parse_in_chunks(Parser* p, const std::string& stream,
                                                      size_t chunk) {
  std::vector<std::vector<std::string>> got;
  std::vector<std::string> args;
  std::string err;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    const size_t n = std::min(chunk, stream.size() - at);
    p->feed(stream.data() + at, n);
    Parser::Next next;
    while ((next = p->next(&args, &err)) == Parser::Next::kCommand) got.push_back(args);
    REQUIRE(next == Parser::Next::kNeedMore);
  }
  return got;
}

// Multibulk and inline commands, empty arguments, a 100 KB one, blank lines and "*0".
std::string mixed_stream() {
  std::string big(100'000, 'b');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>(i);  // \r, \n, \0 too
  return multibulk({"SADD", "s", "", big, "x"}) + "\r\n\n*0\r\n" + "INCR  n\r\n" +
         multibulk({"GET", "k"}) + "PING\n" + multibulk({""});
}

TEST_CASE("the RESP parser gives the same commands fed one byte at a time as fed whole", "[resp]") {
  const std::string stream = mixed_stream();
  Parser whole;
  const auto expected = parse_in_chunks(&whole, stream, stream.size());
  REQUIRE(expected.size() == 5);
  CHECK(expected[0].size() == 5);
  CHECK(expected[0][3].size() == 100'000);
  CHECK(expected[1] == std::vector<std::string>{"INCR", "n"});
  CHECK(expected[4] == std::vector<std::string>{""});
  Parser bytes;
  CHECK(parse_in_chunks(&bytes, stream, 1) == expected);
  // Byte by byte, the old parser re-read the unfinished command on every call.
  CHECK(bytes.bytes_scanned() < 4 * stream.size());
}

TEST_CASE("the RESP parser splits a command at every pair of positions", "[resp]") {
  const std::string stream = multibulk({"SADD", "tags", "", "red\r\n"}) + "PING a\r\n";
  const std::vector<std::vector<std::string>> expected = {{"SADD", "tags", "", "red\r\n"},
                                                          {"PING", "a"}};
  for (size_t i = 0; i <= stream.size(); ++i) {
    for (size_t j = i; j <= stream.size(); ++j) {
      Parser p;
      std::vector<std::vector<std::string>> got;
      std::vector<std::string> args;
      std::string err;
      for (const std::string& part :
           {stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)}) {
        p.feed(part.data(), part.size());
        while (p.next(&args, &err) == Parser::Next::kCommand) got.push_back(args);
      }
      CHECK(got == expected);
    }
  }
}

size_t digits(size_t n) { return std::to_string(n).size(); }

// A command of exactly `total` bytes on the wire: SADD k, then arguments of at most
// kMaxBulkBytes, the last one sized to hit `total` (counted, not built: the sizes are big).
std::vector<std::string> command_of(size_t total) {
  std::vector<std::string> args = {"SADD", "k"};
  auto arg_bytes = [](size_t len) { return 1 + digits(len) + 2 + len + 2; };
  size_t used = arg_bytes(4) + arg_bytes(1);
  const size_t count = 2 + (total - used) / arg_bytes(kMaxBulkBytes) + 1;
  used += 1 + digits(count) + 2;
  while (args.size() + 1 < count) {
    args.emplace_back(kMaxBulkBytes, 'v');
    used += arg_bytes(kMaxBulkBytes);
  }
  size_t last = total - used - 5;  // "$" CRLF CRLF, then the length's digits
  while (arg_bytes(last) > total - used) --last;
  args.emplace_back(last, 'v');
  return args;
}

TEST_CASE("the RESP parser refuses a command over kMaxCommandBytes before its data arrives",
          "[resp]") {
  std::vector<std::string> args = command_of(kMaxCommandBytes);
  const std::string at_cap = multibulk(args);
  REQUIRE(at_cap.size() == kMaxCommandBytes);
  Parser fits;
  CHECK(parse_in_chunks(&fits, at_cap, 64u << 10) == std::vector<std::vector<std::string>>{args});

  args.back().push_back('v');  // one byte over: refused at the last argument's "$<len>"
  const std::string over = multibulk(args);
  const size_t last_data = over.size() - args.back().size() - 2;
  Parser p;
  p.feed(over.data(), last_data);
  std::vector<std::string> got;
  std::string err;
  CHECK(p.next(&got, &err) == Parser::Next::kError);
  CHECK(err ==
        "Protocol error: command larger than " + std::to_string(kMaxCommandBytes) + " bytes");
}

// bytes_scanned() budget: each byte is appended once, looked at or copied once, and moved
// at most about once more (an argument's growth, compaction): under 4 per byte of input.
TEST_CASE("the RESP parser does work linear in its input however the input is cut", "[resp]") {
  // 30 arguments of 1 MiB in 64 KiB reads: the old parser re-copied every finished
  // argument on each read (about 7 GiB of copying for 30 MiB; 80 MiB took 34 s of CPU).
  std::vector<std::string> big = {"SADD", "k"};
  for (int i = 0; i < 30; ++i) big.emplace_back(1u << 20, static_cast<char>('a' + i));
  const std::string stream = multibulk(big);
  Parser p;
  CHECK(parse_in_chunks(&p, stream, 64u << 10) == std::vector<std::vector<std::string>>{big});
  CHECK(p.bytes_scanned() < 4 * stream.size());

  // kMaxArgs tiny arguments in 7-byte reads: the old parser re-read every header.
  std::vector<std::string> many(kMaxArgs, "m");
  const std::string headers = multibulk(many);
  Parser q;
  CHECK(parse_in_chunks(&q, headers, 7) == std::vector<std::vector<std::string>>{many});
  CHECK(q.bytes_scanned() < 4 * headers.size());

  // An inline line of nearly kMaxInlineBytes, one byte at a time: the newline is looked
  // for from where the last look ended, not from the start of the line.
  const std::string line = "ECHO " + std::string(kMaxInlineBytes - 10, 'x') + "\r\n";
  Parser r;
  CHECK(parse_in_chunks(&r, line, 1).size() == 1);
  CHECK(r.bytes_scanned() < 4 * line.size());

  // Blank lines are skipped in a loop: they once recursed, one frame each (a megabyte of
  // them overflowed the stack of the ASan build).
  std::string blanks(1u << 20, '\n');
  blanks += "PING\r\n";
  Parser s;
  CHECK(parse_in_chunks(&s, blanks, blanks.size()) ==
        std::vector<std::vector<std::string>>{{"PING"}});
}

// A session over a fake cluster whose answers are released by the test, in any order.
struct Fake {
  std::deque<std::pair<Request, Session::Done>> waiting;
  std::string out;
  std::shared_ptr<Session> s = Session::make(
      {[this](Request r, Session::Done d) { waiting.emplace_back(std::move(r), std::move(d)); },
       [this] { out += s->take_output(); }, [] { return std::string("# Server\r\n"); }, nullptr,
       nullptr});
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
  f.out.clear();
  f.s->command({"SHOAL.CONSISTENCY"});  // shows them all, in the form it takes them
  CHECK(f.out == "$62\r\nn=3 r=1 w=all pr=0 pw=0 durable=yes sloppy=yes timeout_ms=5000\r\n");
  f.out.clear();
  f.s->command({"SHOAL.CONSISTENCY", "r", "4"});  // r > n: refused, options unchanged
  f.s->command({"SHOAL.CONSISTENCY", "sometimes"});
  CHECK(f.s->options().r == core::QuorumSpec::of(1));
  CHECK(f.out.find("-ERR invalid_argument: r=4 exceeds n=3\r\n-ERR") == 0);
  f.s->command({"GET", "k"});
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.options.durable);  // requests carry the connection's options
}

TEST_CASE("SADD and SREM count what they change, each in one round trip", "[resp]") {
  Fake f;
  // SREM removes without a context (the core removes what a read quorum holds) and
  // answers the write's count of removed members; a member named twice goes once.
  f.s->command({"SREM", "s", "b", "a", "b"});
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kSetRemove);
  CHECK(f.waiting[0].first.elements == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(f.waiting[0].first.context.has_value());
  Response removed;
  removed.removed = 1;
  f.answer(0, removed);
  CHECK(f.out == ":1\r\n");

  // SADD writes at once (one round trip) and answers the write's count of new members;
  // a member named twice goes once.
  f.s->command({"SADD", "s", "b", "a", "b"});
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kSetAdd);
  CHECK(f.waiting[0].first.elements == std::vector<std::string>{"a", "b"});
  Response added;
  added.added = 1;
  f.answer(0, added);
  CHECK(f.out == ":1\r\n:1\r\n");
}

TEST_CASE("SHOAL.ONCE runs one update with an operation id", "[resp][op_id]") {
  Fake f;
  f.s->command({"shoal.once", "add-7f3a", "INCRBY", "visits", "5"});
  f.s->command({"SHOAL.ONCE", "set-1", "set", "k", "v"});
  f.s->command({"INCR", "visits"});
  REQUIRE(f.waiting.size() == 3);
  CHECK(f.waiting[0].first.op == Op::kCounterAdd);
  CHECK(f.waiting[0].first.delta == 5);
  CHECK(f.waiting[0].first.key == "visits");
  CHECK(f.waiting[0].first.op_id == "add-7f3a");
  CHECK(f.waiting[1].first.op == Op::kPut);
  CHECK(f.waiting[1].first.value == "v");
  CHECK(f.waiting[1].first.op_id == "set-1");
  CHECK(f.waiting[2].first.op_id.empty());  // without SHOAL.ONCE: none
  Response counted;
  counted.type = core::DataType::kCounter;
  counted.counter = 5;
  counted.duplicate = true;  // a retry answers like the first attempt
  f.answer(0, counted);
  f.answer(0, Response{});
  f.answer(0, counted);
  CHECK(f.out == ":5\r\n+OK\r\n:5\r\n");

  // SREM and SADD write at once, with the op id.
  Fake g;
  g.s->command({"SHOAL.ONCE", "srem-1", "SREM", "s", "a", "b"});
  REQUIRE(g.waiting.size() == 1);
  CHECK(g.waiting[0].first.op == Op::kSetRemove);
  CHECK(g.waiting[0].first.op_id == "srem-1");
  Response one_removed;
  one_removed.removed = 1;
  g.answer(0, one_removed);
  g.s->command({"SHOAL.ONCE", "sadd-1", "SADD", "s", "a", "b"});
  REQUIRE(g.waiting.size() == 1);
  CHECK(g.waiting[0].first.op == Op::kSetAdd);
  CHECK(g.waiting[0].first.op_id == "sadd-1");
  Response two_new;
  two_new.added = 2;
  g.answer(0, two_new);
  g.s->command({"SHOAL.ONCE", "del-1", "DEL", "k"});  // reads first: no counting delete
  REQUIRE(g.waiting.size() == 1);
  CHECK(g.waiting[0].first.op == Op::kGet);
  Response value;
  value.type = core::DataType::kLww;
  value.values = {"v"};
  g.answer(0, value);
  REQUIRE(g.waiting.size() == 1);
  CHECK(g.waiting[0].first.op == Op::kDelete);
  CHECK_FALSE(g.waiting[0].first.counting);
  CHECK(g.waiting[0].first.op_id == "del-1");
  g.answer(0, Response{});
  g.s->command({"SHOAL.ONCE", "decr-1", "DECRBY", "n", "2"});
  REQUIRE(g.waiting.size() == 1);
  CHECK(g.waiting[0].first.delta == -2);
  CHECK(g.waiting[0].first.op_id == "decr-1");
  CHECK(g.out == ":1\r\n:2\r\n:1\r\n");
}

TEST_CASE("SHOAL.ONCE refuses reads, unknown commands, bad arity and bad op ids", "[resp][op_id]") {
  Fake f;
  f.s->command({"SHOAL.ONCE", "id-1", "GET", "k"});
  f.s->command({"SHOAL.ONCE", "id-1", "SMEMBERS", "s"});
  f.s->command({"SHOAL.ONCE", "id-1", "HSET", "h", "f", "v"});
  f.s->command({"SHOAL.ONCE", "id-1", "INCRBY", "k"});
  f.s->command({"SHOAL.ONCE", "id-1"});
  f.s->command({"SHOAL.ONCE", "", "INCR", "k"});
  f.s->command({"SHOAL.ONCE", std::string(65, 'x'), "INCR", "k"});
  f.s->command({"SHOAL.ONCE", "id-1", "DEL", "a", "b"});
  f.s->command({"SHOAL.ONCE", "id-1", "SHOAL.ONCE", "id-2", "INCR", "k"});
  f.s->command({"SHOAL.ONCE", "id-1", "SET", "k", "v", "NX"});
  f.s->command({"SHOAL.ONCE", "id-1", "INCRBY", "k", "five"});
  CHECK(f.waiting.empty());  // nothing reached the cluster
  CHECK(f.out ==
        "-ERR SHOAL.ONCE runs an update (SET, DEL, INCR, DECR, INCRBY, DECRBY, SADD, SREM), "
        "not 'get'\r\n"
        "-ERR SHOAL.ONCE runs an update (SET, DEL, INCR, DECR, INCRBY, DECRBY, SADD, SREM), "
        "not 'smembers'\r\n"
        "-ERR unknown command 'HSET', with args beginning with: 'h' 'f' 'v'\r\n"
        "-ERR wrong number of arguments for 'incrby' command\r\n"
        "-ERR wrong number of arguments for 'shoal.once' command\r\n"
        "-ERR invalid_argument: SHOAL.ONCE op_id of 0 bytes; an operation id is 1..64 bytes\r\n"
        "-ERR invalid_argument: SHOAL.ONCE op_id of 65 bytes; an operation id is 1..64 bytes\r\n"
        "-ERR SHOAL.ONCE DEL takes one key: an operation id names one update\r\n"
        "-ERR SHOAL.ONCE runs an update (SET, DEL, INCR, DECR, INCRBY, DECRBY, SADD, SREM), "
        "not 'shoal.once'\r\n"
        "-ERR SET options (EX, PX, NX, XX, KEEPTTL, GET) are not supported: Shoal has no "
        "expiry and no conditional writes\r\n"
        "-ERR value is not an integer or out of range\r\n");
  // The connection still works.
  f.s->command({"PING"});
  CHECK(f.out.substr(f.out.size() - 7) == "+PONG\r\n");
}

TEST_CASE("SSCAN MATCH filters the page by bytes, NUL included, within a step budget",
          "[resp][glob]") {
  Fake f;
  f.s->command({"SSCAN", "s", "0", "MATCH", std::string("a\0?", 3)});
  Response page;
  page.type = core::DataType::kSet;
  page.elements = {std::string("a\0x", 3), "ab", std::string("b\0x", 3)};
  f.answer(0, page);
  CHECK(f.out == std::string("*2\r\n$1\r\n0\r\n*1\r\n$3\r\na\0x\r\n", 24));
  // A pattern that backtracks over long members spends the command's budget: an error,
  // not a stalled event loop.
  f.out.clear();
  f.s->command({"SSCAN", "s", "0", "MATCH", "*" + std::string(1'000, 'a') + "b"});
  page.elements.assign(50, std::string(20'000, 'a'));
  f.answer(0, page);
  CHECK(f.out.find("-ERR MATCH pattern takes more than 10000000 steps") == 0);
}

// A session whose hooks sign in as the shell does: authorize answers unauthenticated
// until an AUTH was answered ok, and INFO (admin) is forbidden unless `admin`. The
// answers to AUTH are held until the test gives them (check).
struct AuthFake {
  std::deque<std::pair<Request, Session::Done>> waiting;
  std::vector<std::pair<std::string, std::string>> tried;  // each AUTH's user and password
  std::deque<std::function<void(Status)>> checks;          // their answers, held
  std::vector<std::optional<Access>> asked;                // what authorize was asked
  bool signed_in = false, admin = false;
  std::string out;
  std::shared_ptr<Session> s = Session::make(hooks());

  Session::Hooks hooks() {
    Session::Hooks h;
    h.submit = [this](Request r, Session::Done d) { waiting.emplace_back(std::move(r), d); };
    h.on_output = [this] { out += s->take_output(); };
    h.info = [] { return std::string("# Server\r\n"); };
    h.authenticate = [this](std::string user, std::string password,
                            std::function<void(Status)> done) {
      tried.emplace_back(std::move(user), std::move(password));
      checks.push_back(std::move(done));
    };
    h.authorize = [this](std::optional<Access> access) {
      asked.push_back(access);
      if (!signed_in) return unauthenticated();
      if (access == Access::kAdmin && !admin) return forbidden("u", Access::kAdmin, "");
      return Status::ok();
    };
    return h;
  }
  // Answers the oldest AUTH held: `result` (ok signs the connection in).
  void check(Status result) {
    REQUIRE_FALSE(checks.empty());
    auto done = std::move(checks.front());
    checks.pop_front();
    if (result.is_ok()) signed_in = true;
    done(std::move(result));
  }
  std::string take() { return std::exchange(out, ""); }
};

const std::string kNoAuth = "-NOAUTH Authentication required.\r\n";
const std::string kWrongPass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

TEST_CASE("AUTH without users says so, and HELLO answers RESP2's properties", "[resp][auth]") {
  Fake f;
  f.s->command({"AUTH", "pw"});
  f.s->command({"AUTH", "u", "pw"});
  CHECK(f.out ==
        "-ERR AUTH: this node has no users (shoald --users-file)\r\n"
        "-ERR AUTH: this node has no users (shoald --users-file)\r\n");
  f.out.clear();
  f.s->command({"HELLO"});
  CHECK(f.out.rfind("*14\r\n$6\r\nserver\r\n$5\r\nshoal\r\n", 0) == 0);
  f.out.clear();
  f.s->command({"HELLO", "3"});
  f.s->command({"HELLO", "x"});
  f.s->command({"HELLO", "2", "AUTH", "u"});
  CHECK(f.out ==
        "-NOPROTO sorry, this protocol version is not supported.\r\n"
        "-ERR Protocol version is not an integer or out of range\r\n"
        "-ERR Syntax error in HELLO option 'AUTH'\r\n");
  CHECK(f.waiting.empty());
}

TEST_CASE("before AUTH only QUIT runs, and AUTH answers WRONGPASS or OK", "[resp][auth]") {
  AuthFake f;
  f.s->command({"GET", "k"});
  f.s->command({"PING"});
  f.s->command({"SHOAL.ONCE", "id-1", "INCR", "n"});
  CHECK(f.take() == kNoAuth + kNoAuth + kNoAuth);
  CHECK(f.waiting.empty());
  f.s->command({"HELLO"});
  CHECK(f.take().rfind("-NOAUTH HELLO must be called with the client already authenticated", 0) ==
        0);
  f.s->command({"HELLO", "3"});
  CHECK(f.take() == "-NOPROTO sorry, this protocol version is not supported.\r\n");

  f.s->command({"AUTH", "pw"});  // one argument: the user "default"
  f.s->command({"AUTH", "u", "bad"});
  REQUIRE(f.tried.size() == 2);
  CHECK(f.tried[0] == std::pair<std::string, std::string>("default", "pw"));
  CHECK(f.tried[1] == std::pair<std::string, std::string>("u", "bad"));
  CHECK(f.out.empty());  // answered later
  f.check(wrong_credentials());
  f.check(wrong_credentials());
  CHECK(f.take() == kWrongPass + kWrongPass);
  f.s->command({"PING"});
  CHECK(f.take() == kNoAuth);  // a failed AUTH signs nobody in

  f.s->command({"AUTH", "u", "pw"});
  f.check(Status::ok());
  f.s->command({"PING"});
  CHECK(f.take() == "+OK\r\n+PONG\r\n");
  f.s->command({"HELLO"});
  CHECK(f.take().rfind("*14\r\n", 0) == 0);

  AuthFake q;  // QUIT needs no credentials
  q.s->command({"QUIT"});
  CHECK(q.take() == "+OK\r\n");
  CHECK(q.s->wants_close());
  CHECK(q.asked.empty());
}

TEST_CASE("HELLO AUTH signs in, and replies wait for a slow AUTH in command order",
          "[resp][auth]") {
  AuthFake f;
  f.s->command({"HELLO", "2", "AUTH", "u", "pw", "SETNAME", "app"});
  REQUIRE(f.tried.size() == 1);
  CHECK(f.tried[0] == std::pair<std::string, std::string>("u", "pw"));
  f.check(Status::ok());
  CHECK(f.take().rfind("*14\r\n", 0) == 0);
  f.s->command({"HELLO", "2", "AUTH", "u", "bad"});
  f.check(wrong_credentials());
  CHECK(f.take() == kWrongPass);

  // A slow AUTH (the check runs on the threadpool): what follows it waits for its reply.
  f.s->command({"AUTH", "v", "pw2"});
  f.s->command({"PING"});
  f.s->command({"GET", "k"});
  REQUIRE(f.waiting.size() == 1);
  f.waiting[0].second(Response{});  // GET: no value
  CHECK(f.out.empty());
  f.check(Status::ok());
  CHECK(f.take() == "+OK\r\n+PONG\r\n$-1\r\n");
  f.s->command({"AUTH", "v", "again"});
  f.s->command({"ECHO", "x"});
  f.check(Status::overloaded("too many failed authentications"));
  CHECK(f.take() == "-OVERLOADED too many failed authentications\r\n$1\r\nx\r\n");
}

TEST_CASE("INFO needs admin and a refusal from the cluster answers NOPERM or NOAUTH",
          "[resp][auth]") {
  AuthFake f;
  f.signed_in = true;
  f.s->command({"INFO"});
  CHECK(f.take() == "-NOPERM user u has no admin grant\r\n");
  REQUIRE_FALSE(f.asked.empty());
  CHECK(f.asked.back() == std::optional<Access>(Access::kAdmin));
  f.admin = true;
  f.s->command({"INFO"});
  CHECK(f.take().find("# Server\r\n") != std::string::npos);
  f.s->command({"PING"});
  CHECK(f.asked.back() == std::nullopt);
  f.take();

  f.s->command({"GET", "k"});
  f.s->command({"SET", "k", "v"});
  REQUIRE(f.waiting.size() == 2);
  Response refused;
  refused.status = forbidden("u", Access::kRead, "redis");
  f.waiting[0].second(refused);
  refused.status = unauthenticated();  // e.g. the user was removed by a reload
  f.waiting[1].second(refused);
  CHECK(f.take() == "-NOPERM user u may not read bucket \"redis\"\r\n" + kNoAuth);
}

TEST_CASE("DEL is one counting delete, and reads first only a key of another type",
          "[resp][auth]") {
  Fake f;
  f.s->command({"DEL", "k"});
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kDelete);
  CHECK(f.waiting[0].first.counting);
  CHECK(f.waiting[0].first.type == core::DataType::kLww);
  CHECK_FALSE(f.waiting[0].first.context);
  CHECK(access_for(f.waiting[0].first) == std::optional<Access>(Access::kWrite));
  Response removed;
  removed.removed = 1;
  f.answer(0, removed);
  REQUIRE(f.waiting.empty());

  // A register (written through another API) is refused by the counting delete: DEL
  // reads it, with the write grant, and deletes the siblings it read.
  f.s->command({"DEL", "reg"});
  Response other;
  other.status = Status::type_mismatch("the key holds a register");
  f.answer(0, other);
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kGet);
  CHECK(f.waiting[0].first.for_update);
  CHECK(access_for(f.waiting[0].first) == std::optional<Access>(Access::kWrite));
  Response value;
  value.type = core::DataType::kRegister;
  value.values = {"v"};
  value.context = "ctx";
  f.answer(0, value);
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kDelete);
  CHECK_FALSE(f.waiting[0].first.counting);
  CHECK(f.waiting[0].first.type == core::DataType::kRegister);
  CHECK(f.waiting[0].first.context == std::optional<std::string>("ctx"));
  f.answer(0, Response{});

  f.s->command({"EXISTS", "k"});
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kGet);
  CHECK_FALSE(f.waiting[0].first.for_update);
  CHECK(access_for(f.waiting[0].first) == std::optional<Access>(Access::kRead));
  f.answer(0, value);

  f.s->command({"DEL", "a", "b", "c"});  // counts what each delete found
  for (uint32_t n : {1u, 0u, 1u}) {
    REQUIRE(f.waiting.size() == 1);
    Response r;
    r.removed = n;
    f.answer(0, r);
  }

  f.s->command({"SREM", "s", "x"});
  REQUIRE(f.waiting.size() == 1);
  CHECK(f.waiting[0].first.op == Op::kSetRemove);
  CHECK(access_for(f.waiting[0].first) == std::optional<Access>(Access::kWrite));
  Response denied;
  denied.status = forbidden("u", Access::kWrite, "redis");
  f.answer(0, denied);
  CHECK(f.waiting.empty());
  f.s->command({"SMEMBERS", "s"});
  REQUIRE(f.waiting.size() == 1);
  CHECK_FALSE(f.waiting[0].first.for_update);
  CHECK(f.out == ":1\r\n:1\r\n:1\r\n:2\r\n-NOPERM user u may not write bucket \"redis\"\r\n");
}

// A later step used to take the connection's bucket when it ran: `DEL k` then
// `SHOAL.BUCKET other` in one pipeline read k in "redis" and deleted it in "other".
TEST_CASE("DEL's later steps stay in the bucket and options their command began in", "[resp]") {
  Fake f;
  f.s->command({"DEL", "k", "k2"});
  f.s->command({"SREM", "s", "x"});
  f.s->command({"SHOAL.BUCKET", "other"});
  f.s->command({"SHOAL.CONSISTENCY", "ALL"});
  REQUIRE(f.waiting.size() == 2);
  Response other;
  other.status = Status::type_mismatch("the key holds a register");
  f.answer(0, other);  // DEL's delete of k; its read follows, SREM's remove is waiting[0]
  REQUIRE(f.waiting.size() == 2);
  Response value;
  value.type = core::DataType::kRegister;
  value.values = {"v"};
  f.answer(1, value);  // DEL's read of k: its delete follows
  REQUIRE(f.waiting.size() == 2);
  for (const auto& [request, then] : f.waiting) {
    INFO(static_cast<int>(request.op));
    CHECK((request.op == Op::kDelete || request.op == Op::kSetRemove));
    CHECK(request.bucket == "redis");
    CHECK_FALSE(request.options.w == core::QuorumSpec::all());
  }
  f.answer(1, Response{});  // DEL's delete of k; then its counting delete of k2
  REQUIRE(f.waiting.size() == 2);
  CHECK(f.waiting[1].first.key == "k2");
  CHECK(f.waiting[1].first.counting);
  CHECK(f.waiting[1].first.bucket == "redis");
  CHECK_FALSE(f.waiting[1].first.options.w == core::QuorumSpec::all());
  f.s->command({"GET", "k"});
  CHECK(f.waiting.back().first.bucket == "other");
}

}  // namespace
}  // namespace shoal::api::resp
