#include "node/core/key_filter.h"

#include <bit>

#include "crdt/assert.h"
#include "crdt/coding.h"
#include "node/core/keys.h"

namespace shoal::core {
namespace {

// Key hashes place keys on the ring, so those one node holds share their high bits
// (its arcs): mixed first (splitmix64's finalizer), so every bit is spread.
uint64_t mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

constexpr int kBitsPerKey = 4;  // probes, all in one block: 4 fields of 9 bits of the hash

}  // namespace

KeyFilter::KeyFilter(size_t bytes) {
  SHOAL_ASSERT(bytes == 0 || (bytes >= kBlockBytes && bytes <= kMaxBytes));
  blocks_ = bytes == 0 ? 0 : std::bit_floor(bytes / kBlockBytes);
  restart();
}

void KeyFilter::restart() {
  built_ = false;
  cursor_.clear();
  if (blocks_ == 0) return;
  // calloc: the kernel hands out zero pages as they are first written, so a node with few
  // keys does not hold the whole filter in memory.
  bits_.reset(static_cast<uint64_t*>(std::calloc(blocks_ * kWordsPerBlock, sizeof(uint64_t))));
  SHOAL_ASSERT(bits_ != nullptr, "the key filter's memory");
}

uint64_t* KeyFilter::block(uint64_t mixed) const {
  // The high bits pick the block (blocks_ is a power of two); the low 36 bits the probes.
  return bits_.get() + (mixed >> 40 & (blocks_ - 1)) * kWordsPerBlock;
}

void KeyFilter::add(uint64_t key_hash) {
  if (blocks_ == 0) return;
  const uint64_t m = mix(key_hash);
  uint64_t* b = block(m);
  for (int i = 0; i < kBitsPerKey; ++i) {
    const uint64_t field = m >> (9 * i) & 511;
    b[field >> 6] |= uint64_t{1} << (field & 63);
  }
}

bool KeyFilter::may_hold(uint64_t key_hash) const {
  if (!built_) return true;
  const uint64_t m = mix(key_hash);
  const uint64_t* b = block(m);
  for (int i = 0; i < kBitsPerKey; ++i) {
    const uint64_t field = m >> (9 * i) & 511;
    if (!(b[field >> 6] >> (field & 63) & 1)) {
      ++spared_;
      return false;
    }
  }
  return true;
}

Status KeyFilter::build_step(Store& store, size_t max_rows) {
  if (built_ || blocks_ == 0) return Status::ok();
  SHOAL_ASSERT(max_rows >= 1);
  const std::string from = cursor_.empty() ? data_key_lower_bound(0) : cursor_;
  size_t seen = 0;
  bool finished = true;
  Status s = store.walk(from, data_key_end(), [&](std::string_view k, std::string_view) {
    if (seen == max_rows) {
      cursor_ = std::string(k);
      finished = false;
      return false;
    }
    ++seen;
    // Heads and their set and record rows alike start 'd' + the key's hash (keys.h); a
    // row too short for that (a damaged store) is no key's head.
    if (k.size() >= 9) add(coding::get_be64(k.substr(1, 8)));
    return true;
  });
  if (!s.is_ok()) return s;
  built_ = finished;
  return Status::ok();
}

}  // namespace shoal::core
