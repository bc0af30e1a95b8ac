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
//
// The convergence signal. Every write to a data row bumps a change counter and marks its
// segment changed. A segment is known equal with a peer once a comparison found it
// equal after its last change here. Segments not known equal, and quiet for
// kQuietMs, are compared in bulk:
//
//   kAeSummary(up to kSummarySegments (segment, hash of its 64 leaves))  ->
//                                <-  kAeSummaryReply(mask of those that differ)
//
// and the differing ones go through the leaf exchange above (first, before the round
// robin). Both sides record what they found equal. A peer is in sync when every segment
// is known equal and no hints or handoff are pending here (sync_with()); `shoal cluster
// settle` waits until every node says so of every peer. Summaries are paced by the rows
// they scan (kSummaryRowsPerSecond), so a large store is never scanned in a burst.
//
// What to do next and when (the queue, summary pacing, the round robin) is AeSchedule's
// (ae_schedule.h); what is known equal is SegmentSync's (segment_sync.h).
#include <xxhash.h>

#include <algorithm>

#include "crdt/coding.h"
#include "node/core/keys.h"
#include "node/core/node.h"

namespace shoal::core {

namespace {

constexpr uint32_t kAeSegments = SegmentSync::kSegments;
constexpr uint32_t kAeLeaves = 64;
constexpr uint64_t kQuietMs = 1'000;           // a segment changed since: not yet compared
constexpr uint64_t kMaxHoldMs = 60'000;        // a big set written without pause: repaired so often
constexpr uint32_t kSummarySegments = 64;      // segments per summary
constexpr uint64_t kSummaryTimeoutMs = 5'000;  // an unanswered summary is sent again
constexpr uint64_t kSummaryRowsPerSecond = 200'000;  // pacing (both sides scan)

uint32_t leaf_of(uint64_t hash) { return static_cast<uint32_t>((hash >> 50) & (kAeLeaves - 1)); }

std::string segment_end(uint32_t segment) {
  return segment + 1 == kAeSegments ? data_key_end()
                                    : data_key_lower_bound(uint64_t{segment + 1} << 56);
}

using coding::get_be64;
using coding::put_be64;

}  // namespace

// Visits the keys of `segment` this node and `peer` should both hold. A failed scan is
// counted here; the exchange that needed it is retried by a later one.
//
// A set's element rows follow its head. Those of a set big enough are read once: their
// digest is kept by objects_ (updated by every save) and stands for them after, the scan
// seeking past them; those of a key not shared with `peer` are skipped unread.
Status Node::ae_scan(uint32_t segment, const ring::NodeId& peer, const AeRowFn& fn) {
  std::string from = data_key_lower_bound(uint64_t{segment} << 56);
  const std::string end = segment_end(segment);
  while (!from.empty()) {
    Status s = ae_scan_from(&from, end, peer, fn);
    if (!s.is_ok()) {
      objects_.scan_failed(s);
      return s;
    }
  }
  return Status::ok();
}

namespace {

// The element rows of one set as a scan reads them, to keep their digest.
struct ElementRun {
  std::string prefix;
  uint64_t digest = 0;
  size_t rows = 0;
  SpanDigests spans;

