// The history of a run (the simulator's or `shoal check`'s) and its JSON-lines form: the
// events the checkers (tools/checker.h) judge, and how a client must read an answer.
// Pure: no sockets, clocks or threads.
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
// Parse errors are invalid_argument naming the field (and, for a file, the line).
#pragma once

#include <cstdint>
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

}  // namespace shoal::check
