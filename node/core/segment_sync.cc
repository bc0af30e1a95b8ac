#include "node/core/segment_sync.h"

#include <algorithm>

#include "crdt/assert.h"

namespace shoal::core {

void SegmentSync::changed(uint32_t segment, uint64_t now_ms) {
  SHOAL_ASSERT(segment < kSegments);
  changed_seq_[segment] = ++seq_;
  changed_ms_[segment] = now_ms;
}

bool SegmentSync::known_equal(const ring::NodeId& peer, uint32_t segment) const {
  SHOAL_ASSERT(segment < kSegments);
  auto it = peers_.find(peer);
  return it != peers_.end() && known(it->second, segment);
}

std::vector<uint32_t> SegmentSync::due(const ring::NodeId& peer, uint64_t now_ms, uint64_t quiet_ms,
                                       size_t max) const {
  std::vector<uint32_t> out;
  auto it = peers_.find(peer);
  for (uint32_t s = 0; s < kSegments && out.size() < max; ++s) {
    const bool is_known = it != peers_.end() && known(it->second, s);
    if (!is_known && now_ms >= changed_ms_[s] + quiet_ms) out.push_back(s);
  }
  return out;
}

void SegmentSync::compared(const ring::NodeId& peer, uint32_t segment, bool equal,
                           uint64_t wall_ms) {
  SHOAL_ASSERT(segment < kSegments);
  Peer& p = peers_[peer];
  if (!equal) {
    p.equal_seq[segment] = 0;
    return;
  }
  p.equal_seq[segment] = seq_;
  p.equal_wall_ms[segment] = wall_ms;
}

bool SegmentSync::summary_pending(const ring::NodeId& peer, uint64_t now_ms,
                                  uint64_t timeout_ms) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  const uint64_t sent = it->second.summary_sent_ms;
  return sent != 0 && now_ms < sent + timeout_ms;
}

void SegmentSync::summary_sent(const ring::NodeId& peer, std::vector<uint32_t> segments,
                               uint64_t now_ms) {
  SHOAL_ASSERT(!segments.empty());
  Peer& p = peers_[peer];
  p.summary_seq = seq_;
  p.summary_sent_ms = now_ms;
  p.asked = std::move(segments);
}

SegmentSync::View SegmentSync::view(const ring::NodeId& peer) const {
  View out;
  auto it = peers_.find(peer);
  for (uint32_t s = 0; s < kSegments; ++s) {
    if (it == peers_.end() || !known(it->second, s)) {
      ++out.unconfirmed;
    } else {
      out.since_wall_ms = std::max(out.since_wall_ms, it->second.equal_wall_ms[s]);
    }
  }
  return out;
}

}  // namespace shoal::core
