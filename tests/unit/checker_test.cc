// The history checkers (tools/checker.h): each property accepts a correct history and
// names the violation in a broken one; histories round-trip through JSON lines.
#include "tools/checker.h"

#include <catch2/catch.hpp>

namespace shoal::check {
namespace {

struct Builder {
  std::vector<Event> h;
  uint64_t t = 0, next_op = 1;

  // An operation: invoke, then its completion `outcome`.
  Event& op(const std::string& f, const std::string& key, EventType outcome, int64_t delta = 0,
            const std::string& element = "") {
    Event in;
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
    Event done = in;
    done.type = outcome;
    done.time_ms = t += 5;
    ++next_op;
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
  REQUIRE(mentions(check_history(back.h), "holds b, which acknowledged removes took out"));
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

TEST_CASE("checker: histories round-trip through JSON lines", "[checker]") {
  Builder b;
  b.op("set_add", "s\x01", EventType::kOk, 0, "\xff\xfe").dot = crdt::Dot{3, 9};
  crdt::DotContext c;
  c.add(crdt::Dot{3, 9});
  b.h.back().ctx = c;
  b.op("counter_add", "c", EventType::kInfo, -7).detail = "timeout: \"late\"";
  b.read("set", "s\x01", "n2", 0, {"\xff\xfe"});
  std::string text;
  for (const Event& e : b.h) text += to_json_line(e) + "\n";
  Result<std::vector<Event>> back = parse_history(text);
  REQUIRE(back.is_ok());
  REQUIRE(back->size() == b.h.size());
  for (size_t i = 0; i < b.h.size(); ++i) REQUIRE(to_json_line((*back)[i]) == to_json_line(b.h[i]));
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
