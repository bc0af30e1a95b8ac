// parse_fault_rule (node/api/fault_rule.h): the chaos rule text an admin request carries
// (and so any client of the native port): never throws or crashes on any text.
#include "fuzz.h"
#include "node/api/fault_rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto rule = shoal::api::parse_fault_rule(shoal::fuzz::view(data, size));
  if (!rule) FUZZ_CHECK(!rule.status().message().empty());
  return 0;
}
