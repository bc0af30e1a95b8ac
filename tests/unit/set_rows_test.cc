// Large sets: the ORSet's indexed join against a naive twin, and the node storing a set
// as a head row plus one row per element (an add writes O(1) rows, not the whole set).
#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <catch2/catch.hpp>
#include <memory>
#include <optional>

#include "crdt/orset.h"
#include "crdt/prng.h"
#include "node/core/keys.h"
#include "node/core/node.h"
#include "node/store/leveldb_store.h"

namespace shoal {
namespace {

using crdt::Dot;
using crdt::DotContext;
using crdt::ORSet;

struct Expected {
  std::map<std::string, std::set<Dot>> entries;
  DotContext ctx;
  std::map<DotContext, std::set<std::string>> deferred;
};

// An element's dots as a plain std::set (the twin keeps its own, simplest representation).
std::set<Dot> plain(const crdt::Dots& dots) { return {dots.begin(), dots.end()}; }

std::map<std::string, std::set<Dot>> plain(const std::map<std::string, crdt::Dots>& entries) {
  std::map<std::string, std::set<Dot>> out;
  for (const auto& [e, d] : entries) out[e] = plain(d);
  return out;
}

// The join as the paper states it, element by element over both sides, written from
// the public accessors only.
Expected naive_join(const ORSet& a, const ORSet& b) {
  Expected out;
  std::set<std::string> names;
  for (const auto& [e, d] : a.entries()) names.insert(e);
  for (const auto& [e, d] : b.entries()) names.insert(e);
  static const std::set<Dot> kNone;
  for (const std::string& e : names) {
    const auto ia = a.entries().find(e);
    const auto ib = b.entries().find(e);
    const std::set<Dot> da = ia == a.entries().end() ? kNone : plain(ia->second);
    const std::set<Dot> db = ib == b.entries().end() ? kNone : plain(ib->second);
    std::set<Dot> kept;
    for (const Dot& d : da) {
      if (db.count(d) || !b.context().contains(d)) kept.insert(d);
    }
    for (const Dot& d : db) {
      if (da.count(d) || !a.context().contains(d)) kept.insert(d);
    }
    if (!kept.empty()) out.entries[e] = kept;
  }
  out.ctx = a.context();
  out.ctx.join(b.context());
  out.deferred = a.deferred();
  for (const auto& [obs, elems] : b.deferred())
    out.deferred[obs].insert(elems.begin(), elems.end());
  for (auto it = out.deferred.begin(); it != out.deferred.end();) {
    if (!out.ctx.covers(it->first)) {
      ++it;
      continue;
    }
    for (const std::string& e : it->second) {
      auto en = out.entries.find(e);
      if (en == out.entries.end()) continue;
      std::erase_if(en->second, [&](const Dot& d) { return it->first.contains(d); });
      if (en->second.empty()) out.entries.erase(en);
    }
    it = out.deferred.erase(it);
  }
  return out;
}

void check_join(ORSet mine, const ORSet& other) {
  const Expected want = naive_join(mine, other);
  const ORSet before = mine;
  ORSet::Touched touched;
  mine.join(other, &touched);
  REQUIRE(plain(mine.entries()) == want.entries);
  REQUIRE(mine.context() == want.ctx);
  REQUIRE(mine.deferred() == want.deferred);
  // Touched is exactly the elements whose dots changed (a node rewrites those rows).
  std::set<std::string> changed;
  for (const auto& [e, d] : before.entries()) {
    auto it = mine.entries().find(e);
    if (it == mine.entries().end() || it->second != d) changed.insert(e);
  }
  for (const auto& [e, d] : mine.entries()) {
    if (!before.entries().count(e)) changed.insert(e);
  }
  REQUIRE(touched == changed);
  // The dot index and byte count equal a rebuild from scratch.
  const ORSet reread = ORSet::decode(mine.encode()).value();
  REQUIRE(reread == mine);
  REQUIRE(reread.approx_bytes() == mine.approx_bytes());
}

TEST_CASE("set rows: joins of deltas and of whole states into large sets equal the naive join",
          "[orset]") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    INFO("seed " << seed);
    Prng rng(seed);
    std::vector<ORSet> r(4);
    std::vector<ORSet> deltas;
    auto elem = [&] { return "e" + std::to_string(rng.below(300)); };
    for (int step = 0; step < 1500; ++step) {
      const size_t i = rng.below(r.size());
      const uint64_t op = rng.below(20);
      if (op < 13) {
        deltas.push_back(r[i].add(i + 1, elem()));
      } else if (op < 15) {
        deltas.push_back(r[i].remove(elem()));
      } else if (op < 17) {  // a client's context from another replica, maybe ahead
        deltas.push_back(r[i].remove(elem(), r[rng.below(r.size())].context()));
      } else {
        r[i].join(r[rng.below(r.size())]);
      }
      if (!deltas.empty() && rng.chance(1, 3)) r[rng.below(r.size())].join(deltas.back());
    }
    REQUIRE(r[0].size() > 100);  // large enough for the indexed path
    for (size_t k = 0; k < deltas.size(); k += 7) check_join(r[k % r.size()], deltas[k]);
    for (const ORSet& a : r) {
      for (const ORSet& b : r) check_join(a, b);
    }
  }
}

