// Node: anti-entropy (node.h).
//
// The hash space is cut into kAeSegments segments (top 8 bits of the key hash), each
// into kAeLeaves leaves (the next 6 bits). An exchange between this node and a peer
// covers one segment and the keys of it that both should hold (both are among the
// key's owners). Each side folds every stored row of such keys into its leaf as
// XXH3(row key ‖ row value), XOR-combined, so a leaf hash depends only on the set of
// (key, state) pairs (a set's rows are a function of its state: keys.h).
//
//   initiator                       peer
//   kAeTree(segment, 64 hashes)  ->  compares with its own leaves
//                                <-  kAeRepair for its keys in differing leaves
//                                <-  kAeDiff(segment, mask of differing leaves)
//   kAeRepair for its keys in those leaves ->
//
// Repairs are joins, so both end with the union. Each side sends at most
// ae_max_keys_per_exchange objects per exchange; what is left is found next time. The
// initiator walks every (segment, peer) pair in turn, one exchange per ae_interval_ms,
// so a full cycle takes segments * (peers) * interval and never starves clients.
#include <xxhash.h>

#include <algorithm>

#include "node/core/keys.h"
#include "node/core/node.h"

namespace shoal::core {

namespace {

constexpr uint32_t kAeSegments = 256;
constexpr uint32_t kAeLeaves = 64;

uint32_t leaf_of(uint64_t hash) { return static_cast<uint32_t>((hash >> 50) & (kAeLeaves - 1)); }

std::string segment_end(uint32_t segment) {
  return segment + 1 == kAeSegments ? data_key_end()
                                    : data_key_lower_bound(uint64_t{segment + 1} << 56);
}

void put64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * (7 - i)));
  out->append(b, 8);
}

uint64_t get64(std::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

}  // namespace

bool Node::co_owned(uint64_t hash, const ring::NodeId& peer) const {
  thread_local std::vector<uint32_t> owners;
  ring_.preference_indexes(hash, config_.cluster.replicas, &owners);
  bool self = false, other = false;
  for (uint32_t i : owners) {
    self = self || ring_.nodes()[i] == config_.self;
    other = other || ring_.nodes()[i] == peer;
  }
  return self && other;
}

// Visits the keys of `segment` this node and `peer` should both hold.
Status Node::ae_scan(uint32_t segment, const ring::NodeId& peer,
                     const std::function<void(uint64_t hash, std::string_view key,
                                              std::string_view value)>& fn) {
  return env_.store.scan(data_key_lower_bound(uint64_t{segment} << 56), segment_end(segment),
                         [&](std::string_view k, std::string_view v) {
                           if (k.size() < 9) return true;
                           const uint64_t hash = get64(k.substr(1));
                           if (co_owned(hash, peer)) fn(hash, k, v);
                           return true;
                         });
}

Result<std::vector<uint64_t>> Node::ae_leaves(uint32_t segment, const ring::NodeId& peer) {
  std::vector<uint64_t> leaves(kAeLeaves, 0);
  std::string buf;
  Status s = ae_scan(segment, peer, [&](uint64_t hash, std::string_view k, std::string_view v) {
    buf.assign(k);
    buf.append(v);
    leaves[leaf_of(hash)] ^= XXH3_64bits(buf.data(), buf.size());
  });
  if (!s.is_ok()) return s;
  return leaves;
}

void Node::ae_send_leaves(uint32_t segment, uint64_t mask, const ring::NodeId& peer) {
  uint32_t budget = config_.cluster.ae_max_keys_per_exchange;
  std::vector<DataKey> batch;
  std::string last_head;
  (void)ae_scan(segment, peer, [&](uint64_t hash, std::string_view k, std::string_view) {
    if (budget == 0 || !(mask >> leaf_of(hash) & 1)) return;
    bool element = false;
    auto dk = parse_data_row(k, &element, nullptr);
    if (!dk) return;
    std::string head = data_key(dk->hash, dk->bucket, dk->key);
    if (head == last_head) return;  // a set's element rows follow its head
    last_head = std::move(head);
    --budget;
    batch.push_back(std::move(*dk));
  });
  for (const DataKey& dk : batch) {
    Result<ObjectPtr> o = load(dk.bucket, dk.key);
    if (!o || !*o) continue;
    Message m = Message::make(Message::Kind::kAeRepair, 0, dk.bucket, dk.key);
    m.object = *o;
    send(peer, std::move(m));
    ++ae_.keys_sent;
  }
}

void Node::ae_step() {
  if (ring_.size() < 2 || !ring_.has_node(config_.self)) return;
  const std::vector<ring::NodeId>& nodes = ring_.nodes();
  // The next (segment, peer) pair; peers are the ring's other nodes in order.
  ae_segment_ = (ae_segment_ + 1) % kAeSegments;
  if (ae_segment_ == 0) ++ae_peer_;
  if (nodes[ae_peer_ % nodes.size()] == config_.self) ++ae_peer_;
  const ring::NodeId& peer = nodes[ae_peer_ % nodes.size()];
  if (down_.count(peer)) return;
  Result<std::vector<uint64_t>> leaves = ae_leaves(ae_segment_, peer);
  if (!leaves) return;
  Message m = Message::make(Message::Kind::kAeTree, ring_fingerprint_);
  m.body.reserve(1 + 8 * kAeLeaves);
  m.body.push_back(static_cast<char>(ae_segment_));
  for (uint64_t h : *leaves) put64(&m.body, h);
  send(peer, std::move(m));
  ++ae_.exchanges;
}

void Node::on_ae_tree(const ring::NodeId& from, const Message& m) {
  if (m.body.size() != 1 + 8 * kAeLeaves) return;       // malformed: ignored
  if (m.req_id != ring_fingerprint_) return;          // different rings: wait for gossip
  const uint32_t segment = static_cast<uint8_t>(m.body[0]);
  Result<std::vector<uint64_t>> mine = ae_leaves(segment, from);
  if (!mine) return;
  uint64_t mask = 0;
  for (uint32_t i = 0; i < kAeLeaves; ++i) {
    if ((*mine)[i] != get64(std::string_view(m.body).substr(1 + 8 * i))) mask |= uint64_t{1} << i;
  }
  if (mask == 0) return;
  ++ae_.differing_leaves;
  ae_send_leaves(segment, mask, from);
  Message diff = Message::make(Message::Kind::kAeDiff, m.req_id);
  diff.body.push_back(static_cast<char>(segment));
  put64(&diff.body, mask);
  send(from, std::move(diff));
}

void Node::on_ae_diff(const ring::NodeId& from, const Message& m) {
  if (m.body.size() != 9 || m.req_id != ring_fingerprint_) return;
  ae_send_leaves(static_cast<uint8_t>(m.body[0]), get64(std::string_view(m.body).substr(1)), from);
}

void Node::on_ae_repair(const Message& m) {
  if (!m.object) return;
  Result<ObjectPtr> before = load(m.bucket, m.key);
  if (merge_local(m.bucket, m.key, *m.object, false).is_ok()) {
    Result<ObjectPtr> after = load(m.bucket, m.key);
    if (before && after && *after && (!*before || !(**before == **after))) ++ae_.keys_repaired;
  }
}

}  // namespace shoal::core
