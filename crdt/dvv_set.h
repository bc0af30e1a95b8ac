// DvvSet: the sibling set of a `register` value (Dynamo-style, dotted version vectors).
//
// Each sibling carries the dot of the write that made it; the causal context holds every
// dot this replica has seen. A put carries the context the client read: it supersedes
// exactly the siblings that context saw and becomes a sibling of the rest. Dots are
// minted by the replica applying the write (per-replica actors), so the number of
// siblings is bounded by real write concurrency, not by the number of clients or
// writes. A delete is a put of a tombstone and follows the same rule.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/dot.h"
#include "crdt/status.h"

namespace shoal::crdt {

struct Sibling {
  std::string value;
  bool tombstone = false;
  bool operator==(const Sibling&) const = default;
};

class DvvSet {
 public:
  // Applies a write at replica `actor` that saw `seen`; returns the delta.
  DvvSet put(Actor actor, const DotContext& seen, std::string value);
  DvvSet remove(Actor actor, const DotContext& seen);
  void join(const DvvSet& other);
  // Drops the sibling minted with `dot`, keeping the dot in the context (so joins drop it
  // everywhere): how a duplicate of an operation is cancelled. False when absent.
  bool drop(const Dot& dot) { return siblings_.erase(dot) > 0; }

  // Live (non-tombstone) sibling values, in dot order.
  std::vector<std::string> values() const;
  std::vector<std::string> read() const { return values(); }
  // True when nothing is live: never written, or only tombstones remain.
  bool is_deleted() const;
  const DotContext& context() const { return ctx_; }
  const std::map<Dot, Sibling>& siblings() const { return siblings_; }
  bool operator==(const DvvSet&) const = default;

  std::string encode() const;
  static Result<DvvSet> decode(std::string_view bytes);
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, DvvSet* out);

 private:
  DvvSet write(Actor actor, const DotContext& seen, Sibling sibling);

  std::map<Dot, Sibling> siblings_;  // invariant: every dot is in ctx_
  DotContext ctx_;
};

}  // namespace shoal::crdt
