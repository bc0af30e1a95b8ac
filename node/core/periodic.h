// Periodic: a duty that runs at most once per interval (gossip, heartbeats, publishing
// this node's load). Pure: time comes in as arguments. Due at once when new.
#pragma once

#include <cstdint>

namespace shoal::core {

class Periodic {
 public:
  // Whether the duty runs at now_ms; if so, the next run is due interval_ms later.
  bool due(uint64_t now_ms, uint64_t interval_ms) {
    if (now_ms < next_ms_) return false;
    next_ms_ = now_ms + interval_ms;
    return true;
  }

 private:
  uint64_t next_ms_ = 0;
};

}  // namespace shoal::core
