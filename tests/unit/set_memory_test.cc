// An ORSet's memory: Dots (an element's dots, one inline) and approx_bytes(), which an
// object cache counts against its bound, so a big set cannot hold many times the
// configured cache (it once counted 44 bytes per member of the 352 malloc handed out).
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "crdt/dot_owners.h"
#include "crdt/dots.h"
#include "crdt/element_index.h"
#include "crdt/orset.h"
#include "crdt/prng.h"

#if defined(__SANITIZE_ADDRESS__)
#define SHOAL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SHOAL_TEST_ASAN 1
#endif
#endif

#ifdef SHOAL_TEST_ASAN
// From the ASan runtime (GCC ships no <sanitizer/allocator_interface.h>; clang does).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

namespace shoal::crdt {
namespace {

// Bytes the process's heap hands out now (ASan: bytes asked for; glibc: chunks in use).
size_t heap_in_use() {
#ifdef SHOAL_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;  // big blocks are mmap()ed, outside uordblks
#endif
}

std::vector<Dot> all(const Dots& d) { return {d.begin(), d.end()}; }

TEST_CASE("Dots keeps its dots sorted and unique, one inline, more on the heap", "[orset]") {
  Dots d;
  CHECK(d.empty());
  CHECK(d.insert(Dot{2, 5}));
  CHECK_FALSE(d.insert(Dot{2, 5}));
  CHECK(d.insert(Dot{1, 9}));
  CHECK(d.insert(Dot{2, 1}));
  CHECK(all(d) == std::vector<Dot>{{1, 9}, {2, 1}, {2, 5}});
  CHECK(d.contains(Dot{2, 1}));
  CHECK_FALSE(d.contains(Dot{2, 2}));
  const Dots copy = d;
  Dots moved = std::move(d);
  CHECK(copy == moved);
  CHECK(d.empty());  // NOLINT(bugprone-use-after-move): a moved-from Dots is empty
  const Dot* next = moved.erase(moved.begin() + 1);
  CHECK(*next == Dot{2, 5});
  CHECK(all(moved) == std::vector<Dot>{{1, 9}, {2, 5}});
  moved.erase(moved.begin());
  CHECK(all(moved) == std::vector<Dot>{{2, 5}});  // back inline
  const Dot* after = moved.erase(moved.begin());
  CHECK(after == moved.end());
  CHECK(moved.empty());
  CHECK(copy == Dots{{1, 9}, {2, 1}, {2, 5}});
  CHECK_FALSE(copy == Dots{{1, 9}});
}

TEST_CASE("ElementIndex finds what the map holds through inserts, erases and rebuilds", "[orset]") {
  using Map = std::map<std::string, int>;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    INFO("seed " << seed);
    Prng rng(seed);
    Map map;
    ElementIndex<Map> index;
    // Few names, so runs of probes form, wrap around the table's end and are shifted back.
    const uint64_t names = 40 + seed * 700;
    for (int step = 0; step < 30000; ++step) {
      const std::string name = "k" + std::to_string(rng.below(names));
      if (auto it = map.find(name); it != map.end()) {
        index.erase(name);
        map.erase(it);
      } else {
        index.insert(map.emplace(name, step).first);
      }
      if (step % 997 == 0) index.rebuild(map);
      if (step % 1500 != 0) continue;
      REQUIRE(index.size() == map.size());
      REQUIRE(index.slots() * 7 >= index.size() * 10);
      for (uint64_t i = 0; i < names; ++i) {
        const std::string n = "k" + std::to_string(i);
        REQUIRE(index.find(n, map.end()) == map.find(n));
      }
    }
  }
}

TEST_CASE("DotOwners answers as a std::map twin through emplaces, erases and reserves", "[orset]") {
  const std::string names[3] = {"a", "b", "c"};
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    INFO("seed " << seed);
    Prng rng(seed);
    std::map<Dot, const std::string*> twin;
    DotOwners owners;
    // Few actors and counters, so runs of probes form, wrap around the table's end and are
    // shifted back by erases.
    const uint64_t counters = 20 + seed * 300;
    for (int step = 0; step < 30000; ++step) {
      const Dot d{1 + rng.below(3), 1 + rng.below(counters)};
      const std::string* owner = &names[rng.below(3)];
      if (rng.below(2) == 0) {
        const bool fresh = twin.emplace(d, owner).second;
        REQUIRE(owners.emplace(d, owner) == fresh);
      } else {
        REQUIRE(owners.erase(d) == twin.erase(d));
      }
      if (step % 4999 == 0) owners.reserve(twin.size() * 2);
      if (step % 1500 != 0) continue;
      REQUIRE(owners.size() == twin.size());
      for (uint64_t a = 1; a <= 3; ++a) {
        for (uint64_t c = 1; c <= counters; ++c) {
          auto it = twin.find(Dot{a, c});
          REQUIRE(owners.find(Dot{a, c}) == (it == twin.end() ? nullptr : it->second));
        }
      }
    }
    DotOwners moved = std::move(owners);
    CHECK(moved.size() == twin.size());
    CHECK(owners.size() == 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
    CHECK(owners.find(Dot{1, 1}) == nullptr);
    CHECK(owners.emplace(Dot{1, 1}, &names[0]));
  }
}

TEST_CASE("a moved-from ORSet is empty and takes adds again, indexed or not", "[orset]") {
  for (int members : {3, 100}) {  // below and above the size that builds the member index
    ORSet a;
    for (int i = 0; i < members; ++i) a.add(1, "m" + std::to_string(i));
    ORSet b = std::move(a);
    CHECK(b.size() == static_cast<size_t>(members));
    CHECK(b.contains("m2"));
    CHECK(a.size() == 0);  // NOLINT(bugprone-use-after-move): moved-from is empty, usable
    CHECK_FALSE(a.contains("m2"));
    a.add(2, "x");
    CHECK(a.contains("x"));
    CHECK_FALSE(a.contains("m2"));
    ORSet c;
    c = std::move(b);
    CHECK(c.contains("m2"));
    b.add(3, "y");
    CHECK(b.size() == 1);
  }
}

// Names a client could choose against the index's hash (FNV-1a over 8-byte words, no
// secret): 16 bytes w1|w2 with w2 = state-after-w1 ^ T, so every name hashes alike.
std::vector<std::string> colliding_names(size_t n) {
  std::vector<std::string> out;
  for (uint64_t w1 = 1; w1 <= n; ++w1) {
    const uint64_t h1 = ((0xcbf29ce484222325ULL ^ 16) ^ w1) * 0x100000001b3ULL;
    const uint64_t w2 = h1 ^ 0x1234567890abcdefULL;
    std::string name(16, '\0');
    std::memcpy(name.data(), &w1, 8);
    std::memcpy(name.data() + 8, &w2, 8);
    out.push_back(name);
  }
  return out;
}

TEST_CASE("names flooding one hash drop the member index and the set still works", "[orset]") {
  const std::vector<std::string> names = colliding_names(3000);
  using Map = std::map<std::string, int>;
  Map map;
  ElementIndex<Map> index;
  for (const std::string& n : names) index.insert(map.emplace(n, 0).first);
  CHECK(index.dropped());  // a walk past kMaxProbeSlots, not a walk of 3,000 per add
  CHECK_FALSE(index.active());
  index.rebuild(map);
  CHECK_FALSE(index.active());  // stays dropped
  ORSet s;
  for (const std::string& n : names) s.add(1, n);
  CHECK(s.size() == names.size());
  for (const std::string& n : names) REQUIRE(s.contains(n));
  s.remove(names[7]);
  CHECK_FALSE(s.contains(names[7]));
  const ORSet copy = s;  // a copy rebuilds, finds the flood again, and still answers
  CHECK(copy.contains(names[8]));
  CHECK(copy == s);
}

// A set of `members` names of `name_bytes` each, every 10th added concurrently by a
// second replica too (two dots), every 7th removed again.
ORSet grow(size_t members, size_t name_bytes) {
  ORSet a, b;
  char number[24];
  for (size_t i = 0; i < members; ++i) {
    std::snprintf(number, sizeof number, "%012zu", i * 7919);
    // Distinct for any length >= 6: 7919 is prime to 10^6, so the last 6 digits differ.
    std::string name = std::string(name_bytes > 12 ? name_bytes - 12 : 0, 'm') + number;
    name = name.substr(name.size() - name_bytes);
    a.add(1, name);
    if (i % 10 == 0) b.add(2, name);
    if (i % 7 == 3) a.remove(name);
  }
  a.join(b);
  return a;
}

TEST_CASE("an ORSet's approx_bytes is within 25-35% of the heap it holds", "[orset]") {
  for (size_t name_bytes : {size_t{6}, size_t{20}, size_t{100}}) {
    INFO("names of " << name_bytes << " bytes");
    const size_t before = heap_in_use();
    size_t approx = 0, members = 0;
    {
      const ORSet s = grow(50000, name_bytes);
      const size_t held = heap_in_use() - before;
      approx = s.approx_bytes();
      members = s.size();
      INFO("members " << members << ": heap " << held << " bytes, approx " << approx);
      CHECK(static_cast<double>(approx) >= 0.75 * static_cast<double>(held));
      CHECK(static_cast<double>(approx) <= 1.35 * static_cast<double>(held));
    }
    CHECK(members > 40000);
    CHECK(heap_in_use() <= before + 65536);  // given back (Catch's messages aside)
  }
}

}  // namespace
}  // namespace shoal::crdt
