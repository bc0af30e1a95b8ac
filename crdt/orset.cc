#include "crdt/orset.h"

#include <algorithm>
#include <utility>

#include "crdt/assert.h"
#include "crdt/codec.h"

namespace shoal::crdt {

using codec::bad;

namespace {

// What malloc hands out beyond the bytes asked for (glibc: an 8-byte header, 16-byte
// rounding; jemalloc: size classes), on average.
constexpr size_t kMallocSlackBytes = 12;

// The heap an element's name holds beyond its std::string (short names live inside it).
size_t name_heap_bytes(const std::string& name) {
  return name.capacity() > 15 ? name.capacity() + 1 + kMallocSlackBytes : 0;
}

}  // namespace

ORSet::ORSet(const ORSet& other)
    : entries_(other.entries_), ctx_(other.ctx_), deferred_(other.deferred_) {
  const Status s = reindex();
  SHOAL_ASSERT(s.is_ok(), "a copy of a valid set is valid");
}

ORSet& ORSet::operator=(const ORSet& other) {
  if (this == &other) return *this;
  ORSet copy(other);  // whole, then moved in: no index left pointing at freed nodes
  return *this = std::move(copy);
}

ORSet::ORSet(ORSet&& other) noexcept { *this = std::move(other); }

ORSet& ORSet::operator=(ORSet&& other) noexcept {
  if (this == &other) return *this;
  entries_ = std::exchange(other.entries_, {});
  ctx_ = std::exchange(other.ctx_, {});
  deferred_ = std::exchange(other.deferred_, {});
  owner_ = std::exchange(other.owner_, {});
  element_bytes_ = std::exchange(other.element_bytes_, 0);
  index_ = std::move(other.index_);  // its iterators moved with entries_'s nodes
  return *this;
}

size_t ORSet::approx_bytes() const {
  // A std::map node is a 32-byte red-black header plus its value; the dot owners' table
  // holds ~2 slots per dot. An element's second and later dots sit in its Dots' heap array (~1.5
  // slots each). From the contents alone, so a set and its rebuild from rows count the same.
  constexpr size_t kElementNode = 32 + sizeof(std::string) + sizeof(Dots) + kMallocSlackBytes;
  constexpr size_t kExtraDot = sizeof(Dot) * 3 / 2;
  // The element index's 16-byte slots are 35-70% full: ~2 per element.
  constexpr size_t kIndexed = 2 * (sizeof(uint64_t) + sizeof(Entries::iterator));
  const size_t extra_dots = owner_.size() - entries_.size();
  const size_t indexed = entries_.size() >= kIndexMinElements ? entries_.size() : 0;
  return sizeof(ORSet) + element_bytes_ + entries_.size() * kElementNode +
         owner_.size() * DotOwners::approx_bytes_per_dot() + extra_dots * kExtraDot +
         indexed * kIndexed;
}

// A dot the element already holds is no change (delta_of may name a dot twice).
void ORSet::insert_dot(Entries::iterator it, const Dot& d) {
  if (it->second.empty()) element_bytes_ += name_heap_bytes(it->first);
  if (!it->second.insert(d)) return;
  const bool indexed = owner_.emplace(d, &it->first);
  SHOAL_ASSERT(indexed, "a dot is held by one element");
}

const Dot* ORSet::erase_dot(Entries::iterator it, const Dot* d) {
  const size_t indexed = owner_.erase(*d);
  SHOAL_ASSERT(indexed == 1, "a held dot is indexed");
  const Dot* next = it->second.erase(d);
  if (it->second.empty()) element_bytes_ -= name_heap_bytes(it->first);
  return next;
}

void ORSet::erase_if_empty(Entries::iterator it) {
  if (!it->second.empty()) return;
  if (index_.active()) index_.erase(it->first);
  entries_.erase(it);
}

ORSet::Entries::iterator ORSet::find_entry(const std::string& elem) const {
  auto& entries = const_cast<Entries&>(entries_);  // the index hands out mutable iterators
  SHOAL_ASSERT(!index_.active() || index_.size() == entries_.size(), "all or none indexed");
  if (index_.active()) {
    auto it = index_.find(elem, entries.end());
    if (index_.active()) return it;  // else this lookup walked too far and dropped it
  }
  return entries.find(elem);
}

ORSet::Entries::iterator ORSet::emplace_absent(const std::string& elem) {
  auto [it, made] = entries_.try_emplace(elem);
  if (!made) return it;
  if (index_.active()) {
    index_.insert(it);
  } else if (!index_.dropped() && entries_.size() >= kIndexMinElements) {
    index_.rebuild(entries_);
  }
  return it;
}

const Dots* ORSet::find(const std::string& elem) const {
  auto it = find_entry(elem);
  return it == entries_.end() ? nullptr : &it->second;
}

ORSet ORSet::add(Actor actor, const std::string& elem, Touched* touched) {
  ORSet delta;
  const Dot dot = ctx_.next_dot(actor);
  SHOAL_ASSERT(!ctx_.contains(dot), "an add's dot is fresh");
  auto it = emplace_entry(elem);
  // The delta's context carries the dots it supersedes, so a join drops them too.
  while (!it->second.empty()) {
    delta.ctx_.add(*it->second.begin());
    erase_dot(it, it->second.begin());
  }
  insert_dot(it, dot);
  ctx_.add(dot);
  delta.ctx_.add(dot);
  auto d = delta.emplace_entry(elem);
  delta.insert_dot(d, dot);
  if (touched) touched->insert(elem);
  check_element(it);  // by the iterator: in a big set each lookup is ~17 string compares
  return delta;
}

void ORSet::check_element(const std::string& elem) const {
  auto it = find_entry(elem);
  if (it != entries_.end()) check_element(it);
}

void ORSet::check_element(Entries::const_iterator it) const {
  const std::string& elem = it->first;
  SHOAL_ASSERT(!it->second.empty(), "a held element holds a dot");
  for (const Dot& d : it->second) {
    SHOAL_ASSERT(ctx_.contains(d), "a held dot is in the context");
    SHOAL_ASSERT(owner_.find(d) == &elem, "a held dot is owned by its element");
  }
}

std::vector<Dot> ORSet::drop_observed(const std::string& elem, const DotContext& observed,
                                      Touched* touched) {
  std::vector<Dot> dropped;
  auto it = find_entry(elem);
  if (it == entries_.end()) return dropped;
  for (const Dot* d = it->second.begin(); d != it->second.end();) {
    if (!observed.contains(*d)) {
      ++d;
      continue;
    }
    dropped.push_back(*d);
    d = erase_dot(it, d);
  }
  if (!dropped.empty() && touched) touched->insert(elem);
  erase_if_empty(it);
  return dropped;
}

ORSet ORSet::remove(const std::string& elem, Touched* touched) {
  return remove(elem, ctx_, touched);
}

ORSet ORSet::remove(const std::string& elem, const DotContext& observed, Touched* touched) {
  ORSet delta;
  for (const Dot& d : drop_observed(elem, observed, touched)) delta.ctx_.add(d);
  if (!ctx_.covers(observed)) {
    deferred_[observed].insert(elem);
    delta.deferred_[observed].insert(elem);
  } else if (!delta.ctx_.covers(observed)) {
    // Dots of `elem` that `observed` holds may be gone here (an earlier remove whose delta
    // was lost) but live elsewhere: the delta carries the remove itself (orset.h).
    delta.deferred_[observed].insert(elem);
  }
  return delta;
}

void ORSet::join_element(const std::string& elem, const Dots* theirs, const DotContext& other_ctx,
                         Touched* touched) {
  auto it = find_entry(elem);
  bool changed = false;
  if (it != entries_.end()) {
    for (const Dot* d = it->second.begin(); d != it->second.end();) {
      if ((theirs && theirs->contains(*d)) || !other_ctx.contains(*d)) {
        ++d;
        continue;
      }
      d = erase_dot(it, d);
      changed = true;
    }
  }
  if (theirs) {
    for (const Dot& d : *theirs) {
      if (ctx_.contains(d) || (it != entries_.end() && it->second.count(d))) continue;
      if (it == entries_.end()) it = emplace_absent(elem);  // find_entry just missed it
      insert_dot(it, d);
      changed = true;
    }
  }
  if (changed && touched) touched->insert(elem);
  if (it != entries_.end()) erase_if_empty(it);
}

void ORSet::join_full(const ORSet& other, Touched* touched) {
  std::vector<std::string> mine_only;
  for (const auto& [elem, dots] : entries_) {
    if (!other.contains(elem)) mine_only.push_back(elem);
  }
  for (const std::string& elem : mine_only) join_element(elem, nullptr, other.ctx_, touched);
  for (const auto& [elem, dots] : other.entries_) join_element(elem, &dots, other.ctx_, touched);
}

// Only the elements `other` names, plus mine holding a dot its context saw (the dots a
// remove or a superseding add took away), found through owner_.
void ORSet::join_sparse(const ORSet& other, Touched* touched) {
  std::set<std::string> hit;
  auto note = [&](const Dot& d) {
    const std::string* o = owner_.find(d);
    if (o != nullptr && !other.contains(*o)) hit.insert(*o);
  };
  // join() takes this path only when other's context names at most as many dots as I
  // hold elements, so walking each actor's counters costs no more than a full join.
  for (const auto& [actor, counter] : other.ctx_.vv().entries()) {
    for (uint64_t c = 1; c <= counter; ++c) note(Dot{actor, c});
  }
  for (const Dot& d : other.ctx_.cloud()) note(d);
  for (const std::string& elem : hit) join_element(elem, nullptr, other.ctx_, touched);
  for (const auto& [elem, dots] : other.entries_) join_element(elem, &dots, other.ctx_, touched);
}

// A deferred remove takes out the dots it observed that this replica holds now (as
// remove() does on the replica that ran it), at every join: a dot it observed may
// arrive here later, and some dots it observed may never arrive (lost with a disk
// restored from an older copy), so waiting for the whole context could keep an element
// a remove took out. It is dropped once the context covers what it observed.
void ORSet::apply_deferred(Touched* touched) {
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    for (const std::string& elem : it->second) drop_observed(elem, it->first, touched);
    it = ctx_.covers(it->first) ? deferred_.erase(it) : std::next(it);
  }
}

