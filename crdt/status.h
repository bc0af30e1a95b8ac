// Status and Result<T>: how every Shoal component reports an expected failure.
//
// The codes are the error table of DESIGN.md §3, shared by every API and the wire
// protocol. Bugs are SHOAL_ASSERTs (crdt/assert.h), never a Status.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "crdt/assert.h"

namespace shoal {

enum class Code : int {
  kOk = 0,
  kNotFound,
  kInvalidArgument,
  kTypeMismatch,
  kUnavailable,
  kTimeout,
  kTooLarge,
  kOverloaded,
  kUnauthorized,
  kCorruption,
  kInternal,  // keep last, or move Metrics::kCodes (node/uv/metrics.h) to the new last code
};

// Stable snake_case name of a code, as it appears on the wire ("not_found", ...).
std::string_view code_name(Code code);
// Inverse of code_name; nullopt for an unknown name.
std::optional<Code> code_from_name(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status type_mismatch(std::string m) { return {Code::kTypeMismatch, std::move(m)}; }
  static Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status too_large(std::string m) { return {Code::kTooLarge, std::move(m)}; }
  static Status overloaded(std::string m) { return {Code::kOverloaded, std::move(m)}; }
  static Status unauthorized(std::string m) { return {Code::kUnauthorized, std::move(m)}; }
  static Status corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool is_ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code: message", or "ok".
  std::string to_string() const;

  bool operator==(const Status&) const = default;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    SHOAL_ASSERT(!std::get<Status>(v_).is_ok(), "a Result holding a Status must hold an error");
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  // REQUIRES: is_ok()
  T& value() & {
    SHOAL_ASSERT(is_ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    SHOAL_ASSERT(is_ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    SHOAL_ASSERT(is_ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error, or an ok Status when a value is held.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace shoal

// Returns the Status of `expr` from the enclosing function when it is an error.
#define SHOAL_RETURN_IF_ERROR(expr) \
  do {                              \
    ::shoal::Status _st = (expr);   \
    if (!_st.is_ok()) return _st;   \
  } while (0)