  void add(std::string_view row, uint64_t row_digest, uint32_t span_members) {
    digest ^= row_digest;
    ++rows;
    spans.append(row.substr(prefix.size()), row_digest, span_members);
  }
};

void finish_run(ElementRun* run, ObjectStore& objects) {
  if (run->rows >= objects.digest_min_rows()) {
    run->spans.finish();
    std::optional<SpanDigests> spans;
    if (!run->spans.overflow()) spans = std::move(run->spans);
    objects.keep_element_digest(run->prefix, run->digest, std::move(spans));
  }
  *run = ElementRun();
}

}  // namespace

// One store scan from *from: sets *from to where the next one starts (past element rows
// it skips), or empty at the end.
Status Node::ae_scan_from(std::string* from, const std::string& end, const ring::NodeId& peer,
                          const AeRowFn& fn) {
  std::string resume;
  ElementRun run;
  Status s = env_.store.scan(*from, end, [&](std::string_view k, std::string_view v) {
    if (k.size() < 9) return true;
    const uint64_t hash = get_be64(k.substr(1));
    const bool shared = ring_.co_owned(hash, peer);
    const std::string_view prefix = element_prefix_of(k);
    if (prefix.empty() || prefix != run.prefix) finish_run(&run, objects_);
    if (prefix.empty() || prefix == run.prefix) {
      if (!shared) return true;
      const uint64_t digest = row_digest(k, v);
      if (!prefix.empty()) run.add(k, digest, objects_.span_members());
      fn(hash, k, digest);
      ae_.scanned_row();
      return true;
    }
    // The first element row of a set. A big one's digest stands for its rows: seek past
    // them (a new scan). A small one not shared with `peer` is read past, row by row.
    run.prefix = std::string(prefix);
    if (const std::optional<uint64_t> kept = objects_.element_digest(run.prefix)) {
      if (shared) fn(hash, prefix, *kept);
      resume = prefix_end(run.prefix);
      return false;
    }
    if (!shared) return true;  // rows stays 0: no digest kept from it
    const uint64_t digest = row_digest(k, v);
    run.add(k, digest, objects_.span_members());
    fn(hash, k, digest);
    ae_.scanned_row();
    return true;
  });
  if (s.is_ok()) finish_run(&run, objects_);
  *from = std::move(resume);
  return s;
}

Result<std::vector<uint64_t>> Node::ae_leaves(uint32_t segment, const ring::NodeId& peer) {
  std::vector<uint64_t> leaves(kAeLeaves, 0);
  Status s = ae_scan(segment, peer, [&](uint64_t hash, std::string_view, uint64_t digest) {
    leaves[leaf_of(hash)] ^= digest;
  });
  if (!s.is_ok()) return s;
  return leaves;
}

Result<uint64_t> Node::ae_segment_hash(uint32_t segment, const ring::NodeId& peer) {
  Result<std::vector<uint64_t>> leaves = ae_leaves(segment, peer);
  if (!leaves) return leaves.status();
  std::string bytes;
  for (uint64_t h : *leaves) put_be64(&bytes, h);
  return XXH3_64bits(bytes.data(), bytes.size());
}

void Node::segment_changed(uint64_t key_hash) {
  segments_.changed(SegmentSync::segment_of(key_hash), env_.clock.now_ms());
}

PeerSync Node::sync_with(const ring::NodeId& peer) const {
  PeerSync out;
  const SegmentSync::View v = segments_.view(peer);
  out.unconfirmed = v.unconfirmed;
  out.since_wall_ms = v.since_wall_ms;
  auto hints = hints_.by_target().find(peer);
  const bool no_hints =
      hints_.counts_known() && (hints == hints_.by_target().end() || hints->second == 0);
  const bool handoff_idle = sweep_.progress().not_owned == 0 && transfers_.empty();
  out.in_sync = out.unconfirmed == 0 && no_hints && handoff_idle && !health_.is_down(peer) &&
                ring_.ring().has_node(peer) && ring_.holds_self();
  return out;
}

bool Node::in_sync() const {
  if (!hints_.counts_known() || hints_.held() > 0 || sweep_.progress().not_owned > 0 ||
      !transfers_.empty()) {
    return false;
  }
  for (const ring::NodeId& peer : ring_.ring().nodes()) {
    if (peer != config_.self && !sync_with(peer).in_sync) return false;
  }
  return true;
}

// Sends one summary of the segments not known equal with the next peer that has any
// (quiet ones only). False when there was none to send.
bool Node::ae_send_summary() {
  const uint64_t now = env_.clock.now_ms();
  if (!ae_.summary_due(now)) return false;
  const std::vector<ring::NodeId>& nodes = ring_.ring().nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const size_t index = (ae_.summary_cursor() + i) % nodes.size();
    const ring::NodeId& peer = nodes[index];
    if (peer == config_.self || health_.is_down(peer)) continue;
    if (segments_.summary_pending(peer, now, kSummaryTimeoutMs)) continue;
    std::vector<uint32_t> due = segments_.due(peer, now, kQuietMs, kSummarySegments);
    if (due.empty()) continue;
    Message m = Message::make(Message::Kind::kAeSummary, ring_.fingerprint());
    const uint64_t rows_before = ae_.rows_scanned();
    for (uint32_t s : due) {
      Result<uint64_t> h = ae_segment_hash(s, peer);
      if (!h) return false;  // the store failed: try again later
      m.body.push_back(static_cast<char>(s));
      put_be64(&m.body, *h);
    }
    segments_.summary_sent(peer, std::move(due), now);
    send(peer, std::move(m));
    ae_.summary_sent(index, nodes.size(), now, ae_.rows_scanned() - rows_before,
                     config_.cluster.ae_interval_ms, kSummaryRowsPerSecond);
    return true;
  }
  return false;
}

