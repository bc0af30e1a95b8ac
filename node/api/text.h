// Small text helpers for the CLI and tools: base64 (contexts) and JSON strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shoal::text {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
bool valid_utf8(std::string_view s);
// A JSON string literal (quoted, escaped). REQUIRES: valid_utf8(s).
std::string json_string(std::string_view s);
// Bytes as JSON: a string when valid UTF-8, else {"base64": "..."}.
std::string json_bytes(std::string_view s);

}  // namespace shoal::text
