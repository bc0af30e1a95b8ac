#include "node/core/object.h"

#include "crdt/codec.h"

namespace shoal::core {

namespace codec = crdt::codec;

std::string_view type_name(DataType t) {
  switch (t) {
    case DataType::kRegister:
      return "register";
    case DataType::kCounter:
      return "counter";
    case DataType::kSet:
      return "set";
    case DataType::kLww:
      return "lww";
  }
  return "unknown";
}

Result<DataType> parse_type(std::string_view name) {
  for (DataType t : {DataType::kRegister, DataType::kCounter, DataType::kSet, DataType::kLww}) {
    if (type_name(t) == name) return t;
  }
  return Status::invalid_argument("unknown data type '" + std::string(name) +
                                  "': expected register, counter, set or lww");
}

Object::Object(DataType type) {
  switch (type) {
    case DataType::kRegister:
      value_ = crdt::DvvSet{};
      break;
    case DataType::kCounter:
      value_ = crdt::PNCounter{};
      break;
    case DataType::kSet:
      value_ = crdt::ORSet{};
      break;
    case DataType::kLww:
      value_ = crdt::LWWRegister{};
      break;
  }
}

Status check_type(DataType actual, DataType wanted) {
  if (actual == wanted) return Status::ok();
  return Status::type_mismatch("key holds a " + std::string(type_name(actual)) + ", not a " +
                               std::string(type_name(wanted)));
}

Status Object::join(const Object& other) {
  SHOAL_RETURN_IF_ERROR(check_type(other.type(), type()));
  std::visit(
      [&](auto& mine) {
        using T = std::decay_t<decltype(mine)>;
        mine.join(std::get<T>(other.value_));
      },
      value_);
  return Status::ok();
}

std::string Object::encode() const {
  msgpack::sbuffer buf(256);
  codec::Packer pk(buf);
  pk.pack_array(3);
  pk.pack(1);
  pk.pack(static_cast<uint8_t>(type()));
  std::visit([&](const auto& v) { v.encode_to(pk); }, value_);
  return std::string(buf.data(), buf.size());
}

namespace {

template <typename T>
Status decode_into(const codec::Object& o, Object* out) {
  T v;
  SHOAL_RETURN_IF_ERROR(T::decode_from(o, &v));
  *out = Object(std::move(v));
  return Status::ok();
}

// split: null when only format 1 is acceptable (messages, hints).
Status decode_object(const codec::Object& o, Object* out, bool* split) {
  codec::Array a;
  uint64_t version = 0, type = 0;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
  if (a.size != 3) return codec::bad("object needs [version, type, value]");
  SHOAL_RETURN_IF_ERROR(codec::u64(a[0], &version));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &type));
  const bool head = version == 2 && split && static_cast<DataType>(type) == DataType::kSet;
  if (version != 1 && !head) return codec::bad("unknown object format version");
  if (split) *split = head;
  switch (static_cast<DataType>(type)) {
    case DataType::kRegister:
      return decode_into<crdt::DvvSet>(a[2], out);
    case DataType::kCounter:
      return decode_into<crdt::PNCounter>(a[2], out);
    case DataType::kSet:
      return decode_into<crdt::ORSet>(a[2], out);
    case DataType::kLww:
      return decode_into<crdt::LWWRegister>(a[2], out);
  }
  return codec::bad("unknown data type");
}

}  // namespace

Result<Object> Object::decode(std::string_view bytes) {
  Object out;
  Status s = codec::unpack(bytes, codec::kMaxDepth + 2,
                           [&](const codec::Object& o) { return decode_object(o, &out, nullptr); });
  if (!s.is_ok()) return s;
  return out;
}

std::string Object::encode_stored() const {
  const auto* set = as<crdt::ORSet>();
  if (!set) return encode();
  msgpack::sbuffer buf(64);
  codec::Packer pk(buf);
  pk.pack_array(3);
  pk.pack(2);
  pk.pack(static_cast<uint8_t>(DataType::kSet));
  const std::string head = set->encode_head();
  buf.write(head.data(), head.size());  // already msgpack: one value
  return std::string(buf.data(), buf.size());
}

Result<Object> Object::decode_stored(std::string_view bytes, bool* split) {
  Object out;
  Status s = codec::unpack(bytes, codec::kMaxDepth + 2,
                           [&](const codec::Object& o) { return decode_object(o, &out, split); });
  if (!s.is_ok()) return s;
  return out;
}

}  // namespace shoal::core
