// ORSet's encodings (orset.h): the whole set on the wire, and the row form a node stores
// (a head row, one row per element).
#include "crdt/codec.h"
#include "crdt/orset.h"

namespace shoal::crdt {

using codec::bad;

namespace {

// An element's dots: [a1, c1, a2, c2, ...], strictly increasing (entries and element rows).
template <typename AnyPacker>
void pack_dots(AnyPacker& pk, const Dots& dots) {
  pk.pack_array(static_cast<uint32_t>(dots.size() * 2));
  for (const Dot& d : dots) {
    pk.pack(d.actor);
    pk.pack(d.counter);
  }
}

Status unpack_dots(const codec::Object& o, Dots* out) {
  codec::Array flat;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &flat));
  if (flat.size == 0 || flat.size % 2 != 0) return bad("element needs actor/counter pairs");
  for (uint32_t i = 0; i < flat.size; i += 2) {
    Dot d;
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i], &d.actor));
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i + 1], &d.counter));
    if (d.counter == 0) return bad("dot counter must be >= 1");
    if (!out->empty() && !(out->back() < d)) return bad("dots must be strictly increasing");
    out->insert(d);
  }
  return Status::ok();
}

// [tag, ctx, [e1, [a,c,...], e2, [...], ...], [[ctx, [e...]], ...]]; entries null: the
// head form (an empty entry array), packed without a copy of the context.
void pack_set(codec::Packer& pk, const DotContext& ctx, const std::map<std::string, Dots>* entries,
              const std::map<DotContext, std::set<std::string>>& deferred) {
  pk.pack_array(4);
  pk.pack(static_cast<uint8_t>(codec::kTagORSet));
  ctx.encode_to(pk);
  pk.pack_array(entries ? static_cast<uint32_t>(entries->size() * 2) : 0);
  if (entries) {
    for (const auto& [elem, dots] : *entries) {
      codec::pack_bytes(pk, elem);
      pack_dots(pk, dots);
    }
  }
  pk.pack_array(static_cast<uint32_t>(deferred.size()));
  for (const auto& [observed, elems] : deferred) {
    pk.pack_array(2);
    observed.encode_to(pk);
    pk.pack_array(static_cast<uint32_t>(elems.size()));
    for (const std::string& e : elems) codec::pack_bytes(pk, e);
  }
}

}  // namespace

template <>
void ORSet::encode_to(codec::Packer& pk) const {
  pack_set(pk, ctx_, &entries_, deferred_);
}

template <>
void ORSet::encode_head_to(codec::Packer& pk) const {
  pack_set(pk, ctx_, nullptr, deferred_);
}

namespace {

// The dots' own order only: that each is in the context and held by one element is what
// decode_from's reindex() checks (a std::set of the dots seen here cost an allocation per
// dot of every set delta a replica decoded).
Status decode_entries(const codec::Object& o, std::map<std::string, Dots>* out) {
  codec::Array flat;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &flat));
  if (flat.size % 2 != 0) return bad("entries need element/dots pairs");
  for (uint32_t i = 0; i < flat.size; i += 2) {
    std::string elem;
    SHOAL_RETURN_IF_ERROR(codec::bytes(flat[i], &elem));
    if (!out->empty() && !(out->rbegin()->first < elem)) {
      return bad("elements must be strictly increasing");
    }
    auto it = out->emplace_hint(out->end(), std::move(elem), Dots{});
    SHOAL_RETURN_IF_ERROR(unpack_dots(flat[i + 1], &it->second));
  }
  return Status::ok();
}

Status decode_deferred(const codec::Object& o, const DotContext& ctx,
                       std::map<DotContext, std::set<std::string>>* out) {
  codec::Array list;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &list));
  for (uint32_t i = 0; i < list.size; ++i) {
    codec::Array pair, elems;
    DotContext observed;
    SHOAL_RETURN_IF_ERROR(codec::array(list[i], &pair));
    if (pair.size != 2) return bad("deferred remove needs [context, elements]");
    SHOAL_RETURN_IF_ERROR(DotContext::decode_from(pair[0], &observed));
    if (ctx.covers(observed)) return bad("deferred remove should have been applied");
    if (!out->empty() && !(out->rbegin()->first < observed)) {
      return bad("deferred removes must be strictly increasing");
    }
    SHOAL_RETURN_IF_ERROR(codec::array(pair[1], &elems));
    if (elems.size == 0) return bad("deferred remove without elements");
    auto& set = out->emplace_hint(out->end(), std::move(observed), std::set<std::string>{})->second;
    for (uint32_t j = 0; j < elems.size; ++j) {
      std::string e;
      SHOAL_RETURN_IF_ERROR(codec::bytes(elems[j], &e));
      if (!set.empty() && !(*set.rbegin() < e)) return bad("elements must be strictly increasing");
      set.insert(set.end(), std::move(e));
    }
  }
  return Status::ok();
}

}  // namespace

template <>
Status ORSet::decode_from(const codec::Object& o, ORSet* out) {
  codec::Array a;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagORSet, 3, &a));
  SHOAL_RETURN_IF_ERROR(DotContext::decode_from(a[1], &out->ctx_));
  SHOAL_RETURN_IF_ERROR(decode_entries(a[2], &out->entries_));
  SHOAL_RETURN_IF_ERROR(decode_deferred(a[3], out->ctx_, &out->deferred_));
  return out->reindex();
}

std::string ORSet::encode() const { return codec::encode_whole(*this); }
Result<ORSet> ORSet::decode(std::string_view bytes) { return codec::decode_whole<ORSet>(bytes); }

namespace {

// msgpack-c's packer writes to any stream with write(); this one appends to a string, so
// an element row (written per SADD on every replica) is one allocation, not a buffer and
// then its copy.
struct StringSink {
  std::string* out;
  void write(const char* data, size_t size) { out->append(data, size); }
};

}  // namespace

// [a1, c1, a2, c2, ...], strictly increasing
std::string ORSet::encode_dots(const Dots& dots) {
  std::string out;
  out.reserve(5 + dots.size() * 18);  // an array header, then 2 uint64s of at most 9 bytes
  StringSink sink{&out};
  msgpack::packer<StringSink> pk(sink);
  pack_dots(pk, dots);
  return out;
}

Result<Dots> ORSet::decode_dots(std::string_view bytes) {
  Dots out;
  Status s = codec::unpack(bytes, 2, [&](const codec::Object& o) { return unpack_dots(o, &out); });
  if (!s.is_ok()) return s;
  return out;
}

Result<ORSet> ORSet::assemble(ORSet head, std::map<std::string, Dots> entries) {
  if (!head.entries_.empty()) return bad("set head row holds elements");
  head.entries_ = std::move(entries);
  SHOAL_RETURN_IF_ERROR(head.reindex());
  return head;
}

}  // namespace shoal::crdt
