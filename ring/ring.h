// Ring: consistent-hash placement, a pure function of the membership.
//
// Byte encodings (stable across versions; golden values in tests/unit/ring_test.cc):
//   key hash   = XXH3_64bits( u32_be(len(bucket)) ‖ bucket ‖ key ), seed 0
//   node token = XXH3_64bits( node_id ‖ u32_be(vnode_index) ), seed 0,
//                for vnode_index in [0, vnodes_per_node)
// A key with hash h belongs to the first token t >= h clockwise (wrapping past the top),
// so token i owns the arc (token[i-1], token[i]]. The preference list is the first N
// distinct nodes met walking clockwise from there. Two tokens that collide are ordered by
// node id, so every node builds the identical ring from the same membership.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::ring {

using NodeId = std::string;

uint64_t key_hash(std::string_view bucket, std::string_view key);
uint64_t vnode_token(std::string_view node, uint32_t vnode_index);

// One replica target of a sloppy quorum: a primary, or a fallback holding a hint.
struct Target {
  NodeId node;
  std::optional<NodeId> hint_for;  // the down primary this fallback stands in for
  bool operator==(const Target&) const = default;
};

class Ring {
 public:
  // Chosen so that primary ownership max/mean <= 1.10 for 3..64 nodes with margin for
  // any naming scheme (measured worst 1.05; 2048 gave 1.098, 1024 gave 1.127).
  static constexpr uint32_t kDefaultVnodes = 4096;
  // The largest n a preference list may ask for (replication factor cap).
  static constexpr size_t kMaxReplicas = 16;

  Ring() = default;
  // Duplicate ids are ignored. REQUIRES: vnodes_per_node >= 1.
  explicit Ring(std::vector<NodeId> nodes, uint32_t vnodes_per_node = kDefaultVnodes);

  const std::vector<NodeId>& nodes() const { return nodes_; }  // sorted, distinct
  size_t size() const { return nodes_.size(); }
  bool empty() const { return nodes_.empty(); }
  bool has_node(std::string_view node) const;
  uint32_t vnodes_per_node() const { return vnodes_; }
  const std::vector<uint64_t>& tokens() const { return tokens_; }

  // The first min(n, size()) distinct nodes clockwise from `hash`, primaries first.
  std::vector<NodeId> preference_list(uint64_t hash, size_t n) const;
  // The same as indexes into nodes(); reuses `out`'s storage.
  void preference_indexes(uint64_t hash, size_t n, std::vector<uint32_t>* out) const;
  // Sloppy quorum: each of the n primaries that is not down is its own target; each
  // down primary is replaced by the next healthy node past the primaries, with a hint
  // naming it. When healthy nodes run out, the remaining down primaries get no target.
  std::vector<Target> sloppy_targets(uint64_t hash, size_t n, const std::set<NodeId>& down) const;
  // Share of the hash space (0..1) for which each node is among the first n owners.
  std::map<NodeId, double> ownership(size_t n = 1) const;
  // Identical for identical rings; lets nodes compare rings cheaply.
  uint64_t fingerprint() const;

  bool operator==(const Ring& o) const { return nodes_ == o.nodes_ && vnodes_ == o.vnodes_; }

 private:
  size_t position(uint64_t hash) const;  // index of the first token >= hash, wrapping

  std::vector<NodeId> nodes_;
  uint32_t vnodes_ = kDefaultVnodes;
  std::vector<uint64_t> tokens_;  // sorted
  std::vector<uint32_t> owners_;  // owners_[i]: index into nodes_ of tokens_[i]
  // prefix_[p]: first i with tokens_[i] >> 48 >= p; narrows each lookup to a few tokens.
  std::vector<uint32_t> prefix_;
};

}  // namespace shoal::ring
