// Dot, VersionVector, DotContext: the causal machinery under every Shoal CRDT.
//
// An actor is a 64-bit id minted once per replica identity (a node's data directory);
// it is never reused, so a dot (actor, counter) names exactly one event forever.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "crdt/status.h"

namespace shoal::crdt {

using Actor = uint64_t;

struct Dot {
  Actor actor = 0;
  uint64_t counter = 0;  // >= 1 for a real event

  auto operator<=>(const Dot&) const = default;

  std::string encode() const;
  static Result<Dot> decode(std::string_view bytes);
  // Nesting hooks for other codecs; defined and instantiated only in crdt/*.cc.
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, Dot* out);
};

// Actor -> highest counter seen, meaning every event 1..counter of that actor was seen.
// Entries are never zero, so equal vectors are equal maps.
class VersionVector {
 public:
  enum class Order { kEqual, kBefore, kAfter, kConcurrent };

  uint64_t get(Actor actor) const;
  // Setting 0 removes the entry.
  void set(Actor actor, uint64_t counter);
  bool contains(const Dot& dot) const { return dot.counter <= get(dot.actor); }
  // Records the actor's next event and returns its dot. REQUIRES: get(actor) < UINT64_MAX.
  Dot increment(Actor actor);
  // kBefore: this < other (other dominates); kAfter: this dominates other.
  Order compare(const VersionVector& other) const;
  bool descends(const VersionVector& other) const;  // this >= other
  void merge(const VersionVector& other);
  void join(const VersionVector& other) { merge(other); }  // the lattice join

  const std::map<Actor, uint64_t>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  auto operator<=>(const VersionVector&) const = default;

  std::string encode() const;
  static Result<VersionVector> decode(std::string_view bytes);
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, VersionVector* out);

 private:
  std::map<Actor, uint64_t> entries_;
};

// The set of dots a replica has seen: a compact version vector plus a "cloud" of dots
// that arrived out of order. Always kept compacted, so two contexts holding the same
// dots compare equal, and covers() is O(actors).
class DotContext {
 public:
  DotContext() = default;
  explicit DotContext(VersionVector vv) : vv_(std::move(vv)) {}

  bool contains(const Dot& dot) const;
  // True when every dot of `other` is in this context.
  bool covers(const DotContext& other) const;
  // The next dot for `actor`: one past the highest of its dots seen here.
  Dot next_dot(Actor actor) const;
  void add(const Dot& dot);
  void join(const DotContext& other);

  const VersionVector& vv() const { return vv_; }
  const std::set<Dot>& cloud() const { return cloud_; }
  bool empty() const { return vv_.empty() && cloud_.empty(); }
  auto operator<=>(const DotContext&) const = default;

  std::string encode() const;
  static Result<DotContext> decode(std::string_view bytes);
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, DotContext* out);

 private:
  void compact_actor(Actor actor);

  VersionVector vv_;
  std::set<Dot> cloud_;  // invariant: every dot d has d.counter > vv_.get(d.actor) + 1
};

}  // namespace shoal::crdt
