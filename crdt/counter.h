// GCounter and PNCounter: state-based counters with delta mutators.
//
// Overflow (DESIGN: define and test it): each actor's total is a uint64. A mutator that
// would overflow an actor's total, or push the locally observed value of a PNCounter
// outside int64, is refused with invalid_argument and changes nothing. Concurrent
// updates on different replicas can still carry the merged value past the int64 range;
// read() then saturates at INT64_MAX / INT64_MIN (GCounter: UINT64_MAX).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "crdt/dot.h"
#include "crdt/status.h"

namespace shoal::crdt {

class GCounter {
 public:
  // Adds `amount` to the actor's total and returns the delta (that actor's new total).
  // An amount of 0 changes nothing and returns an empty delta.
  Result<GCounter> increment(Actor actor, uint64_t amount);
  void join(const GCounter& other);
  uint64_t read() const;   // saturating sum
  __int128 total() const;  // exact sum
  uint64_t get(Actor actor) const;

  const std::map<Actor, uint64_t>& entries() const { return entries_; }
  bool operator==(const GCounter&) const = default;

  std::string encode() const;
  static Result<GCounter> decode(std::string_view bytes);
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, GCounter* out);

 private:
  std::map<Actor, uint64_t> entries_;  // no zero entries
};

class PNCounter {
 public:
  // Adds a signed delta; returns the delta state. See the overflow rule above.
  Result<PNCounter> add(Actor actor, int64_t delta);
  // A counter holding one entry: `actor` contributed `delta` in all (an actor that never
  // adds again, such as the compensation of a cancelled duplicate: joins are idempotent).
  static PNCounter single(Actor actor, int64_t delta);
  void join(const PNCounter& other);
  int64_t read() const;

  const GCounter& increments() const { return p_; }
  const GCounter& decrements() const { return n_; }
  bool operator==(const PNCounter&) const = default;

  std::string encode() const;
  static Result<PNCounter> decode(std::string_view bytes);
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, PNCounter* out);

 private:
  GCounter p_;
  GCounter n_;
};

}  // namespace shoal::crdt
