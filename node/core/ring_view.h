// RingView: this node's ring, derived from the members gossip says are in it, and the
// questions every part asks of it (does this node own a key, does it share a key with a
// peer, who owns a key).
//
// Owns: the ring, the member list it was built from, its fingerprint (the ring's name
// in gossip and in anti-entropy messages), and the ownership shares computed for it
// (cached: a walk of every token). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "ring/ring.h"

namespace shoal::core {

class RingView {
 public:
  // REQUIRES: replicas > 0 (the n that decides which keys a node owns).
  RingView(ring::NodeId self, uint32_t vnodes_per_node, uint32_t replicas,
           std::vector<ring::NodeId> members);

  // Rebuilds the ring if `members` differ from the ones it was built from. True if so.
  bool update(std::vector<ring::NodeId> members);

  const ring::Ring& ring() const { return ring_; }
  uint64_t fingerprint() const { return fingerprint_; }
  const ring::NodeId& self() const { return self_; }
  bool holds_self() const { return ring_.has_node(self_); }

  // Whether this node is among the key's `replicas` owners.
  bool owns(uint64_t hash) const;
  // Whether this node and `peer` are both among the key's owners.
  bool co_owned(uint64_t hash, const ring::NodeId& peer) const;
  // The key's owners, in preference order.
  std::vector<ring::NodeId> owners(uint64_t hash) const;
  // A request's targets under a strict quorum: the key's first min(n, size) owners (n is
  // the request's, not necessarily `replicas`) that `down` does not hold, in preference
  // order, none standing in for another. One allocation (every request asks this).
  std::vector<ring::Target> primaries(uint64_t hash, size_t n,
                                      const std::set<ring::NodeId>& down) const;
  // Each node's share of the hash space it replicates (summing to min(replicas, size)).
  const std::map<ring::NodeId, double>& ownership() const;

 private:
  ring::NodeId self_;
  uint32_t vnodes_per_node_;
  uint32_t replicas_;
  std::vector<ring::NodeId> members_;
  ring::Ring ring_;
  uint64_t fingerprint_;
  mutable std::map<ring::NodeId, double> ownership_;
  mutable uint64_t ownership_ring_ = 0;  // the fingerprint ownership_ was computed under
};

}  // namespace shoal::core
