// Jepsen-style checkers over recorded histories (DESIGN.md §7), used by the simulator
// (tests/sim) and by `shoal check`. Pure: no sockets, clocks or threads.
//
// A history is a list of events. A client operation is an `invoke` followed by exactly
// one completion with the same `op` id: `ok` (it happened), `fail` (it certainly did not:
// refused before any replica applied it), or `info` (indeterminate: it may or may not
// have happened, e.g. a timeout). After the run heals and goes quiet, every node's copy
// of every key is recorded as a `read` (LOCAL, one per node and key). `nemesis` events
// record faults for the timeline. Histories are stored as JSON lines (one event each).
//
// Properties (each a violation when broken):
//  - counter: every node's value is within [sum of ok deltas + negative info deltas,
//    sum of ok deltas + positive info deltas];
//  - set: an element acknowledged as added is present unless a remove (ok or info)
//    observed that add (its context holds the add's dot; without dots, a remove invoked
//    after the add counts as possibly observing it); no element is present that no add
//    (ok or info) named, or whose every add was observed by an acknowledged remove;
//  - register: a value acknowledged as written is a sibling unless a write (ok or info)
//    whose context holds its dot superseded it; no sibling was never written;
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
  uint64_t op = 0;       // an invoke and its completion share it
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

std::string to_json_line(const Event& e);
Result<Event> parse_json_line(std::string_view line);
// Parses a whole JSON-lines file; the first bad line is an error naming it.
Result<std::vector<Event>> parse_history(std::string_view text);

struct Summary {
  uint64_t ops = 0, ok = 0, failed = 0, indeterminate = 0;
  uint64_t counter_keys = 0, set_keys = 0, register_keys = 0, reads = 0;
  uint64_t acked_set_adds = 0, acked_writes = 0;
  uint64_t lost = 0, phantoms = 0, out_of_bounds = 0, diverged_keys = 0;
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
