// Span digests of big sets (node/core/set_spans.h): differing_regions() against a naive
// twin that compares the rows themselves, run by run, on random pairs of replicas; and
// the regions cover every member that differs and little else.
#include "node/core/set_spans.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "crdt/prng.h"

namespace shoal::core {
namespace {

constexpr uint32_t kSpan = 8;
using Rows = std::map<std::string, uint64_t>;  // member -> its row's digest

SpanDigests spans_of(const Rows& rows) {
  SpanDigests s;
  for (const auto& [m, d] : rows) s.append(m, d, kSpan);
  s.finish();
  return s;
}

bool in(const SpanRegion& r, const std::string& m) {
  return (!r.after || m > *r.after) && (!r.until || m <= *r.until);
}

// The twin: cut both at the span ends both hold, compare each run's rows, merge
// neighbours.
std::vector<SpanRegion> naive_regions(const Rows& a, const Rows& b) {
  std::vector<std::optional<std::string>> cuts;
  for (const auto& [m, d] : a) {
    if (is_span_end(m, kSpan) && b.count(m)) cuts.push_back(m);
  }
  cuts.push_back(std::nullopt);
  std::vector<SpanRegion> out;
  std::optional<std::string> start;
  for (const std::optional<std::string>& cut : cuts) {
    const SpanRegion run{start, cut};
    Rows ra, rb;
    for (const auto& [m, d] : a) {
      if (in(run, m)) ra.emplace(m, d);
    }
    for (const auto& [m, d] : b) {
      if (in(run, m)) rb.emplace(m, d);
    }
    if (ra != rb) {
      if (!out.empty() && out.back().until == start) {
        out.back().until = cut;
      } else {
        out.push_back(run);
      }
    }
    start = cut;
  }
  return out;
}

std::string member(Prng& rng) { return "m" + std::to_string(rng.below(100'000)); }

TEST_CASE("span regions: equal to the naive twin, covering every difference and little else",
          "[set_spans]") {
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    INFO("seed " << seed);
    Prng rng(seed);
    Rows a;
    const size_t n = rng.below(2'000);
    for (size_t i = 0; i < n; ++i) a[member(rng)] = rng.next();
    Rows b = a;
    std::set<std::string> differ;
    const size_t changes = rng.below(4) == 0 ? 0 : rng.below(20);
    for (size_t i = 0; i < changes; ++i) {
      const std::string m = member(rng);
      switch (rng.below(3)) {
        case 0:
          b[m] = rng.next();
          break;  // only b has it, or b's row differs
        case 1:
          a[m] = rng.next();
          break;  // only a has it, or a's row differs
        default:
          a.erase(m), b.erase(m);
          break;  // gone from both: no difference
      }
    }
    for (const auto& [m, d] : a) {
      if (!b.count(m) || b.at(m) != d) differ.insert(m);
    }
    for (const auto& [m, d] : b) {
      if (!a.count(m)) differ.insert(m);
    }
    const std::vector<SpanRegion> regions = differing_regions(spans_of(a), spans_of(b));
    REQUIRE(regions == naive_regions(a, b));
    CHECK(regions.empty() == differ.empty());
    size_t covered = 0;
    for (const auto& [m, d] : a) {
      bool hit = false;
      for (const SpanRegion& r : regions) hit = hit || in(r, m);
      covered += hit;
    }
    for (const std::string& m : differ) {
      bool hit = false;
      for (const SpanRegion& r : regions) hit = hit || in(r, m);
      CHECK(hit);
    }
    // A difference moves at most the spans around it: a few spans per differing member.
    CHECK(covered <= differ.size() * 6 * kSpan + (differ.empty() ? 0 : 4 * kSpan));
  }
}

TEST_CASE("span digests travel as ends and big-endian digests, and a malformed reply is refused",
          "[set_spans]") {
  Prng rng(3);
  Rows rows;
  for (int i = 0; i < 300; ++i) rows[member(rng)] = rng.next();
  const SpanDigests s = spans_of(rows);
  REQUIRE(s.ends.size() > 10);
  std::vector<std::string> ends;
  std::string digests;
  encode_spans(s, &ends, &digests);
  SpanDigests back;
  REQUIRE(decode_spans(ends, digests, &back));
  CHECK(back == s);
  CHECK_FALSE(decode_spans(ends, digests.substr(8), &back));  // a digest short
  std::swap(ends[0], ends[1]);
  CHECK_FALSE(decode_spans(ends, digests, &back));  // not ascending
}

}  // namespace
}  // namespace shoal::core
