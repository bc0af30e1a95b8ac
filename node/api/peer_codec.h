// The peer protocol (docs/protocol.md, "Peer protocol"): node to node, over the same
// frames as clients (frames.h). A connection opens with a handshake in which each side
// proves it knows the cluster secret without sending it (protocol 2): the dialler's hello
// (with its nonce), the listener's challenge (its id, its nonce and its proof), the
// dialler's proof, the listener's welcome. Protocol 1's hello carried the secret itself
// and was answered by the welcome; a listener still accepts it. Every frame after the
// welcome is one core::Message. Peer frames are compact
// msgpack arrays; newer optional fields are sent only when set, so older nodes still
// read them. A kMergeAcks batch ([20, [[req_id, code, message, base, held], ...]]) goes
// only to a node that asked for it in its kMerge (acks_batched, the kMerge's 14th field).
//
// Errors: no decoder throws. decode_hello refuses anything but a hello with
// invalid_argument ("the first peer frame must be a hello"); decode_welcome returns the
// listener's refusal as its Status, or corruption for a frame that is not a welcome;
// decode_challenge and decode_proof return corruption for a frame that is not one;
// decode_message returns corruption ("peer message: ...") for any bad frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crdt/status.h"
#include "node/core/messages.h"

namespace shoal::api {

constexpr uint32_t kProtocolVersion = 2;
constexpr uint32_t kClearSecretVersion = 1;      // the hello carries the secret in clear
constexpr size_t kMaxHandshakeFieldBytes = 256;  // nonces and proofs (32 bytes each)

struct Hello {
  uint32_t version = kProtocolVersion;
  std::string node;
  std::string secret;  // protocol 1 only; protocol 2 sends "" and proves it instead
  // The dialler's own peer listener (host:port), so the listener can answer a node it
  // has not yet heard of through gossip. Optional on the wire (absent: "").
  std::string peer_address;
  std::string nonce;  // protocol 2: the dialler's random challenge to the listener
};
std::string encode_hello(const Hello& hello);
Result<Hello> decode_hello(std::string_view payload);
// Protocol 2: the listener's answer to a hello it can take.
struct Challenge {
  std::string node;   // the listener's id
  std::string nonce;  // its random challenge to the dialler
  std::string proof;  // peer_auth.h: that the listener knows the secret
};
std::string encode_challenge(const Challenge& challenge);
Result<Challenge> decode_challenge(std::string_view payload);
// Protocol 2: the dialler's answer to the challenge.
std::string encode_proof(std::string_view proof);
Result<std::string> decode_proof(std::string_view payload);
// The accepting side's answer: ok, or why the connection is refused.
std::string encode_welcome(const Status& status, const std::string& node);
Result<std::string> decode_welcome(std::string_view payload);  // the node id, or the refusal

std::string encode_message(const core::Message& message);
Result<core::Message> decode_message(std::string_view payload);
// The same, into `out` (a receiver's batch decodes in place, without moving each message).
// REQUIRES: *out is default-constructed. On an error it holds part of the message: discard it.
Status decode_message_into(std::string_view payload, core::Message* out);

}  // namespace shoal::api
