// Fixed-width big-endian integers in byte strings, the one place they are written and
// read (like LevelDB's util/coding.h, but big-endian, so stored keys sort by number).
// Store keys, hint and identity rows, frame headers and anti-entropy bodies use them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crdt/assert.h"

namespace shoal::coding {

// Appends the low `bytes` bytes of `v`, most significant first. REQUIRES: 1 <= bytes <= 8.
inline void put_be(std::string* out, uint64_t v, int bytes) {
  SHOAL_ASSERT(bytes >= 1 && bytes <= 8);
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// The same into raw memory; returns the end of what it wrote. REQUIRES: `out` has room.
inline char* put_be(char* out, uint64_t v, int bytes) {
  SHOAL_ASSERT(bytes >= 1 && bytes <= 8);
  for (int i = bytes - 1; i >= 0; --i) *out++ = static_cast<char>(v >> (8 * i));
  return out;
}

// The first `bytes` bytes of `s` as a big-endian number. REQUIRES: s.size() >= bytes.
inline uint64_t get_be(std::string_view s, int bytes) {
  SHOAL_ASSERT(bytes >= 1 && bytes <= 8 && s.size() >= static_cast<size_t>(bytes));
  uint64_t v = 0;
  for (size_t i = 0; i < static_cast<size_t>(bytes); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

inline void put_be32(std::string* out, uint32_t v) { put_be(out, v, 4); }
inline void put_be64(std::string* out, uint64_t v) { put_be(out, v, 8); }
inline std::string be64(uint64_t v) {
  std::string out;
  put_be64(&out, v);
  return out;
}
inline uint32_t get_be32(std::string_view s) { return static_cast<uint32_t>(get_be(s, 4)); }
inline uint64_t get_be64(std::string_view s) { return get_be(s, 8); }

}  // namespace shoal::coding