void Node::on_ae_summary(const ring::NodeId& from, const Message& m) {
  if (m.req_id != ring_.fingerprint() || m.body.empty() || m.body.size() % 9 != 0 ||
      m.body.size() / 9 > kAeSegments) {
    return;  // another ring (gossip will settle it) or malformed: the sender asks again
  }
  std::string mask(kAeSegments / 8, '\0');
  const uint64_t wall = env_.clock.wall_ms();
  for (size_t at = 0; at < m.body.size(); at += 9) {
    const uint32_t segment = static_cast<uint8_t>(m.body[at]);
    Result<uint64_t> mine = ae_segment_hash(segment, from);
    if (!mine) return;
    const bool equal = *mine == get_be64(std::string_view(m.body).substr(at + 1));
    if (!equal) mask[segment / 8] = static_cast<char>(mask[segment / 8] | (1 << (segment % 8)));
    segments_.compared(from, segment, equal, wall);
  }
  Message reply = Message::make(Message::Kind::kAeSummaryReply, m.req_id);
  reply.body = std::move(mask);
  send(from, std::move(reply));
}

void Node::on_ae_summary_reply(const ring::NodeId& from, const Message& m) {
  if (m.req_id != ring_.fingerprint() || m.body.size() != kAeSegments / 8) return;
  auto differs = [&](uint32_t segment) {
    return (static_cast<uint8_t>(m.body[segment / 8]) >> (segment % 8) & 1) != 0;
  };
  for (uint32_t segment : segments_.summary_answered(from, differs, env_.clock.wall_ms())) {
    ae_.queue(from, segment);
  }
}

void Node::ae_send_leaves(uint32_t segment, uint64_t mask, const ring::NodeId& peer) {
  uint32_t budget = config_.cluster.ae_max_keys_per_exchange;
  const uint64_t now = env_.clock.now_ms();
  std::vector<DataKey> batch;
  std::string last_head;
  Status s = ae_scan(segment, peer, [&](uint64_t hash, std::string_view k, uint64_t) {
    if (budget == 0 || !(mask >> leaf_of(hash) & 1)) return;
    bool element = false;
    auto dk = parse_data_row(k, &element, nullptr);
    if (!dk) return;
    std::string head = data_key(dk->hash, dk->bucket, dk->key);
    if (head == last_head) return;  // a set's element rows follow its head
    last_head = std::move(head);
    // A big set being written differs while its writes travel; a repair for each would
    // mostly chase writes in flight. It goes once quiet, or every kMaxHoldMs while
    // written (a repair reads only the spans that differ).
    if (objects_.hold_while_written(element_prefix(dk->hash, dk->bucket, dk->key), now, kQuietMs,
                                    kMaxHoldMs)) {
      ++ae_.stats().big_sets_deferred;
      return;
    }
    --budget;
    batch.push_back(std::move(*dk));
  });
  if (!s.is_ok()) return;  // sends nothing: the peer's next exchange asks again
  for (const DataKey& dk : batch) {
    if (objects_.element_digest(element_prefix(dk.hash, dk.bucket, dk.key))) {
      set_sync_start(peer, dk);  // a big set: member by member, never whole
      continue;
    }
    Result<ObjectPtr> o = objects_.load(dk.bucket, dk.key);
    if (!o || !*o) continue;
    Message m = Message::make(Message::Kind::kAeRepair, 0, dk.bucket, dk.key);
    if (const auto* set = (*o)->as<crdt::ORSet>();
        set && set->size() >= objects_.digest_min_rows()) {
      ++ae_.stats().big_sets_sent_whole;  // its digest was not kept yet
    }
    m.object = *o;
    send(peer, std::move(m));
    ++ae_.stats().keys_sent;
  }
}