TEST_CASE("set rows: a projection keeps the whole context and only the asked members", "[orset]") {
  ORSet s;
  for (int i = 0; i < 50; ++i) s.add(1, "m" + std::to_string(i));
  const ORSet p = s.project({"m3", "nope", "m7"});
  REQUIRE(p.read() == std::vector<std::string>{"m3", "m7"});
  REQUIRE(p.context() == s.context());
  // Joining two projections on the same members gives the projection of the join.
  ORSet t = s;
  t.remove("m3");
  ORSet pj = p;
  pj.join(t.project({"m3", "nope", "m7"}));
  ORSet full = s;
  full.join(t);
  REQUIRE(pj == full.project({"m3", "nope", "m7"}));
}

// ---- the node's rows ----

class CountingStore final : public core::Store {
 public:
  explicit CountingStore(core::Store& inner) : inner_(inner) {}
  Result<std::optional<std::string>> get(std::string_view k) override {
    ++rows_read;
    return inner_.get(k);
  }
  void put(std::string_view k, std::string_view v) override {
    ++puts;
    put_bytes += k.size() + v.size();
    inner_.put(k, v);
  }
  void erase(std::string_view k) override { inner_.erase(k); }
  bool has_staged() const override { return inner_.has_staged(); }
  Status flush(bool sync) override { return inner_.flush(sync); }
  void discard_staged() override { inner_.discard_staged(); }
  Status scan(std::string_view from, std::string_view to, const ScanFn& fn) override {
    return inner_.scan(from, to, [&](std::string_view k, std::string_view v) {
      ++rows_read;
      return fn(k, v);
    });
  }
  uint64_t puts = 0, put_bytes = 0, rows_read = 0;

 private:
  core::Store& inner_;
};

struct World final : core::Clock, core::Transport, core::Timers {
  uint64_t now_ms() override { return 1000; }
  uint64_t wall_ms() override { return 1'700'000'000'000; }
  void send(const std::string&, const core::Message&) override {}
  void schedule(uint64_t, uint64_t) override {}
  void cancel(uint64_t) override {}
};

struct OneNode {
  std::unique_ptr<leveldb::Env> mem{leveldb::NewMemEnv(leveldb::Env::Default())};
  std::unique_ptr<store::LevelDbStore> db = store::LevelDbStore::open("/db", mem.get()).value();
  CountingStore store{*db};
  World world;
  core::SeededRng rng{7};
  std::unique_ptr<core::Node> node;

  void start(size_t cache_bytes, size_t whole_set_max_members = 4096,
             size_t max_set_read_members = 100'000) {
    core::NodeConfig c;
    c.self = "n1";
    c.members = {"n1"};
    c.object_cache_bytes = cache_bytes;
    c.whole_set_max_members = whole_set_max_members;
    c.max_set_read_members = max_set_read_members;
    node = std::make_unique<core::Node>(c, core::NodeEnv{world, world, world, store, rng}, 42);
  }
  core::ClientResponse call(core::ClientRequest r) {
    std::optional<core::ClientResponse> out;
    node->on_client_request(std::move(r), [&](core::ClientResponse a) { out = std::move(a); });
    node->end_turn();
    REQUIRE(out.has_value());
    return *out;
  }
  core::ClientResponse add(const std::string& e, bool remove = false) {
    core::ClientRequest r;
    r.op = core::ClientRequest::Op::kUpdate;
    r.bucket = "b";
    r.key = "big";
    r.update.kind = remove ? core::Update::Kind::kSetRemove : core::Update::Kind::kSetAdd;
    r.update.type = core::DataType::kSet;
    r.update.elements = {e};
    return call(std::move(r));
  }
  core::ClientResponse read(std::vector<std::string> members = {}) {
    core::ClientRequest r;
    r.bucket = "b";
    r.key = "big";
    r.elements = std::move(members);
    return call(std::move(r));
  }
  core::ClientResponse page(std::optional<std::string> after, uint32_t count) {
    core::ClientRequest r;
    r.bucket = "b";
    r.key = "big";
    r.page = core::SetPage{std::move(after), count};
    return call(std::move(r));
  }
};

