#include "node/core/sweep.h"

#include <algorithm>

#include "crdt/assert.h"

namespace shoal::core {

void Sweep::start(uint64_t ring_fingerprint, const std::string& first_key) {
  SHOAL_ASSERT(!first_key.empty());  // an empty cursor means "no pass"
  cursor_ = first_key;
  found_ = 0;
  missed_ = false;
  pass_ring_ = ring_fingerprint;
  progress_.active = true;
}

bool Sweep::step_due(uint64_t now_ms, uint64_t ring_fingerprint, const std::string& first_key) {
  if (running()) return true;
  if (now_ms < next_pass_ms_) return false;
  start(ring_fingerprint, first_key);
  return true;
}

void Sweep::soon(uint64_t now_ms) {
  // During a pass the key may sort behind the cursor, unseen: the pass cannot end clean.
  missed_ = missed_ || running();
  next_pass_ms_ = std::min(next_pass_ms_, now_ms + 1000);
}

const std::string& Sweep::cursor() const {
  SHOAL_ASSERT(running());
  return cursor_;
}

void Sweep::pause_at(std::string key) {
  SHOAL_ASSERT(running() && key >= cursor_);  // a pass only moves forward
  cursor_ = std::move(key);
}

bool Sweep::finish(uint64_t now_ms, uint64_t ring_fingerprint, uint64_t recheck_ms) {
  SHOAL_ASSERT(running());
  progress_.not_owned = found_;
  cursor_.clear();
  progress_.active = false;
  const bool clean = found_ == 0 && !missed_ && pass_ring_ == ring_fingerprint;
  next_pass_ms_ = now_ms + (clean ? recheck_ms : std::min<uint64_t>(1000, recheck_ms));
  return clean;
}

}  // namespace shoal::core
