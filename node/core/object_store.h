// ObjectStore: a node's objects in its Store (keys.h): one head row per key, a set's
// members and every object's operation records in rows of their own, behind an LRU
// object cache.
//
// Owns: the object cache and the count of failed scans. Writes are staged in the Store
// and committed by the turn (turn.h): a durable save asks the turn for an fsync, a save
// that could not clear the rows it replaces fails the turn. Every change to a key's
// rows is reported to `on_change(key_hash)` (anti-entropy's segment signal).
//
// A set too big to load whole (more than `whole_set_max_members` element rows) is never
// loaded whole by an operation on some of its members: part() reads its head and just
// the rows the operation needs, so an add costs the same in a set of 10 members or of
// 10 million whether or not the set fits the cache. Only whole reads, anti-entropy and
// handoff load such a set whole. A set of more than 131,072 members is never cached
// (adds to it through part() are faster than changing a cached copy that big).
//
// Errors: load() answers corruption for an undecodable row (naming the key) and the
// Store's error for a failed read; erase_object() answers a failed scan's error and
// then erases nothing.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/orset.h"
#include "crdt/status.h"
#include "node/core/env.h"
#include "node/core/fifo_map.h"
#include "node/core/key_filter.h"
#include "node/core/keys.h"
#include "node/core/object.h"
#include "node/core/object_cache.h"
#include "node/core/set_spans.h"
#include "node/core/turn.h"

namespace shoal::core {

class ObjectStore {
 public:
  using ChangeFn = std::function<void(uint64_t key_hash)>;

  // What a save rewrites besides the head: every row (all), or the set elements and
  // operation records listed. `absent`: the key had no head before this save, so it has
  // no rows either (rows are written and erased only with their head, in one turn) and
  // `all` writes them without first scanning for old ones to clear.
  // `before`: what some element rows hold before this save (rows_before()), so a kept
  // digest is updated without reading them back; a row it does not name is read.
  using RowsBefore = std::map<std::string, std::optional<std::string>>;  // null: no row
  // Members a set held before a change (held_before_of()), for Rows::held_before.
  struct HeldBefore {
    static constexpr size_t kMax = 8;  // the rest are left out: their rows are added
    std::array<std::string_view, kMax> names;
    size_t count = 0;
    bool holds(std::string_view elem) const {
      return std::find(names.begin(), names.begin() + static_cast<ptrdiff_t>(count), elem) !=
             names.begin() + static_cast<ptrdiff_t>(count);
    }
  };
  struct Rows {
    const crdt::ORSet::Touched* elements = nullptr;
    const std::vector<uint64_t>* ops = nullptr;
    bool all = false;
    bool absent = false;
    const RowsBefore* before = nullptr;
    // Members the set held before this save's change. Their rows were there (a set's rows
    // follow its state, and a set in memory was loaded from them or saved with them), so
    // the key filter holds them, or its build walk will reach them: their saves skip
    // KeyFilter::add_row, a cache miss per row (5% of pathbench SADD's samples re-adding
    // members). A member not named is added, which is never wrong.
    const HeldBefore* held_before = nullptr;
  };
  // Which of the first HeldBefore::kMax of `elements` (or of `delta`'s members) `set`
  // holds now, to be told to the save after a change (a whole state's delta costs no more
  // lookups than a SADD's). REQUIRES: the names outlive that save (they are not copied).
  static HeldBefore held_before_of(const crdt::ORSet& set,
                                   const std::vector<std::string>& elements);
  static HeldBefore held_before_of(const crdt::ORSet& set, const crdt::ORSet& delta);

  // What an operation on some members of a key sees of it (part()).
  struct Part {
    std::shared_ptr<Object> object;  // null: the key is absent
    // The object is a big set's head (whole context, deferred removes) with only the
    // elements asked, the elements its deferred removes name, and the operation
    // records asked: a join or mutation on those elements changes it exactly as it
    // would change the whole set. Saved by save_part(), never cached.
    bool partial = false;
    bool records_in_rows = false;  // partial: the key's records are in rows (keep the form)
  };

  // A set of more members is not kept in the cache. Changing a cached set costs a tree
  // insert per new member (~20 dependent misses at a million), which past ~200,000
  // members is slower than part()'s reads of the head and the named rows from LevelDB,
  // whose cost stays flat (docs/benchmarks.md, "SADD as one set grows").
  static constexpr size_t kMaxCachedSetMembers = 131072;

  // REQUIRES: `store`, `turn` and `clock` outlive this object; whole_set_max_members >= 1,
  // span_members >= 1 (set_spans.h); key_filter_bytes as KeyFilter requires (0: none).
  ObjectStore(Store& store, Turn& turn, Clock& clock, size_t cache_bytes,
              size_t whole_set_max_members, uint32_t span_members, ChangeFn on_change,
              size_t key_filter_bytes = 0);

