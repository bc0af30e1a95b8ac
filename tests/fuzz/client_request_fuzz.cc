// decode_request (node/api/client_request.h), what a node does with every client frame:
// never throws or crashes; a request it accepts re-encodes to a frame it accepts again,
// and that one re-encodes to the same bytes.
#include "fuzz.h"
#include "node/api/client_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shoal::api::decode_request;
  using shoal::api::encode_request;
  uint64_t id = 0;
  auto request = decode_request(shoal::fuzz::view(data, size), &id);
  if (!request) return 0;
  FUZZ_CHECK(request->id == id);
  (void)shoal::api::check_request(*request);  // every API runs it next; any answer will do
  const std::string once = encode_request(*request);
  uint64_t id2 = 0;
  auto again = decode_request(once, &id2);
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(again->id == request->id);
  FUZZ_CHECK(encode_request(*again) == once);
  return 0;
}