namespace {

// How many dots a context names, saturating: decides between the two join strategies.
uint64_t dots_named(const DotContext& c, uint64_t cap) {
  uint64_t n = c.cloud().size();
  for (const auto& [actor, counter] : c.vv().entries()) {
    if (counter >= cap || n + counter >= cap) return cap;
    n += counter;
  }
  return std::min(n, cap);
}

}  // namespace

void ORSet::join(const ORSet& other, Touched* touched) {
  const uint64_t mine = entries_.size();
  if (dots_named(other.ctx_, mine + 1) + other.entries_.size() <= mine) {
    join_sparse(other, touched);
  } else {
    join_full(other, touched);
  }
  join_context(other, touched);
  for (const auto& kv : other.entries_) check_element(kv.first);
}

void ORSet::join_context(const ORSet& other, Touched* touched) {
  ctx_.join(other.ctx_);
  for (const auto& [observed, elems] : other.deferred_) {
    deferred_[observed].insert(elems.begin(), elems.end());
  }
  apply_deferred(touched);
}

ORSet ORSet::project(const std::vector<std::string>& elems, bool every_deferred) const {
  ORSet out;
  out.ctx_ = ctx_;
  for (const std::string& e : elems) {
    auto it = find_entry(e);
    if (it == entries_.end() || out.contains(e)) continue;
    auto o = out.emplace_entry(e);
    for (const Dot& d : it->second) out.insert_dot(o, d);
  }
  if (every_deferred) {
    out.deferred_ = deferred_;
    return out;
  }
  for (const auto& [observed, names] : deferred_) {
    for (const std::string& e : elems) {
      if (names.count(e)) out.deferred_[observed].insert(e);
    }
  }
  return out;
}