void Node::ae_send_tree(uint32_t segment, const ring::NodeId& peer) {
  Result<std::vector<uint64_t>> leaves = ae_leaves(segment, peer);
  if (!leaves) return;
  Message m = Message::make(Message::Kind::kAeTree, ring_.fingerprint());
  m.body.reserve(1 + 8 * kAeLeaves);
  m.body.push_back(static_cast<char>(segment));
  for (uint64_t h : *leaves) put_be64(&m.body, h);
  send(peer, std::move(m));
  ++ae_.stats().exchanges;
}

void Node::ae_step() {
  if (ring_.ring().size() < 2 || !ring_.holds_self()) return;
  set_syncs_.expire(env_.clock.now_ms());  // a page lost with its peer: started again later
  set_sync_pace();
  // Segments a summary found to differ go first, then summaries of the segments not
  // known equal, then the round robin (which also finds what changed on peers only).
  while (auto queued = ae_.next_queued()) {
    const auto& [peer, segment] = *queued;
    if (!health_.is_down(peer) && ring_.ring().has_node(peer)) {
      return ae_send_tree(segment, peer);
    }
  }
  if (ae_send_summary()) return;
  const auto [segment, peer] = ae_.next_pair(ring_.ring().nodes(), config_.self);
  if (health_.is_down(*peer)) return;
  ae_send_tree(segment, *peer);
}

void Node::on_ae_tree(const ring::NodeId& from, const Message& m) {
  if (m.body.size() != 1 + 8 * kAeLeaves) return;  // malformed: ignored
  if (m.req_id != ring_.fingerprint()) return;     // different rings: wait for gossip
  const uint32_t segment = static_cast<uint8_t>(m.body[0]);
  Result<std::vector<uint64_t>> mine = ae_leaves(segment, from);
  if (!mine) return;
  uint64_t mask = 0;
  for (uint32_t i = 0; i < kAeLeaves; ++i) {
    if ((*mine)[i] != get_be64(std::string_view(m.body).substr(1 + 8 * i)))
      mask |= uint64_t{1} << i;
  }
  if (mask == 0) return;
  ++ae_.stats().differing_leaves;
  ae_send_leaves(segment, mask, from);
  Message diff = Message::make(Message::Kind::kAeDiff, m.req_id);
  diff.body.push_back(static_cast<char>(segment));
  put_be64(&diff.body, mask);
  send(from, std::move(diff));
}

void Node::on_ae_diff(const ring::NodeId& from, const Message& m) {
  if (m.body.size() != 9 || m.req_id != ring_.fingerprint()) return;
  ae_send_leaves(static_cast<uint8_t>(m.body[0]), get_be64(std::string_view(m.body).substr(1)),
                 from);
}

void Node::on_ae_repair(const Message& m) {
  // A store that refuses writes would fail the whole turn; the next exchange repairs it.
  if (!m.object || !env_.store.health().is_ok()) return;
  Result<ObjectPtr> before = objects_.load(m.bucket, m.key);
  if (merge_local(m.bucket, m.key, *m.object, false).is_ok()) {
    Result<ObjectPtr> after = objects_.load(m.bucket, m.key);
    if (before && after && *after && (!*before || !(**before == **after))) {
      ++ae_.stats().keys_repaired;
    }
  }
}

}  // namespace shoal::core
