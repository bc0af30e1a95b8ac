#include "node/api/frames.h"

namespace shoal::api {

void append_frame(std::string* out, std::string_view payload) {
  const auto n = static_cast<uint32_t>(payload.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(header, 4);
  out->append(payload);
}

void FrameReader::feed(const char* data, size_t n) {
  if (off_ > 0) {
    buf_.erase(0, off_);
    off_ = 0;
  }
  buf_.append(data, n);
}

FrameReader::Next FrameReader::next(std::string_view* payload, size_t* claimed_bytes) {
  if (buf_.size() - off_ < kFrameHeaderBytes) return Next::kNeedMore;
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + off_);
  const size_t n = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  if (n > max_) {
    if (claimed_bytes) *claimed_bytes = n;
    return Next::kTooLarge;
  }
  if (buf_.size() - off_ - kFrameHeaderBytes < n) return Next::kNeedMore;
  *payload = std::string_view(buf_.data() + off_ + kFrameHeaderBytes, n);
  off_ += kFrameHeaderBytes + n;
  return Next::kFrame;
}

}  // namespace shoal::api
