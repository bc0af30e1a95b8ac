#include "crdt/assert.h"

#include <cstdio>
#include <cstdlib>

namespace shoal {
namespace {
InvariantHandler g_handler = nullptr;  // set once, before threads start
}  // namespace

void set_invariant_handler(InvariantHandler handler) { g_handler = handler; }

void invariant_failed(const char* condition, const char* file, int line, const char* why) {
  char message[1024];
  std::snprintf(message, sizeof message, "invariant failed: %s at %s:%d%s%s", condition, file, line,
                why[0] != '\0' ? ": " : "", why);
  if (InvariantHandler h = g_handler) {
    h(message);
  } else {
    std::fprintf(stderr, "%s\n", message);
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace shoal
