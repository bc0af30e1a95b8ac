// AeSchedule: what anti-entropy (anti_entropy.cc) does next, and what it has done. One
// exchange runs every ae_interval_ms; each takes, in order, a segment a summary found to
// differ (queued), else a summary of segments not known equal (paced by the rows it
// scans), else the next (segment, peer) pair of the round robin, so every pair is
// compared once per segments x peers round-robin exchanges.
//
// Owns: the exchange clock, the round-robin cursor, the queue of differing segments, the
// summary cursor and pacing, and the counters the operator sees. Pure: time comes in as
// arguments. The queue is bounded (kMaxQueue, asserted): a summary leaves only while it
// is empty and each peer has at most one outstanding, so answers add at most
// (members - 1) x segments.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "node/core/membership.h"
#include "node/core/segment_sync.h"
#include "ring/ring.h"

namespace shoal::core {

struct AntiEntropyStats {
  uint64_t exchanges = 0;         // started by this node
  uint64_t differing_leaves = 0;  // exchanges (answered here) that found a difference
  uint64_t keys_sent = 0;
  uint64_t keys_repaired = 0;  // objects received that changed what was stored
  // Big sets in differing leaves not sent because they were being written (sent once quiet).
  uint64_t big_sets_deferred = 0;
  uint64_t set_syncs = 0;            // big sets repaired member by member (set_sync.h)
  uint64_t set_pages = 0;            // pages of them swapped
  uint64_t set_regions = 0;          // regions of them read (where their spans differ)
  uint64_t set_contexts_joined = 0;  // syncs that ended joining the peer's context
  uint64_t big_sets_sent_whole = 0;  // big sets shipped whole (no digest kept for them yet)
};

class AeSchedule {
 public:
  static constexpr uint32_t kSegments = SegmentSync::kSegments;
  static constexpr size_t kMaxQueue = kMaxMembers * kSegments;
  static constexpr uint32_t kMaxCatchUp = 64;  // exchanges run at once after a stall

  // How many exchanges are due at now_ms, one per interval_ms since the last, at most
  // kMaxCatchUp. Behind by more than kMaxCatchUp intervals (a stall), one runs now and
  // the missed ones are skipped. 0 when interval_ms is 0 (anti-entropy off).
  uint32_t exchanges_due(uint64_t now_ms, uint32_t interval_ms);

  // A summary answer found `segment` to differ with `peer`: it is compared next.
  void queue(const ring::NodeId& peer, uint32_t segment);
  std::optional<std::pair<ring::NodeId, uint32_t>> next_queued();
  bool queue_empty() const { return queue_.empty(); }
  // The ring changed: queued segments named the old owners.
  void ring_changed() { queue_.clear(); }

  // The round robin's next pair over the ring's nodes (sorted), skipping `self`.
  // REQUIRES: nodes has at least two entries and holds self.
  std::pair<uint32_t, const ring::NodeId*> next_pair(const std::vector<ring::NodeId>& nodes,
                                                     const ring::NodeId& self);

  // Summaries: whether one may leave at now_ms, from which peer index the search starts,
  // and that one left for the peer at `peer_index` of `nodes` having scanned `rows`
  // (the next waits 2 x interval_ms, or longer to keep scans under rows_per_second).
  bool summary_due(uint64_t now_ms) const { return now_ms >= next_summary_ms_; }
  size_t summary_cursor() const { return summary_peer_; }
  void summary_sent(size_t peer_index, size_t nodes, uint64_t now_ms, uint64_t rows,
                    uint32_t interval_ms, uint64_t rows_per_second);

  // Store rows folded into leaf hashes (summary pacing).
  void scanned_row() { ++rows_scanned_; }
  uint64_t rows_scanned() const { return rows_scanned_; }

  AntiEntropyStats& stats() { return stats_; }
  const AntiEntropyStats& stats() const { return stats_; }

 private:
  uint64_t next_exchange_ms_ = 0;
  uint32_t segment_ = 0;  // the round robin: (segment, peer) pairs
  uint64_t peer_ = 0;
  std::deque<std::pair<ring::NodeId, uint32_t>> queue_;
  uint64_t summary_peer_ = 0;
  uint64_t next_summary_ms_ = 0;
  uint64_t rows_scanned_ = 0;
  AntiEntropyStats stats_;
};

}  // namespace shoal::core
