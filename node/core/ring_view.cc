#include "node/core/ring_view.h"

#include "crdt/assert.h"

namespace shoal::core {

RingView::RingView(ring::NodeId self, uint32_t vnodes_per_node, uint32_t replicas,
                   std::vector<ring::NodeId> members)
    : self_(std::move(self)),
      vnodes_per_node_(vnodes_per_node),
      replicas_(replicas),
      members_(std::move(members)),
      ring_(members_, vnodes_per_node_),
      fingerprint_(ring_.fingerprint()) {
  SHOAL_ASSERT(replicas_ > 0);
}

bool RingView::update(std::vector<ring::NodeId> members) {
  if (members == members_) return false;
  members_ = std::move(members);
  ring_ = ring::Ring(members_, vnodes_per_node_);
  fingerprint_ = ring_.fingerprint();
  return true;
}

bool RingView::owns(uint64_t hash) const {
  // A ring of at most N nodes puts every node in every preference list: no walk (every
  // replica asks this for every write it takes).
  if (ring_.nodes().size() <= replicas_) return ring_.has_node(self_);
  thread_local std::vector<uint32_t> owners;
  ring_.preference_indexes(hash, replicas_, &owners);
  for (uint32_t i : owners) {
    if (ring_.nodes()[i] == self_) return true;
  }
  return false;
}

bool RingView::co_owned(uint64_t hash, const ring::NodeId& peer) const {
  if (ring_.nodes().size() <= replicas_) return ring_.has_node(self_) && ring_.has_node(peer);
  thread_local std::vector<uint32_t> owners;
  ring_.preference_indexes(hash, replicas_, &owners);
  bool self = false, other = false;
  for (uint32_t i : owners) {
    self = self || ring_.nodes()[i] == self_;
    other = other || ring_.nodes()[i] == peer;
  }
  return self && other;
}

std::vector<ring::NodeId> RingView::owners(uint64_t hash) const {
  std::vector<ring::NodeId> out = ring_.preference_list(hash, replicas_);
  SHOAL_ASSERT(out.size() <= replicas_);
  return out;
}

std::vector<ring::Target> RingView::primaries(uint64_t hash, size_t n,
                                              const std::set<ring::NodeId>& down) const {
  thread_local std::vector<uint32_t> owners;
  ring_.preference_indexes(hash, n, &owners);
  std::vector<ring::Target> out;
  out.reserve(owners.size());
  for (uint32_t i : owners) {
    const ring::NodeId& node = ring_.nodes()[i];
    if (down.empty() || !down.contains(node)) out.push_back(ring::Target{node, std::nullopt});
  }
  return out;
}

const std::map<ring::NodeId, double>& RingView::ownership() const {
  if (ownership_ring_ != fingerprint_ || ownership_.empty()) {
    ownership_ = ring_.ownership(replicas_);
    ownership_ring_ = fingerprint_;
  }
  return ownership_;
}

}  // namespace shoal::core
