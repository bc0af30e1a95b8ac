#include "ring/ring.h"

#include <xxhash.h>

#include <algorithm>

#include "crdt/assert.h"
#include "crdt/coding.h"

namespace shoal::ring {

using coding::put_be32;

uint64_t key_hash(std::string_view bucket, std::string_view key) {
  // One contiguous buffer: stack for typical keys, heap for long ones.
  char stack[256];
  const size_t total = 4 + bucket.size() + key.size();
  std::string heap;
  char* buf = stack;
  if (total > sizeof(stack)) {
    heap.resize(total);
    buf = heap.data();
  }
  const auto n = static_cast<uint32_t>(bucket.size());
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(n >> (24 - 8 * i));
  std::copy(bucket.begin(), bucket.end(), buf + 4);
  std::copy(key.begin(), key.end(), buf + 4 + bucket.size());
  return XXH3_64bits(buf, total);
}

uint64_t vnode_token(std::string_view node, uint32_t vnode_index) {
  std::string buf(node);
  put_be32(&buf, vnode_index);
  return XXH3_64bits(buf.data(), buf.size());
}

Ring::Ring(std::vector<NodeId> nodes, uint32_t vnodes_per_node) : vnodes_(vnodes_per_node) {
  SHOAL_ASSERT(vnodes_per_node >= 1);
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  nodes_ = std::move(nodes);
  std::vector<std::pair<uint64_t, uint32_t>> all;
  all.reserve(nodes_.size() * vnodes_);
  for (uint32_t i = 0; i < nodes_.size(); ++i) {
    for (uint32_t v = 0; v < vnodes_; ++v) all.emplace_back(vnode_token(nodes_[i], v), i);
  }
  std::sort(all.begin(), all.end());  // ties: by node index, i.e. by node id
  tokens_.reserve(all.size());
  owners_.reserve(all.size());
  for (const auto& [token, owner] : all) {
    tokens_.push_back(token);
    owners_.push_back(owner);
  }
  prefix_.assign((size_t{1} << 16) + 1, 0);
  size_t i = 0;
  for (size_t p = 0; p < prefix_.size(); ++p) {
    while (i < tokens_.size() && (tokens_[i] >> 48) < p) ++i;
    prefix_[p] = static_cast<uint32_t>(i);
  }
}

bool Ring::has_node(std::string_view node) const {
  return std::binary_search(nodes_.begin(), nodes_.end(), node);
}

size_t Ring::position(uint64_t hash) const {
  if (tokens_.empty()) return 0;
  const size_t p = hash >> 48;
  auto it = std::lower_bound(tokens_.begin() + prefix_[p], tokens_.begin() + prefix_[p + 1], hash);
  return it == tokens_.end() ? 0 : static_cast<size_t>(it - tokens_.begin());
}

void Ring::preference_indexes(uint64_t hash, size_t n, std::vector<uint32_t>* out) const {
  out->clear();
  const size_t want = std::min(n, nodes_.size());
  if (want == 0) return;
  out->reserve(want);  // one allocation at most, none when `out` is reused
  const size_t total = tokens_.size();
  for (size_t i = position(hash), steps = 0; out->size() < want && steps < total; ++steps) {
    const uint32_t owner = owners_[i];
    if (std::find(out->begin(), out->end(), owner) == out->end()) out->push_back(owner);
    if (++i == total) i = 0;
  }
  // Every node owns a token, so a full walk finds `want` distinct nodes.
  SHOAL_ASSERT(out->size() == want, "a preference list has min(n, nodes) distinct nodes");
}

std::vector<NodeId> Ring::preference_list(uint64_t hash, size_t n) const {
  std::vector<uint32_t> idx;
  preference_indexes(hash, n, &idx);
  std::vector<NodeId> out;
  out.reserve(idx.size());
  for (uint32_t i : idx) out.push_back(nodes_[i]);
  return out;
}

std::vector<Target> Ring::sloppy_targets(uint64_t hash, size_t n,
                                         const std::set<NodeId>& down) const {
  std::vector<uint32_t> all;
  preference_indexes(hash, nodes_.size(), &all);  // every node, clockwise order
  const size_t primaries = std::min(n, all.size());
  std::vector<Target> out;
  size_t next_spare = primaries;
  SHOAL_ASSERT(all.size() == nodes_.size());
  for (size_t p = 0; p < primaries; ++p) {
    const NodeId& owner = nodes_[all[p]];
    if (!down.count(owner)) {
      out.push_back(Target{owner, std::nullopt});
      continue;
    }
    while (next_spare < all.size() && down.count(nodes_[all[next_spare]])) ++next_spare;
    if (next_spare == all.size()) continue;
    out.push_back(Target{nodes_[all[next_spare++]], owner});
  }
  SHOAL_ASSERT(out.size() <= primaries);
  return out;
}

std::map<NodeId, double> Ring::ownership(size_t n) const {
  std::map<NodeId, double> share;
  for (const NodeId& node : nodes_) share[node] = 0.0;
  if (tokens_.empty()) return share;
  const long double kSpace = 18446744073709551616.0L;  // 2^64
  std::vector<long double> acc(nodes_.size(), 0.0L);
  std::vector<uint32_t> owners;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const uint64_t prev = tokens_[i == 0 ? tokens_.size() - 1 : i - 1];
    const uint64_t len = tokens_[i] - prev;  // unsigned wrap gives the arc past the top
    const long double arc = tokens_.size() == 1 ? kSpace : static_cast<long double>(len);
    preference_indexes(tokens_[i], n, &owners);
    for (uint32_t o : owners) acc[o] += arc;
  }
  for (size_t i = 0; i < nodes_.size(); ++i)
    share[nodes_[i]] = static_cast<double>(acc[i] / kSpace);
  return share;
}

uint64_t Ring::fingerprint() const {
  std::string buf;
  put_be32(&buf, vnodes_);
  for (const NodeId& node : nodes_) {
    put_be32(&buf, static_cast<uint32_t>(node.size()));
    buf += node;
  }
  return XXH3_64bits(buf.data(), buf.size());
}

}  // namespace shoal::ring
