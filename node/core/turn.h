// Turn: what one loop turn's writes ask of the commit that ends it (Store::flush): an
// fsync (a durable write was staged), or no acknowledgement at all (a write could not
// be completed, e.g. the rows it replaces could not be listed). Node::end_turn commits.
#pragma once

#include "crdt/assert.h"
#include "crdt/status.h"
#include "node/core/env.h"

namespace shoal::core {

class Turn {
 public:
  void need_sync(bool durable = true) { sync_ = sync_ || durable; }
  // Whether the last commit's writes were discarded (the store refused them), rather than
  // committed with the turn failed by fail().
  bool discarded() const { return discarded_; }
  // Keeps the first failure of the turn.
  void fail(const Status& s) {
    SHOAL_ASSERT(!s.is_ok());
    if (failure_.is_ok()) failure_ = s;
  }
  // Commits the turn's staged writes (with an fsync when one was asked and `fsync_ok`)
  // and starts the next turn. Not ok: nothing of this turn is stored (the staged writes
  // are discarded) and nothing of it may be acknowledged.
  Status commit(Store& store, bool fsync_ok) {
    Status s = store.flush(sync_ && fsync_ok);
    discarded_ = !s.is_ok();
    if (discarded_) store.discard_staged();
    if (s.is_ok() && !failure_.is_ok()) s = failure_;
    failure_ = Status::ok();
    sync_ = false;
    return s;
  }

 private:
  bool sync_ = false;
  bool discarded_ = false;
  Status failure_;
};

}  // namespace shoal::core
