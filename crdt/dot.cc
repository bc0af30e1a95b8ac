#include "crdt/dot.h"

#include <limits>
#include <vector>

#include "crdt/assert.h"
#include "crdt/codec.h"

namespace shoal::crdt {

using codec::Array;
using codec::bad;
using codec::Object;
using codec::Packer;

// ---- Dot ----

template <>
void Dot::encode_to(Packer& pk) const {
  pk.pack_array(3);
  pk.pack(static_cast<uint8_t>(codec::kTagDot));
  pk.pack(actor);
  pk.pack(counter);
}

template <>
Status Dot::decode_from(const Object& o, Dot* out) {
  Array a;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagDot, 2, &a));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &out->actor));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[2], &out->counter));
  if (out->counter == 0) return bad("dot counter must be >= 1");
  return Status::ok();
}

std::string Dot::encode() const { return codec::encode_whole(*this); }
Result<Dot> Dot::decode(std::string_view bytes) { return codec::decode_whole<Dot>(bytes); }

// ---- VersionVector ----

uint64_t VersionVector::get(Actor actor) const {
  auto it = entries_.find(actor);
  return it == entries_.end() ? 0 : it->second;
}

void VersionVector::set(Actor actor, uint64_t counter) {
  if (counter == 0) {
    entries_.erase(actor);
  } else {
    entries_[actor] = counter;
  }
}

Dot VersionVector::increment(Actor actor) {
  uint64_t& c = entries_[actor];
  SHOAL_ASSERT(c < std::numeric_limits<uint64_t>::max(), "an actor's counter is exhausted");
  ++c;
  return Dot{actor, c};
}

bool VersionVector::descends(const VersionVector& other) const {
  for (const auto& [actor, counter] : other.entries_) {
    if (get(actor) < counter) return false;
  }
  return true;
}

VersionVector::Order VersionVector::compare(const VersionVector& other) const {
  const bool ge = descends(other);
  const bool le = other.descends(*this);
  if (ge && le) return Order::kEqual;
  if (ge) return Order::kAfter;
  if (le) return Order::kBefore;
  return Order::kConcurrent;
}

void VersionVector::merge(const VersionVector& other) {
  auto hint = entries_.begin();
  for (const auto& [actor, counter] : other.entries_) {
    hint = entries_.try_emplace(hint, actor, 0);
    if (hint->second < counter) hint->second = counter;
  }
}

// Flat [a1, c1, a2, c2, ...] with actors strictly increasing and counters >= 1.
template <>
void VersionVector::encode_to(Packer& pk) const {
  pk.pack_array(2);
  pk.pack(static_cast<uint8_t>(codec::kTagVersionVector));
  pk.pack_array(static_cast<uint32_t>(entries_.size() * 2));
  for (const auto& [actor, counter] : entries_) {
    pk.pack(actor);
    pk.pack(counter);
  }
}

template <>
Status VersionVector::decode_from(const Object& o, VersionVector* out) {
  Array a, flat;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagVersionVector, 1, &a));
  SHOAL_RETURN_IF_ERROR(codec::array(a[1], &flat));
  if (flat.size % 2 != 0) return bad("version vector needs actor/counter pairs");
  out->entries_.clear();
  for (uint32_t i = 0; i < flat.size; i += 2) {
    uint64_t actor = 0, counter = 0;
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i], &actor));
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i + 1], &counter));
    if (counter == 0) return bad("version vector counter must be >= 1");
    if (!out->entries_.empty() && out->entries_.rbegin()->first >= actor) {
      return bad("version vector actors must be strictly increasing");
    }
    out->entries_.emplace_hint(out->entries_.end(), actor, counter);
  }
  return Status::ok();
}

std::string VersionVector::encode() const { return codec::encode_whole(*this); }
Result<VersionVector> VersionVector::decode(std::string_view bytes) {
  return codec::decode_whole<VersionVector>(bytes);
}

// ---- DotContext ----

bool DotContext::contains(const Dot& dot) const {
  return vv_.contains(dot) || cloud_.count(dot) > 0;
}

