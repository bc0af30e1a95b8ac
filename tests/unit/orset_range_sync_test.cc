// Member-by-member repair of a big set (docs/cluster.md "Big sets"): two replicas
// compare a range of members at a time and swap only what each knows about the dots of
// the rows in that range (ORSet::delta_of), never a whole state, then join contexts
// once their rows agree (ORSet::join_context). Checked against a replica that saw every
// delta ever minted: the swaps neither lose an add nor keep a removed member, also with
// writes landing between the messages of a swap.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crdt/orset.h"
#include "crdt/prng.h"

namespace shoal::crdt {
namespace {

constexpr size_t kMembers = 30;

std::string member(Prng& rng) {
  const uint64_t i = rng.below(kMembers);
  return std::string("m") + static_cast<char>('0' + i / 10) + static_cast<char>('0' + i % 10);
}

// The rows of `s` from `lo` on (at most max_rows, and below `hi` when not empty).
std::vector<std::pair<std::string, crdt::Dots>> rows_from(const ORSet& s, const std::string& lo,
                                                          const std::string& hi, size_t max_rows) {
  std::vector<std::pair<std::string, crdt::Dots>> out;
  for (auto it = s.entries().lower_bound(lo); it != s.entries().end(); ++it) {
    if ((!hi.empty() && it->first >= hi) || out.size() == max_rows) break;
    out.emplace_back(it->first, it->second);
  }
  return out;
}

std::vector<Dot> dots_of(const std::vector<std::pair<std::string, crdt::Dots>>& rows) {
  std::vector<Dot> out;
  for (const auto& [elem, dots] : rows) out.insert(out.end(), dots.begin(), dots.end());
  return out;
}

// A delta's removals touch only members whose rows were swapped (a node loads just them).
void check_touches_only(const ORSet& receiver, const ORSet& delta,
                        const std::set<std::string>& loaded) {
  for (const auto& [elem, dots] : receiver.entries()) {
    for (const Dot& d : dots) {
      if (delta.context().contains(d)) REQUIRE(loaded.count(elem) == 1);
    }
  }
  for (const auto& kv : delta.entries()) REQUIRE(loaded.count(kv.first) == 1);
}

struct World {
  Prng rng;
  ORSet a, b;
  ORSet truth;  // every delta minted by either replica

  explicit World(uint64_t seed) : rng(seed) {}

  // A random write at a or b (the other's context stands for a client that read there).
  void write() {
    const bool on_a = rng.chance(1, 2);
    ORSet& r = on_a ? a : b;
    const std::string e = member(rng);
    ORSet delta;
    switch (rng.below(5)) {
      case 0:
        delta = r.remove(e);
        break;
      case 1:
        delta = r.remove(e, (on_a ? b : a).context());
        break;
      default:
        delta = r.add(on_a ? 1 : 2, e);
    }
    truth.join(delta);
  }

  // One swap from a's side: a's rows from `lo` (at most max_rows), b's rows in the same
  // span; returns where the next swap starts ("" once past the last member). With
  // `writes`, writes land between the messages.
  std::string swap(const std::string& lo, size_t max_rows, bool writes) {
    const auto rows_a = rows_from(a, lo, "", max_rows);
    const std::string hi_a = rows_a.size() == max_rows ? rows_a.back().first + '\0' : "";
    std::set<std::string> names;
    for (const auto& r : rows_a) names.insert(r.first);
    const ORSet m1 = a.delta_of(dots_of(rows_a), names);  // what a holds in the span
    if (writes && rng.chance(1, 2)) write();
    const auto rows_b = rows_from(b, lo, hi_a, max_rows);
    const std::string hi = rows_b.size() == max_rows ? rows_b.back().first + '\0' : hi_a;
    std::vector<Dot> both = dots_of(rows_a);
    for (const Dot& d : dots_of(rows_b)) both.push_back(d);
    for (const auto& r : rows_b) names.insert(r.first);
    const ORSet m2 = b.delta_of(both, names);  // what b knows of either's rows' dots
    check_touches_only(b, m1, names);
    b.join(m1);
    if (writes && rng.chance(1, 2)) write();
    check_touches_only(a, m2, names);
    a.join(m2);
    std::vector<Dot> held_b;
    for (const auto& kv : m2.entries())
      held_b.insert(held_b.end(), kv.second.begin(), kv.second.end());
    const ORSet m3 = a.delta_of(held_b, names);  // what a knows of b's dots: its removes
    if (writes && rng.chance(1, 2)) write();
    check_touches_only(b, m3, names);
    b.join(m3);
    return hi;
  }

