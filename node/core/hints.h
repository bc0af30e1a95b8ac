// Hints: what this node keeps, as a sloppy-quorum fallback, for replicas that were down
// (Dynamo's hinted handoff): one hint row per (target, key) (keys.h), the join of every
// update the target missed, stamped with the wall time of the first.
//
// Owns the hint rows and their bookkeeping: how many each target has (at most
// max_per_target: beyond it store() answers overloaded, so a long outage cannot fill the
// disk), whether those counts are known (until a scan of the rows succeeded they are
// not, and the node must not report itself in sync), and how many were delivered.
// Replaying them (which needs transfers and membership) is the node's (handoff.cc).
//
// Errors: load() and store() answer corruption for an undecodable hint row, store()
// type_mismatch when the update's type differs from the hint's; a failed scan is
// counted by ObjectStore::scan_failed and returned.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "node/core/env.h"
#include "node/core/keys.h"
#include "node/core/object.h"
#include "node/core/object_store.h"
#include "node/core/turn.h"
#include "ring/ring.h"

namespace shoal::core {

class Hints {
 public:
  // A stored hint row, read: its data key (nullopt when unreadable), its object, and the
  // wall time of its first update (nullopt when the row is too short to hold one).
  struct Row {
    std::optional<DataKey> key;
    Result<Object> object;
    std::optional<uint64_t> first_ms;
  };
  static Row read_row(std::string_view stored_key, std::string_view value);

  // REQUIRES: store, turn and objects outlive this object.
  Hints(Store& store, Turn& turn, ObjectStore& objects, uint64_t max_per_target);

  // Counts the hint rows by target. On a failed scan the counts stay unknown; the caller
  // tries again later.
  void count();
  bool counts_known() const { return counts_known_; }
  // The rows may have changed behind this object's back (a repaired store): count again.
  void recount() { counts_known_ = false; }
  uint64_t held() const;
  const std::map<ring::NodeId, uint64_t>& by_target() const { return counts_; }
  uint64_t replayed() const { return replayed_; }

  // The hint this node holds for `target` about the key; null when none.
  Result<ObjectPtr> load(const ring::NodeId& target, const std::string& bucket,
                         const std::string& key);
  // Joins `delta` into the target's hint for the key (a new hint is stamped `wall_ms`).
  Status store(const ring::NodeId& target, const std::string& bucket, const std::string& key,
               const Object& delta, bool durable, uint64_t wall_ms);
  // Visits the target's hint rows in key order until `fn` returns false.
  Status scan(const ring::NodeId& target, const Store::ScanFn& fn);
  // Erases a hint row (delivered elsewhere, unreadable or expired).
  void drop(const std::string& stored_key, const ring::NodeId& target);
  // Every destination acknowledged the hint sent as `sent_bytes`: it is dropped unless
  // it changed since (then the next replay sends the newer one).
  void delivered(const std::string& stored_key, const std::string& sent_bytes,
                 const ring::NodeId& target);

 private:
  Store& store_;
  Turn& turn_;
  ObjectStore& objects_;
  const uint64_t max_per_target_;
  std::map<ring::NodeId, uint64_t> counts_;
  bool counts_known_ = false;
  uint64_t replayed_ = 0;
};

}  // namespace shoal::core
