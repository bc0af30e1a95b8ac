// The handshake decoders (node/api/peer_codec.h), the only ones a stranger reaches before
// proving the secret: hello, challenge, proof and welcome each read the same bytes, never
// throw or crash, and what one accepts re-encodes to the same value.
#include "fuzz.h"
#include "node/api/peer_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace api = shoal::api;
  const std::string_view s = shoal::fuzz::view(data, size);
  if (auto hello = api::decode_hello(s)) {
    auto again = api::decode_hello(api::encode_hello(*hello));
    FUZZ_CHECK(again.is_ok());
    FUZZ_CHECK(again->version == hello->version && again->node == hello->node &&
               again->secret == hello->secret && again->peer_address == hello->peer_address &&
               again->nonce == hello->nonce);
  }
  if (auto challenge = api::decode_challenge(s)) {
    auto again = api::decode_challenge(api::encode_challenge(*challenge));
    FUZZ_CHECK(again.is_ok());
    FUZZ_CHECK(again->node == challenge->node && again->nonce == challenge->nonce &&
               again->proof == challenge->proof);
  }
  if (auto proof = api::decode_proof(s)) {
    auto again = api::decode_proof(api::encode_proof(*proof));
    FUZZ_CHECK(again.is_ok() && *again == *proof);
  }
  if (auto node = api::decode_welcome(s)) {
    auto again = api::decode_welcome(api::encode_welcome(shoal::Status::ok(), *node));
    FUZZ_CHECK(again.is_ok() && *again == *node);
  }
  return 0;
}
