// Internal to node/api: the msgpack helpers the client and peer codecs share. Decoding
// helpers never throw: a field of the wrong type is invalid_argument naming the field
// ('field "k": expected a byte string'); malformed msgpack is corruption (from
// crdt::codec::unpack).
#pragma once

#include <cstdint>
#include <functional>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/codec.h"
#include "crdt/status.h"

namespace shoal::api::wire {

using Packer = crdt::codec::Packer;
using MsgObject = msgpack::object;

// invalid_argument: 'field "<field>": <what>'.
Status invalid(std::string_view field, std::string_view what);

// Each reads one field's value into *out, or refuses with invalid(name, ...).
Status field_bytes(const MsgObject& o, std::string_view name, std::string* out);
Status field_u64(const MsgObject& o, std::string_view name, uint64_t* out);
Status field_bool(const MsgObject& o, std::string_view name, bool* out);
Status field_string_list(const MsgObject& o, std::string_view name, std::vector<std::string>* out);

// Visits the entries of a map whose keys are strings; `what` names the map in errors
// ("a request"). Stops at the first error fn returns.
template <typename Fn>
Status for_each_field(const MsgObject& o, std::string_view what, Fn&& fn) {
  if (o.type != msgpack::type::MAP) {
    return Status::invalid_argument(std::string(what) + " must be a msgpack map");
  }
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) {
      return Status::invalid_argument(std::string(what) + " keys must be strings");
    }
    SHOAL_RETURN_IF_ERROR(fn(std::string_view(kv.key.via.str.ptr, kv.key.via.str.size), kv.val));
  }
  return Status::ok();
}

// Unpacks a payload; malformed msgpack becomes corruption with a clear message.
Status unpack_payload(std::string_view payload, const std::function<Status(const MsgObject&)>& fn);

// Packs `s` as a msgpack str (field names and text; bytes go through pack_bytes).
void pack_str(Packer& pk, std::string_view s);

}  // namespace shoal::api::wire
