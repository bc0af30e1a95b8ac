// Milliseconds on the monotonic clock: deadlines in the client library (client.cc,
// cluster_client.cc).
#pragma once

#include <chrono>
#include <cstdint>

namespace shoal::client {

inline uint64_t mono_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace shoal::client
