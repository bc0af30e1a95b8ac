#include "node/core/peer_health.h"

#include "crdt/assert.h"

namespace shoal::core {

void PeerHealth::watch(const ring::NodeId& peer, uint64_t now_ms) {
  if (!detector_.knows(peer)) detector_.watch(peer, now_ms);
}

void PeerHealth::heartbeat(const ring::NodeId& peer, uint64_t now_ms) {
  detector_.heartbeat(peer, now_ms);
  if (!convicted_.count(peer)) return;
  const bool went_down = refresh(peer, now_ms);
  SHOAL_ASSERT(!went_down);  // convicted means down already
}

void PeerHealth::set_reachable(const ring::NodeId& peer, bool reachable) {
  if (reachable) {
    unreachable_.erase(peer);
  } else {
    unreachable_.insert(peer);
  }
}

bool PeerHealth::refresh(const ring::NodeId& peer, uint64_t now_ms) {
  const bool convicted = detector_.convicted(peer, now_ms);
  if (convicted) {
    convicted_.insert(peer);
  } else {
    convicted_.erase(peer);
  }
  const bool down = convicted || unreachable_.count(peer) > 0;
  if (!down) {
    down_.erase(peer);
    return false;
  }
  const bool went_down = down_.insert(peer).second;
  SHOAL_ASSERT(down_.size() >= convicted_.size());  // down is the union of both views
  return went_down;
}

void PeerHealth::forget(const ring::NodeId& peer) {
  detector_.forget(peer);
  convicted_.erase(peer);
  unreachable_.erase(peer);
  down_.erase(peer);
}

}  // namespace shoal::core
