#include "node/api/glob.h"

#include <algorithm>
#include <utility>

#include "crdt/assert.h"

namespace shoal::glob {

namespace {

// Matches the class starting at pattern[p] == '[' against `c`; *next is past its `]`
// (or the pattern's end: an unclosed class ends there, as in Redis).
bool match_class(std::string_view pattern, size_t p, unsigned char c, size_t* next,
                 uint64_t* steps) {
  ++p;
  const bool negate = p < pattern.size() && pattern[p] == '^';
  if (negate) ++p;
  bool found = false;
  while (p < pattern.size() && pattern[p] != ']') {
    ++*steps;
    if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      found = found || static_cast<unsigned char>(pattern[p + 1]) == c;
      p += 2;
    } else if (p + 2 < pattern.size() && pattern[p + 1] == '-') {
      unsigned char lo = static_cast<unsigned char>(pattern[p]);
      unsigned char hi = static_cast<unsigned char>(pattern[p + 2]);
      if (lo > hi) std::swap(lo, hi);
      found = found || (c >= lo && c <= hi);
      p += 3;
    } else {
      found = found || static_cast<unsigned char>(pattern[p]) == c;
      ++p;
    }
  }
  *next = p < pattern.size() ? p + 1 : p;
  return found != negate;
}

// Whether the one-byte token at pattern[p] (not `*`) matches `c`; *next is past it.
bool match_one(std::string_view pattern, size_t p, char c, size_t* next, uint64_t* steps) {
  switch (pattern[p]) {
    case '?':
      *next = p + 1;
      return true;
    case '[':
      return match_class(pattern, p, static_cast<unsigned char>(c), next, steps);
    case '\\':
      if (p + 1 < pattern.size()) {
        *next = p + 2;
        return pattern[p + 1] == c;
      }
      break;  // a trailing backslash is itself
    default:
      break;
  }
  *next = p + 1;
  return pattern[p] == c;
}

}  // namespace

std::optional<bool> match(std::string_view pattern, std::string_view subject,
                          uint64_t* budget_steps) {
  SHOAL_ASSERT(budget_steps != nullptr);
  constexpr size_t kNone = SIZE_MAX;
  size_t p = 0, i = 0, star_p = kNone, star_i = 0;
  uint64_t steps = 0;
  while (i < subject.size()) {
    if (++steps > *budget_steps) {
      *budget_steps = 0;
      return std::nullopt;
    }
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      if (p == pattern.size()) break;  // a trailing `*` takes the rest
      star_p = p;
      star_i = i;
      continue;
    }
    size_t next = p;
    if (p < pattern.size() && match_one(pattern, p, subject[i], &next, &steps)) {
      p = next;
      ++i;
      continue;
    }
    if (star_p == kNone) {
      *budget_steps -= std::min(steps, *budget_steps);
      return false;
    }
    p = star_p;  // the last `*` takes one more byte
    i = ++star_i;
  }
  *budget_steps -= std::min(steps, *budget_steps);
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace shoal::glob
