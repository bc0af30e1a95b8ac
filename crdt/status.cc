#include "crdt/status.h"

#include <array>

namespace shoal {
namespace {
constexpr std::array<std::string_view, 11> kNames = {
    "ok",        "not_found",  "invalid_argument", "type_mismatch", "unavailable", "timeout",
    "too_large", "overloaded", "unauthorized",     "corruption",    "internal",
};
}  // namespace

std::string_view code_name(Code code) {
  auto i = static_cast<size_t>(code);
  return i < kNames.size() ? kNames[i] : std::string_view("internal");
}

std::optional<Code> code_from_name(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Code>(i);
  }
  return std::nullopt;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string s(code_name(code_));
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace shoal
