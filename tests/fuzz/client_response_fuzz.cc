// decode_response (node/api/client_response.h), what the client library does with every
// answer: never throws or crashes; an answer it reads re-encodes to one it reads the same.
#include "fuzz.h"
#include "node/api/client_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shoal::api::decode_response;
  using shoal::api::encode_response;
  auto response = decode_response(shoal::fuzz::view(data, size));
  if (!response) return 0;
  const std::string once = encode_response(*response);
  auto again = decode_response(once);
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(again->id == response->id);
  FUZZ_CHECK(again->status == response->status);
  FUZZ_CHECK(encode_response(*again) == once);
  return 0;
}
