#include "node/api/frames.h"

#include "crdt/coding.h"

namespace shoal::api {

void append_frame(std::string* out, std::string_view payload) {
  coding::put_be32(out, static_cast<uint32_t>(payload.size()));
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
  const size_t n = coding::get_be32(std::string_view(buf_).substr(off_));
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
