// Small text helpers for the API and tools: base64 (contexts, bytes in JSON) and UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shoal::text {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points past U+10FFFF.
bool valid_utf8(std::string_view s);

}  // namespace shoal::text
