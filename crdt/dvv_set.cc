#include "crdt/dvv_set.h"

#include <iterator>

#include "crdt/assert.h"
#include "crdt/codec.h"

namespace shoal::crdt {

using codec::Array;
using codec::bad;
using codec::Object;
using codec::Packer;

DvvSet DvvSet::write(Actor actor, const DotContext& seen, Sibling sibling) {
  std::erase_if(siblings_, [&](const auto& kv) { return seen.contains(kv.first); });
  ctx_.join(seen);
  const Dot dot = ctx_.next_dot(actor);
  SHOAL_ASSERT(!ctx_.contains(dot), "a new sibling's dot is fresh");
  ctx_.add(dot);
  siblings_.emplace(dot, sibling);
  // The delta's context is what the client saw plus the new dot: joining it drops the
  // superseded siblings everywhere and nothing else.
  DvvSet delta;
  delta.ctx_ = seen;
  delta.ctx_.add(dot);
  delta.siblings_.emplace(dot, std::move(sibling));
  return delta;
}

DvvSet DvvSet::put(Actor actor, const DotContext& seen, std::string value) {
  return write(actor, seen, Sibling{std::move(value), false});
}

DvvSet DvvSet::remove(Actor actor, const DotContext& seen) {
  return write(actor, seen, Sibling{{}, true});
}

void DvvSet::join(const DvvSet& other) {
  // Dot-kernel join: keep a sibling both hold, or one whose dot the other never saw.
  std::erase_if(siblings_, [&](const auto& kv) {
    return !other.siblings_.count(kv.first) && other.ctx_.contains(kv.first);
  });
  for (const auto& [dot, sib] : other.siblings_) {
    if (!ctx_.contains(dot)) siblings_.emplace(dot, sib);
  }
  ctx_.join(other.ctx_);
  // Every sibling is an event of the context (decode() checks it on the way in).
  for (const auto& kv : siblings_) SHOAL_ASSERT(ctx_.contains(kv.first));
}

std::vector<std::string> DvvSet::values() const {
  std::vector<std::string> out;
  for (const auto& [dot, sib] : siblings_) {
    if (!sib.tombstone) out.push_back(sib.value);
  }
  return out;
}

bool DvvSet::is_deleted() const {
  for (const auto& [dot, sib] : siblings_) {
    if (!sib.tombstone) return false;
  }
  return true;
}

// [tag, ctx, [[actor, counter, tombstone, value], ...]]
template <>
void DvvSet::encode_to(Packer& pk) const {
  pk.pack_array(3);
  pk.pack(static_cast<uint8_t>(codec::kTagDvvSet));
  ctx_.encode_to(pk);
  pk.pack_array(static_cast<uint32_t>(siblings_.size()));
  for (const auto& [dot, sib] : siblings_) {
    pk.pack_array(4);
    pk.pack(dot.actor);
    pk.pack(dot.counter);
    pk.pack(sib.tombstone);
    codec::pack_bytes(pk, sib.value);
  }
}

template <>
Status DvvSet::decode_from(const Object& o, DvvSet* out) {
  Array a, list;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagDvvSet, 2, &a));
  SHOAL_RETURN_IF_ERROR(DotContext::decode_from(a[1], &out->ctx_));
  SHOAL_RETURN_IF_ERROR(codec::array(a[2], &list));
  out->siblings_.clear();
  for (uint32_t i = 0; i < list.size; ++i) {
    Array s;
    Dot d;
    Sibling sib;
    SHOAL_RETURN_IF_ERROR(codec::array(list[i], &s));
    if (s.size != 4) return bad("sibling needs [actor, counter, tombstone, value]");
    SHOAL_RETURN_IF_ERROR(codec::u64(s[0], &d.actor));
    SHOAL_RETURN_IF_ERROR(codec::u64(s[1], &d.counter));
    SHOAL_RETURN_IF_ERROR(codec::boolean(s[2], &sib.tombstone));
    SHOAL_RETURN_IF_ERROR(codec::bytes(s[3], &sib.value));
    if (d.counter == 0) return bad("dot counter must be >= 1");
    if (!out->ctx_.contains(d)) return bad("sibling dot outside the causal context");
    if (sib.tombstone && !sib.value.empty()) return bad("a tombstone holds no value");
    if (!out->siblings_.empty() && !(out->siblings_.rbegin()->first < d)) {
      return bad("siblings must be strictly increasing by dot");
    }
    out->siblings_.emplace_hint(out->siblings_.end(), d, std::move(sib));
  }
  return Status::ok();
}

std::string DvvSet::encode() const { return codec::encode_whole(*this); }
Result<DvvSet> DvvSet::decode(std::string_view bytes) { return codec::decode_whole<DvvSet>(bytes); }

}  // namespace shoal::crdt
