// Shared by the fuzz targets (docs/testing.md, "Fuzzing"): a check that stops the run with
// a message libFuzzer keeps next to the crash input, and a way to cut one input into the
// pieces a socket might deliver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// Not assert(): it must hold in every build type the fuzz build may be configured with.
#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace shoal::fuzz {

inline std::string_view view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The piece size a stream target feeds in after feeding it whole: 1..16 bytes, taken from
// the input itself so each input is replayed the same way.
inline size_t chunk_of(std::string_view s) {
  return s.empty() ? 1 : 1 + static_cast<uint8_t>(s[0]) % 16;
}

}  // namespace shoal::fuzz
