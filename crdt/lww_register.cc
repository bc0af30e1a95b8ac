#include "crdt/lww_register.h"

#include <tuple>

#include "crdt/assert.h"
#include "crdt/codec.h"

namespace shoal::crdt {

using codec::Array;
using codec::bad;
using codec::Object;
using codec::Packer;

LWWRegister LWWRegister::write(Actor actor, uint64_t timestamp_ms, std::string value,
                               bool deleted) {
  LWWRegister next;
  // Never back in time at this replica; saturate rather than wrap to "unwritten".
  const uint64_t bumped = timestamp_ == UINT64_MAX ? timestamp_ : timestamp_ + 1;
  next.timestamp_ = timestamp_ms > timestamp_ ? timestamp_ms : bumped;
  next.actor_ = actor;
  next.deleted_ = deleted;
  next.value_ = deleted ? std::string() : std::move(value);
  *this = next;
  return next;
}

LWWRegister LWWRegister::set(Actor actor, uint64_t timestamp_ms, std::string value) {
  return write(actor, timestamp_ms, std::move(value), false);
}

LWWRegister LWWRegister::remove(Actor actor, uint64_t timestamp_ms) {
  return write(actor, timestamp_ms, {}, true);
}

bool LWWRegister::beats(const LWWRegister& other) const {
  return std::tie(timestamp_, actor_, deleted_, value_) >
         std::tie(other.timestamp_, other.actor_, other.deleted_, other.value_);
}

void LWWRegister::join(const LWWRegister& other) {
  if (other.beats(*this)) *this = other;
  SHOAL_ASSERT(!other.beats(*this), "a register join keeps the greatest write");
}

std::optional<std::string> LWWRegister::read() const {
  if (timestamp_ == 0 || deleted_) return std::nullopt;
  return value_;
}

template <>
void LWWRegister::encode_to(Packer& pk) const {
  pk.pack_array(5);
  pk.pack(static_cast<uint8_t>(codec::kTagLWWRegister));
  pk.pack(timestamp_);
  pk.pack(actor_);
  pk.pack(deleted_);
  codec::pack_bytes(pk, value_);
}

template <>
Status LWWRegister::decode_from(const Object& o, LWWRegister* out) {
  Array a;
  SHOAL_RETURN_IF_ERROR(codec::tagged(o, codec::kTagLWWRegister, 4, &a));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &out->timestamp_));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[2], &out->actor_));
  SHOAL_RETURN_IF_ERROR(codec::boolean(a[3], &out->deleted_));
  SHOAL_RETURN_IF_ERROR(codec::bytes(a[4], &out->value_));
  if (out->timestamp_ == 0 && (out->actor_ != 0 || out->deleted_ || !out->value_.empty())) {
    return bad("an unwritten register must be empty");
  }
  if (out->deleted_ && !out->value_.empty()) return bad("a deleted register holds no value");
  return Status::ok();
}

std::string LWWRegister::encode() const { return codec::encode_whole(*this); }
Result<LWWRegister> LWWRegister::decode(std::string_view bytes) {
  return codec::decode_whole<LWWRegister>(bytes);
}

}  // namespace shoal::crdt
