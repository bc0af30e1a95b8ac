// The store's key spaces (DESIGN.md §5). One LevelDB per node; the first byte says
// which space a key is in:
//
//   'd' u64_be(key_hash) u32_be(len(bucket)) bucket key   -> encoded Object
//   'm' name                                              -> node metadata
//
// Data keys start with the big-endian key hash, so any ring arc (start, end] is one or
// two contiguous ranges of the store (handoff and anti-entropy scan them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shoal::core {

constexpr char kDataPrefix = 'd';
constexpr char kMetaPrefix = 'm';

struct DataKey {
  uint64_t hash = 0;
  std::string bucket;
  std::string key;
  bool operator==(const DataKey&) const = default;
};

std::string data_key(uint64_t hash, std::string_view bucket, std::string_view key);
// nullopt if `stored` is not a well-formed data key.
std::optional<DataKey> parse_data_key(std::string_view stored);
// The smallest data key whose hash is >= `hash` (a scan bound).
std::string data_key_lower_bound(uint64_t hash);
std::string meta_key(std::string_view name);

}  // namespace shoal::core
