// Glob patterns as Redis matches them (SSCAN ... MATCH): `*` any run of bytes, `?` one
// byte, `[abc]`, `[a-z]`, `[^a-z]` a byte in (or not in) a class, `\x` the byte x. Both
// pattern and subject are bytes (NUL included), unlike fnmatch(3).
//
// A pattern is matched in O(|pattern| x |subject|) steps at worst (one backtrack point:
// the last `*`), never exponentially; the caller gives a step budget shared by a whole
// command, so one client's pattern cannot hold the event loop (docs/resp.md, "Limits").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace shoal::glob {

// Whether `subject` matches `pattern`; nullopt when more than *budget_steps steps would
// be needed (the budget is then 0). Each step takes one from *budget_steps.
// REQUIRES: budget_steps != nullptr.
std::optional<bool> match(std::string_view pattern, std::string_view subject,
                          uint64_t* budget_steps);

}  // namespace shoal::glob
