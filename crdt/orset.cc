#include "crdt/orset.h"

#include "crdt/codec.h"

namespace shoal::crdt {

using codec::Array;
using codec::bad;
using codec::Object;
using codec::Packer;

ORSet ORSet::add(Actor actor, const std::string& elem) {
  ORSet delta;
  const Dot dot = ctx_.next_dot(actor);
  auto it = entries_.find(elem);
  if (it != entries_.end()) {
    // The delta's context carries the dots it supersedes, so a join drops them too.
    for (const Dot& old : it->second) delta.ctx_.add(old);
    it->second.clear();
  } else {
    it = entries_.emplace(elem, std::set<Dot>{}).first;
  }
  it->second.insert(dot);
  ctx_.add(dot);
  delta.entries_.emplace(elem, std::set<Dot>{dot});
  delta.ctx_.add(dot);
  return delta;
}

std::vector<Dot> ORSet::drop_observed(const std::string& elem, const DotContext& observed) {
  std::vector<Dot> dropped;
  auto it = entries_.find(elem);
  if (it == entries_.end()) return dropped;
  for (auto d = it->second.begin(); d != it->second.end();) {
    if (observed.contains(*d)) {
      dropped.push_back(*d);
      d = it->second.erase(d);
    } else {
      ++d;
    }
  }
  if (it->second.empty()) entries_.erase(it);
  return dropped;
}

ORSet ORSet::remove(const std::string& elem) { return remove(elem, ctx_); }

ORSet ORSet::remove(const std::string& elem, const DotContext& observed) {
  ORSet delta;
  for (const Dot& d : drop_observed(elem, observed)) delta.ctx_.add(d);
  if (!ctx_.covers(observed)) {
    deferred_[observed].insert(elem);
    delta.deferred_[observed].insert(elem);
  }
  return delta;
}

void ORSet::join_entries(const ORSet& other) {
  // Keep a dot if both sides hold it, or if the side lacking it never saw it.
  auto mine = entries_.begin();
  auto theirs = other.entries_.begin();
  while (mine != entries_.end() || theirs != other.entries_.end()) {
    if (theirs == other.entries_.end() || (mine != entries_.end() && mine->first < theirs->first)) {
      std::erase_if(mine->second, [&](const Dot& d) { return other.ctx_.contains(d); });
      mine = mine->second.empty() ? entries_.erase(mine) : std::next(mine);
      continue;
    }
    if (mine == entries_.end() || theirs->first < mine->first) {
      std::set<Dot> kept;
      for (const Dot& d : theirs->second) {
        if (!ctx_.contains(d)) kept.insert(kept.end(), d);
      }
      if (!kept.empty()) entries_.emplace_hint(mine, theirs->first, std::move(kept));
      ++theirs;
      continue;
    }
    std::erase_if(mine->second,
                  [&](const Dot& d) { return !theirs->second.count(d) && other.ctx_.contains(d); });
    for (const Dot& d : theirs->second) {
      if (!ctx_.contains(d)) mine->second.insert(d);
    }
    mine = mine->second.empty() ? entries_.erase(mine) : std::next(mine);
    ++theirs;
  }
}

void ORSet::apply_deferred() {
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (!ctx_.covers(it->first)) {
      ++it;
      continue;
    }
    for (const std::string& elem : it->second) drop_observed(elem, it->first);
    it = deferred_.erase(it);
  }
}

void ORSet::join(const ORSet& other) {
  join_entries(other);
  ctx_.join(other.ctx_);
  for (const auto& [observed, elems] : other.deferred_) {
    deferred_[observed].insert(elems.begin(), elems.end());
  }
  apply_deferred();
}

std::vector<std::string> ORSet::read() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [elem, dots] : entries_) out.push_back(elem);
  return out;
}

// [tag, ctx, [e1, [a,c,...], e2, [...], ...], [[ctx, [e...]], ...]]
template <>
void ORSet::encode_to(Packer& pk) const {
  pk.pack_array(4);
  pk.pack(static_cast<uint8_t>(codec::kTagORSet));
  ctx_.encode_to(pk);
  pk.pack_array(static_cast<uint32_t>(entries_.size() * 2));
  for (const auto& [elem, dots] : entries_) {
    codec::pack_bytes(pk, elem);
    pk.pack_array(static_cast<uint32_t>(dots.size() * 2));
    for (const Dot& d : dots) {
      pk.pack(d.actor);
      pk.pack(d.counter);
    }
  }
  pk.pack_array(static_cast<uint32_t>(deferred_.size()));
  for (const auto& [observed, elems] : deferred_) {
    pk.pack_array(2);
    observed.encode_to(pk);
    pk.pack_array(static_cast<uint32_t>(elems.size()));
    for (const std::string& e : elems) codec::pack_bytes(pk, e);
  }
}

namespace {

Status decode_dots(const Object& o, const DotContext& ctx, std::set<Dot>* seen,
                   std::set<Dot>* out) {
  Array flat;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &flat));
  if (flat.size == 0 || flat.size % 2 != 0) return bad("element needs actor/counter pairs");
  for (uint32_t i = 0; i < flat.size; i += 2) {
    Dot d;
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i], &d.actor));
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i + 1], &d.counter));
    if (d.counter == 0) return bad("dot counter must be >= 1");
    if (!out->empty() && !(*out->rbegin() < d)) return bad("dots must be strictly increasing");
    if (!ctx.contains(d)) return bad("element dot outside the causal context");
    if (!seen->insert(d).second) return bad("dot shared by two elements");
    out->insert(out->end(), d);
  }
  return Status::ok();
}

Status decode_entries(const Object& o, const DotContext& ctx,
                      std::map<std::string, std::set<Dot>>* out) {
  Array flat;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &flat));
  if (flat.size % 2 != 0) return bad("entries need element/dots pairs");
  std::set<Dot> seen;
  for (uint32_t i = 0; i < flat.size; i += 2) {
    std::string elem;
    SHOAL_RETURN_IF_ERROR(codec::bytes(flat[i], &elem));
    if (!out->empty() && !(out->rbegin()->first < elem)) {
      return bad("elements must be strictly increasing");
    }
    auto it = out->emplace_hint(out->end(), std::move(elem), std::set<Dot>{});
    SHOAL_RETURN_IF_ERROR(decode_dots(flat[i + 1], ctx, &seen, &it->second));
  }
  return Status::ok();
}

Status decode_deferred(const Object& o, const DotContext& ctx,
                       std::map<DotContext, std::set<std::string>>* out) {
  Array list;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &list));
  for (uint32_t i = 0; i < list.size; ++i) {
    Array pair, elems;
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
Status ORSet::decode_from(const Object& o, ORSet* out) {
  Array a;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagORSet, 3, &a));
  SHOAL_RETURN_IF_ERROR(DotContext::decode_from(a[1], &out->ctx_));
  SHOAL_RETURN_IF_ERROR(decode_entries(a[2], out->ctx_, &out->entries_));
  return decode_deferred(a[3], out->ctx_, &out->deferred_);
}

std::string ORSet::encode() const { return codec::encode_whole(*this); }
Result<ORSet> ORSet::decode(std::string_view bytes) { return codec::decode_whole<ORSet>(bytes); }

}  // namespace shoal::crdt
