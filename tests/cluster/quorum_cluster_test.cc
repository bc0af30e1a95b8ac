// Real shoald processes on loopback: quorum writes and reads across kill -9 and
// restart, ALL while a node is down, LOCAL on a node cut off from its peers.
#include "harness.h"

namespace shoal::test {
namespace {

std::string key(int i) { return "key-" + std::to_string(i); }
std::string val(int i) { return "value-" + std::to_string(i); }

void write_keys(client::Client& c, int from, int to, const core::RequestOptions& o) {
  for (int i = from; i < to; ++i) {
    auto r = c.put("q", key(i), val(i), std::nullopt, o);
    REQUIRE(r.is_ok());
    INFO(key(i) << ": " << r->status.to_string());
    REQUIRE(r->status.is_ok());
  }
}

void read_keys(client::Client& c, int from, int to, const core::RequestOptions& o) {
  for (int i = from; i < to; ++i) {
    auto r = c.get("q", key(i), o);
    REQUIRE(r.is_ok());
    INFO(key(i) << ": " << r->status.to_string());
    REQUIRE(r->status.is_ok());
    REQUIRE(r->values == std::vector<std::string>{val(i)});
  }
}

TEST_CASE("W=2 writes survive a kill -9 and R=2 reads return them", "[cluster]") {
  TestCluster tc(3);
  auto n1 = tc.connect("n1");
  // ALL, so the restarted n3 must hold these on its own disk (a QUORUM write acked just
  // before the kill may not have reached it).
  write_keys(*n1, 0, 40, opts("all"));

  tc.kill9("n3");
  core::RequestOptions w2 = opts("quorum");
  w2.n = 3;
  w2.w = core::QuorumSpec::of(2);
  write_keys(*n1, 40, 80, w2);

  core::RequestOptions r2 = opts("quorum");
  r2.r = core::QuorumSpec::of(2);
  auto n2 = tc.connect("n2");
  read_keys(*n2, 0, 80, r2);

  SECTION("ALL fails clearly while a node is down") {
    auto w = n1->put("q", "all-key", "x", std::nullopt, opts("all"));
    REQUIRE(w.is_ok());
    CHECK(w->status.code() == Code::kUnavailable);
    CHECK_THAT(w->status.message(), Catch::Contains("2 of 3 replicas reachable"));
    auto r = n2->get("q", key(1), opts("all"));
    REQUIRE(r.is_ok());
    CHECK(r->status.code() == Code::kUnavailable);
  }

  SECTION("the restarted node serves its data, and ALL reads repair what it missed") {
    tc.start_node("n3");
    tc.wait_connected();
    auto n3 = tc.connect("n3");
    read_keys(*n3, 0, 40, opts("local"));  // written before the kill: on n3's disk
    auto missed = n3->get("q", key(50), opts("local"));
    REQUIRE(missed.is_ok());
    CHECK(missed->status.code() == Code::kNotFound);  // written while it was down
    read_keys(*n1, 40, 80, opts("all"));              // read repair brings n3 up to date
    for (int i = 40; i < 80; ++i) {
      INFO(key(i));
      CHECK(eventually([&] {
        auto r = n3->get("q", key(i), opts("local"));
        return r.is_ok() && r->values == std::vector<std::string>{val(i)};
      }));
    }
  }
}

TEST_CASE("a SIGTERM drains and the node restarts with its data", "[cluster]") {
  TestCluster tc(3);
  auto n1 = tc.connect("n1");
  core::RequestOptions durable = opts("all");
  durable.durable = true;
  write_keys(*n1, 0, 20, durable);
  tc.stop("n2");
  CHECK_THAT(tc.log("n2"), Catch::Contains("database closed"));
  tc.start_node("n2");
  auto n2 = tc.connect("n2");
  read_keys(*n2, 0, 20, opts("local"));
}

TEST_CASE("LOCAL reads and writes work on a node cut off from every peer", "[cluster]") {
  TestCluster tc(3);
  tc.kill9("n2");
  tc.kill9("n3");
  auto n1 = tc.connect("n1");
  // Once n1 sees both peers down (closed connections), a QUORUM write is refused before
  // anything is written: unavailable, never timeout (docs/semantics.md).
  REQUIRE(eventually([&] {
    auto st = n1->cluster_status();
    if (!st.is_ok()) return false;
    int down = 0;
    for (const auto& m : st->members) down += (m.id != "n1" && m.down) ? 1 : 0;
    return down == 2;
  }));
  auto q = n1->put("edge", "k", "v", std::nullopt, opts("quorum"));
  REQUIRE(q.is_ok());
  CHECK(q->status.code() == Code::kUnavailable);

  auto w = n1->put("edge", "k", "offline", std::nullopt, opts("local"));
  REQUIRE(w.is_ok());
  REQUIRE(w->status.is_ok());
  auto c = n1->counter_add("edge", "clicks", 3, opts("local"));
  REQUIRE(c.is_ok());
  REQUIRE(c->status.is_ok());
  auto s = n1->set_add("edge", "tags", {"a", "b"}, opts("local"));
  REQUIRE(s.is_ok());
  REQUIRE(s->status.is_ok());

  auto r = n1->get("edge", "k", opts("local"));
  REQUIRE(r.is_ok());
  CHECK(r->values == std::vector<std::string>{"offline"});
  CHECK(n1->counter_get("edge", "clicks", opts("local"))->counter == 3);
  CHECK(n1->set_get("edge", "tags", opts("local"))->elements == std::vector<std::string>{"a", "b"});

  // The peers come back: an ALL read spreads what n1 took while cut off.
  tc.start_node("n2");
  tc.start_node("n3");
  tc.wait_connected();
  auto all = n1->get("edge", "k", opts("all"));
  REQUIRE(all.is_ok());
  CHECK(all->values == std::vector<std::string>{"offline"});
  auto n3 = tc.connect("n3");
  CHECK(eventually([&] {
    auto local = n3->get("edge", "k", opts("local"));
    return local.is_ok() && local->values == std::vector<std::string>{"offline"};
  }));
}

}  // namespace
}  // namespace shoal::test
