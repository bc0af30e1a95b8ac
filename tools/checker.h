// Jepsen-style checkers over recorded histories (DESIGN.md §7), used by the simulator
// (tests/sim) and by `shoal check`. Pure: no sockets, clocks or threads.
//
// They judge a history (tools/history.h: the events, their JSON-lines form, and how a
// client must read an answer) by logical operations, the attempts that share an
// operation id, and by the final reads of every node.
//
// Properties, each a violation naming the promise it breaks (see Promise):
//  - counter: every node's value is within [sum of ok deltas + negative indeterminate
//    deltas, sum of ok deltas + positive indeterminate deltas], each logical operation
//    counted once however many attempts it took. Below: a lost acknowledged write; above:
//    a retry counted twice, or a write answered as failed that was applied (the message
//    says which bound, counting every attempt or every failed one, explains the value);
//  - set: an element acknowledged as added is present unless a remove (ok or
//    indeterminate) observed that add (its context holds the add's dot; without dots, a
//    remove invoked after the add counts as possibly observing it); no element is present
//    that no attempt that was not a definite failure added (else: applied though answered
//    as failed), or whose every add was observed by an acknowledged remove. Each attempt
//    of an add may mint its own dot (a repeated add is harmless), so observation is
//    judged per attempt;
//  - register: a value acknowledged as written is a sibling unless a write (ok or
//    indeterminate) whose context holds the dot of one of its attempts superseded it; no
//    sibling was never written, or written only by definitely failed attempts; no value
//    is a sibling twice (a retried write took effect twice);
//  - convergence: every node read the same state of every key;
//  - client reads: a `read` event with an op number (not 0) is a client's read during
//    the run (the simulator records them; final reads have op 0). Any consistency may
//    return stale or partial state, so it is checked for phantoms only: every value it
//    returned was written by an attempt that was not a definite failure, a counter within
//    the deltas of such attempts. A damaged disk's bytes served as a value break this.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/history.h"

namespace shoal::check {

// The promises a violation can break, as the violation messages name them.
inline constexpr std::string_view kLostAckedWrite = "lost acknowledged write";
inline constexpr std::string_view kDoubleCountedRetry = "double-counted retry";
inline constexpr std::string_view kFailedButApplied = "unavailable-but-applied";

struct Summary {
  uint64_t ops = 0, ok = 0, failed = 0, indeterminate = 0;  // logical operations
  uint64_t attempts = 0, retried = 0;  // attempts; operations with more than one
  uint64_t counter_keys = 0, set_keys = 0, register_keys = 0, reads = 0, client_reads = 0;
  uint64_t acked_set_adds = 0, acked_writes = 0;
  // Violations by promise: lost acknowledged writes (set adds, and removes whose element
  // is back; register writes; counters below their bound), retries that took effect
  // twice, definite failures that were applied.
  uint64_t lost = 0, double_counted = 0, failed_applied = 0;
  uint64_t phantoms = 0, out_of_bounds = 0, diverged_keys = 0;
  uint64_t nemesis_events = 0;
};

struct Verdict {
  bool valid = true;
  std::vector<std::string> violations;  // at most kMaxViolations, each one sentence
  Summary summary;
};

constexpr size_t kMaxViolations = 50;

// Checks every property over the history. A history without reads checks nothing but
// its own shape (every invoke completed once): a run that never read is not valid.
Verdict check_history(const std::vector<Event>& history);

// A fixed-width table of the summary and the verdict (what `shoal check` prints).
std::string summary_table(const Verdict& v);

// A self-contained HTML page: one lane per client with its operations as bars coloured
// by outcome, faults as shaded bands, the verdict on top. No scripts from elsewhere.
std::string timeline_html(const std::vector<Event>& history, const Verdict& v,
                          const std::string& title);

}  // namespace shoal::check
