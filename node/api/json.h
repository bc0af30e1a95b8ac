// A small JSON reader for HTTP request bodies (objects of strings, integers, booleans
// and arrays). Bounded: input size is capped by the caller, nesting by kMaxDepth; any
// malformed input is a Status, never a throw.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace shoal::json {

struct Value {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  bool integral = false;  // the number was written without fraction or exponent
  int64_t integer = 0;    // when integral and in range
  std::string string;
  std::vector<Value> array;
  std::map<std::string, Value> object;

  const Value* get(const std::string& key) const {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &it->second;
  }
};

constexpr int kMaxDepth = 16;

// Parses exactly one JSON value (surrounding whitespace allowed).
Result<Value> parse(std::string_view text);

}  // namespace shoal::json