uint64_t bytes_of_one_add(OneNode& w, const std::string& e) {
  const uint64_t before = w.store.put_bytes;
  REQUIRE(w.add(e).status.is_ok());
  return w.store.put_bytes - before;
}

TEST_CASE("set rows: an add writes as many bytes to a set of 5000 members as to one of 10",
          "[node]") {
  for (size_t cache : {size_t{32} << 20, size_t{0}}) {
    INFO("cache bytes " << cache);
    OneNode w;
    w.start(cache);
    for (int i = 0; i < 10; ++i) REQUIRE(w.add("m" + std::to_string(10000 + i)).status.is_ok());
    const uint64_t small = bytes_of_one_add(w, "x0000");
    for (int i = 10; i < 5000; ++i) REQUIRE(w.add("m" + std::to_string(10000 + i)).status.is_ok());
    const uint64_t large = bytes_of_one_add(w, "x0001");
    // Only the counters in the head's context and the new dot grow (msgpack uses 1 byte
    // for 10 and 3 for 5000); the whole set would be ~40 KB.
    REQUIRE(large <= small + 8);
    // The update's answer names the element written, not the 5,001 members.
    const core::ClientResponse a = w.add("x0002");
    REQUIRE(a.object->as<crdt::ORSet>()->read() == std::vector<std::string>{"x0002"});

    // A membership test reads only the members asked; a full read sees them all.
    const core::ClientResponse probe = w.read({"m10007", "absent"});
    REQUIRE(probe.object->as<crdt::ORSet>()->read() == std::vector<std::string>{"m10007"});
    REQUIRE(w.read().object->as<crdt::ORSet>()->size() == 5003);

    // A restarted node reassembles the set from its rows.
    w.start(cache);
    REQUIRE(w.read().object->as<crdt::ORSet>()->size() == 5003);
  }
}

// Rows an add, a remove and a member test read, together.
uint64_t rows_of_member_ops(OneNode& w, const std::string& e) {
  const uint64_t before = w.store.rows_read;
  REQUIRE(w.add(e).status.is_ok());
  REQUIRE(w.add(e, /*remove=*/true).status.is_ok());
  REQUIRE(w.read({e}).status.is_ok());
  return w.store.rows_read - before;
}

TEST_CASE(
    "set rows: past the whole-set limit, member operations read as many rows of a set of "
    "5000 members as of one of 10, cached or not",
    "[node]") {
  // Issue #14 case 7: a set bigger than the cache was loaded whole by every add.
  for (size_t cache : {size_t{32} << 20, size_t{0}}) {
    INFO("cache bytes " << cache);
    OneNode w;
    w.start(cache, /*whole_set_max_members=*/100);
    for (int i = 0; i < 10; ++i) REQUIRE(w.add("m" + std::to_string(10000 + i)).status.is_ok());
    w.start(cache, 100);  // nothing cached
    const uint64_t small = rows_of_member_ops(w, "x0000");
    for (int i = 10; i < 5000; ++i) REQUIRE(w.add("m" + std::to_string(10000 + i)).status.is_ok());
    w.start(cache, 100);
    (void)rows_of_member_ops(w, "x0001");  // finds the set big: a bounded scan, once
    const uint64_t large = rows_of_member_ops(w, "x0002");
    INFO("rows read: " << small << " with 10 members, " << large << " with 5000");
    REQUIRE(large <= small);
    // What the partial operations wrote is the set: a full read sees every member.
    const auto whole = w.read().object->as<crdt::ORSet>()->read();
    REQUIRE(whole.size() == 5000);
    REQUIRE(w.add("x0003").status.is_ok());
    REQUIRE(w.read({"x0003", "x0002"}).object->as<crdt::ORSet>()->read() ==
            std::vector<std::string>{"x0003"});
    w.start(cache, 100);
    REQUIRE(w.read().object->as<crdt::ORSet>()->size() == 5001);
  }
}

