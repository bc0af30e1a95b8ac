// JSON for the HTTP API and the tools, through nlohmann-json (Debian's
// nlohmann-json3-dev). parse() is the one entry for untrusted text: nesting is bounded by
// kMaxDepth (the caller bounds the size), and malformed input is a Status, never a throw.
// Shoal's keys, values and elements are bytes: bytes() writes valid UTF-8 as a JSON string
// and anything else as {"base64": "..."}; bytes_of() reads either back.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace shoal::json {

// Objects keep the order fields were added in, so output reads in the documented order.
using Json = nlohmann::ordered_json;

constexpr int kMaxDepth = 16;

// Exactly one JSON value (surrounding whitespace allowed). invalid_argument
// "malformed JSON at byte N: ..." for anything else, including nesting past kMaxDepth.
Result<Json> parse(std::string_view text);

// Compact text (no spaces). Never throws: bytes that are not UTF-8 cannot reach it
// through bytes(), and any that do are replaced by U+FFFD.
std::string dump(const Json& v);

// A byte string: a JSON string when it is valid UTF-8, else {"base64": "..."}.
Json bytes(std::string_view b);
// x rounded to `places` decimals, so output shows what a reader can use, not float noise.
double rounded(double x, int places);
// An array of bytes() values.
Json bytes_array(const std::vector<std::string>& items);
// The inverse of bytes(); nullopt for any other value (or bad base64).
std::optional<std::string> bytes_of(const Json& v);
// A number written without fraction or exponent that fits a signed 64-bit integer.
std::optional<int64_t> int64_of(const Json& v);
// A number written without fraction, sign or exponent that fits 64 unsigned bits.
std::optional<uint64_t> uint64_of(const Json& v);

}  // namespace shoal::json
