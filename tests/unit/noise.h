// Incompressible test bytes: LevelDB stores such blocks raw (not snappy-compressed), so
// only the block checksum can tell flipped bytes from data.
#pragma once

#include <cstdint>
#include <string>

namespace shoal::test {

// `n` bytes of xorshift output seeded by `i` (the same bytes for the same arguments).
inline std::string noise(int i, size_t n) {
  std::string v;
  uint64_t x = 0x9E3779B97F4A7C15 * (static_cast<uint64_t>(i) + 1);
  while (v.size() < n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v.push_back(static_cast<char>(x & 0xff));
  }
  return v;
}

}  // namespace shoal::test
