// ObjectStore: a node's objects in its Store (keys.h): one head row per key, a set's
// members and every object's operation records in rows of their own, behind an LRU
// object cache.
//
// Owns: the object cache and the count of failed scans. Writes are staged in the Store
// and committed by the turn (turn.h): a durable save asks the turn for an fsync, a save
// that could not clear the rows it replaces fails the turn. Every change to a key's
// rows is reported to `on_change(key_hash)` (anti-entropy's segment signal).
//
// Errors: load() answers corruption for an undecodable row (naming the key) and the
// Store's error for a failed read; erase_object() answers a failed scan's error and
// then erases nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crdt/orset.h"
#include "crdt/status.h"
#include "node/core/env.h"
#include "node/core/keys.h"
#include "node/core/object.h"
#include "node/core/object_cache.h"
#include "node/core/turn.h"

namespace shoal::core {

class ObjectStore {
 public:
  using ChangeFn = std::function<void(uint64_t key_hash)>;

  // What a save rewrites besides the head: every row (all), or the set elements and
  // operation records listed.
  struct Rows {
    const crdt::ORSet::Touched* elements = nullptr;
    const std::vector<uint64_t>* ops = nullptr;
    bool all = false;
  };

  // REQUIRES: `store` and `turn` outlive this object.
  ObjectStore(Store& store, Turn& turn, size_t cache_bytes, ChangeFn on_change);

  // The key's object; null when absent.
  Result<ObjectPtr> load(const std::string& bucket, const std::string& key);
  // The key's object for changing in place: the cached one when nothing else holds it,
  // else a copy (others keep what they saw). Null when the key is absent. A change is
  // stored only by save().
  Result<std::shared_ptr<Object>> writable(const std::string& bucket, const std::string& key);
  // Stages `o` as the key's object (and caches it): its head, and the rows `rows` names.
  void save(const std::string& bucket, const std::string& key, std::shared_ptr<Object> o, Rows rows,
            bool durable);
  // Erases a key's head and rows, or, when a scan fails, nothing.
  Status erase_object(const DataKey& dk);
  // Erases rows found by a scan of the data rows (expired operation records): their
  // keys leave the cache, so the next load reads what is left.
  void erase_rows(const std::vector<std::string>& rows);

  // The store was repaired or reopened (store_doctor.h): what the cache holds may no
  // longer be what the store holds.
  void forget_cache() { cache_.clear(); }

  // Notes a failed Store scan (here or by another part): counted, the caller retries.
  void scan_failed(const Status& s);
  uint64_t scan_failures() const { return scan_failures_; }

 private:
  Result<std::shared_ptr<Object>> load_shared(const std::string& bucket, const std::string& key);
  Result<crdt::ORSet> load_elements(uint64_t hash, const std::string& bucket,
                                    const std::string& key, crdt::ORSet head);
  Status load_ops(uint64_t hash, const std::string& bucket, const std::string& key, OpLog* out);
  void save_elements(uint64_t hash, const std::string& bucket, const std::string& key,
                     const crdt::ORSet& set, Rows rows);
  void save_ops(uint64_t hash, const std::string& bucket, const std::string& key, const Object& o,
                Rows rows);
  // Erases every row under `prefix`. On a failed scan erases nothing and says why.
  Status erase_prefix(const std::string& prefix);

  Store& store_;
  Turn& turn_;
  ObjectCache cache_;
  ChangeFn on_change_;
  uint64_t scan_failures_ = 0;
};

}  // namespace shoal::core
