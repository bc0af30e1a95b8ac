#include "crdt/counter.h"

#include <limits>

#include "crdt/codec.h"

namespace shoal::crdt {

using codec::Array;
using codec::bad;
using codec::Object;
using codec::Packer;

namespace {
constexpr __int128 kI64Max = std::numeric_limits<int64_t>::max();
constexpr __int128 kI64Min = std::numeric_limits<int64_t>::min();
}  // namespace

// ---- GCounter ----

Result<GCounter> GCounter::increment(Actor actor, uint64_t amount) {
  GCounter delta;
  if (amount == 0) return delta;
  const uint64_t current = get(actor);
  if (amount > std::numeric_limits<uint64_t>::max() - current) {
    return Status::invalid_argument("counter overflow: actor total would exceed 2^64-1");
  }
  entries_[actor] = current + amount;
  delta.entries_[actor] = current + amount;
  return delta;
}

void GCounter::join(const GCounter& other) {
  auto hint = entries_.begin();
  for (const auto& [actor, value] : other.entries_) {
    hint = entries_.try_emplace(hint, actor, 0);
    if (hint->second < value) hint->second = value;
  }
}

uint64_t GCounter::get(Actor actor) const {
  auto it = entries_.find(actor);
  return it == entries_.end() ? 0 : it->second;
}

__int128 GCounter::total() const {
  __int128 sum = 0;
  for (const auto& [actor, value] : entries_) sum += value;
  return sum;
}

uint64_t GCounter::read() const {
  const __int128 sum = total();
  const __int128 max = std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(sum > max ? max : sum);
}

template <>
void GCounter::encode_to(Packer& pk) const {
  pk.pack_array(2);
  pk.pack(static_cast<uint8_t>(codec::kTagGCounter));
  pk.pack_array(static_cast<uint32_t>(entries_.size() * 2));
  for (const auto& [actor, value] : entries_) {
    pk.pack(actor);
    pk.pack(value);
  }
}

template <>
Status GCounter::decode_from(const Object& o, GCounter* out) {
  Array a, flat;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagGCounter, 1, &a));
  SHOAL_RETURN_IF_ERROR(codec::array(a[1], &flat));
  if (flat.size % 2 != 0) return bad("counter needs actor/value pairs");
  out->entries_.clear();
  for (uint32_t i = 0; i < flat.size; i += 2) {
    uint64_t actor = 0, value = 0;
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i], &actor));
    SHOAL_RETURN_IF_ERROR(codec::u64(flat[i + 1], &value));
    if (value == 0) return bad("counter entries must be >= 1");
    if (!out->entries_.empty() && out->entries_.rbegin()->first >= actor) {
      return bad("counter actors must be strictly increasing");
    }
    out->entries_.emplace_hint(out->entries_.end(), actor, value);
  }
  return Status::ok();
}

std::string GCounter::encode() const { return codec::encode_whole(*this); }
Result<GCounter> GCounter::decode(std::string_view bytes) {
  return codec::decode_whole<GCounter>(bytes);
}

// ---- PNCounter ----

Result<PNCounter> PNCounter::add(Actor actor, int64_t delta) {
  PNCounter out;
  if (delta == 0) return out;
  const __int128 next = p_.total() - n_.total() + delta;
  if (next > kI64Max || next < kI64Min) {
    return Status::invalid_argument("counter overflow: value would leave the int64 range");
  }
  // |INT64_MIN| fits in uint64.
  const uint64_t magnitude =
      delta > 0 ? static_cast<uint64_t>(delta) : uint64_t{0} - static_cast<uint64_t>(delta);
  GCounter& side = delta > 0 ? p_ : n_;
  Result<GCounter> d = side.increment(actor, magnitude);
  if (!d) return d.status();
  (delta > 0 ? out.p_ : out.n_) = std::move(d).value();
  return out;
}

PNCounter PNCounter::single(Actor actor, int64_t delta) {
  PNCounter out;
  if (delta > 0) {
    (void)out.p_.increment(actor, static_cast<uint64_t>(delta));
  } else if (delta < 0) {
    (void)out.n_.increment(actor, static_cast<uint64_t>(-static_cast<__int128>(delta)));
  }
  return out;
}

void PNCounter::join(const PNCounter& other) {
  p_.join(other.p_);
  n_.join(other.n_);
}

int64_t PNCounter::read() const {
  const __int128 v = p_.total() - n_.total();
  if (v > kI64Max) return std::numeric_limits<int64_t>::max();
  if (v < kI64Min) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

template <>
void PNCounter::encode_to(Packer& pk) const {
  pk.pack_array(3);
  pk.pack(static_cast<uint8_t>(codec::kTagPNCounter));
  p_.encode_to(pk);
  n_.encode_to(pk);
}

template <>
Status PNCounter::decode_from(const Object& o, PNCounter* out) {
  Array a;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagPNCounter, 2, &a));
  SHOAL_RETURN_IF_ERROR(GCounter::decode_from(a[1], &out->p_));
  return GCounter::decode_from(a[2], &out->n_);
}

std::string PNCounter::encode() const { return codec::encode_whole(*this); }
Result<PNCounter> PNCounter::decode(std::string_view bytes) {
  return codec::decode_whole<PNCounter>(bytes);
}

}  // namespace shoal::crdt
