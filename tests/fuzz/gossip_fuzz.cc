// decode_gossip (node/core/membership.h), the body of the gossip messages: never throws or
// crashes, keeps within the membership limits, and a body it reads round-trips equal.
#include "fuzz.h"
#include "node/core/membership.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shoal::core::decode_gossip;
  auto body = decode_gossip(shoal::fuzz::view(data, size));
  if (!body) return 0;
  for (const auto& st : body->states) {
    FUZZ_CHECK(st.peer_address.size() <= shoal::core::kMaxAddressBytes);
    FUZZ_CHECK(st.client_address.size() <= shoal::core::kMaxAddressBytes);
  }
  auto again = decode_gossip(shoal::core::encode_gossip(*body));
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(*again == *body);
  return 0;
}
