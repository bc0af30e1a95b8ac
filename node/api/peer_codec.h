// The peer protocol (docs/protocol.md, "Peer protocol"): node to node, over the same
// frames as clients (frames.h). A connection opens with the dialler's hello and the
// listener's welcome; every frame after is one core::Message. Peer frames are compact
// msgpack arrays; newer optional fields are sent only when set, so older nodes still
// read them.
//
// Errors: no decoder throws. decode_hello refuses anything but a hello with
// invalid_argument ("the first peer frame must be a hello"); decode_welcome returns the
// listener's refusal as its Status, or corruption for a frame that is not a welcome;
// decode_message returns corruption ("peer message: ...") for any bad frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crdt/status.h"
#include "node/core/messages.h"

namespace shoal::api {

constexpr uint32_t kProtocolVersion = 1;

struct Hello {
  uint32_t version = kProtocolVersion;
  std::string node;
  std::string secret;
  // The dialler's own peer listener (host:port), so the listener can answer a node it
  // has not yet heard of through gossip. Optional on the wire (absent: "").
  std::string peer_address;
};
std::string encode_hello(const Hello& hello);
Result<Hello> decode_hello(std::string_view payload);
// The accepting side's answer: ok, or why the connection is refused.
std::string encode_welcome(const Status& status, const std::string& node);
Result<std::string> decode_welcome(std::string_view payload);  // the node id, or the refusal

std::string encode_message(const core::Message& message);
Result<core::Message> decode_message(std::string_view payload);

}  // namespace shoal::api
