// glob::match (Redis's SSCAN MATCH patterns) against a naive twin: a direct recursive
// reading of the rules, exponential but obviously right, on random short patterns.
#include "node/api/glob.h"

#include <catch2/catch.hpp>
#include <string>

#include "crdt/prng.h"

namespace shoal::glob {
namespace {

bool naive_class(std::string_view pat, size_t p, unsigned char c, size_t* next) {
  ++p;
  bool negate = p < pat.size() && pat[p] == '^';
  if (negate) ++p;
  bool found = false;
  for (; p < pat.size() && pat[p] != ']';) {
    if (pat[p] == '\\' && p + 1 < pat.size()) {
      found |= static_cast<unsigned char>(pat[p + 1]) == c;
      p += 2;
    } else if (p + 2 < pat.size() && pat[p + 1] == '-') {
      auto a = static_cast<unsigned char>(pat[p]), b = static_cast<unsigned char>(pat[p + 2]);
      found |= (c >= std::min(a, b) && c <= std::max(a, b));
      p += 3;
    } else {
      found |= static_cast<unsigned char>(pat[p++]) == c;
    }
  }
  *next = p < pat.size() ? p + 1 : p;
  return found != negate;
}

bool naive(std::string_view pat, std::string_view s) {
  if (pat.empty()) return s.empty();
  if (pat[0] == '*') {
    for (size_t k = 0; k <= s.size(); ++k) {
      if (naive(pat.substr(1), s.substr(k))) return true;
    }
    return false;
  }
  if (s.empty()) return false;
  size_t next = 1;
  bool one = false;
  if (pat[0] == '?') {
    one = true;
  } else if (pat[0] == '[') {
    one = naive_class(pat, 0, static_cast<unsigned char>(s[0]), &next);
  } else if (pat[0] == '\\' && pat.size() > 1) {
    one = pat[1] == s[0];
    next = 2;
  } else {
    one = pat[0] == s[0];
  }
  return one && naive(pat.substr(next), s.substr(1));
}

bool matches(std::string_view pat, std::string_view s) {
  uint64_t budget = 1'000'000;
  std::optional<bool> got = match(pat, s, &budget);
  REQUIRE(got.has_value());
  return *got;
}

TEST_CASE("glob: Redis's pattern forms, bytes included", "[glob]") {
  CHECK(matches("", ""));
  CHECK_FALSE(matches("", "a"));
  CHECK(matches("*", ""));
  CHECK(matches("h?llo", "hello"));
  CHECK(matches("h*llo", "heeeello"));
  CHECK(matches("h[ae]llo", "hallo"));
  CHECK_FALSE(matches("h[ae]llo", "hillo"));
  CHECK(matches("h[^e]llo", "hallo"));
  CHECK_FALSE(matches("h[^e]llo", "hello"));
  CHECK(matches("h[a-b]llo", "hbllo"));
  CHECK(matches("h[b-a]llo", "hallo"));  // a reversed range, as Redis takes it
  CHECK(matches("a\\*b", "a*b"));
  CHECK_FALSE(matches("a\\*b", "axb"));
  CHECK(matches("a\\", "a\\"));  // a trailing backslash is itself
  CHECK(matches("[abc", "b"));   // an unclosed class ends with the pattern
  // NUL is a byte like any other (fnmatch(3) stopped at it).
  CHECK(matches(std::string("a\0*", 3), std::string("a\0zz", 4)));
  CHECK_FALSE(matches(std::string("a\0b", 3), std::string("a\0c", 3)));
  CHECK_FALSE(matches("a*", std::string("b\0a", 3)));
}

TEST_CASE("glob: agrees with a naive twin on 200,000 random patterns", "[glob]") {
  Prng rng(7);
  const char alphabet[] = {'a', 'b', '*', '?', '[', ']', '^', '-', '\\', '\0'};
  auto draw = [&](size_t max_len, bool pattern) {
    std::string out(static_cast<size_t>(rng.range(0, static_cast<int64_t>(max_len))), 'a');
    for (char& c : out) c = alphabet[rng.range(0, pattern ? 9 : 1)];
    if (!pattern) {
      for (char& c : out) c = rng.chance(1, 8) ? '\0' : c;
    }
    return out;
  };
  for (int i = 0; i < 200'000; ++i) {
    const std::string pat = draw(7, true), s = draw(8, false);
    INFO("pattern '" << pat << "' subject '" << s << "'");
    REQUIRE(matches(pat, s) == naive(pat, s));
  }
}

TEST_CASE("glob: cost is bounded by the budget, never exponential", "[glob]") {
  // Exponential for a recursive matcher: 30 stars against 60 bytes that fail at the end.
  std::string pat;
  for (int i = 0; i < 30; ++i) pat += "*a";
  pat += "b";
  const std::string s(60, 'a');
  uint64_t budget = 1'000'000;
  std::optional<bool> got = match(pat, s, &budget);
  REQUIRE(got.has_value());
  CHECK_FALSE(*got);
  CHECK(budget > 1'000'000 - 61 * 61 * 2);  // O(|pattern| x |subject|)
  // The worst case here: a star and a long run that fails at its last byte, O(n x k).
  uint64_t worst = 100'000'000;
  REQUIRE(match("*" + std::string(100, 'a') + "b", std::string(10'000, 'a'), &worst) ==
          std::optional<bool>(false));
  CHECK(100'000'000 - worst <= 101 * 10'001);
  // A budget too small: nullopt, and the budget is spent.
  uint64_t small = 100;
  CHECK_FALSE(match(pat, s, &small).has_value());
  CHECK(small == 0);
  // The budget is shared: each match takes its steps from it.
  uint64_t shared = 1'000;
  REQUIRE(match("abc", "abc", &shared) == std::optional<bool>(true));
  CHECK(shared == 997);
}

}  // namespace
}  // namespace shoal::glob
