// ORSet: add-wins observed-remove set of byte strings (a dot kernel, no tombstones).
//
// Each live element carries the dots of the adds that created it; the causal context
// records every dot ever seen. An element is present while any of its dots survive.
// A remove deletes exactly the dots its observed context holds, so an add concurrent
// with the remove (a dot the remover never saw) survives: add wins.
//
// Remove with a context this replica has not fully seen yet (the client read a newer
// replica): the dots it can see are removed now and the remove is kept as a deferred
// operation. Every join() (here or on a replica the remove travels to) takes out the
// observed dots held by then, and drops the entry once the context covers it. It never
// waits for the whole context before removing anything: some dots a client observed
// may never arrive (lost with a disk restored from an older copy). Deferred entries are
// the only remove metadata ever stored, and only while a replica lags behind a client.
// A remove's delta carries the remove itself the same way (unless the dots it took out
// here cover what it observed): a replica that removed some of those dots before, by a
// remove whose delta was lost, still takes them out of the replicas that hold them.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/dot.h"
#include "crdt/dot_owners.h"
#include "crdt/dots.h"
#include "crdt/element_index.h"
#include "crdt/status.h"

namespace shoal::crdt {

class ORSet {
 public:
  // Elements whose dots changed in an operation (nodes store one row per element and
  // rewrite only these).
  using Touched = std::set<std::string>;

  ORSet() = default;
  // A copy rebuilds the dot index (it points into its own entries); a move keeps it.
  ORSet(const ORSet& other);
  ORSet& operator=(const ORSet& other);
  // A moved-from set is empty and usable.
  ORSet(ORSet&& other) noexcept;
  ORSet& operator=(ORSet&& other) noexcept;

  // Adds `elem` with a fresh dot of `actor`, superseding this replica's earlier dots
  // for it. Returns the delta. Cost O(log n) in the set size.
  ORSet add(Actor actor, const std::string& elem, Touched* touched = nullptr);
  // Removes every dot of `elem` this replica has seen.
  ORSet remove(const std::string& elem, Touched* touched = nullptr);
  // Removes the dots of `elem` that `observed` holds (see the header comment).
  ORSet remove(const std::string& elem, const DotContext& observed, Touched* touched = nullptr);
  // The lattice join. A small `other` (a delta) costs O(|other| log n), found through an
  // index from dot to element; a large one (a whole state) is merged element by element.
  void join(const ORSet& other, Touched* touched = nullptr);

  // The same set restricted to `elems`: their entries, the whole causal context, and the
  // deferred removes that name them. Joining two projections on the same elements gives
  // the projection of the join; joining a projection into a full state does NOT give
  // the full join (elements outside it would be dropped), so projections are only read.
  // `every_deferred`: all deferred removes instead (a page of the set, which a replica
  // repairing member by member needs whole: node/core/set_sync.h).
  ORSet project(const std::vector<std::string>& elems, bool every_deferred = false) const;
  // A delta that carries exactly `dots`: the entries of those still present here, and a
  // context of just those dots (so a dot removed here is removed by the join too, and
  // nothing else is touched). How a replica re-sends what an operation did. With
  // `elems`, also the deferred removes that name them (restricted to them): all this
  // replica knows of those elements' dots, for a member-by-member repair.
  ORSet delta_of(const std::vector<Dot>& dots, const std::set<std::string>& elems = {}) const;

  // Joins another replica's causal context and deferred removes, not its entries: what
  // a member-by-member repair leaves to do once both hold the same entries. REQUIRES:
  // `other` holds exactly my entries (the caller compares element digests); else a
  // dot it holds that I never saw would count as removed here, and be lost.
  void join_context(const ORSet& other, Touched* touched = nullptr);

  std::vector<std::string> read() const;  // sorted
  bool contains(const std::string& elem) const { return find(elem) != nullptr; }
  // The dots `elem` holds; null when it is not a member. O(1) in a big set.
  const Dots* find(const std::string& elem) const;
  // A hint for a batch about to look members up (Node::prefetch): starts fetching one
  // step of `elem`'s lookup per stage, 0 to 2 (element_index.h); no effect on the set.
  void prefetch_member(const std::string& elem, int stage) const {
    if (index_.active()) index_.prefetch(ElementIndex<Entries>::hash_of(elem), stage);
  }
  // Whether some element holds `d` (O(1): a hashed index).
  bool holds(const Dot& d) const { return owner_.count(d) > 0; }
  // Whether this replica removed `d`: it saw it and holds it no more, or a deferred
  // remove waits to take it out.
  bool removed(const Dot& d) const {
    if (ctx_.contains(d) && !holds(d)) return true;
    for (const auto& [observed, elems] : deferred_) {
      if (observed.contains(d)) return true;
    }
    return false;
  }
  size_t size() const { return entries_.size(); }
  // The heap this set holds, O(1): what an object cache counts against its bound. Within
  // ~2% of what glibc's malloc hands out for members of 6 to 100 bytes; the test allows
  // 0.75-1.35x for other allocators (tests/unit/set_memory_test.cc).
  size_t approx_bytes() const;
  const DotContext& context() const { return ctx_; }
  const std::map<std::string, Dots>& entries() const { return entries_; }
  const std::map<DotContext, std::set<std::string>>& deferred() const { return deferred_; }
  bool operator==(const ORSet& o) const {
    return entries_ == o.entries_ && ctx_ == o.ctx_ && deferred_ == o.deferred_;
  }

