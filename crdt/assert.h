// SHOAL_ASSERT: invariants checked in every build.
//
// <cassert> is compiled out wherever NDEBUG is defined (every optimised build), so a
// broken invariant would run on over bad state. SHOAL_ASSERT(condition) and
// SHOAL_ASSERT(condition, "why") check always: a failed one is a bug in this process,
// never an expected failure (those are a Status), so the process stops at once with
// where it failed and, through the installed handler, how to find it again (the
// simulator names the seed that replays it; shoald writes it to its log).
//
// Keep them cheap: O(1), or linear only in what the operation already touches.
#pragma once

namespace shoal {

// Receives "invariant failed: <condition> at <file>:<line>[: <why>]" and reports it with
// context (where, how to replay). The process aborts when it returns.
using InvariantHandler = void (*)(const char* message);

// Installs the process-wide handler; nullptr restores the default (stderr only).
// REQUIRES: no other thread runs meanwhile (a program installs it once, at start; the core
// never touches threads, so the handler is a plain pointer).
void set_invariant_handler(InvariantHandler handler);

// Called by SHOAL_ASSERT. Runs the handler (default: the message to stderr), aborts.
[[noreturn]] void invariant_failed(const char* condition, const char* file, int line,
                                   const char* why);

}  // namespace shoal

// The optional second argument must be a string literal.
#define SHOAL_ASSERT(condition, ...)                 \
  (__builtin_expect(static_cast<bool>(condition), 1) \
       ? static_cast<void>(0)                        \
       : ::shoal::invariant_failed(#condition, __FILE__, __LINE__, "" __VA_ARGS__))