TEST_CASE("set rows: pages read a set in order, each from its own rows, cached or not",
          "[node][page]") {
  for (size_t cache : {size_t{32} << 20, size_t{0}}) {
    INFO("cache bytes " << cache);
    OneNode w;
    w.start(cache, 100);
    for (int i = 0; i < 1000; ++i) REQUIRE(w.add("m" + std::to_string(10000 + i)).status.is_ok());
    REQUIRE(w.add("m10500", /*remove=*/true).status.is_ok());
    w.start(cache, 100);
    std::vector<std::string> all;
    std::optional<std::string> after;
    uint64_t most_rows = 0;
    for (int pages = 0; pages < 100; ++pages) {
      const uint64_t before = w.store.rows_read;
      const core::ClientResponse p = w.page(after, 64);
      most_rows = std::max(most_rows, w.store.rows_read - before);
      REQUIRE(p.status.is_ok());
      const auto members = p.object->as<crdt::ORSet>()->read();
      REQUIRE(members.size() <= 64);
      all.insert(all.end(), members.begin(), members.end());
      if (!p.next) break;
      REQUIRE(*p.next == members.back());
      after = p.next;
    }
    REQUIRE(all == w.read().object->as<crdt::ORSet>()->read());
    REQUIRE(all.size() == 999);
    if (cache == 0) REQUIRE(most_rows <= 64 + 2);  // the head and one row past the page
    core::ClientRequest bad;
    bad.bucket = "b";
    bad.key = "big";
    bad.page = core::SetPage{std::nullopt, core::kMaxPageMembers + 1};
    REQUIRE(w.call(bad).status.code() == Code::kInvalidArgument);
  }
}

TEST_CASE("set rows: a whole read of a set over the read limit is refused, pages still read it",
          "[node][page]") {
  for (size_t cache : {size_t{32} << 20, size_t{0}}) {
    INFO("cache bytes " << cache);
    OneNode w;
    w.start(cache, 100, 500);
    for (int i = 0; i < 500; ++i) REQUIRE(w.add("m" + std::to_string(10000 + i)).status.is_ok());
    REQUIRE(w.read().object->as<crdt::ORSet>()->size() == 500);  // at the limit: read
    REQUIRE(w.add("one-more").status.is_ok());
    w.start(cache, 100, 500);
    for (int twice = 0; twice < 2; ++twice) {  // a refusal leaves nothing cached behind
      const core::ClientResponse whole = w.read();
      REQUIRE(whole.status.code() == Code::kTooLarge);
      REQUIRE(whole.status.message().find("read it by pages") != std::string::npos);
    }
    REQUIRE(w.read({"one-more"}).object->as<crdt::ORSet>()->size() == 1);
    size_t paged = 0;
    std::optional<std::string> after;
    for (int pages = 0; pages < 10; ++pages) {
      const core::ClientResponse p = w.page(after, 100);
      REQUIRE(p.status.is_ok());
      paged += p.object->as<crdt::ORSet>()->size();
      if (!(after = p.next)) break;
    }
    REQUIRE(paged == 501);
  }
}

TEST_CASE("set rows: a whole-set row from before element rows is read and converted", "[node]") {
  OneNode w;
  ORSet legacy;
  for (int i = 0; i < 20; ++i) legacy.add(9, "old" + std::to_string(i));
  const uint64_t hash = ring::key_hash("b", "big");
  w.db->put(core::data_key(hash, "b", "big"), core::Object(legacy).encode());
  REQUIRE(w.db->flush(true).is_ok());
  w.start(0);
  REQUIRE(w.add("new").status.is_ok());
  REQUIRE(w.read().object->as<crdt::ORSet>()->size() == 21);
  uint64_t element_rows = 0;
  const std::string prefix = core::element_prefix(hash, "b", "big");
  REQUIRE(w.db->scan(prefix, core::data_key_end(),
                     [&](std::string_view k, std::string_view) {
                       if (k.substr(0, prefix.size()) == prefix) ++element_rows;
                       return true;
                     })
              .is_ok());
  REQUIRE(element_rows == 21);
  w.start(0);
  REQUIRE(w.read().object->as<crdt::ORSet>()->size() == 21);
}

}  // namespace
}  // namespace shoal