ORSet ORSet::delta_of(const std::vector<Dot>& dots, const std::set<std::string>& elems) const {
  ORSet out;
  for (const auto& [observed, names] : deferred_) {
    for (const std::string& e : names) {
      if (elems.count(e)) out.deferred_[observed].insert(e);
    }
  }
  for (const Dot& d : dots) {
    if (!ctx_.contains(d)) continue;  // never seen here: nothing to say about it
    out.ctx_.add(d);
    const std::string* o = owner_.find(d);
    if (o == nullptr) continue;
    auto it = out.emplace_entry(*o);
    out.insert_dot(it, d);
  }
  return out;
}

std::vector<std::string> ORSet::read() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [elem, dots] : entries_) out.push_back(elem);
  return out;
}

Status ORSet::reindex() {
  owner_.clear();
  owner_.reserve(entries_.size());
  index_.clear();
  if (entries_.size() >= kIndexMinElements) index_.rebuild(entries_);
  element_bytes_ = 0;
  for (const auto& [elem, dots] : entries_) {
    if (dots.empty()) return bad("element without dots");
    element_bytes_ += name_heap_bytes(elem);
    for (const Dot& d : dots) {
      if (!ctx_.contains(d)) return bad("element dot outside the causal context");
      if (!owner_.emplace(d, &elem)) return bad("dot shared by two elements");
    }
  }
  return Status::ok();
}

}  // namespace shoal::crdt
