// Framing of the native protocol (docs/protocol.md): every client and peer frame is a
// u32 big-endian payload length, then the payload (msgpack). This file owns the frame
// header, the size limits each side enforces, and splitting a byte stream into frames;
// what a payload means is client_request.h, client_response.h and peer_codec.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shoal::api {

constexpr size_t kFrameHeaderBytes = 4;            // u32 big-endian payload length
constexpr size_t kMaxClientFrameBytes = 4u << 20;  // what a node accepts from a client
constexpr size_t kMaxPeerFrameBytes = 64u << 20;   // what a node accepts from a peer
// Before a peer connection's hello is accepted (and on a dialled one, the welcome): a
// stranger must not make the node buffer a 64 MiB frame. A hello is ~40 bytes plus the
// node id (<= 128), its address (<= 256) and the cluster secret.
constexpr size_t kMaxHandshakeFrameBytes = 4u << 10;
constexpr size_t kMaxResponseFrameBytes = 256u << 20;  // what the client library accepts

// Appends a frame header and `payload` to `out`.
// REQUIRES: payload.size() fits in 32 bits.
void append_frame(std::string* out, std::string_view payload);

// Splits a byte stream into frames.
class FrameReader {
 public:
  enum class Next { kNeedMore, kFrame, kTooLarge };

  explicit FrameReader(size_t max_payload_bytes) : max_(max_payload_bytes) {}
  // Invalidates payloads returned by next().
  void feed(const char* data, size_t n);
  // kFrame: *payload is the next frame, valid until the next feed(). kTooLarge: the
  // next frame's header claims more than the limit (*claimed_bytes); the stream cannot
  // be trusted after it.
  Next next(std::string_view* payload, size_t* claimed_bytes = nullptr);
  size_t buffered() const { return buf_.size() - off_; }
  size_t max_payload_bytes() const { return max_; }
  // A peer connection's limit grows once its hello is accepted.
  void set_max_payload_bytes(size_t max_payload_bytes) { max_ = max_payload_bytes; }

 private:
  size_t max_;
  std::string buf_;
  size_t off_ = 0;
};

}  // namespace shoal::api
