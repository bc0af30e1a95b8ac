// The history checkers (tools/checker.h): each property accepts a correct history and
// names the violation in a broken one; histories round-trip through JSON lines.
#include "tools/checker.h"

#include <catch2/catch.hpp>

namespace shoal::check {
namespace {

struct Builder {
  std::vector<Event> h;
  uint64_t t = 0, next_op = 1;

  // An operation: invoke, then its completion `outcome` (kInvoke: none recorded).
  Event& op(const std::string& f, const std::string& key, EventType outcome, int64_t delta = 0,
            const std::string& element = "") {
    return attempt("", f, key, outcome, delta, element);
  }
  // One attempt of the operation with id `op_id` (every attempt gets its own op number).
  Event& attempt(const std::string& op_id, const std::string& f, const std::string& key,
                 EventType outcome, int64_t delta = 0, const std::string& element = "") {
    Event in;
    in.op_id = op_id;
    in.type = EventType::kInvoke;
    in.time_ms = t += 10;
    in.op = next_op;
    in.process = static_cast<uint32_t>(next_op % 3);
    in.f = f;
    in.key = key;
    in.delta = delta;
    in.element = element;
    in.node = "n1";
    h.push_back(in);
    ++next_op;
    if (outcome == EventType::kInvoke) return h.back();  // never answered
    Event done = in;
    done.type = outcome;
    done.time_ms = t += 5;
    if (outcome == EventType::kFail) done.detail = "unavailable: 1 of 2 replicas reachable";
    h.push_back(done);
    return h.back();
  }
  void read(const std::string& f, const std::string& key, const std::string& node, int64_t counter,
            std::vector<std::string> values = {}) {
    Event r;
    r.type = EventType::kRead;
    r.time_ms = t += 1;
    r.f = f;
    r.key = key;
    r.node = node;
    r.found = true;
    r.counter = counter;
    r.values = std::move(values);
    h.push_back(r);
  }
};

bool mentions(const Verdict& v, const std::string& what) {
  for (const std::string& s : v.violations) {
    if (s.find(what) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("checker: counters must lie within acknowledged and indeterminate bounds", "[checker]") {
  Builder b;
  b.op("counter_add", "c", EventType::kOk, 5);
  b.op("counter_add", "c", EventType::kOk, -2);
  b.op("counter_add", "c", EventType::kInfo, 4);    // may or may not count
  b.op("counter_add", "c", EventType::kInfo, -1);   // may or may not count
  b.op("counter_add", "c", EventType::kFail, 100);  // certainly did not
  for (int64_t v : {2, 3, 6, 7}) {
    Builder ok = b;
    ok.read("counter", "c", "n1", v);
    ok.read("counter", "c", "n2", v);
    INFO(v);
    REQUIRE(check_history(ok.h).valid);
  }
  for (int64_t v : {1, 8, 103}) {
    Builder bad = b;
    bad.read("counter", "c", "n1", v);
    const Verdict verdict = check_history(bad.h);
    INFO(v);
    REQUIRE_FALSE(verdict.valid);
    REQUIRE(mentions(verdict, "outside [2, 7]"));
  }
}

TEST_CASE("checker: sets lose no acknowledged add and hold no phantom", "[checker]") {
  Builder b;
  b.op("set_add", "s", EventType::kOk, 0, "a").dot = crdt::Dot{1, 1};
  b.op("set_add", "s", EventType::kOk, 0, "b").dot = crdt::Dot{1, 2};
  b.op("set_add", "s", EventType::kInfo, 0, "c");
  Event& rm = b.op("set_remove", "s", EventType::kOk, 0, "b");
  crdt::DotContext seen;
  seen.add(crdt::Dot{1, 2});
  rm.ctx = seen;
  b.h[b.h.size() - 2].ctx = seen;  // the invoke carries the context
  Builder ok = b;
  ok.read("set", "s", "n1", 0, {"a"});
  ok.read("set", "s", "n2", 0, {"a"});
  REQUIRE(check_history(ok.h).valid);
  Builder with_c = b;
  with_c.read("set", "s", "n1", 0, {"a", "c"});  // the indeterminate add may have landed
  REQUIRE(check_history(with_c.h).valid);

  Builder lost = b;
  lost.read("set", "s", "n1", 0, {});
  REQUIRE(mentions(check_history(lost.h), "lost acknowledged add of a"));
  Builder phantom = b;
  phantom.read("set", "s", "n1", 0, {"a", "z"});
  REQUIRE(mentions(check_history(phantom.h), "holds z, which nobody added"));
  Builder back = b;
  back.read("set", "s", "n1", 0, {"a", "b"});
  const Verdict came_back = check_history(back.h);
  REQUIRE(mentions(came_back, "holds b, which acknowledged removes took out"));
  REQUIRE(mentions(came_back, std::string(kLostAckedWrite)));
  REQUIRE(came_back.summary.lost == 1);
}

TEST_CASE("checker: without dots a later remove only possibly observed an add", "[checker]") {
  Builder b;
  b.op("set_add", "s", EventType::kOk, 0, "a");
  b.op("set_remove", "s", EventType::kOk, 0, "a");
  Builder gone = b, kept = b;
  gone.read("set", "s", "n1", 0, {});
  kept.read("set", "s", "n1", 0, {"a"});  // the remove's read may have missed the add
  REQUIRE(check_history(gone.h).valid);
  REQUIRE(check_history(kept.h).valid);
}

TEST_CASE("checker: registers keep acknowledged writes unless a context covered them",
          "[checker]") {
  Builder b;
  b.op("put", "r", EventType::kOk, 0, "v1").dot = crdt::Dot{7, 1};
  b.op("put", "r", EventType::kOk, 0, "v2").dot = crdt::Dot{8, 1};
  Builder ok = b;
  ok.read("register", "r", "n1", 0, {"v1", "v2"});  // concurrent: siblings
  REQUIRE(check_history(ok.h).valid);
  Builder lost = b;
  lost.read("register", "r", "n1", 0, {"v2"});
  REQUIRE(mentions(check_history(lost.h), "lost acknowledged write v1"));
  Builder covered = b;
  crdt::DotContext seen;
  seen.add(crdt::Dot{7, 1});
  covered.op("put", "r", EventType::kOk, 0, "v3").dot = crdt::Dot{7, 2};
  covered.h[covered.h.size() - 2].ctx = seen;
  covered.read("register", "r", "n1", 0, {"v2", "v3"});
  REQUIRE(check_history(covered.h).valid);
}

TEST_CASE("checker: replicas that read differently diverged", "[checker]") {
  Builder b;
  b.op("counter_add", "c", EventType::kInfo, 1);
  b.read("counter", "c", "n1", 0);
  b.read("counter", "c", "n2", 1);
  const Verdict v = check_history(b.h);
  REQUIRE_FALSE(v.valid);
  REQUIRE(v.summary.diverged_keys == 1);
  REQUIRE(mentions(v, "key c diverged"));
  REQUIRE_FALSE(check_history({}).valid);  // nothing read: nothing proven
}

TEST_CASE("checker: answers are classified as the error table promises", "[checker]") {
  REQUIRE(classify(Status::ok()) == EventType::kOk);
  for (const Status& definite :
       {Status::invalid_argument("x"), Status::type_mismatch("x"), Status::unavailable("x"),
        Status::too_large("x"), Status::overloaded("x"), Status::unauthorized("x")}) {
    INFO(definite.to_string());
    REQUIRE(classify(definite) == EventType::kFail);
  }
  for (const Status& maybe : {Status::timeout("x"), Status::internal("x"), Status::corruption("x"),
                              Status::not_found("x")}) {
    INFO(maybe.to_string());
    REQUIRE(classify(maybe) == EventType::kInfo);
  }
  REQUIRE(worth_retrying(EventType::kInfo, Code::kTimeout));
  REQUIRE(worth_retrying(EventType::kFail, Code::kUnavailable));
  REQUIRE(worth_retrying(EventType::kFail, Code::kOverloaded));
  REQUIRE_FALSE(worth_retrying(EventType::kFail, Code::kTypeMismatch));
  REQUIRE_FALSE(worth_retrying(EventType::kOk, Code::kOk));
}

TEST_CASE("checker: attempts with one operation id are one operation", "[checker]") {
  Builder b;
  b.attempt("x", "counter_add", "c", EventType::kInfo, 5);  // timed out
  b.attempt("x", "counter_add", "c", EventType::kFail, 5);  // unavailable elsewhere
  b.attempt("x", "counter_add", "c", EventType::kOk, 5);    // then acknowledged
  b.attempt("y", "counter_add", "c", EventType::kFail, 2);  // definitely failed, twice
  b.attempt("y", "counter_add", "c", EventType::kFail, 2);
  b.attempt("z", "counter_add", "c", EventType::kInfo, 1);  // indeterminate, twice
  b.attempt("z", "counter_add", "c", EventType::kInvoke, 1);
  Builder ok = b;
  ok.read("counter", "c", "n1", 5);
  ok.read("counter", "c", "n2", 5);
  Verdict v = check_history(ok.h);
  REQUIRE(v.valid);
  REQUIRE(v.summary.ops == 3);
  REQUIRE(v.summary.attempts == 7);
  REQUIRE(v.summary.retried == 3);
  REQUIRE(v.summary.ok == 1);
  REQUIRE(v.summary.failed == 1);
  REQUIRE(v.summary.indeterminate == 1);
  Builder six = b;  // z landed once
  six.read("counter", "c", "n1", 6);
  REQUIRE(check_history(six.h).valid);

  Builder reused = b;  // one id for two different updates
  reused.attempt("x", "counter_add", "c", EventType::kOk, 7);
  reused.read("counter", "c", "n1", 5);
  REQUIRE(mentions(check_history(reused.h), "operation x names different operations"));
}

TEST_CASE("checker: a retried counter add that counts twice is a double-counted retry",
          "[checker]") {
  Builder b;
  b.op("counter_add", "c", EventType::kOk, 1);
  b.attempt("x", "counter_add", "c", EventType::kInfo, 5);
  b.attempt("x", "counter_add", "c", EventType::kOk, 5);
  b.attempt("n", "counter_add", "c", EventType::kInfo, -3);
  b.attempt("n", "counter_add", "c", EventType::kOk, -3);
  Builder up = b;  // +5 twice
  up.read("counter", "c", "n1", 8);
  Verdict v = check_history(up.h);
  REQUIRE_FALSE(v.valid);
  REQUIRE(mentions(v, "outside [3, 3]"));
  REQUIRE(mentions(v, "every retried attempt counted gives [0, 8] [double-counted retry]"));
  REQUIRE(v.summary.double_counted == 1);
  REQUIRE(v.summary.lost == 0);
  Builder down = b;  // -3 twice, or acknowledged adds lost: both are named
  down.read("counter", "c", "n1", 0);
  v = check_history(down.h);
  REQUIRE(mentions(v, std::string(kDoubleCountedRetry)));
  REQUIRE(mentions(v, std::string(kLostAckedWrite)));

  Builder only_up;  // no negative retry: short is a lost write and nothing else
  only_up.op("counter_add", "c", EventType::kOk, 1);
  only_up.attempt("x", "counter_add", "c", EventType::kInfo, 5);
  only_up.attempt("x", "counter_add", "c", EventType::kOk, 5);
  only_up.read("counter", "c", "n1", 5);
  v = check_history(only_up.h);
  REQUIRE(mentions(v, "outside [6, 6] (each operation once) [lost acknowledged write]"));
  REQUIRE(v.summary.lost == 1);
  REQUIRE(v.summary.double_counted == 0);
}

TEST_CASE("checker: unavailable is a definite failure: applied anyway is a violation",
          "[checker]") {
  Builder b;
  b.op("counter_add", "c", EventType::kOk, 2);
  b.op("counter_add", "c", EventType::kFail, 4);  // answered unavailable
  Builder good = b;
  good.read("counter", "c", "n1", 2);
  REQUIRE(check_history(good.h).valid);
  Builder bad = b;
  bad.read("counter", "c", "n1", 6);
  Verdict v = check_history(bad.h);
  REQUIRE(mentions(v, std::string(kFailedButApplied)));
  REQUIRE(v.summary.failed_applied == 1);

  Builder s;  // a set add answered unavailable whose element shows up
  s.op("set_add", "s", EventType::kOk, 0, "a").dot = crdt::Dot{1, 1};
  s.op("set_add", "s", EventType::kFail, 0, "u");
  Builder s_ok = s;
  s_ok.read("set", "s", "n1", 0, {"a"});
  REQUIRE(check_history(s_ok.h).valid);
  Builder s_bad = s;
  s_bad.read("set", "s", "n1", 0, {"a", "u"});
  v = check_history(s_bad.h);
  REQUIRE(mentions(v, "holds u, added only by op 2"));
  REQUIRE(mentions(v, std::string(kFailedButApplied)));

  Builder r;  // a register write answered unavailable that became a sibling
  r.op("put", "r", EventType::kOk, 0, "v1").dot = crdt::Dot{7, 1};
  r.op("put", "r", EventType::kFail, 0, "v2");
  r.read("register", "r", "n1", 0, {"v1", "v2"});
  v = check_history(r.h);
  REQUIRE(mentions(v, "has sibling v2, written only by op 2"));
  REQUIRE(mentions(v, std::string(kFailedButApplied)));

  Builder rm;  // a remove answered unavailable that took out an acknowledged add
  rm.op("set_add", "s", EventType::kOk, 0, "a").dot = crdt::Dot{1, 1};
  crdt::DotContext seen;
  seen.add(crdt::Dot{1, 1});
  rm.op("set_remove", "s", EventType::kFail, 0, "a");
  rm.h[rm.h.size() - 2].ctx = seen;
  rm.read("set", "s", "n1", 0, {});
  v = check_history(rm.h);
  REQUIRE(mentions(v, "lost acknowledged add of a: only a remove answered as failed"));
  REQUIRE(mentions(v, std::string(kFailedButApplied)));
}

TEST_CASE("checker: set adds are judged per attempt", "[checker]") {
  // Attempt 1 timed out (its dot unknown), attempt 2 minted (1,2). A remove that saw
  // only (1,2) leaves the element if attempt 1 also landed: not a phantom.
  Builder b;
  b.attempt("a", "set_add", "s", EventType::kInfo, 0, "e");
  b.attempt("a", "set_add", "s", EventType::kOk, 0, "e").dot = crdt::Dot{1, 2};
  crdt::DotContext seen;
  seen.add(crdt::Dot{1, 2});
  b.op("set_remove", "s", EventType::kOk, 0, "e");
  b.h[b.h.size() - 2].ctx = seen;
  b.h.back().ctx = seen;
  for (std::vector<std::string> got : {std::vector<std::string>{}, {"e"}}) {
    Builder r = b;
    r.read("set", "s", "n1", 0, got);
    REQUIRE(check_history(r.h).valid);
  }
  // Both attempts acknowledged with known dots, the remove saw only one: e must stay.
  Builder two;
  two.attempt("a", "set_add", "s", EventType::kOk, 0, "e").dot = crdt::Dot{1, 1};
  two.attempt("a", "set_add", "s", EventType::kOk, 0, "e").dot = crdt::Dot{2, 1};
  crdt::DotContext one;
  one.add(crdt::Dot{1, 1});
  two.op("set_remove", "s", EventType::kOk, 0, "e");
  two.h[two.h.size() - 2].ctx = one;
  two.read("set", "s", "n1", 0, {});
  const Verdict v = check_history(two.h);
  REQUIRE(mentions(v, "lost acknowledged add of e"));
  REQUIRE(mentions(v, std::string(kLostAckedWrite)));
}

TEST_CASE("checker: a duplicate answer takes effect from the first attempt", "[checker]") {
  // Attempt 1 timed out but landed; a remove that read the element took it out; the retry
  // was answered from attempt 1 ("duplicate"). The element is rightly gone: the remove
  // came after the operation's effect, though before the acknowledged attempt.
  Builder b;
  b.attempt("a", "set_add", "s", EventType::kInfo, 0, "e");
  crdt::DotContext read_ctx;
  read_ctx.add(crdt::Dot{9, 1});  // the add's dot is not known to the history
  b.op("set_remove", "s", EventType::kOk, 0, "e");
  b.h[b.h.size() - 2].ctx = read_ctx;
  b.h.back().ctx = read_ctx;
  b.attempt("a", "set_add", "s", EventType::kOk, 0, "e").detail = "duplicate";
  Builder gone = b;
  gone.read("set", "s", "n1", 0, {});
  REQUIRE(check_history(gone.h).valid);
  // A fresh (non-duplicate) acknowledged retry after the remove minted anew: it must stay.
  Builder fresh = b;
  fresh.h.back().detail.clear();
  fresh.read("set", "s", "n1", 0, {});
  REQUIRE(mentions(check_history(fresh.h), "lost acknowledged add of e"));
}

TEST_CASE("checker: a register write that took effect twice is a double-counted retry",
          "[checker]") {
  Builder b;
  b.attempt("w", "put", "r", EventType::kInfo, 0, "v1");
  b.attempt("w", "put", "r", EventType::kOk, 0, "v1").dot = crdt::Dot{5, 1};
  Builder once = b;
  once.read("register", "r", "n1", 0, {"v1"});
  REQUIRE(check_history(once.h).valid);
  Builder twice = b;
  twice.read("register", "r", "n1", 0, {"v1", "v1"});
  const Verdict v = check_history(twice.h);
  REQUIRE(mentions(v, "holds v1 2 times: operation w took effect more than once"));
  REQUIRE(mentions(v, std::string(kDoubleCountedRetry)));
  REQUIRE(v.summary.double_counted == 1);

  // A later write whose context held the dot of the first (timed-out) attempt covers
  // the operation, though the acknowledged attempt's dot differs.
  Builder covered = b;
  covered.h[0 + 1].dot = crdt::Dot{4, 1};  // the timed-out attempt's answer told its dot
  crdt::DotContext seen;
  seen.add(crdt::Dot{4, 1});
  covered.op("put", "r", EventType::kOk, 0, "v2").dot = crdt::Dot{6, 1};
  covered.h[covered.h.size() - 2].ctx = seen;
  covered.read("register", "r", "n1", 0, {"v2"});
  REQUIRE(check_history(covered.h).valid);
  Builder lost = b;
  lost.op("put", "r", EventType::kOk, 0, "v2").dot = crdt::Dot{6, 1};
  lost.read("register", "r", "n1", 0, {"v2"});
  REQUIRE(mentions(check_history(lost.h), "lost acknowledged write v1 [lost acknowledged write]"));
}

TEST_CASE("checker: histories round-trip through JSON lines", "[checker]") {
  Builder b;
  // An actor uses all 64 bits (past int64: JSON readers must take it as unsigned).
  constexpr uint64_t kActor = 0xfedcba9876543210ULL;
  b.op("set_add", "s\x01", EventType::kOk, 0, "\xff\xfe").dot = crdt::Dot{kActor, 9};
  crdt::DotContext c;
  c.add(crdt::Dot{kActor, 9});
  b.h.back().ctx = c;
  b.op("counter_add", "c", EventType::kInfo, -7).detail = "timeout: \"late\"";
  b.attempt("id\x02", "counter_add", "c", EventType::kOk, 3);
  b.read("set", "s\x01", "n2", 0, {"\xff\xfe"});
  std::string text;
  for (const Event& e : b.h) text += to_json_line(e) + "\n";
  Result<std::vector<Event>> back = parse_history(text);
  REQUIRE(back.is_ok());
  REQUIRE(back->size() == b.h.size());
  for (size_t i = 0; i < b.h.size(); ++i) REQUIRE(to_json_line((*back)[i]) == to_json_line(b.h[i]));
  REQUIRE(text.find("\"op_id\":") != std::string::npos);
  // A line of an older writer (no op_id) parses as an attempt of its own.
  Result<Event> old = parse_json_line("{\"type\":\"invoke\",\"t\":1,\"op\":4,\"f\":\"x\"}");
  REQUIRE(old.is_ok());
  REQUIRE(old->op_id.empty());
  REQUIRE(parse_history("{\"type\":\"ok\",\"f\":\"x\"}\nnot json\n")
              .status()
              .message()
              .find("history line 2") != std::string::npos);
  const std::string page = timeline_html(b.h, check_history(b.h), "run <1>");
  REQUIRE(page.find("<svg") != std::string::npos);
  REQUIRE(page.find("run &lt;1&gt;") != std::string::npos);
}

}  // namespace
}  // namespace shoal::check
