// StagedWrites (node/store/staged_writes.h) against a naive twin, a std::map of the latest
// write of each key: through random puts, erases, finds, scans, commits and clears, it
// answers as the map does, and commits every key once with its latest write.
#include "node/store/staged_writes.h"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>

#include "crdt/prng.h"

namespace shoal::store {
namespace {

using Twin = std::map<std::string, std::optional<std::string>>;

Twin committed(const StagedWrites& staged) {
  Twin out;
  staged.for_each([&out](std::string_view key, const std::string_view* value) {
    const bool fresh = out.count(std::string(key)) == 0;
    CHECK(fresh);  // every key once
    out[std::string(key)] = value ? std::optional<std::string>(*value) : std::nullopt;
  });
  return out;
}

void check_range(const StagedWrites& staged, const Twin& twin, const std::string& from,
                 const std::string& to) {
  Twin expected;
  for (auto it = twin.lower_bound(from); it != twin.end() && (to.empty() || it->first < to); ++it) {
    expected.insert(*it);
  }
  const auto got = staged.range(from, to);
  REQUIRE(got.size() == expected.size());
  size_t i = 0;
  for (const auto& [key, value] : expected) {
    CHECK(got[i].first == key);
    CHECK(got[i].second == value);
    ++i;
  }
}

TEST_CASE("staged writes answer as a map of the latest write of each key", "[staged]") {
  Prng rng(7);
  StagedWrites staged;
  Twin twin;
  auto key = [&] { return "k" + std::to_string(rng.below(300)); };
  for (int step = 0; step < 60'000; ++step) {
    const uint64_t op = rng.below(100);
    if (op < 45) {
      const std::string k = key(),
                        v = std::string(rng.below(40), static_cast<char>('a' + rng.below(26)));
      staged.put(k, v);
      twin[k] = v;
    } else if (op < 60) {
      const std::string k = key();
      staged.erase(k);
      twin[k] = std::nullopt;
    } else if (op < 90) {
      const std::string k = key();
      const auto found = staged.find(k);
      const auto it = twin.find(k);
      REQUIRE(found.has_value() == (it != twin.end()));
      if (found) {
        CHECK(found->has_value() == it->second.has_value());
        if (*found) CHECK(std::string(**found) == *it->second);
      }
    } else if (op < 98) {
      std::string from = key(), to = rng.below(4) == 0 ? std::string() : key();
      if (!to.empty() && to < from) std::swap(from, to);
      check_range(staged, twin, from, to);
    } else {
      CHECK(committed(staged) == twin);
      CHECK(staged.keys() == twin.size());
      staged.clear();
      twin.clear();
      CHECK(staged.empty());
      CHECK_FALSE(staged.find(key()).has_value());
    }
  }
  CHECK(committed(staged) == twin);
}

// A turn that scans after each write (erasing objects one by one) goes through the short
// run's binary inserts and its merges into the long run, thousands of records deep.
TEST_CASE("staged writes scanned after every write stay in key order", "[staged]") {
  Prng rng(11);
  StagedWrites staged;
  Twin twin;
  for (int i = 0; i < 4000; ++i) {
    const std::string k = "k" + std::to_string(rng.below(3000));
    if (rng.below(4) == 0) {
      staged.erase(k);
      twin[k] = std::nullopt;
    } else {
      staged.put(k, std::to_string(i));
      twin[k] = std::to_string(i);
    }
    if (i % 97 == 0) {
      check_range(staged, twin, "", "");
    } else {
      check_range(staged, twin, k, k + "5");
    }
  }
  CHECK(committed(staged) == twin);
}

TEST_CASE("staged writes keep empty keys, empty values and erases apart", "[staged]") {
  StagedWrites staged;
  staged.put("", "");
  staged.put("a", "");
  staged.erase("b");
  REQUIRE(staged.find("").value() == std::optional<std::string_view>(""));
  REQUIRE(staged.find("a").value() == std::optional<std::string_view>(""));
  REQUIRE(staged.find("b").value() == std::nullopt);
  CHECK_FALSE(staged.find("c").has_value());
  CHECK(staged.keys() == 3);
  check_range(staged, Twin{{"", ""}, {"a", ""}, {"b", std::nullopt}}, "", "");
}

TEST_CASE("a large turn's buffer is given back when it is cleared", "[staged]") {
  StagedWrites staged;
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 8; ++i) staged.put("k" + std::to_string(i), big);
  CHECK(staged.keys() == 8);
  staged.clear();
  staged.put("a", "1");
  CHECK(staged.find("a").value() == std::optional<std::string_view>("1"));
  CHECK_FALSE(staged.find("k1").has_value());
}

}  // namespace
}  // namespace shoal::store
