// FrameReader (node/api/frames.h): any byte stream splits into the same frames however it
// is cut, each within the limit, and the frames re-framed are the bytes they came from.
#include <string>
#include <vector>

#include "fuzz.h"
#include "node/api/frames.h"

namespace {

using shoal::api::FrameReader;

// The frames of `s` fed `chunk` bytes at a time, up to a refused header (*too_large).
std::vector<std::string> frames_of(std::string_view s, size_t chunk, bool* too_large) {
  // Small enough that inputs of libFuzzer's sizes reach the refusal too.
  FrameReader reader(1024);
  std::vector<std::string> out;
  *too_large = false;
  for (size_t off = 0; off < s.size() && !*too_large; off += chunk) {
    const std::string_view piece = s.substr(off, chunk);
    reader.feed(piece.data(), piece.size());
    for (;;) {
      std::string_view payload;
      size_t claimed = 0;
      const FrameReader::Next next = reader.next(&payload, &claimed);
      if (next == FrameReader::Next::kNeedMore) break;
      if (next == FrameReader::Next::kTooLarge) {
        FUZZ_CHECK(claimed > reader.max_payload_bytes());
        *too_large = true;
        break;
      }
      FUZZ_CHECK(payload.size() <= reader.max_payload_bytes());
      out.emplace_back(payload);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = shoal::fuzz::view(data, size);
  bool whole_too_large = false, cut_too_large = false;
  const std::vector<std::string> whole = frames_of(s, s.size() + 1, &whole_too_large);
  const std::vector<std::string> cut = frames_of(s, shoal::fuzz::chunk_of(s), &cut_too_large);
  FUZZ_CHECK(whole == cut);
  FUZZ_CHECK(whole_too_large == cut_too_large);
  std::string reframed;
  for (const std::string& f : whole) shoal::api::append_frame(&reframed, f);
  FUZZ_CHECK(s.substr(0, reframed.size()) == reframed);
  return 0;
}
