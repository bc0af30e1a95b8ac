// SegmentSync: the bookkeeping behind the convergence signal (anti_entropy.cc). The hash
// space is cut into kSegments segments (the top 8 bits of a key hash). Every write to a
// data row here bumps a change counter and stamps its segment; a segment is known equal
// with a peer once a comparison found it equal after its last change here.
//
// Owns: the change counter, each segment's last change (counter and time), and per peer
// what was found equal (counter and wall time) plus its one outstanding summary. Holds
// an entry for every peer compared with, bounded by the ring's members (forget_all() on
// a ring change). Pure: time comes in as arguments.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "ring/ring.h"

namespace shoal::core {

class SegmentSync {
 public:
  static constexpr uint32_t kSegments = 256;

  static uint32_t segment_of(uint64_t key_hash) { return static_cast<uint32_t>(key_hash >> 56); }

  // A data row of `segment` changed here.
  void changed(uint32_t segment, uint64_t now_ms);
  bool known_equal(const ring::NodeId& peer, uint32_t segment) const;
  // Segments not known equal with `peer` that did not change for `quiet_ms`, in order,
  // at most `max`.
  std::vector<uint32_t> due(const ring::NodeId& peer, uint64_t now_ms, uint64_t quiet_ms,
                            size_t max) const;

  // A comparison done here (a peer's summary answered): `segment` is equal with `peer`
  // as of now, or it differs.
  void compared(const ring::NodeId& peer, uint32_t segment, bool equal, uint64_t wall_ms);

  // Summaries this node sends: one outstanding per peer, retried after timeout_ms.
  bool summary_pending(const ring::NodeId& peer, uint64_t now_ms, uint64_t timeout_ms) const;
  void summary_sent(const ring::NodeId& peer, std::vector<uint32_t> segments, uint64_t now_ms);
  // The peer's answer to the outstanding summary: `differs(segment)` for each segment
  // asked. Equal ones count as equal as of when the summary left (a change since then
  // keeps them unconfirmed). Returns the differing segments; no-op without a summary.
  template <typename Differs>
  std::vector<uint32_t> summary_answered(const ring::NodeId& peer, Differs differs,
                                         uint64_t wall_ms);

  // How many segments are not known equal with `peer`, and when the last was confirmed.
  struct View {
    uint32_t unconfirmed = 0;
    uint64_t since_wall_ms = 0;
  };
  View view(const ring::NodeId& peer) const;

  // Who co-owns what changed: nothing is known equal any more.
  void forget_all() { peers_.clear(); }
  uint64_t seq() const { return seq_; }

 private:
  struct Peer {
    std::vector<uint64_t> equal_seq = std::vector<uint64_t>(kSegments, 0);  // 0: not equal
    std::vector<uint64_t> equal_wall_ms = std::vector<uint64_t>(kSegments, 0);
    uint64_t summary_seq = 0;      // the change counter when the outstanding summary left
    uint64_t summary_sent_ms = 0;  // 0: none outstanding
    std::vector<uint32_t> asked;   // its segments
  };
  bool known(const Peer& p, uint32_t segment) const {
    return p.equal_seq[segment] != 0 && p.equal_seq[segment] >= changed_seq_[segment];
  }

  uint64_t seq_ = 1;
  std::vector<uint64_t> changed_seq_ = std::vector<uint64_t>(kSegments, 1);
  std::vector<uint64_t> changed_ms_ = std::vector<uint64_t>(kSegments, 0);
  std::map<ring::NodeId, Peer> peers_;
};

template <typename Differs>
std::vector<uint32_t> SegmentSync::summary_answered(const ring::NodeId& peer, Differs differs,
                                                    uint64_t wall_ms) {
  std::vector<uint32_t> differing;
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.summary_sent_ms == 0) return differing;
  Peer& p = it->second;
  for (uint32_t segment : p.asked) {
    if (differs(segment)) {
      p.equal_seq[segment] = 0;
      differing.push_back(segment);
    } else {
      p.equal_seq[segment] = p.summary_seq;
      p.equal_wall_ms[segment] = wall_ms;
    }
  }
  p.summary_sent_ms = 0;
  p.asked.clear();
  return differing;
}

}  // namespace shoal::core
