#include "node/core/keys.h"

#include <algorithm>

#include "crdt/assert.h"
#include "crdt/coding.h"

namespace shoal::core {

using coding::get_be;
using coding::put_be;

std::string data_key(uint64_t hash, std::string_view bucket, std::string_view key) {
  return std::string(DataKeyBuffer(hash, bucket, key).view());
}

DataKeyBuffer::DataKeyBuffer(uint64_t hash, std::string_view bucket, std::string_view key)
    : size_(13 + bucket.size() + key.size()) {
  if (size_ > kInlineBytes) heap_.resize(size_);
  char* start = heap_.empty() ? inline_ : heap_.data();
  char* out = start;
  *out++ = kDataPrefix;
  out = put_be(out, hash, 8);
  out = put_be(out, bucket.size(), 4);
  out = std::copy(bucket.begin(), bucket.end(), out);
  out = std::copy(key.begin(), key.end(), out);
  SHOAL_ASSERT(static_cast<size_t>(out - start) == size_);
}

std::optional<DataKey> parse_data_key(std::string_view s) {
  if (s.size() < 13 || s[0] != kDataPrefix) return std::nullopt;
  DataKey k;
  k.hash = get_be(s.substr(1), 8);
  const uint64_t blen = get_be(s.substr(9), 4);
  if (blen > s.size() - 13) return std::nullopt;
  k.bucket = std::string(s.substr(13, blen));
  k.key = std::string(s.substr(13 + blen));
  return k;
}

constexpr uint64_t kElementFlag = uint64_t{1} << 31;
constexpr uint64_t kOpFlag = uint64_t{1} << 30;

namespace {
std::string sub_prefix(uint64_t hash, std::string_view bucket, std::string_view key,
                       uint64_t flag) {
  std::string out;
  out.reserve(17 + bucket.size() + key.size());
  out.push_back(kDataPrefix);
  put_be(&out, hash, 8);
  put_be(&out, bucket.size() | flag, 4);
  out.append(bucket);
  put_be(&out, key.size(), 4);
  out.append(key);
  return out;
}
}  // namespace

std::string element_prefix(uint64_t hash, std::string_view bucket, std::string_view key) {
  return sub_prefix(hash, bucket, key, kElementFlag);
}

std::string op_prefix(uint64_t hash, std::string_view bucket, std::string_view key) {
  return sub_prefix(hash, bucket, key, kOpFlag);
}

std::string op_row_key(std::string_view prefix, uint64_t op) {
  std::string out(prefix);
  put_be(&out, op, 8);
  return out;
}

bool is_op_row(std::string_view stored) {
  return stored.size() >= 13 && stored[0] == kDataPrefix && (get_be(stored.substr(9), 4) & kOpFlag);
}

bool is_element_row(std::string_view stored) {
  return stored.size() >= 13 && stored[0] == kDataPrefix &&
         (get_be(stored.substr(9), 4) & kElementFlag);
}

std::string_view element_prefix_of(std::string_view stored) {
  if (!is_element_row(stored)) return {};
  const uint64_t word = get_be(stored.substr(9), 4);
  if (word & kOpFlag) return {};
  const uint64_t blen = word & ~kElementFlag;
  if (blen > stored.size() - 13 || stored.size() - 13 - blen < 4) return {};
  const uint64_t klen = get_be(stored.substr(13 + blen), 4);
  if (klen > stored.size() - 17 - blen) return {};
  return stored.substr(0, 17 + blen + klen);
}

std::string element_rows_lower_bound(uint64_t hash) {
  std::string out(1, kDataPrefix);
  put_be(&out, hash, 8);
  put_be(&out, kElementFlag, 4);
  return out;
}

std::optional<DataKey> parse_data_row(std::string_view s, bool* is_element, std::string* elem) {
  if (s.size() < 13 || s[0] != kDataPrefix) return std::nullopt;
  const uint64_t word = get_be(s.substr(9), 4);
  *is_element = (word & (kElementFlag | kOpFlag)) != 0;
  if (!*is_element) return parse_data_key(s);
  const uint64_t blen = word & ~(kElementFlag | kOpFlag);
  if (blen > s.size() - 13 || s.size() - 13 - blen < 4) return std::nullopt;
  const uint64_t klen = get_be(s.substr(13 + blen), 4);
  if (klen > s.size() - 17 - blen) return std::nullopt;
  DataKey k;
  k.hash = get_be(s.substr(1), 8);
  k.bucket = std::string(s.substr(13, blen));
  k.key = std::string(s.substr(17 + blen, klen));
  if (elem) *elem = std::string(s.substr(17 + blen + klen));
  return k;
}

std::string data_key_lower_bound(uint64_t hash) {
  std::string out(1, kDataPrefix);
  put_be(&out, hash, 8);
  return out;
}

std::string meta_key(std::string_view name) {
  std::string out(1, kMetaPrefix);
  out.append(name);
  return out;
}

std::string data_key_end() { return std::string(1, kDataPrefix + 1); }

std::string hint_prefix(std::string_view target) {
  std::string out(1, kHintPrefix);
  put_be(&out, target.size(), 4);
  out.append(target);
  return out;
}

std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  SHOAL_ASSERT(!prefix.empty());
  prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

std::string hint_prefix_end(std::string_view target) {
  return hint_prefix(target) + static_cast<char>(kDataPrefix + 1);
}

std::string hint_key(std::string_view target, std::string_view data_key) {
  return hint_prefix(target).append(data_key);
}

std::optional<HintKey> parse_hint_key(std::string_view s) {
  if (s.size() < 5 || s[0] != kHintPrefix) return std::nullopt;
  const uint64_t tlen = get_be(s.substr(1), 4);
  if (tlen > s.size() - 5) return std::nullopt;
  HintKey k{std::string(s.substr(5, tlen)), std::string(s.substr(5 + tlen))};
  if (!parse_data_key(k.data_key)) return std::nullopt;
  return k;
}

}  // namespace shoal::core
