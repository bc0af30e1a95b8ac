// SetSyncs: the member-by-member repairs of big sets this node runs with its peers
// (docs/cluster.md "Big sets"). Anti-entropy finds a big set that differs; instead of
// shipping it whole (a stall of its size, and more than a peer frame past a few million
// members), this node asks the peer for its set's span digests (kSetSpans, set_spans.h),
// compares them with its own to find the regions where the sets differ, and reads just
// those regions of the peer's set, a page at a time (a kRead with a page), joins
// what the page says of the dots of both sides' members in the span, sends the peer what
// it knows of them (a kMerge naming the span's members) and moves its cursor on. At the
// last page, if both sides' member rows agree (equal element digests), it joins the peer's
// context and deferred removes. Each step is a delta of facts about dots, safe whenever
// it lands.
//
// Pages hold ClusterOptions::ae_set_page_members members. Owns only the cursors (and the
// regions each still has to read): at most
// kMaxInFlight syncs, one per (peer, key), each waiting for one page or for its turn to ask
// the next: a sync asks at most one page per anti-entropy step (paced like the exchanges,
// so a repair of a big set never monopolises the loop). One waiting kTimeoutMs is dropped
// (anti-entropy starts it again). Pure: time comes in as arguments.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/core/set_spans.h"
#include "ring/ring.h"

namespace shoal::core {

struct SetSync {
  ring::NodeId peer;
  std::string bucket, key;
  std::optional<std::string> after;  // the cursor: pages start past this member
  std::optional<std::string> until;  // the region's last member (nullopt: the set's end)
  std::vector<SpanRegion> regions;   // the regions still to read after this one
  uint64_t sent_ms = 0;              // when the page now awaited was asked (or the sync moved)
  uint32_t pages = 0;
  bool spans = true;  // awaiting the peer's span digests (not yet a page)
  bool asked = true;  // false: the next page is to be asked on the next step (due())
};

class SetSyncs {
 public:
  static constexpr size_t kMaxInFlight = 4;
  static constexpr uint64_t kTimeoutMs = 30'000;

  // Starts a sync under request id `id`, awaiting the peer's spans; false when one runs
  // for that key with that peer or kMaxInFlight run.
  bool start(uint64_t id, const ring::NodeId& peer, const std::string& bucket,
             const std::string& key, uint64_t now_ms);
  // The sync awaiting the page asked under `id`, or null.
  SetSync* find(uint64_t id);
  // The regions to read, in member order; the first is read now (its first page is
  // asked under `id` at once). REQUIRES: the sync awaits spans; `regions` non-empty.
  void read_regions(uint64_t id, std::vector<SpanRegion> regions, uint64_t now_ms);
  // The sync moves on within its region: its next page is to be asked under `new_id`
  // (due() lists it).
  void advance(uint64_t id, uint64_t new_id, std::string after, uint64_t now_ms);
  // The sync moves to its next region, under `new_id`; false (nothing changed) when none
  // is left.
  bool next_region(uint64_t id, uint64_t new_id, uint64_t now_ms);
  // The ids of syncs whose next page is still to be asked; asked() marks one asked.
  std::vector<uint64_t> due() const;
  void asked(uint64_t id, uint64_t now_ms);
  void finish(uint64_t id) { syncs_.erase(id); }
  // Drops the syncs whose page went unanswered kTimeoutMs; returns how many.
  size_t expire(uint64_t now_ms);
  size_t size() const { return syncs_.size(); }

 private:
  std::map<uint64_t, SetSync> syncs_;  // by the id of the page awaited
};

}  // namespace shoal::core
