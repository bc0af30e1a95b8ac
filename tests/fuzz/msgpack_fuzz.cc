// The msgpack parser every decoder stands on (crdt/msgpack_parse.h) against msgpack-c's
// own unpacker (tests/msgpack_twin.h): for any input both refuse it or both give the same
// tree, and every refusal is one of the documented errors.
#include <cstdio>
#include <string>

#include "crdt/codec.h"
#include "fuzz.h"
#include "tests/msgpack_twin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string diff = shoal::testing::msgpack_twin_diff(shoal::fuzz::view(data, size),
                                                             shoal::crdt::codec::kMaxDepth);
  if (!diff.empty()) std::fprintf(stderr, "msgpack twin: %s\n", diff.c_str());
  FUZZ_CHECK(diff.empty());
  return 0;
}
