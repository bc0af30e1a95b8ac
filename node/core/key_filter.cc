#include "node/core/key_filter.h"

#include <bit>

#define XXH_INLINE_ALL  // no ABI to match, inlined into the one call
#include <xxhash.h>

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
// Operation records of one hash in a row: past this many, the walk seeks past the rest to
// the hash's element rows (a key may keep 100,000 records; none of them is looked up here).
constexpr size_t kOpRowsPerKey = 64;

uint64_t row_hash(std::string_view element_row) {
  return XXH3_64bits(element_row.data(), element_row.size());
}

}  // namespace

KeyFilter::KeyFilter(size_t bytes) {
  SHOAL_ASSERT(bytes == 0 || (bytes >= kBlockBytes && bytes <= kMaxBytes));
  blocks_ = bytes == 0 ? 0 : std::bit_floor(bytes / kBlockBytes);
  if (blocks_ == 0) return;
  // calloc: the kernel hands out zero pages as they are first written, so the filter is
  // resident only as keys land. Without the memory, no filter (every read searches).
  bits_.reset(static_cast<uint64_t*>(std::calloc(blocks_ * kWordsPerBlock, sizeof(uint64_t))));
  if (!bits_) blocks_ = 0;
}

void KeyFilter::restart() {
  // The bits stay: a key that left the store only makes the filter say "maybe".
  built_ = false;
  cursor_.clear();
  op_run_hash_ = op_run_ = 0;
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

void KeyFilter::prefetch(uint64_t key_hash) const {
  if (blocks_ > 0) __builtin_prefetch(block(mix(key_hash)));
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

void KeyFilter::add_row(std::string_view element_row) {
  if (blocks_ != 0) add(row_hash(element_row));
}

bool KeyFilter::may_hold_row(std::string_view element_row) const {
  return !built_ || may_hold(row_hash(element_row));
}

// One row of the walk: its key's hash in, and its whole key if it is an element row. An
// empty answer: go on; else where the walk goes on (past the rest of a key's records).
std::string KeyFilter::walk_row(std::string_view k) {
  // Every row of a key starts 'd' + its hash (keys.h); a row too short for that (a
  // damaged store) is no key's.
  if (k.size() < 9) return {};
  const uint64_t hash = coding::get_be64(k.substr(1, 8));
  add(hash);
  if (is_element_row(k)) {
    if (!walk_skips_members_) add_row(k);
    return {};
  }
  if (!is_op_row(k)) return {};
  // The run goes on across steps (the cursor is where it stopped).
  op_run_ = hash == op_run_hash_ ? op_run_ + 1 : 1;
  op_run_hash_ = hash;
  if (op_run_ < kOpRowsPerKey) return {};
  op_run_ = 0;
  return element_rows_lower_bound(hash);
}

Status KeyFilter::build_step(Store& store, size_t max_rows, size_t max_bytes) {
  if (built_ || blocks_ == 0) return Status::ok();
  SHOAL_ASSERT(max_rows >= 1 && max_bytes >= 1);
  size_t rows = 0, bytes = 0;
  while (rows < max_rows && bytes < max_bytes) {
    std::string next;  // where the walk goes on; empty: it reached the end
    Status s = store.walk(cursor_.empty() ? data_key_lower_bound(0) : cursor_, data_key_end(),
                          [&](std::string_view k, std::string_view v) {
                            if (rows == max_rows || bytes >= max_bytes) {
                              next = std::string(k);
                              return false;
                            }
                            ++rows;
                            bytes += k.size() + v.size();
                            next = walk_row(k);
                            return next.empty();
                          });
    // A failed walk keeps its cursor: a store may report a block it could not read only
    // at the end, after passing over the rows in it.
    if (!s.is_ok()) return s;
    cursor_ = std::move(next);
    if (cursor_.empty()) {
      built_ = true;
      break;
    }
  }
  return Status::ok();
}

}  // namespace shoal::core