  // The key's object; null when absent.
  Result<ObjectPtr> load(const std::string& bucket, const std::string& key);
  // load() for a client's whole read: too_large for a set of more than `max_members`
  // (found by a scan of at most that many rows, or from the cached copy).
  Result<ObjectPtr> load_bounded(const std::string& bucket, const std::string& key,
                                 size_t max_members);
  // The key's object for changing in place: the cached one when nothing else holds it,
  // else a copy (others keep what they saw). Null when the key is absent. A change is
  // stored only by save().
  Result<std::shared_ptr<Object>> writable(const std::string& bucket, const std::string& key);
  // Hints (Node::prefetch) for the key with this hash (ring::key_hash): prefetch_slot
  // starts fetching its cache slot and key filter block; prefetch_entry, once the slot has
  // arrived, the cached entry and object the slot names. No effect on what is cached or
  // stored.
  void prefetch_slot(uint64_t key_hash) const {
    cache_.prefetch_slot(key_hash);
    key_filter_.prefetch(key_hash);
  }
  void prefetch_entry(uint64_t key_hash) const { cache_.prefetch_entry(key_hash); }
  // Then, for a set merge: what the lookups of its first kPrefetchMembers members in the
  // cached set read (crdt::ORSet::prefetch_member), one step per stage. More would only
  // evict each other before they are read.
  static constexpr size_t kPrefetchMembers = 16;
  void prefetch_members(uint64_t key_hash, const std::vector<std::string>& elements,
                        int stage) const {
    const Object* o = cache_.peek(key_hash);
    const auto* set = o ? o->as<crdt::ORSet>() : nullptr;
    if (set == nullptr) return;
    const size_t n = std::min(elements.size(), kPrefetchMembers);
    for (size_t i = 0; i < n; ++i) set->prefetch_member(elements[i], stage);
  }
  // What an operation naming `elements` (and the operation records `ops`) needs of the
  // key: the whole object when it is cached, not a set, or a set of at most
  // whole_set_max_members elements (then as writable() gives it, `for_write` or not);
  // else a partial one. REQUIRES: `elements` non-empty.
  Result<Part> part(const std::string& bucket, const std::string& key,
                    const std::vector<std::string>& elements, const std::vector<uint64_t>& ops,
                    bool for_write);
  // A page of the key's set (object.h): its head with at most page.count members after
  // page.after (and up to page.until), read from the cache or by a scan of just those rows; other
  // types whole.
  Result<ObjectPtr> load_page(const std::string& bucket, const std::string& key,
                              const SetPage& page);
  // The key's operation records (none when absent), read from the cache, the head or
  // the record rows, without reading its set's members.
  Result<OpLog> load_records(const std::string& bucket, const std::string& key);
  // save() for what part() gave: a partial set stages its head and the rows `rows` names
  // (REQUIRES: not rows.all).
  void save_part(const std::string& bucket, const std::string& key, Part part, Rows rows,
                 bool durable);
  // Stages `o` as the key's object (and caches it): its head, and the rows `rows` names.
  void save(const std::string& bucket, const std::string& key, std::shared_ptr<Object> o, Rows rows,
            bool durable);
  // Erases a key's head and rows, or, when a scan fails, nothing.
  Status erase_object(const DataKey& dk);
  // Erases rows found by a scan of the data rows (expired operation records): their
  // keys leave the cache, so the next load reads what is left.
  void erase_rows(const std::vector<std::string>& rows);

  // Anti-entropy's digest of a set's element rows (the XOR of row_digest() over the rows
  // under `prefix`, element_prefix()), kept for big sets (more than whole_set_max_members
  // rows) once an exchange read them, and updated by every save after; so an exchange
  // reads a big set's head, not its members. nullopt: not kept (read the rows, then keep
  // it when there are more than digest_min_rows()). With it the digests of the set's
  // spans (set_spans.h), kept the same way.
  size_t digest_min_rows() const { return whole_set_max_members_ + 1; }
  uint32_t span_members() const { return span_members_; }
  std::optional<uint64_t> element_digest(const std::string& prefix) const;
  // Null: none kept (set_spans.h limits).
  const SpanDigests* element_spans(const std::string& prefix) const;
  // Whether anti-entropy should hold a big set (digest kept) back instead of sending it
  // whole now: a save changed its rows within quiet_ms, and it has been held less than
  // max_hold_ms since it was last let go, so one written without pause still goes every
  // max_hold_ms. False for a set whose digest is not kept.
  bool hold_while_written(const std::string& prefix, uint64_t now_ms, uint64_t quiet_ms,
                          uint64_t max_hold_ms);
  // The rows of `elements` and of the members `delta` (if any) holds as `set` (the key's
  // object, before an operation changes it) holds them, for Rows::before; empty when no
  // digest of the key's rows is kept (no save would read them). REQUIRES: `set` holds
  // every such row the store holds: the whole cached set, or a part() that loaded them.
  RowsBefore rows_before(const std::string& bucket, const std::string& key, const crdt::ORSet& set,
                         const std::vector<std::string>& elements,
                         const crdt::ORSet* delta = nullptr) const;
  // REQUIRES: `digest` and `spans` (nullopt: none kept) are of the rows under `prefix` as
  // the store holds them now.
  void keep_element_digest(const std::string& prefix, uint64_t digest,
                           std::optional<SpanDigests> spans);

