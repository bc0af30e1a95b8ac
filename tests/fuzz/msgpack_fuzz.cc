// The msgpack parser every decoder stands on (crdt/msgpack_parse.h) against msgpack-c's
// own unpacker (tests/msgpack_twin.h): for any input both refuse it or both give the same
// tree, and every refusal is one of the documented errors.
#include <cstdio>
#include <string>

#include "fuzz.h"
#include "tests/msgpack_twin.h"

// The first byte picks the nesting limit (1..12: callers use 2 to 11), the rest is parsed.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t max_depth = 1 + data[0] % 12;
  const std::string diff =
      shoal::testing::msgpack_twin_diff(shoal::fuzz::view(data + 1, size - 1), max_depth);
  if (!diff.empty()) std::fprintf(stderr, "msgpack twin: %s\n", diff.c_str());
  FUZZ_CHECK(diff.empty());
  return 0;
}
