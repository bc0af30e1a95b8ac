// Jepsen-style checkers over recorded histories (DESIGN.md §7), used by the simulator
// (tests/sim) and by `shoal check`. Pure: no sockets, clocks or threads.
//
// A history is a list of events. An attempt is an `invoke` followed by exactly one
// completion with the same `op` number: `ok` (it happened), `fail` (it certainly did not:
// the answer was one the docs call definite, classify() below), or `info`
// (indeterminate: a timeout, or no answer at all). A client may retry an operation: every
// attempt then carries the operation's `op_id` (the id the node deduplicates by), and
// the attempts of one id form one logical operation, which is ok if any attempt was ok,
// failed only if every attempt definitely failed, and indeterminate otherwise. After the
// run heals and goes quiet, every node's copy of every key is recorded as a `read`
// (LOCAL, one per node and key). `nemesis` events record faults for the timeline.
// Histories are stored as JSON lines (one event each).
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
//  - convergence: every node read the same state of every key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/dot.h"
#include "crdt/status.h"

namespace shoal::check {

enum class EventType { kInvoke, kOk, kFail, kInfo, kRead, kNemesis };
std::string_view event_type_name(EventType t);

struct Event {
  EventType type = EventType::kInvoke;
  uint64_t time_ms = 0;  // since the start of the run
  uint32_t process = 0;  // the client (lane in the timeline)
  uint64_t op = 0;       // an attempt: its invoke and its completion share it
  std::string op_id;     // the operation id every attempt of one operation carries
  // Ops: "counter_add", "set_add", "set_remove", "put". Reads: "counter", "set",
  // "register". Nemesis: what happened ("partition", "heal", "kill", "restart", ...).
  std::string f;
  std::string key;
  int64_t delta = 0;                    // counter_add
  std::string element;                  // set_add / set_remove; put: the value
  std::optional<crdt::Dot> dot;         // ok set_add / put: the dot it minted, if known
  std::optional<crdt::DotContext> ctx;  // set_remove / put: the context it carried
  std::string node;                     // ops: the coordinator; reads: the node read
  std::string detail;                   // errors, nemesis arguments, consistency
  // Reads: found, and the counter value or the set's members / register's siblings.
  bool found = false;
  int64_t counter = 0;
  std::vector<std::string> values;
};

// How a client must read an answer to an update (docs/semantics.md, "Errors"; DESIGN.md
// §3): ok is kOk; the errors the docs promise mean "nothing was applied anywhere"
// (invalid_argument, type_mismatch, unavailable, too_large, unauthorized, and overloaded:
// a node answers timeout, never overloaded, once any replica may have applied the write)
// are kFail; everything else (timeout, internal, corruption, not_found, which promise
// nothing for an update) is kInfo. No answer at all is kInfo too.
EventType classify(const Status& answer);
// Whether a client retries an attempt that ended with `outcome`/`code` (no answer: kInfo):
// indeterminate ones, and the definite failures another node may not have (unavailable,
// overloaded), through another node with the same operation id.
bool worth_retrying(EventType outcome, Code code);

std::string to_json_line(const Event& e);
Result<Event> parse_json_line(std::string_view line);
// Parses a whole JSON-lines file; the first bad line is an error naming it.
Result<std::vector<Event>> parse_history(std::string_view text);

// The promises a violation can break, as the violation messages name them.
inline constexpr std::string_view kLostAckedWrite = "lost acknowledged write";
inline constexpr std::string_view kDoubleCountedRetry = "double-counted retry";
inline constexpr std::string_view kFailedButApplied = "unavailable-but-applied";

struct Summary {
  uint64_t ops = 0, ok = 0, failed = 0, indeterminate = 0;  // logical operations
  uint64_t attempts = 0, retried = 0;  // attempts; operations with more than one
  uint64_t counter_keys = 0, set_keys = 0, register_keys = 0, reads = 0;
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