  // The store was repaired or reopened (store_doctor.h), or a turn's writes discarded:
  // what the cache and the digests hold may no longer be what the store holds. (The key
  // filter only ever holds more than the store: a repaired or reopened store restarts it,
  // Node::on_store_reset; a discarded turn, end_turn.)
  void forget_cache() {
    cache_.clear();
    element_digests_.clear();
  }
  // The turn's writes were committed, or `discarded`. A step of the key filter's walk in
  // a discarded turn saw its staged writes (a walk shows them), and an erase among them
  // hid a row the discard brought back: the walk starts again.
  void end_turn(bool discarded) {
    if (discarded && walked_this_turn_) key_filter_.restart();
    walked_this_turn_ = false;
  }

  // One bounded step of the key filter's build (key_filter.h): up to max_rows rows. A
  // failed scan is counted (scan_failed); the next step resumes.
  void build_key_filter(size_t max_rows);
  KeyFilter& key_filter() { return key_filter_; }
  const KeyFilter& key_filter() const { return key_filter_; }

  // Notes a failed Store scan (here or by another part): counted, the caller retries.
  void scan_failed(const Status& s);
  uint64_t scan_failures() const { return scan_failures_; }

 private:
  using Entries = std::map<std::string, crdt::Dots>;
  // A key's stored row, decoded (Object::decode_stored); nullopt: absent.
  struct StoredHead {
    Object object;
    bool split = false, op_rows = false;
    size_t bytes = 0;  // encoded
  };
  Result<std::optional<StoredHead>> read_head(uint64_t hash, const std::string& bucket,
                                              const std::string& key);
  // Adds the element rows under `prefix` from `from` on to *out, at most `max_rows` (0: no
  // limit; *more: a further row exists). Corruption for an undecodable row.
  // `end`: the first row not read (empty: the set's end).
  Status scan_elements(const std::string& prefix, const std::string& from, size_t max_rows,
                       Entries* out, bool* more, const std::string& end = {});
  // `max_members` (0: no limit): a set with more element rows is not loaded (*too_big).
  Result<std::shared_ptr<Object>> load_shared(const std::string& bucket, const std::string& key,
                                              size_t max_members = 0, bool* too_big = nullptr);
  Result<crdt::ORSet> load_elements(uint64_t hash, const std::string& bucket,
                                    const std::string& key, crdt::ORSet head, size_t max_members,
                                    bool* too_big);
  // part() of a set known to be big: its head and the rows asked, by point reads.
  Result<Part> load_part(const std::string& bucket, const std::string& key,
                         const std::vector<std::string>& elements, const std::vector<uint64_t>& ops,
                         bool for_write);
  Status load_ops(uint64_t hash, const std::string& bucket, const std::string& key, OpLog* out);
  void save_elements(uint64_t hash, const std::string& bucket, const std::string& key,
                     const crdt::ORSet& set, Rows rows);
  // A kept digest's update for a row about to be written (`dots`) or erased (null); the
  // row's old value from `before` when it names it, else from the store. True when that
  // value says the row was there (so the key filter holds it, or its build walk will reach
  // it); false when it was not, or when no digest is kept (nothing was learnt).
  // REQUIRES: row == prefix + elem (the row's stored key).
  bool update_kept(const std::string& prefix, const std::string& elem, const std::string& row,
                   const std::string* dots, const RowsBefore* before);
  // Cuts the span `elem` falls in at `elem` (a new end, its row not yet written).
  bool split_span(const std::string& prefix, const std::string& elem, SpanDigests* spans);
  void save_ops(uint64_t hash, const std::string& bucket, const std::string& key, const Object& o,
                Rows rows);
  // Before a whole rewrite: erases every row under `prefix` (none when rows.absent) and
  // its kept digest. On a failed scan erases no row and fails the turn.
  void clear_rows(const std::string& prefix, Rows rows);

  Store& store_;
  Turn& turn_;
  Clock& clock_;
  ObjectCache cache_;
  KeyFilter key_filter_;           // which keys the store may hold (read_head asks it first)
  bool walked_this_turn_ = false;  // a step of the key filter's walk ran this turn
  const size_t whole_set_max_members_;
  const uint32_t span_members_;
  // Data keys of sets found to hold more than whole_set_max_members elements (a set
  // stays here while it shrinks: a partial operation is right at any size).
  FifoMap<std::string, bool> big_sets_{4096};
  // Element-row digests by element prefix (element_digest()); a whole rewrite or an
  // erase drops one, a failed read while updating one drops it.
  struct ElementDigest {
    uint64_t digest = 0;
    std::optional<SpanDigests> spans;       // nullopt: dropped (set_spans.h limits)
    uint64_t written_ms = 0;                // the last save that changed its rows
    std::optional<uint64_t> held_since_ms;  // hold_while_written(): held from then
  };
  FifoMap<std::string, ElementDigest> element_digests_{1024};
  ChangeFn on_change_;
  uint64_t scan_failures_ = 0;
};

// What anti-entropy folds into a leaf for one stored row: XXH3(key ‖ value).
uint64_t row_digest(std::string_view key, std::string_view value);

}  // namespace shoal::core
