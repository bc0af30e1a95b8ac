// Object: what a replica stores under one key — a data type tag and its CRDT state.
//
// A key's type is fixed by its first write (DESIGN.md §3); joining or mutating with
// another type fails with type_mismatch.
//
// Besides the CRDT an object carries its key's operation log (op_log.h): the ids of the
// identified updates applied to it. Joining two objects joins both, then cancels every
// duplicate mint of one operation the joined log reveals (a counter gets a compensating
// entry; a register drops the duplicate sibling), so a retried update counts once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "crdt/counter.h"
#include "crdt/dvv_set.h"
#include "crdt/lww_register.h"
#include "crdt/orset.h"
#include "crdt/status.h"
#include "node/core/op_log.h"

namespace shoal::core {

enum class DataType : uint8_t { kRegister = 1, kCounter = 2, kSet = 3, kLww = 4 };

std::string_view type_name(DataType t);  // "register", "counter", "set", "lww"
Result<DataType> parse_type(std::string_view name);

class Object {
 public:
  Object() = default;  // an empty register
  explicit Object(DataType type);
  explicit Object(crdt::DvvSet v) : value_(std::move(v)) {}
  explicit Object(crdt::PNCounter v) : value_(std::move(v)) {}
  explicit Object(crdt::ORSet v) : value_(std::move(v)) {}
  explicit Object(crdt::LWWRegister v) : value_(std::move(v)) {}

  DataType type() const { return static_cast<DataType>(value_.index() + 1); }
  // Joins `other` in; type_mismatch (and no change) when the types differ. `elements`
  // (sets; may be null) gets the elements whose dots changed, `ops` (may be null) the
  // operation records that changed.
  Status join(const Object& other, crdt::ORSet::Touched* elements = nullptr,
              std::vector<uint64_t>* ops = nullptr);

  // The same value without the operation log (what clients are answered with).
  Object without_ops() const {
    Object o;
    o.value_ = value_;
    return o;
  }
  bool same_value(const Object& o) const { return value_ == o.value_; }
  const OpLog& ops() const { return ops_; }
  OpLog& ops() { return ops_; }
  // Cancels the duplicate mints of operation `key` (see above). Idempotent.
  void cancel_duplicates(uint64_t key);
  // The highest counter of `actor` this object has seen (its dots; for a counter, the
  // actor's increments and decrements, the larger): how a replica notices that another
  // holds more of its own history than it does.
  uint64_t seen_of(crdt::Actor actor) const;

  // Makes the value an empty T, in place (a decoder fills it without moving it after).
  template <typename T>
  T& emplace() {
    return value_.emplace<T>();
  }

  // nullptr when the object holds another type.
  template <typename T>
  T* as() {
    return std::get_if<T>(&value_);
  }
  template <typename T>
  const T* as() const {
    return std::get_if<T>(&value_);
  }

  bool operator==(const Object&) const = default;

  // [1 (format version), type, crdt] or, with operation records, [1, type, crdt, log]
  std::string encode() const;
  static Result<Object> decode(std::string_view bytes);

  // The stored form (keys.h). The operation log lives in rows of its own, one per
  // record; a set's elements too. [1, type, crdt]: a whole object without records;
  // [2, set, head]: a set without records (its elements in rows); [3, type, crdt or set
  // head]: an object with records in rows. `records_in_rows`: the [3] form even without
  // records here (a set loaded in part, whose records stay in their rows).
  std::string encode_stored(bool records_in_rows = false) const;
  // Decodes any form; *split tells that a set came without its elements (the caller
  // reads the element rows and calls crdt::ORSet::assemble), *op_rows that its
  // operation records are in rows (the caller reads them into ops()).
  static Result<Object> decode_stored(std::string_view bytes, bool* split, bool* op_rows);

 private:
  std::variant<crdt::DvvSet, crdt::PNCounter, crdt::ORSet, crdt::LWWRegister> value_;
  OpLog ops_;
};

// The actor of the compensating counter entry that cancels mint `loser` of operation
// `key` (the same on every replica, so compensations join idempotently).
crdt::Actor compensation_actor(uint64_t key, const crdt::Dot& loser);

// Objects are shared immutably between the cache, pending requests, messages and replies
// (copying a register with siblings or a large set costs more than the request).
using ObjectPtr = std::shared_ptr<const Object>;

// A page of a set's members, in byte order (cursor reads: SSCAN, ?cursor=): at most
// `count` members after `after` (none: from the first).
struct SetPage {
  std::optional<std::string> after = std::nullopt;
  uint32_t count = 0;
  std::optional<std::string> until = std::nullopt;  // no member past it (a repair's region)
  bool operator==(const SetPage&) const = default;
};
constexpr uint32_t kMaxPageMembers = 10'000;

// `o` restricted to the members of `page` (its whole context and every deferred remove
// kept); other types whole.
ObjectPtr page_of(const ObjectPtr& o, const SetPage& page);

// Fails with type_mismatch unless `actual` is `wanted`, naming both.
Status check_type(DataType actual, DataType wanted);

}  // namespace shoal::core
