// crdt/msgpack_parse.h against msgpack-c's own unpacker, its twin: the unit test feeds
// both random encodings (every wire form, non-minimal widths included) and their
// mutations; the fuzz target feeds them whatever libFuzzer finds.
#pragma once

#include <cstring>
#include <exception>
#include <msgpack.hpp>
#include <string>
#include <string_view>

#include "crdt/msgpack_parse.h"
#include "crdt/prng.h"

namespace shoal::testing {

// Equal trees; floats compared bit for bit (a NaN equals itself).
inline bool same_tree(const msgpack::object& a, const msgpack::object& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case msgpack::type::NIL:
      return true;
    case msgpack::type::BOOLEAN:
      return a.via.boolean == b.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return a.via.u64 == b.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return a.via.i64 == b.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return std::memcmp(&a.via.f64, &b.via.f64, sizeof(double)) == 0;
    case msgpack::type::STR:
    case msgpack::type::BIN:  // str and bin share the {size, ptr} layout
      // An empty one's pointer may be null (ASan's view of memcmp): no memcmp of those.
      return a.via.str.size == b.via.str.size &&
             (a.via.str.size == 0 ||
              std::memcmp(a.via.str.ptr, b.via.str.ptr, a.via.str.size) == 0);
    case msgpack::type::EXT:  // ptr: the type byte, then `size` bytes of data
      return a.via.ext.size == b.via.ext.size &&
             std::memcmp(a.via.ext.ptr, b.via.ext.ptr, a.via.ext.size + size_t{1}) == 0;
    case msgpack::type::ARRAY:
      if (a.via.array.size != b.via.array.size) return false;
      for (uint32_t i = 0; i < a.via.array.size; ++i) {
        if (!same_tree(a.via.array.ptr[i], b.via.array.ptr[i])) return false;
      }
      return true;
    case msgpack::type::MAP:
      if (a.via.map.size != b.via.map.size) return false;
      for (uint32_t i = 0; i < a.via.map.size; ++i) {
        if (!same_tree(a.via.map.ptr[i].key, b.via.map.ptr[i].key) ||
            !same_tree(a.via.map.ptr[i].val, b.via.map.ptr[i].val)) {
          return false;
        }
      }
      return true;
  }
  return false;
}

// Empty when both parsers agree on `bytes` (both refuse it, or both give the same tree),
// else what differs. msgpack-c runs with the limits crdt/codec.cc gave it before.
inline std::string msgpack_twin_diff(std::string_view bytes, size_t max_depth) {
  const size_t n = bytes.size();
  msgpack::zone theirs_zone, ours_zone;
  msgpack::object theirs, ours;
  bool theirs_ok = false;
  try {
    size_t off = 0;
    bool referenced = false;
    msgpack::unpack_limit limit(n, n, n, n, n, max_depth);
    theirs =
        msgpack::unpack(theirs_zone, bytes.data(), n, off, referenced, nullptr, nullptr, limit);
    theirs_ok = off == n;
  } catch (const std::exception&) {
    theirs_ok = false;
  }
  const Status s = crdt::codec::parse_msgpack(bytes, max_depth, ours_zone, &ours);
  if (!s.is_ok()) {
    const std::string& m = s.message();
    if (m.rfind("truncated msgpack", 0) != 0 && m != "trailing bytes after msgpack object" &&
        m.rfind("malformed msgpack: ", 0) != 0) {
      return "undocumented error: " + m;
    }
  }
  if (theirs_ok != s.is_ok()) {
    return theirs_ok ? "msgpack-c accepts, ours refuses: " + s.message()
                     : "ours accepts, msgpack-c refuses";
  }
  if (theirs_ok && !same_tree(theirs, ours)) return "different trees";
  return "";
}

// Random msgpack: every lead byte form, integer widths wider than needed, containers
// nested up to `max_nesting` deep.
class MsgpackGen {
 public:
  explicit MsgpackGen(uint64_t seed) : rng_(seed) {}

  std::string next(int max_nesting) {
    std::string out;
    object(&out, max_nesting);
    return out;
  }

 private:
  void be(std::string* out, uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
  }
  void payload(std::string* out, size_t size) {
    for (size_t i = 0; i < size; ++i) out->push_back(static_cast<char>(rng_.below(256)));
  }
  size_t small() { return rng_.below(4) == 0 ? rng_.below(300) : rng_.below(12); }

  void object(std::string* out, int nesting) {
    const uint64_t kind = rng_.below(nesting > 0 ? 12 : 9);
    const uint64_t width_log = rng_.below(4);  // 1, 2, 4 or 8 bytes
    const int width = 1 << width_log;
    const uint64_t narrow_log = width_log == 3 ? 2 : width_log;  // 8 bytes only for numbers
    switch (kind) {
      case 0:  // fixints, nil, booleans and the never-used 0xc1 are single bytes
        out->push_back(static_cast<char>(rng_.below(256) & (rng_.below(8) ? 0xff : 0x7f)));
        return;
      case 1:  // uint 8..64, int 8..64
        out->push_back(static_cast<char>((rng_.below(2) ? 0xcc : 0xd0) + width_log));
        return be(out, rng_.next(), width);
      case 2:  // float 32, 64
        out->push_back(static_cast<char>(rng_.below(2) ? 0xca : 0xcb));
        return payload(out, out->back() == static_cast<char>(0xca) ? 4 : 8);
      case 3:  // fixstr
      {
        const size_t size = rng_.below(32);
        out->push_back(static_cast<char>(0xa0 + size));
        return payload(out, size);
      }
      case 4:  // str 8, 16, 32; bin 8, 16, 32
      case 5: {
        const size_t size = small();
        out->push_back(static_cast<char>((kind == 4 ? 0xd9 : 0xc4) + narrow_log));
        be(out, size, 1 << narrow_log);
        return payload(out, size);
      }
      case 6: {  // fixext 1..16
        const int log = static_cast<int>(rng_.below(5));
        out->push_back(static_cast<char>(0xd4 + log));
        return payload(out, 1 + (size_t{1} << log));
      }
      case 7: {  // ext 8, 16, 32
        const size_t size = small();
        out->push_back(static_cast<char>(0xc7 + narrow_log));
        be(out, size, 1 << narrow_log);
        return payload(out, size + 1);
      }
      case 8:  // a packed integer of every size and sign
        return packed_int(out);
      default:  // arrays and maps: fix, 16, 32
        return container(out, kind == 11, nesting);
    }
  }

  void packed_int(std::string* out) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    const int shift = static_cast<int>(rng_.below(64));
    if (rng_.below(2)) {
      pk.pack_uint64(rng_.next() >> shift);
    } else {
      pk.pack_int64(static_cast<int64_t>(rng_.next()) >> shift);
    }
    out->append(buf.data(), buf.size());
  }

  void container(std::string* out, bool map, int nesting) {
    const size_t count = rng_.below(5);
    const uint64_t form = rng_.below(3);
    if (form == 0) {
      out->push_back(static_cast<char>((map ? 0x80 : 0x90) + count));
    } else {
      out->push_back(static_cast<char>((map ? 0xde : 0xdc) + (form - 1)));
      be(out, count, form == 1 ? 2 : 4);
    }
    for (size_t i = 0; i < (map ? 2 * count : count); ++i) object(out, nesting - 1);
  }

  Prng rng_;
};

}  // namespace shoal::testing
