// Member-by-member repair of big sets (node/core/set_sync.h): replicas of a big set that
// were written apart (LOCAL adds and removes on different nodes, one remove deferred)
// converge through anti-entropy a page at a time, never shipping the set whole, and end
// holding the same members, context and operation records.
#include <catch2/catch.hpp>

#include "requests.h"
#include "sim.h"

namespace shoal::sim {
namespace {

std::string member(int i) {
  std::string s = std::to_string(i);
  return "m" + std::string(s.size() < 3 ? 3 - s.size() : 0, '0') + s;
}

const crdt::ORSet* set_at(Sim& sim, const std::string& id, core::ClientResponse* keep) {
  auto r = call(sim, id, read("s", "big", local()));
  if (!r || !r->status.is_ok() || !r->object) return nullptr;
  *keep = *r;
  return keep->object->as<crdt::ORSet>();
}

// Adds members from..to-1 at `at`; with_ids: each under an operation id (a record the
// repair must carry to the other replicas, or their record rows keep differing).
void add_range(Sim& sim, const std::string& at, int from, int to, bool with_ids = false,
               const core::RequestOptions& opts = local()) {
  for (int i = from; i < to; ++i) {
    core::ClientRequest add = set_add("big", member(i), opts);
    if (with_ids) add.update.op_id = "op-" + member(i);
    sim.client(at, std::move(add), [](core::ClientResponse) {});
    sim.run_until(sim.now_ms() + 5);
  }
}

void remove_seen(Sim& sim, const std::string& at, const std::string& elem,
                 const crdt::DotContext& seen) {
  sim.client(at, set_remove("big", elem, seen, local()), [](core::ClientResponse) {});
  sim.run_until(sim.now_ms() + 5);
}

bool all_in_sync(Sim& sim) {
  for (const std::string& id : sim.node_ids()) {
    if (!sim.node(id).in_sync()) return false;
  }
  return true;
}

TEST_CASE("set repair: big set replicas written apart converge page by page, never shipped whole",
          "[sim][set_repair]") {
  for (uint64_t seed : scenario_seeds(4)) {
    INFO("seed " << seed);
    SimOptions o = small_cluster(seed, 3, 50);
    o.cluster.ae_set_page_members = 5;
    o.cluster.ae_set_span_members = 4;  // many spans: regions between removes and adds
    o.whole_set_max_members = 8;
    Sim sim(o);
    sim.run_until(1'000);
    add_range(sim, "n1", 0, 60);
    add_range(sim, "n3", 40, 100, true);  // m040..m059 added on both: two dots each
    core::ClientResponse keep;
    const crdt::ORSet* n1 = set_at(sim, "n1", &keep);
    REQUIRE(n1);
    const crdt::DotContext n1_seen = n1->context();
    for (int i = 0; i < 10; ++i) remove_seen(sim, "n1", member(i), n1_seen);
    const crdt::ORSet* n3 = set_at(sim, "n3", &keep);
    REQUIRE(n3);
    const crdt::DotContext n3_seen = n3->context();
    remove_seen(sim, "n3", member(50), n3_seen);  // n1's add of m050 was not seen: it stays
    remove_seen(sim, "n3", member(95), n3_seen);
    // n2 never saw n1's adds: its remove of m020 is deferred until they arrive.
    remove_seen(sim, "n2", member(20), n1_seen);

    const uint64_t start = sim.now_ms();
    while (!all_in_sync(sim) && sim.now_ms() < start + 120'000) {
      sim.run_until(sim.now_ms() + 200);
    }
    REQUIRE(all_in_sync(sim));
    std::vector<std::string> expected;
    for (int i = 10; i < 100; ++i) {
      if (i != 20 && i != 95) expected.push_back(member(i));
    }
    core::ClientResponse first_keep;
    const crdt::ORSet* first = set_at(sim, "n1", &first_keep);
    REQUIRE(first);
    CHECK(first->read() == expected);
    uint64_t pages = 0, joined = 0, whole = 0;
    for (const std::string& id : sim.node_ids()) {
      core::ClientResponse k;
      const crdt::ORSet* s = set_at(sim, id, &k);
      REQUIRE(s);
      INFO(id);
      CHECK(*s == *first);  // members, context and deferred removes
      pages += sim.node(id).anti_entropy().set_pages;
      joined += sim.node(id).anti_entropy().set_contexts_joined;
      whole += sim.node(id).anti_entropy().big_sets_sent_whole;
    }
    INFO(pages << " pages, " << joined << " contexts joined, " << whole << " big sets sent whole");
    CHECK(pages > 0);
    CHECK(joined > 0);
    CHECK(whole == 0);
  }
}

uint64_t pages_read(Sim& sim) {
  uint64_t pages = 0;
  for (const std::string& id : sim.node_ids()) pages += sim.node(id).anti_entropy().set_pages;
  return pages;
}

bool settle(Sim& sim) {
  const uint64_t start = sim.now_ms();
  while (!all_in_sync(sim) && sim.now_ms() < start + 120'000) sim.run_until(sim.now_ms() + 200);
  return all_in_sync(sim);
}

TEST_CASE("set repair: a few members apart in a big set cost a few pages, not the whole set",
          "[sim][set_repair]") {
  for (uint64_t seed : scenario_seeds(3)) {
    INFO("seed " << seed);
    SimOptions o = small_cluster(seed, 3, 50);
    o.cluster.ae_set_page_members = 16;
    o.cluster.ae_set_span_members = 16;
    o.whole_set_max_members = 8;
    Sim sim(o);
    sim.run_until(1'000);
    add_range(sim, "n1", 0, 3'000, false, core::preset("ALL").value());
    REQUIRE(settle(sim));
    const uint64_t before = pages_read(sim);
    add_range(sim, "n1", 5'000, 5'004);  // LOCAL: n2 and n3 learn them from anti-entropy
    add_range(sim, "n3", 6'000, 6'003);
    REQUIRE(settle(sim));
    const uint64_t pages = pages_read(sim) - before;
    core::ClientResponse k1, k2, k3;
    const crdt::ORSet* s1 = set_at(sim, "n1", &k1);
    const crdt::ORSet* s2 = set_at(sim, "n2", &k2);
    const crdt::ORSet* s3 = set_at(sim, "n3", &k3);
    REQUIRE((s1 && s2 && s3));
    CHECK(s1->size() == 3'007);
    CHECK(*s1 == *s2);
    CHECK(*s1 == *s3);
    // The whole set is 188 pages of 16 for one repair of one pair: the 7 members apart
    // (each in a span of ~16) cost a handful per repair.
    INFO(pages << " pages read after 7 members were added apart");
    CHECK(pages > 0);
    CHECK(pages <= 80);
  }
}

}  // namespace
}  // namespace shoal::sim
