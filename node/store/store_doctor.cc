#include "node/store/store_doctor.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crdt/assert.h"

namespace shoal::store {

namespace {
Result<uint64_t> statvfs_free(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) {
    return Status::internal("statvfs " + dir + ": " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}
}  // namespace

StoreDoctor::StoreDoctor(LevelDbStore& store, uint64_t min_free_bytes, FreeBytesFn free_bytes)
    : store_(store), min_free_bytes_(min_free_bytes), free_bytes_fn_(std::move(free_bytes)) {
  if (!free_bytes_fn_) free_bytes_fn_ = [dir = store.dir()] { return statvfs_free(dir); };
}

StoreDoctor::Space StoreDoctor::check_space(uint64_t now_ms) {
  if (now_ms < next_space_check_ms_) return Space::kSame;
  next_space_check_ms_ = now_ms + kSpaceCheckMs;
  Result<uint64_t> free = free_bytes_fn_();
  if (!free) return Space::kSame;  // cannot tell: keep what we knew
  free_bytes_ = *free;
  const bool low = min_free_bytes_ > 0 && free_bytes_ < min_free_bytes_;
  if (low) {
    store_.set_space(Status::unavailable(
        "disk full: " + std::to_string(free_bytes_ >> 20) + " MiB free in " + store_.dir() +
        ", below the floor of " + std::to_string(min_free_bytes_ >> 20) + " MiB (--min-free-mb)"));
  } else {
    store_.set_space(Status::ok());
  }
  if (low == space_low_) return Space::kSame;
  space_low_ = low;
  return low ? Space::kLow : Space::kRecovered;
}

StoreDoctor::Outcome StoreDoctor::tick(uint64_t now_ms) {
  if (store_.fault().is_ok()) {
    sick_ = false;
    return {};
  }
  if (!sick_) {  // a new fault: treat it now, unless the last one was treated lately
    sick_ = true;
    ++counters_.faults;
    repair_next_ = store_.fault().code() == Code::kCorruption;
    const bool flapping = treated_ && now_ms < treated_ms_ + kMaxRetryMs;
    backoff_ms_ = flapping ? std::min(backoff_ms_ * 2, kMaxRetryMs) : kFirstRetryMs;
    due_ms_ = flapping ? now_ms + backoff_ms_ : now_ms;
  }
  if (now_ms < due_ms_) return {};
  Outcome out;
  out.fault = store_.fault();
  Status result = repair_next_ ? store_.repair() : store_.reopen();
  if (result.is_ok()) {
    out.action = repair_next_ ? Action::kRepaired : Action::kReopened;
    ++(repair_next_ ? counters_.repairs : counters_.reopens);
    sick_ = false;
    treated_ = true;
    treated_ms_ = now_ms;
    SHOAL_ASSERT(store_.fault().is_ok());
    return out;
  }
  // A database that opens to find itself damaged needs a repair, not another reopen.
  repair_next_ = repair_next_ || result.code() == Code::kCorruption;
  ++counters_.failed;
  out.action = Action::kFailed;
  out.result = result;
  due_ms_ = now_ms + backoff_ms_;
  backoff_ms_ = std::min(backoff_ms_ * 2, kMaxRetryMs);
  SHOAL_ASSERT(!store_.fault().is_ok());
  return out;
}

}  // namespace shoal::store