  std::string encode() const;
  static Result<ORSet> decode(std::string_view bytes);
  template <typename Packer>
  void encode_to(Packer& pk) const;
  template <typename Object>
  static Status decode_from(const Object& o, ORSet* out);

  // Row storage (node/core stores a set as a head row plus one row per element): the
  // head is this set without its entries; an element row holds one element's dots.
  // Packed in place (no copy of the context: a big set's head is saved per write).
  template <typename Packer>
  void encode_head_to(Packer& pk) const;
  static std::string encode_dots(const Dots& dots);
  static Result<Dots> decode_dots(std::string_view bytes);
  // Reassembles a set from a decoded head and its element rows, checking the same
  // invariants decode() checks (corruption when they do not hold).
  static Result<ORSet> assemble(ORSet head, std::map<std::string, Dots> entries);

 private:
  using Entries = std::map<std::string, Dots>;

  void join_sparse(const ORSet& other, Touched* touched);
  void join_full(const ORSet& other, Touched* touched);
  // Joins one element: drops my dots of it that `other_ctx` saw and `theirs` lacks, and
  // takes their dots I never saw. `theirs` null: the other side has no entry for it.
  void join_element(const std::string& elem, const Dots* theirs, const DotContext& other_ctx,
                    Touched* touched);
  void apply_deferred(Touched* touched);
  // Drops the dots of `elem` that `observed` holds; returns them.
  std::vector<Dot> drop_observed(const std::string& elem, const DotContext& observed,
                                 Touched* touched);
  // Entry mutations that keep the index and byte count in step.
  void insert_dot(Entries::iterator it, const Dot& d);
  // Returns the position of the element's next dot.
  const Dot* erase_dot(Entries::iterator it, const Dot* d);
  // Returns nothing: the next entry of a big tree is a cache miss no caller needs (it was
  // 5% of a replica's CPU under SADD to a 100,000-member set).
  void erase_if_empty(Entries::iterator it);
  // Asserts the invariants of one element: held dots non-empty, in the context, owned.
  void check_element(const std::string& elem) const;
  void check_element(Entries::const_iterator it) const;  // the same, already found
  // Rebuilds owner_, index_ and element_bytes_ from entries_, checking the invariants.
  Status reindex();
  // entries_.find, through index_ once the set is big enough to have one.
  Entries::iterator find_entry(const std::string& elem) const;
  // The entry for `elem`, made (empty, and indexed) when there is none. A held member is
  // found through the index, not down the tree (~17 compares, each a cache miss).
  Entries::iterator emplace_entry(const std::string& elem) {
    const auto found = index_.active() ? find_entry(elem) : entries_.end();
    return found != entries_.end() ? found : emplace_absent(elem);
  }
  // The same for a member find_entry() just did not find (no second lookup).
  Entries::iterator emplace_absent(const std::string& elem);

  Entries entries_;                                       // invariant: dot sets non-empty, disjoint
  DotContext ctx_;                                        // invariant: covers every dot in entries_
  std::map<DotContext, std::set<std::string>> deferred_;  // invariant: none covered by ctx_
  // Derived: which element holds each dot (a pointer to its key in entries_: std::map
  // nodes stay put until erased, and an element is erased only once it holds no dot), and
  // the heap bytes of all element names. Hashed: in a big set every add and every
  // replica's join looks dots up here (crdt/dot_owners.h).
  DotOwners owner_;
  // Derived: the elements by name, hashed, once there are kIndexMinElements (a few
  // string compares down a small tree are as fast, and a small set stays small). Mutable:
  // a lookup that finds the table flooded drops it (element_index.h).
  static constexpr size_t kIndexMinElements = 32;
  mutable ElementIndex<Entries> index_;
  size_t element_bytes_ = 0;
};

}  // namespace shoal::crdt
