// Object: what a replica stores under one key — a data type tag and its CRDT state.
//
// A key's type is fixed by its first write (DESIGN.md §3); joining or mutating with
// another type fails with type_mismatch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "crdt/counter.h"
#include "crdt/dvv_set.h"
#include "crdt/lww_register.h"
#include "crdt/orset.h"
#include "crdt/status.h"

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
  // Joins `other` in; type_mismatch (and no change) when the types differ.
  Status join(const Object& other);

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

  // [1 (format version), type, crdt]
  std::string encode() const;
  static Result<Object> decode(std::string_view bytes);

  // The stored form (keys.h): a set is [2, type, its head (no entries)], its elements
  // live in rows of their own; every other type is encode().
  std::string encode_stored() const;
  // Decodes either form; *split tells that a set came without its elements (the caller
  // reads the element rows and calls crdt::ORSet::assemble).
  static Result<Object> decode_stored(std::string_view bytes, bool* split);

 private:
  std::variant<crdt::DvvSet, crdt::PNCounter, crdt::ORSet, crdt::LWWRegister> value_;
};

// Objects are shared immutably between the cache, pending requests, messages and replies
// (copying a register with siblings or a large set costs more than the request).
using ObjectPtr = std::shared_ptr<const Object>;

// Fails with type_mismatch unless `actual` is `wanted`, naming both.
Status check_type(DataType actual, DataType wanted);

}  // namespace shoal::core
