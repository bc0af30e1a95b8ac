// decode_message (node/api/peer_codec.h), every peer frame after the handshake: never
// throws or crashes; a message it reads re-encodes to one it reads, with the same bytes
// again. A gossip body inside goes through its own target (gossip_fuzz.cc).
#include "fuzz.h"
#include "node/api/peer_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shoal::api::decode_message;
  using shoal::api::encode_message;
  auto message = decode_message(shoal::fuzz::view(data, size));
  if (!message) return 0;
  FUZZ_CHECK(message->kind >= shoal::core::Message::Kind::kRead &&
             message->kind <= shoal::core::Message::kLastKind);
  const std::string once = encode_message(*message);
  auto again = decode_message(once);
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(again->kind == message->kind && again->req_id == message->req_id);
  FUZZ_CHECK(again->bucket == message->bucket && again->key == message->key);
  FUZZ_CHECK(again->body == message->body && again->elements == message->elements);
  FUZZ_CHECK(again->acks == message->acks && again->acks_batched == message->acks_batched);
  FUZZ_CHECK(encode_message(*again) == once);
  return 0;
}