bool DotContext::covers(const DotContext& other) const {
  // Canonical form: the cloud never holds vv+1, so a gap right after our vv entry
  // means `other` has a dot we lack.
  for (const auto& [actor, counter] : other.vv_.entries()) {
    if (vv_.get(actor) < counter) return false;
  }
  for (const Dot& d : other.cloud_) {
    if (!contains(d)) return false;
  }
  return true;
}

Dot DotContext::next_dot(Actor actor) const {
  uint64_t top = vv_.get(actor);
  auto it = cloud_.upper_bound(Dot{actor, std::numeric_limits<uint64_t>::max()});
  if (it != cloud_.begin()) {
    --it;
    if (it->actor == actor && it->counter > top) top = it->counter;
  }
  SHOAL_ASSERT(top < std::numeric_limits<uint64_t>::max(), "an actor's counter is exhausted");
  return Dot{actor, top + 1};
}

void DotContext::add(const Dot& dot) {
  SHOAL_ASSERT(dot.counter >= 1);
  if (contains(dot)) return;
  if (dot.counter == vv_.get(dot.actor) + 1) {
    vv_.set(dot.actor, dot.counter);  // the next dot (every mint): no cloud node to make and free
  } else {
    cloud_.insert(dot);
  }
  compact_actor(dot.actor);
  SHOAL_ASSERT(contains(dot));
}

void DotContext::compact_actor(Actor actor) {
  uint64_t top = vv_.get(actor);
  auto it = cloud_.lower_bound(Dot{actor, 0});
  while (it != cloud_.end() && it->actor == actor &&
         it->counter - 1 <= top) {  // counter >= 1 always
    if (it->counter == top + 1) ++top;
    it = cloud_.erase(it);
  }
  vv_.set(actor, top);
  // Canonical form: the cloud never holds a dot the vector could absorb.
  SHOAL_ASSERT(it == cloud_.end() || it->actor != actor || it->counter > top + 1);
}

void DotContext::join(const DotContext& other) {
  vv_.merge(other.vv_);
  // Both were canonical, so only the actors `other` names can compact now. Dot by dot: a
  // delta's context is mostly one dot, which add() takes into the vector without making a
  // cloud node (inserting the cloud whole, then compacting every actor, made one and
  // freed it, and allocated a list of the actors).
  if (!cloud_.empty()) {
    for (const auto& [actor, counter] : other.vv_.entries()) compact_actor(actor);
  }
  for (const Dot& d : other.cloud_) add(d);
  SHOAL_ASSERT(covers(other), "a context join holds every dot of both");
}

template <>
void DotContext::encode_to(Packer& pk) const {
  pk.pack_array(3);
  pk.pack(static_cast<uint8_t>(codec::kTagDotContext));
  vv_.encode_to(pk);
  pk.pack_array(static_cast<uint32_t>(cloud_.size() * 2));
  for (const Dot& d : cloud_) {
    pk.pack(d.actor);
    pk.pack(d.counter);
  }
}

template <>
Status DotContext::decode_from(const Object& o, DotContext* out) {
  Array a, flat;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagDotContext, 2, &a));
  SHOAL_RETURN_IF_ERROR(VersionVector::decode_from(a[1], &out->vv_));
  SHOAL_RETURN_IF_ERROR(codec::array(a[2], &flat));
  if (flat.size % 2 != 0) return bad("dot cloud needs actor/counter pairs");
  out->cloud_.clear();
  for (uint32_t i = 0; i < flat.size; i += 2) {
    Dot d;
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i], &d.actor));
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i + 1], &d.counter));
    // Canonical form only: a dot the vector could absorb would break equality.
    if (d.counter == 0 || d.counter - 1 <= out->vv_.get(d.actor))
      return bad("dot cloud is not compacted");
    if (!out->cloud_.empty() && !(*out->cloud_.rbegin() < d)) {
      return bad("dot cloud must be strictly increasing");
    }
    out->cloud_.insert(out->cloud_.end(), d);
  }
  return Status::ok();
}

std::string DotContext::encode() const { return codec::encode_whole(*this); }
Result<DotContext> DotContext::decode(std::string_view bytes) {
  return codec::decode_whole<DotContext>(bytes);
}

}  // namespace shoal::crdt
