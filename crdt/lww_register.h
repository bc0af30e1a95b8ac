// LWWRegister: last-writer-wins register.
//
// Order: (timestamp, actor, deleted, value), compared lexicographically. Ties are broken
// by actor id, then by content, never by arrival order, so every replica picks the same
// winner. A mutator never goes back in time at its replica: it stamps
// max(given timestamp, current timestamp + 1), so a write always beats what the writing
// replica has seen even under clock skew (like a hybrid logical clock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crdt/dot.h"
#include "crdt/status.h"

namespace shoal::crdt {

class LWWRegister {
 public:
  // `timestamp_ms` is the writer's clock, handed in (the core owns no clock).
  LWWRegister set(Actor actor, uint64_t timestamp_ms, std::string value);
  LWWRegister remove(Actor actor, uint64_t timestamp_ms);
  void join(const LWWRegister& other);
  // The value, or nullopt when never written or deleted.
  std::optional<std::string> read() const;

  uint64_t timestamp() const { return timestamp_; }
  Actor actor() const { return actor_; }
  bool deleted() const { return deleted_; }
  bool operator==(const LWWRegister&) const = default;

  std::string encode() const;
  static Result<LWWRegister> decode(std::string_view bytes);
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, LWWRegister* out);

 private:
  LWWRegister write(Actor actor, uint64_t timestamp_ms, std::string value, bool deleted);
  bool beats(const LWWRegister& other) const;

  uint64_t timestamp_ = 0;  // 0: never written
  Actor actor_ = 0;
  bool deleted_ = false;
  std::string value_;
};

}  // namespace shoal::crdt
