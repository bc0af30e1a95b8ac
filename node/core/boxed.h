// Boxed<T>: an optional T kept on the heap, with std::optional's interface for what
// Message uses (has_value, *, ->, emplace, reset, assignment from T or std::optional<T>)
// and value semantics (a copy copies the T).
//
// Why: a field most values of a struct leave empty costs its whole size in every one of
// them. Message carried a 224-byte std::optional<Update> and a 96-byte
// std::optional<SetPage> that only kMint and paged kRead use; every merge and ack built,
// moved and destroyed them (Message was 624 bytes; boxed, 8 bytes each when empty).
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include "crdt/assert.h"

namespace shoal::core {

template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(std::nullopt_t) {}  // NOLINT: as std::optional converts
  Boxed(T value) : box_(std::make_unique<T>(std::move(value))) {}  // NOLINT: as optional
  Boxed(const std::optional<T>& value) {                           // NOLINT: as optional
    if (value) box_ = std::make_unique<T>(*value);
  }
  Boxed(std::optional<T>&& value) {  // NOLINT: as optional
    if (value) box_ = std::make_unique<T>(std::move(*value));
  }
  Boxed(const Boxed& o) : box_(o.box_ ? std::make_unique<T>(*o.box_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& o) {
    if (this != &o) box_ = o.box_ ? std::make_unique<T>(*o.box_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  Boxed& operator=(std::nullopt_t) {
    box_.reset();
    return *this;
  }

  bool has_value() const { return box_ != nullptr; }
  explicit operator bool() const { return has_value(); }
  // REQUIRES: has_value().
  T& operator*() {
    SHOAL_ASSERT(box_ != nullptr);
    return *box_;
  }
  const T& operator*() const {
    SHOAL_ASSERT(box_ != nullptr);
    return *box_;
  }
  T* operator->() { return &**this; }
  const T* operator->() const { return &**this; }

  template <typename... Args>
  T& emplace(Args&&... args) {
    box_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *box_;
  }
  void reset() { box_.reset(); }
  std::optional<T> to_optional() const { return box_ ? std::optional<T>(*box_) : std::nullopt; }

  // As std::optional: equal when both are empty or both hold equal values.
  bool operator==(std::nullopt_t) const { return !box_; }
  bool operator==(const T& o) const { return box_ && *box_ == o; }
  bool operator==(const Boxed& o) const {
    if (!box_ || !o.box_) return !box_ && !o.box_;
    return *box_ == *o.box_;
  }
  bool operator==(const std::optional<T>& o) const {
    if (!box_ || !o) return !box_ && !o;
    return *box_ == *o;
  }

 private:
  std::unique_ptr<T> box_;
};

}  // namespace shoal::core
