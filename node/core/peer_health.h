// PeerHealth: which peers this node considers down, and why. Two views are combined:
// the shell's (no connection: on_peer_status) and the phi-accrual failure detector's
// (heartbeats stopped arriving). A peer is down when either says so.
//
// Owns: the detector's heartbeat history, the unreachable and convicted sets and their
// union. Holds an entry only for peers it was told about (watch, heartbeat or status):
// bounded by the peers that connect (the shell admits only handshaken peers); forget()
// drops a peer that left or was removed.
// Pure: time comes in as arguments. Up/down is this node's own view, never gossiped.
#pragma once

#include <cstdint>
#include <set>

#include "node/core/failure_detector.h"
#include "ring/ring.h"

namespace shoal::core {

class PeerHealth {
 public:
  explicit PeerHealth(DetectorOptions options) : detector_(options) {}

  // Starts the silence clock for a peer (PhiAccrualDetector::watch); no-op if watched.
  void watch(const ring::NodeId& peer, uint64_t now_ms);
  // A heartbeat arrived: a convicted peer is acquitted at once (not at the next tick).
  void heartbeat(const ring::NodeId& peer, uint64_t now_ms);
  // The shell's connection state.
  void set_reachable(const ring::NodeId& peer, bool reachable);
  // Re-derives the peer's state at now_ms. True exactly when it just went down (it was
  // not down before this call): the caller stops waiting on it.
  bool refresh(const ring::NodeId& peer, uint64_t now_ms);
  // The peer left or was removed: nothing of it is kept.
  void forget(const ring::NodeId& peer);

  bool is_down(const ring::NodeId& peer) const { return down_.count(peer) > 0; }
  const std::set<ring::NodeId>& down() const { return down_; }
  bool convicted(const ring::NodeId& peer) const { return convicted_.count(peer) > 0; }
  double phi(const ring::NodeId& peer, uint64_t now_ms) const {
    return detector_.phi(peer, now_ms);
  }

 private:
  PhiAccrualDetector detector_;
  std::set<ring::NodeId> unreachable_;  // the shell's view: no connection
  std::set<ring::NodeId> convicted_;    // the failure detector's view
  std::set<ring::NodeId> down_;         // either
};

}  // namespace shoal::core
