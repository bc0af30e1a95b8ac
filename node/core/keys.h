// The store's key spaces (DESIGN.md §5). One LevelDB per node; the first byte says
// which space a key is in:
//
//   'd' u64_be(key_hash) u32_be(len(bucket)) bucket key   -> encoded Object; for a set,
//                                                            its head (context, deferred)
//   'd' u64_be(key_hash) u32_be(len(bucket) | 1<<31) bucket u32_be(len(key)) key elem
//                                                         -> one set element's dots
//   'd' u64_be(key_hash) u32_be(len(bucket) | 1<<30) bucket u32_be(len(key)) key
//       u64_be(op key)                                    -> one operation record
//                                                            (op_log.h) of the key
//   'm' name                                              -> node metadata
//   'h' u32_be(len(target)) target data_key               -> u64_be(first hint wall ms)
//                                                            ‖ encoded Object (joined deltas)
//
// Data keys start with the big-endian key hash, so any ring arc (start, end] is one or
// two contiguous ranges of the store (handoff and anti-entropy scan them). A set's
// element rows share its hash, so they sort with it; one add rewrites only its element
// row and the small head, never the whole set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shoal::core {

constexpr char kDataPrefix = 'd';
constexpr char kMetaPrefix = 'm';
constexpr char kHintPrefix = 'h';

struct DataKey {
  uint64_t hash = 0;
  std::string bucket;
  std::string key;
  bool operator==(const DataKey&) const = default;
};

std::string data_key(uint64_t hash, std::string_view bucket, std::string_view key);
// data_key()'s bytes, on the stack when they fit: every write builds its key two or three
// times, and 13 + bucket + key bytes is past std::string's 15 inline ones, so a
// std::string would cost an allocation each time. Not copyable (the view points into it).
class DataKeyBuffer {
 public:
  DataKeyBuffer(uint64_t hash, std::string_view bucket, std::string_view key);
  DataKeyBuffer(const DataKeyBuffer&) = delete;
  DataKeyBuffer& operator=(const DataKeyBuffer&) = delete;
  std::string_view view() const { return {heap_.empty() ? inline_ : heap_.data(), size_}; }
  operator std::string_view() const { return view(); }  // NOLINT: a key wherever one is read

 private:
  static constexpr size_t kInlineBytes = 96;
  char inline_[kInlineBytes];
  size_t size_;
  std::string heap_;  // the key when it is longer than kInlineBytes
};
// nullopt if `stored` is not a well-formed data key.
std::optional<DataKey> parse_data_key(std::string_view stored);
// Element rows of the set stored under (hash, bucket, key) lie in
// [element_prefix(...), element_prefix(...) + 0xff...): element_key = prefix + elem.
std::string element_prefix(uint64_t hash, std::string_view bucket, std::string_view key);
// The operation records of (hash, bucket, key): op_row_key(op_prefix(...), op key).
std::string op_prefix(uint64_t hash, std::string_view bucket, std::string_view key);
std::string op_row_key(std::string_view op_prefix, uint64_t op);
bool is_op_row(std::string_view stored);
// A set's element row (element_prefix + member), told from its first 13 bytes.
bool is_element_row(std::string_view stored);
// The element_prefix() a well-formed element row starts with (a view into `stored`);
// empty for any other row. Parses nothing else and copies nothing: anti-entropy asks it
// of every row it scans.
std::string_view element_prefix_of(std::string_view stored);
// Parses any kind of data row; `is_element` says it is one of a key's own rows (a set
// element or an operation record) rather than the key's head; `elem` (may be null) gets
// what follows the key in such a row.
std::optional<DataKey> parse_data_row(std::string_view stored, bool* is_element, std::string* elem);
// The smallest data key whose hash is >= `hash` (a scan bound).
std::string data_key_lower_bound(uint64_t hash);
// The smallest element row of any key with this hash: the hash's heads and operation
// records all sort before it.
std::string element_rows_lower_bound(uint64_t hash);
std::string meta_key(std::string_view name);
// The past-the-end bound of all data keys.
std::string data_key_end();
// The past-the-end bound of every key starting with `prefix`. REQUIRES: `prefix` has a
// byte other than 0xff.
std::string prefix_end(std::string prefix);

std::string hint_key(std::string_view target, std::string_view data_key);
// Every hint for `target` lies in [hint_prefix(target), hint_prefix_end(target)).
std::string hint_prefix(std::string_view target);
std::string hint_prefix_end(std::string_view target);
struct HintKey {
  std::string target;
  std::string data_key;
};
std::optional<HintKey> parse_hint_key(std::string_view stored);

}  // namespace shoal::core
