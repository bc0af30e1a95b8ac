// ORSet: add-wins observed-remove set of byte strings (a dot kernel, no tombstones).
//
// Each live element carries the dots of the adds that created it; the causal context
// records every dot ever seen. An element is present while any of its dots survive.
// A remove deletes exactly the dots its observed context holds, so an add concurrent
// with the remove (a dot the remover never saw) survives: add wins.
//
// Remove with a context this replica has not fully seen yet (the client read a newer
// replica): the dots it can see are removed now and the remove is kept as a deferred
// operation, applied by join() once the replica's context covers it (as Riak's ORSWOT
// does). Deferred entries are the only remove metadata ever stored, and only while a
// replica lags behind a client.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/dot.h"
#include "crdt/status.h"

namespace shoal::crdt {

class ORSet {
 public:
  // Adds `elem` with a fresh dot of `actor`, superseding this replica's earlier dots
  // for it. Returns the delta. Cost O(log n) in the set size.
  ORSet add(Actor actor, const std::string& elem);
  // Removes every dot of `elem` this replica has seen.
  ORSet remove(const std::string& elem);
  // Removes the dots of `elem` that `observed` holds (see the header comment).
  ORSet remove(const std::string& elem, const DotContext& observed);
  void join(const ORSet& other);

  std::vector<std::string> read() const;  // sorted
  bool contains(const std::string& elem) const { return entries_.count(elem) > 0; }
  size_t size() const { return entries_.size(); }
  const DotContext& context() const { return ctx_; }
  const std::map<std::string, std::set<Dot>>& entries() const { return entries_; }
  const std::map<DotContext, std::set<std::string>>& deferred() const { return deferred_; }
  bool operator==(const ORSet&) const = default;

  std::string encode() const;
  static Result<ORSet> decode(std::string_view bytes);
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, ORSet* out);

 private:
  void join_entries(const ORSet& other);
  void apply_deferred();
  // Drops the dots of `elem` that `observed` holds; returns them.
  std::vector<Dot> drop_observed(const std::string& elem, const DotContext& observed);

  std::map<std::string, std::set<Dot>> entries_;          // invariant: dot sets non-empty, disjoint
  DotContext ctx_;                                        // invariant: covers every dot in entries_
  std::map<DotContext, std::set<std::string>> deferred_;  // invariant: none covered by ctx_
};

}  // namespace shoal::crdt
