// ObjectStore's kept digests of big sets' element rows (object_store.h): what anti-entropy
// compares instead of scanning a big set, kept up to date as saves change its rows.
#include "node/core/object_store.h"

#define XXH_INLINE_ALL  // XXH3_state_t on the stack (no allocation per row), no ABI to match
#include <xxhash.h>

#include "crdt/assert.h"
#include "ring/ring.h"

namespace shoal::core {

ObjectStore::RowsBefore ObjectStore::rows_before(const std::string& bucket, const std::string& key,
                                                 const crdt::ORSet& set,
                                                 const std::vector<std::string>& elements,
                                                 const crdt::ORSet* delta) const {
  RowsBefore out;
  if (element_digests_.find(element_prefix(ring::key_hash(bucket, key), bucket, key)) == nullptr) {
    return out;
  }
  auto take = [&](const std::string& elem) {
    const crdt::Dots* held = set.find(elem);
    out[elem] = held ? std::optional(crdt::ORSet::encode_dots(*held)) : std::nullopt;
  };
  for (const std::string& elem : elements) take(elem);
  if (delta != nullptr) {
    for (const auto& [elem, dots] : delta->entries()) take(elem);
  }
  return out;
}

namespace {

// What the caller read of `elem`'s row before the change, if it read it (null: not told).
const std::optional<std::string>* row_told(const ObjectStore::RowsBefore* before,
                                           const std::string& elem) {
  if (before == nullptr) return nullptr;
  const auto it = before->find(elem);
  return it == before->end() ? nullptr : &it->second;
}

}  // namespace

// The old row out of the kept digests, the new one in; a new row that ends a span cuts
// its span first, an erased one that ended a span joins it to the next. A failed read
// drops the kept digests (the next exchange recomputes them); spans that cannot be kept
// up (set_spans.h limits, or not as expected) are dropped alone: repairs read the set.
// True when the row was there before (told, or read): then the key filter holds it.
bool ObjectStore::update_kept(const std::string& prefix, const std::string& elem,
                              const std::string& row, const std::string* dots,
                              const RowsBefore* before) {
  ElementDigest* kept = element_digests_.find(prefix);
  if (kept == nullptr) return false;
  kept->written_ms = clock_.now_ms();
  // A LevelDB read per row written was a fifth of a replica's CPU for SADDs to a big set.
  Result<std::optional<std::string>> old = std::optional<std::string>();
  if (const std::optional<std::string>* told = row_told(before, elem)) {
    old = *told;
  } else if (key_filter_.may_hold_row(row)) {
    old = store_.get(row);
  }
  if (!old) {
    element_digests_.erase(prefix);
    return false;
  }
  const bool had_row = old->has_value();
  const uint64_t old_digest = old->has_value() ? row_digest(row, **old) : 0;
  const uint64_t new_digest = dots != nullptr ? row_digest(row, *dots) : 0;
  kept->digest ^= old_digest ^ new_digest;
  if (!kept->spans) return had_row;
  SpanDigests& spans = *kept->spans;
  if (!is_span_end(elem, span_members_) || old->has_value() == (dots != nullptr)) {
    spans.span_of(elem) ^= old_digest ^ new_digest;  // no end comes or goes
  } else if (dots != nullptr) {                      // a new end
    if (!split_span(prefix, elem, &spans)) {
      kept->spans.reset();
      return had_row;
    }
    spans.span_of(elem) ^= new_digest;
  } else {  // an end goes: what is left of its span joins the next
    auto end = spans.ends.find(elem);
    if (end == spans.ends.end()) {
      kept->spans.reset();
      return had_row;
    }
    const uint64_t rest = end->second ^ old_digest;
    spans.ends.erase(end);
    spans.span_of(elem) ^= rest;
  }
  return had_row;
}

// False: the span could not be cut (a failed scan, more than kMaxSplitRows rows before
// `elem` in it, kMaxSpans ends already, or `elem` an end already).
bool ObjectStore::split_span(const std::string& prefix, const std::string& elem,
                             SpanDigests* spans) {
  if (spans->ends.count(elem) || spans->ends.size() >= kMaxSpans) return false;
  const std::optional<std::string> before = spans->end_before(elem);
  const std::string from = before ? prefix + *before + std::string(1, '\0') : prefix;
  uint64_t head = 0;  // the rows in (before, elem): the new span's, taken from the old one
  size_t rows = 0;
  Status s = store_.scan(from, prefix + elem, [&](std::string_view k, std::string_view v) {
    head ^= row_digest(k, v);
    return ++rows <= kMaxSplitRows;
  });
  if (!s.is_ok()) scan_failed(s);
  if (!s.is_ok() || rows > kMaxSplitRows) return false;
  spans->span_of(elem) ^= head;
  spans->ends.emplace(elem, head);
  return true;
}

const SpanDigests* ObjectStore::element_spans(const std::string& prefix) const {
  const ElementDigest* d = element_digests_.find(prefix);
  return d && d->spans ? &*d->spans : nullptr;
}

std::optional<uint64_t> ObjectStore::element_digest(const std::string& prefix) const {
  const ElementDigest* d = element_digests_.find(prefix);
  return d ? std::optional<uint64_t>(d->digest) : std::nullopt;
}

bool ObjectStore::hold_while_written(const std::string& prefix, uint64_t now_ms, uint64_t quiet_ms,
                                     uint64_t max_hold_ms) {
  ElementDigest* d = element_digests_.find(prefix);
  if (d == nullptr) return false;
  if (now_ms >= d->written_ms + quiet_ms) {
    d->held_since_ms.reset();
    return false;
  }
  if (!d->held_since_ms) d->held_since_ms = now_ms;
  if (now_ms < *d->held_since_ms + max_hold_ms) return true;
  d->held_since_ms = now_ms;  // let go now; held again from here
  return false;
}

void ObjectStore::keep_element_digest(const std::string& prefix, uint64_t digest,
                                      std::optional<SpanDigests> spans) {
  // One kept already stays (saves update it).
  element_digests_.insert(prefix, ElementDigest{digest, std::move(spans), 0, std::nullopt});
}

uint64_t row_digest(std::string_view key, std::string_view value) {
  // Streaming gives XXH3 of the concatenation without copying it (every scanned row).
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, key.data(), key.size());
  XXH3_64bits_update(&state, value.data(), value.size());
  return XXH3_64bits_digest(&state);
}

}  // namespace shoal::core
