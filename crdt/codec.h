// Internal msgpack helpers shared by the crdt codecs (and later by node codecs).
//
// unpack() parses with crdt/msgpack_parse.h, which returns errors instead of throwing;
// whatever else throws (an allocation) is caught at the edge and returned as a Status,
// so a decoder never throws out of the library. Parsing is bounded: no container may
// declare more elements than the bytes left can hold, and nesting is shallow, so hostile
// input cannot make us allocate more than 24 bytes of tree per byte of it.
#pragma once

#include <cstdint>
#include <functional>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace shoal::crdt::codec {

using Packer = msgpack::packer<msgpack::sbuffer>;
using Object = msgpack::object;

// Every top-level CRDT encoding is a msgpack array [tag, fields...].
enum Tag : uint8_t {
  kTagDot = 1,
  kTagVersionVector = 2,
  kTagDotContext = 3,
  kTagDvvSet = 4,
  kTagGCounter = 5,
  kTagPNCounter = 6,
  kTagORSet = 7,
  kTagLWWRegister = 8,
};

constexpr size_t kMaxDepth = 8;

// Unpacks exactly one object spanning all of `bytes` and hands it to `fn`.
Status unpack(std::string_view bytes, size_t max_depth,
              const std::function<Status(const Object&)>& fn);

struct Array {
  const Object* items = nullptr;
  uint32_t size = 0;
  const Object& operator[](uint32_t i) const { return items[i]; }
};

Status array(const Object& o, Array* out);
// [tag, f1..fN] with exactly `fields` fields after the tag.
Status tagged(const Object& o, Tag tag, uint32_t fields, Array* out);
Status u64(const Object& o, uint64_t* out);
Status i64(const Object& o, int64_t* out);
Status boolean(const Object& o, bool* out);
// A byte string: msgpack bin or str.
Status bytes(const Object& o, std::string* out);
// The same, as a view into the unpacked buffer: valid while the object is (inside the
// unpack callback).
Status bytes(const Object& o, std::string_view* out);

void pack_bytes(Packer& pk, std::string_view b);
// An array of byte strings (set members, sibling values).
void pack_bytes_array(Packer& pk, const std::vector<std::string>& items);

inline Status bad(std::string what) { return Status::corruption(std::move(what)); }

template <typename T>
std::string encode_whole(const T& value) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  value.encode_to(pk);
  return std::string(buf.data(), buf.size());
}

template <typename T>
Result<T> decode_whole(std::string_view bytes) {
  T out;
  Status s = unpack(bytes, kMaxDepth, [&](const Object& o) { return T::decode_from(o, &out); });
  if (!s.is_ok()) return s;
  return out;
}

}  // namespace shoal::crdt::codec