  // The same with the messages a node already has: a reads a page of b's set (b's head,
  // whole context and deferred removes, with at most max_rows members after `lo`: a
  // kRead with a page), works out from it what b knows of both sides' dots in the span,
  // joins that, and sends b what it knows of them (a kMerge naming the span's members).
  std::string pull_push(const std::string& lo, size_t max_rows, bool writes) {
    const auto page_rows = rows_from(b, lo, "", max_rows);
    // A page is b's head (whole context, every deferred remove) and the page's rows;
    // members that only deferred removes name come along here, never used below.
    std::vector<std::string> page_names;
    for (const auto& r : page_rows) page_names.push_back(r.first);
    for (const auto& kv : b.deferred())
      page_names.insert(page_names.end(), kv.second.begin(), kv.second.end());
    const ORSet page = b.project(page_names);
    if (writes && rng.chance(1, 2)) write();
    std::string hi = page_rows.size() == max_rows ? page_rows.back().first + '\0' : "";
    const auto rows_a = rows_from(a, lo, hi, max_rows);
    if (rows_a.size() == max_rows) hi = rows_a.back().first + '\0';  // a holds more: cut
    std::set<std::string> names;
    std::vector<Dot> dots = dots_of(rows_a);
    for (const auto& r : rows_a) names.insert(r.first);
    for (const auto& r : page_rows) {
      if (!hi.empty() && r.first >= hi) break;
      names.insert(r.first);
      dots.insert(dots.end(), r.second.begin(), r.second.end());
    }
    const ORSet from_b = page.delta_of(dots, names);  // b's facts, as of its page
    check_touches_only(a, from_b, names);
    a.join(from_b);
    if (writes && rng.chance(1, 2)) write();
    const ORSet to_b = a.delta_of(dots, names);
    check_touches_only(b, to_b, names);
    b.join(to_b);
    return hi;
  }

  void sync_pass(bool writes, bool pull) {
    const size_t max_rows = 1 + rng.below(8);
    std::string lo;
    do {
      lo = pull ? pull_push(lo, max_rows, writes) : swap(lo, max_rows, writes);
    } while (!lo.empty());
  }
};

TEST_CASE("swapping rows range by range converges two set replicas to the join of every write",
          "[crdt][orset][range_sync]") {
  const bool pull = GENERATE(false, true);
  for (uint64_t seed = 1; seed <= 2'000; ++seed) {
    INFO("seed " << seed << (pull ? " pulling pages" : " swapping"));
    World w(seed);
    // Apart for a while: each writes, and now and then hears some of the other's deltas.
    const int steps = 10 + static_cast<int>(w.rng.below(80));
    for (int i = 0; i < steps; ++i) w.write();
    w.sync_pass(/*writes=*/true, pull);  // writes land meanwhile: not yet converged
    w.sync_pass(/*writes=*/false, pull);
    auto show = [](const ORSet& s) {
      std::string out;
      for (const auto& [e, dots] : s.entries()) {
        out += e + "{";
        for (const Dot& d : dots)
          out += std::to_string(d.actor) + ":" + std::to_string(d.counter) + " ";
        out += "} ";
      }
      out += " deferred " + std::to_string(s.deferred().size());
      return out;
    };
    INFO("a " << show(w.a) << "\nb " << show(w.b) << "\nt " << show(w.truth));
    REQUIRE(w.a.entries() == w.b.entries());
    REQUIRE(w.a.entries() == w.truth.entries());
    // Rows agree: joining contexts is now the whole join (and safe either way round).
    ORSet a_before = w.a;
    w.a.join_context(w.b);
    w.b.join_context(a_before);
    a_before.join(w.b);
    REQUIRE(w.a == w.b);
    REQUIRE(w.a == w.truth);
    REQUIRE(w.a == a_before);
  }
}

TEST_CASE("joining contexts before the rows agree would lose an add: why it waits",
          "[crdt][orset][range_sync]") {
  ORSet a, b;
  a.add(1, "x");
  ORSet early = b;
  early.join_context(a);  // b never saw a's dot, yet its context now says it did
  early.join(a);
  REQUIRE_FALSE(early.contains("x"));
  b.join(a);
  REQUIRE(b.contains("x"));
}

}  // namespace
}  // namespace shoal::crdt
