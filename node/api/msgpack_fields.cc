#include "node/api/msgpack_fields.h"

namespace shoal::api::wire {

namespace codec = crdt::codec;

Status invalid(std::string_view field, std::string_view what) {
  return Status::invalid_argument("field \"" + std::string(field) + "\": " + std::string(what));
}

Status field_bytes(const MsgObject& o, std::string_view name, std::string* out) {
  if (!codec::bytes(o, out).is_ok()) return invalid(name, "expected a byte string");
  return Status::ok();
}

Status field_u64(const MsgObject& o, std::string_view name, uint64_t* out) {
  if (!codec::u64(o, out).is_ok()) return invalid(name, "expected an unsigned integer");
  return Status::ok();
}

Status field_bool(const MsgObject& o, std::string_view name, bool* out) {
  if (!codec::boolean(o, out).is_ok()) return invalid(name, "expected true or false");
  return Status::ok();
}

Status field_string_list(const MsgObject& o, std::string_view name, std::vector<std::string>* out) {
  if (o.type != msgpack::type::ARRAY) return invalid(name, "expected an array of byte strings");
  out->clear();
  out->reserve(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    std::string s;
    SHOAL_RETURN_IF_ERROR(field_bytes(o.via.array.ptr[i], name, &s));
    out->push_back(std::move(s));
  }
  return Status::ok();
}

Status unpack_payload(std::string_view payload, const std::function<Status(const MsgObject&)>& fn) {
  return codec::unpack(payload, codec::kMaxDepth, fn);
}

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

}  // namespace shoal::api::wire
