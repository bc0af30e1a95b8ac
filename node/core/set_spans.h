// SetSpans: a big set's member rows cut into spans at content-defined ends, each with the
// XOR of its rows' digests, so two replicas find where their sets differ by comparing a
// few thousand span digests instead of reading every member (docs/cluster.md "Big sets").
//
// A member ends a span when XXH3(member) % span_members == 0 (a span holds span_members
// members on average). The ends depend only on which members a replica holds, so two
// replicas cut the members they share at the same places, and a member only one of them
// holds moves at most the span around it. A span is (previous end, end]; members past the
// last end form the tail.
//
// Pure value types: no store, no clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::core {

// A node keeps at most kMaxSpans ends per set, and a kSetSpansReply holds at most that many
// and kMaxReplySpanBytes (far under a peer frame); past either, the peer reads the whole
// set. Members are the client's choice, so a set can be made of span ends only.
constexpr size_t kMaxSpans = 65'536;
constexpr size_t kMaxReplySpanBytes = 8u << 20;
// A new span end reads the rows before it in its span; one longer than this (a client can
// pick members that end no span) drops the set's spans instead.
constexpr size_t kMaxSplitRows = 65'536;

// REQUIRES: span_members >= 1.
bool is_span_end(std::string_view member, uint32_t span_members);

struct SpanDigests {
  std::map<std::string, uint64_t> ends;  // a span's last member -> XOR of its rows' digests
  uint64_t tail = 0;                     // the rows past the last end
  uint64_t open = 0;                     // append(): the rows since the last end

  // The digest of the span `member` falls in.
  uint64_t& span_of(const std::string& member);
  // The last end before `member`, or nullopt (its span starts at the set's start).
  std::optional<std::string> end_before(const std::string& member) const;
  // Building from rows read in member order: append each, then finish(). Past kMaxSpans
  // ends, overflow() (the spans are not to be kept).
  void append(std::string_view member, uint64_t row_digest, uint32_t span_members);
  bool overflow() const { return ends.size() > kMaxSpans; }
  void finish() {
    tail = open;
    open = 0;
  }
  bool operator==(const SpanDigests& o) const { return ends == o.ends && tail == o.tail; }
};

// Members in (after, until]; nullopt: the set's start, its end.
struct SpanRegion {
  std::optional<std::string> after, until;
  bool operator==(const SpanRegion&) const = default;
};

// The regions outside which `a` and `b` describe the same rows: maximal runs of spans
// between ends both hold whose digests differ (adjacent runs merged). Empty: every
// span agrees.
std::vector<SpanRegion> differing_regions(const SpanDigests& a, const SpanDigests& b);

// The wire form (a kSetSpansReply): the ends, and their digests then the tail's, each
// 8 bytes big-endian. decode_spans() is false for a malformed one (ends not ascending,
// wrong body size).
void encode_spans(const SpanDigests& s, std::vector<std::string>* ends, std::string* digests);
bool decode_spans(std::vector<std::string> ends, std::string_view digests, SpanDigests* out);

}  // namespace shoal::core
