// Update: one client mutation, and how a replica applies it (pure).
//
// CRDT updates are applied on one replica, which mints the dot with its own actor; the
// returned delta then goes to the other replicas, which join it (DESIGN.md §5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crdt/dot.h"
#include "node/core/object.h"

namespace shoal::core {

constexpr size_t kMaxValueBytes = 1 << 20;     // one register value, lww value, set element
constexpr size_t kMaxSetElementsPerOp = 1024;  // elements in one set_add / set_remove
constexpr size_t kMaxOpIdBytes = 64;           // a client's operation id (idempotency key)
// A register write a replica mints must leave at most kMaxSiblings siblings (too_large
// otherwise: a write with the context of a read that saw them resolves them); one that
// leaves kWarnSiblings or more is counted (Riak: warns at 25, refuses at 100). Joins of
// other replicas' writes are never refused, so a key may hold more. The refusal answers
// this attempt: an earlier attempt of the same operation id that timed out may have been
// applied elsewhere (docs/semantics.md).
constexpr size_t kMaxSiblings = 100;
constexpr size_t kWarnSiblings = 25;
// The same for bytes: the values a register write leaves (the siblings it does not
// supersede and its own) hold at most kMaxSiblingBytes, so a key's state, joined from a
// few replicas, fits one peer frame (kMaxPeerFrameBytes, 64 MiB) for repair and handoff
// (Riak refuses objects over 50 MB). 81 concurrent 1 MiB siblings made a repair too big
// to send: the replica that missed one never converged (issue #14, case 9).
constexpr size_t kMaxSiblingBytes = 16u << 20;

struct Update {
  enum class Kind : uint8_t { kPut, kDelete, kCounterAdd, kSetAdd, kSetRemove };
  Kind kind = Kind::kPut;
  DataType type = DataType::kRegister;      // kPut/kDelete: kRegister or kLww
  std::string value;                        // kPut
  std::optional<crdt::DotContext> context;  // kPut/kDelete (register), kSetRemove
  int64_t delta = 0;                        // kCounterAdd
  std::vector<std::string> elements;        // kSetAdd / kSetRemove
  uint64_t timestamp_ms = 0;                // kPut/kDelete on lww: the coordinator's wall clock
  // The client's operation id (empty: none). Every attempt of one operation carries the
  // same id; through any coordinator it takes effect once (docs/semantics.md).
  std::string op_id;
  // kDelete of an lww key (RESP DEL): a counting delete. It answers whether a read before
  // it would have found the key, and a replica without the key writes no tombstone
  // (docs/semantics.md, "Deletes that count"). Takes no op_id. Travels as Message::body
  // of kMint.
  bool counting = false;
};

// A set remove without a context, or a counting delete: it counts what it removed, and
// removes everything a read quorum held (docs/semantics.md, "Removes without a context").
inline bool counts_removed(const Update& u) {
  return (u.kind == Update::Kind::kSetRemove && !u.context) ||
         (u.kind == Update::Kind::kDelete && u.counting);
}

struct Applied {
  Object state;  // the replica's new state for the key
  Object delta;  // what the other replicas join
};

// Checks limits and shape before anything is sent: invalid_argument or too_large.
Status validate(const Update& u);

// Applies `u` at replica `actor` to `current` (nullopt: the key is absent here).
//  - type_mismatch when the key already holds another type;
//  - register put without a context becomes a sibling; with one it supersedes what the
//    context saw; delete writes a tombstone (without a context: superseding everything
//    this replica has seen); too_large when that would leave over kMaxSiblings;
//  - set remove without a context removes what this replica has seen of each element;
//  - counter overflow is invalid_argument (crdt/counter.h).
Result<Applied> apply_update(std::optional<Object> current, crdt::Actor actor, const Update& u);

// The same, applied to `*state` in place (what a replica does: copying a large set per
// update would make every add O(set size)); returns the delta. On error *state is
// unchanged. REQUIRES: *state is the key's object, or a fresh Object(update_type(u)).
// `touched` (sets) collects the elements whose dots changed.
Result<Object> apply_in_place(Object* state, crdt::Actor actor, const Update& u,
                              crdt::ORSet::Touched* touched);
DataType update_type(const Update& u);

// What apply_once() did besides the delta.
struct Once {
  bool duplicate = false;        // u.op_id was applied here before: nothing was minted
  crdt::ORSet::Touched touched;  // sets: elements whose dots changed
  std::vector<uint64_t> ops;     // operation records that changed (op_log.h)
  // Counters: the actor's total (increments + decrements) before this mint. A replica
  // that holds less of the actor must not join the delta alone (Message::base).
  uint64_t base = 0;
};

// apply_in_place() with the operation id semantics of op_log.h. When u.op_id names an
// operation already applied to *state: nothing changes and the returned delta re-sends
// that attempt (the dots it minted or removed for sets, with its record; for the other
// types the whole state with its whole log, since a counter's totals hold every earlier
// mint and a replica must never take in a mint without its record) (once->duplicate);
// the same id with another update is
// invalid_argument. Otherwise the update is applied and, with an id, recorded in both the
// state's log and the delta's, stamped with now_ms (the minter's wall clock).
Result<Object> apply_once(Object* state, crdt::Actor actor, const Update& u, uint64_t now_ms,
                          Once* once);

}  // namespace shoal::core
