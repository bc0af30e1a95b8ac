#include "node/core/set_spans.h"

#include <xxhash.h>

#include "crdt/assert.h"
#include "crdt/coding.h"

namespace shoal::core {

bool is_span_end(std::string_view member, uint32_t span_members) {
  SHOAL_ASSERT(span_members >= 1);
  return XXH3_64bits(member.data(), member.size()) % span_members == 0;
}

uint64_t& SpanDigests::span_of(const std::string& member) {
  auto it = ends.lower_bound(member);
  return it == ends.end() ? tail : it->second;
}

std::optional<std::string> SpanDigests::end_before(const std::string& member) const {
  auto it = ends.lower_bound(member);
  if (it == ends.begin()) return std::nullopt;
  return std::prev(it)->first;
}

void SpanDigests::append(std::string_view member, uint64_t row_digest, uint32_t span_members) {
  SHOAL_ASSERT(ends.empty() || ends.rbegin()->first < member, "rows come in member order");
  open ^= row_digest;
  if (overflow() || !is_span_end(member, span_members)) return;
  ends.emplace_hint(ends.end(), std::string(member), open);
  open = 0;
}

std::vector<SpanRegion> differing_regions(const SpanDigests& a, const SpanDigests& b) {
  std::vector<SpanRegion> out;
  std::optional<std::string> start;  // the common end the current run starts after
  uint64_t xa = 0, xb = 0;           // the run's digest on each side
  auto close_run = [&](std::optional<std::string> until) {
    if (xa != xb) {
      if (!out.empty() && out.back().until == start) {
        out.back().until = until;  // adjacent: one region
      } else {
        out.push_back(SpanRegion{start, until});
      }
    }
    start = std::move(until);
    xa = xb = 0;
  };
  auto ia = a.ends.begin(), ib = b.ends.begin();
  while (ia != a.ends.end() || ib != b.ends.end()) {
    if (ib == b.ends.end() || (ia != a.ends.end() && ia->first < ib->first)) {
      xa ^= (ia++)->second;
    } else if (ia == a.ends.end() || ib->first < ia->first) {
      xb ^= (ib++)->second;
    } else {  // an end both hold closes a run
      xa ^= ia->second;
      xb ^= ib->second;
      const std::string end = ia->first;
      ++ia, ++ib;
      close_run(end);
    }
  }
  xa ^= a.tail;
  xb ^= b.tail;
  close_run(std::nullopt);
  return out;
}

void encode_spans(const SpanDigests& s, std::vector<std::string>* ends, std::string* digests) {
  ends->clear();
  digests->clear();
  for (const auto& [end, digest] : s.ends) {
    ends->push_back(end);
    coding::put_be64(digests, digest);
  }
  coding::put_be64(digests, s.tail);
}

bool decode_spans(std::vector<std::string> ends, std::string_view digests, SpanDigests* out) {
  if (digests.size() != 8 * (ends.size() + 1)) return false;
  *out = SpanDigests();
  for (size_t i = 0; i < ends.size(); ++i) {
    if (!out->ends.empty() && !(out->ends.rbegin()->first < ends[i])) return false;
    out->ends.emplace_hint(out->ends.end(), std::move(ends[i]),
                           coding::get_be64(digests.substr(8 * i)));
  }
  out->tail = coding::get_be64(digests.substr(8 * ends.size()));
  return true;
}

}  // namespace shoal::core
