// Requests: the client requests a node coordinates, from their first send to the last
// replica's answer or their timeout (the Node drives them: coordinator.cc).
//
// Owns, per request id: what was asked, the replicas it went to (a fallback names the
// primary it stands in for), the quorum goal those targets imply, the answers counted so
// far and whether the client has been answered. Pure bookkeeping: sending, minting,
// merging and read repair stay with the Node; time and ids come in as arguments.
//
// Bounded: at most capacity() requests at once; the Node refuses a request beyond that
// with `overloaded` before anything is sent.
//
// record() counts one replica's answer once: an unknown id (finished or timed out), a node
// that is not a target of the request, and a second answer from one target are ignored.
#pragma once

#include <bit>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "node/core/object.h"
#include "node/core/options.h"
#include "node/core/quorum.h"
#include "node/core/update.h"
#include "ring/ring.h"

namespace shoal::core {

struct ClientRequest {
  enum class Op : uint8_t { kGet, kUpdate };
  Op op = Op::kGet;
  std::string bucket;
  std::string key;
  Update update;  // kUpdate
  RequestOptions options;
  // kGet on a set: only these members are read (the context stays whole), so testing a
  // few members of a large set costs O(members asked). Empty: the whole object.
  std::vector<std::string> elements;
  // kGet on a set: one page of its members (object.h; not with `elements`), so a set of
  // any size is read in steps of O(page) each.
  std::optional<SetPage> page;
};

struct ClientResponse {
  Status status;
  // kGet: the merged value (null: not_found). kUpdate: the minting replica's new
  // state when known.
  ObjectPtr object;
  // kUpdate: the operation id had been applied before (a retry): nothing new was
  // minted, and `object` is the state that includes the earlier attempt.
  bool duplicate = false;
  // Page reads: the last member this page covers (the next page's `after`); none: the
  // set has no more members.
  std::optional<std::string> next = std::nullopt;
  // Set adds: how many of the members named none of the replicas that acknowledged the
  // write held before it (Redis SADD's answer, from the write's own round trip: with
  // R + W > N it counts what a read before it would have found).
  std::optional<uint32_t> added = std::nullopt;
  // Set removes without a context: how many of the members named a read before the
  // remove would have found (Redis SREM's answer; docs/semantics.md, "Removes without a
  // context").
  std::optional<uint32_t> removed = std::nullopt;
};

using ReplyFn = std::function<void(ClientResponse)>;

// Which of a request's targets answered, by their index in Pending::targets: a bit each,
// no allocation (a std::set of node names cost three tree inserts per write).
class AnsweredTargets {
 public:
  static constexpr size_t kMaxTargets = 32;  // a preference list has at most 16 (--replicas)
  // Whether target `i` had not answered before.
  bool insert(size_t i) {
    SHOAL_ASSERT(i < kMaxTargets);
    const uint32_t bit = uint32_t{1} << i;
    const bool fresh = (bits_ & bit) == 0;
    bits_ |= bit;
    return fresh;
  }
  bool count(size_t i) const { return i < kMaxTargets && (bits_ >> i & 1u) != 0; }
  size_t size() const { return static_cast<size_t>(std::popcount(bits_)); }
  bool empty() const { return bits_ == 0; }

 private:
  uint32_t bits_ = 0;
};
static_assert(kMaxReplicas <= AnsweredTargets::kMaxTargets &&
                  ring::Ring::kMaxReplicas <= AnsweredTargets::kMaxTargets,
              "every target of the largest preference list has a bit");

// One request in flight.
struct Pending {
  ClientRequest::Op op = ClientRequest::Op::kGet;
  size_t write_bytes = 0;  // counted against Requests::max_write_bytes while open
  std::string bucket, key;
  ResolvedOptions options;
  std::vector<ring::Target> targets;          // hint_for set: a sloppy fallback
  std::map<ring::NodeId, ObjectPtr> replies;  // ok replies (reads); null: not found
  AnsweredTargets answered_by;                // by index in targets
  QuorumGoal goal;
  Tally tally;
  ObjectPtr merged;                   // reads: join of the ok replies
  ObjectPtr delta;                    // updates: what the minter produced
  ObjectPtr state;                    // updates: the minter's new state
  std::vector<std::string> elements;  // reads: the set members asked (empty: all)
  std::optional<SetPage> page;        // reads: a page of the set's members
  // Set updates: the members the minted delta touches, sent with it (Message::elements).
  std::vector<std::string> delta_elements;
  // Set adds: one byte per delta_elements entry, what the replicas that acknowledged
  // the write said of that member (Message::body of kMintReply / kMergeAck): kHeldMinter,
  // kHeldElsewhere, kRemovedElsewhere bits.
  std::string held;
  static constexpr char kHeldMinter = 1, kHeldElsewhere = 2, kRemovedElsewhere = 4;
  // Set removes without a context (counting removes): one byte per delta_elements entry
  // (a counting delete, which names no members: one byte for the key),
  // the union of what the reporting replicas said (kRemoveHeld, kRemoveLeft), and which
  // primaries reported. A replica's flags carry kRemoveReport on every byte (a node
  // before these flags sends none, or add flags, and is not a reporter).
  std::string removal;
  std::set<ring::NodeId> reporters;
  static constexpr char kRemoveHeld = 1, kRemoveLeft = 2, kRemoveReport = 4;
  // A counting delete whose minter held no value (kDeleteProbe): replicas without one
  // wrote nothing, so if any held one, the tombstone may be on fewer than W replicas.
  bool probe = false;
  // A counting delete: the latest of the reporters' lww states before it (their flags
  // carry its stamp, delete_flags), as a read of them would join it; live: a value.
  struct Stamp {
    uint64_t timestamp_ms = 0;
    crdt::Actor actor = 0;
    bool live = false;
    // The lww order (crdt/lww_register.h): timestamp, then actor, then a tombstone wins.
    bool beats(const Stamp& o) const {
      return std::tuple(timestamp_ms, actor, !live) > std::tuple(o.timestamp_ms, o.actor, !o.live);
    }
  };
  std::optional<Stamp> latest;
  RequestOptions request_options;  // counting removes: as asked, for the follow-up
  uint64_t deadline_ms = 0;        // counting removes: when the client stops waiting
  Status first_error;
  ReplyFn reply;
  bool replied = false;
  bool internal = false;  // Node::start_request: a step of another request
  // Updates: a replica may have applied it (minted here, or a mint was sent), so a
  // failure is indeterminate: timeout, never unavailable (docs/semantics.md).
  bool may_have_applied = false;
  bool duplicate = false;  // the minter answered from an earlier attempt (op id)
  // Counter updates whose delta a replica refused for a gap (Message::base): the
  // minter's whole state is fetched once and sent to each of them instead.
  ring::NodeId minter;
  uint64_t base = 0;
  ObjectPtr full;  // the minter's state with its log, once fetched
  bool full_asked = false;
  std::vector<ring::NodeId> gapped;  // waiting for `full`

  bool is_read() const { return op == ClientRequest::Op::kGet; }
  // The target entry of `node` (null: the request did not go to it).
  const ring::Target* target(const ring::NodeId& node) const;
  // Its index in targets (targets.size(): none).
  size_t target_index(const ring::NodeId& node) const;
  // Whether `node` is a target that answered.
  bool answered(const ring::NodeId& node) const { return answered_by.count(target_index(node)); }
  // Sets the replicas the request goes to and the quorum goal they imply: r/w with pr/pw
  // for updates; a read counts primaries only (a fallback holds just what a down primary
  // missed, never the whole value, so ALL means every primary answered).
  void set_targets(std::vector<ring::Target> chosen);
  // What the answers so far decide (kPending: wait).
  Outcome outcome() const { return evaluate(goal, tally); }
  // Every target answered: nothing more will come.
  bool all_answered() const { return answered_by.size() == targets.size(); }
  // Why the request failed as the client is told: an update a replica may have applied
  // answers timeout (retry with the same operation id), never the definite first error.
  Status failure() const;
  // Set adds: joins a replica's held flags (ignored unless one per member: a node
  // before these flags sends none). `from_minter`: they come from the minting replica.
  void note_held(std::string_view flags, bool from_minter);
  // Set adds: the distinct members no acknowledging replica held before: held by none
  // but the minter, and there removed by a replica the remove reached first.
  uint32_t added() const;
  bool counting_remove() const { return !removal.empty(); }
  // A counting remove of the whole key (Update::counting): delta_elements is empty.
  bool counting_delete() const { return counting_remove() && delta_elements.empty(); }
  // Counting removes: joins the removal flags `from` sent (ignored unless it is a primary
  // target and every byte is a report).
  void note_removal(std::string_view flags, const ring::NodeId& from);
  // Counting removes: the count, when the reports settle it: at least a read quorum of
  // primaries (max(r, pr)) reported and none still holds a dot of a member the minter
  // never saw, and the minter minted it now (not a retry answered from its first
  // attempt). None: a follow-up read and remove with its context must finish the job.
  std::optional<uint32_t> removed_if_conclusive() const;
  // Counting removes: fewer than a read quorum of primaries reported yet, enough primaries
  // have not answered to make one up, and nothing else keeps the count open: the count
  // waits for their reports rather than start a follow-up that would read this remove's own
  // tombstones (a write quorum smaller than the read quorum, or a fallback's quick ack).
  bool awaiting_reports() const;
  // Counting removes: the distinct members some reporter held (a counting delete: "" when
  // some reporter held a value).
  std::set<std::string> removal_held() const;
  // A counting delete: a read of the reporters before it would have found a value.
  bool found_value() const { return latest && latest->live; }
};

// A counting delete's flags (Pending::removal, one byte for the key): kRemoveReport, plus
// kRemoveHeld when `before` held a live lww value, plus kRemoveLeft when `after` (the
// state once the delete joined; null: the minter's own flags) still does; then, when
// `before` is an lww state (a value or a tombstone), its timestamp and actor (big-endian
// 64 bits each; Pending::latest).
std::string delete_flags(const Object* before, const Object* after);

// What an update holds of its value while in flight (its minted delta carries it); 0 for
// reads.
size_t held_write_bytes(const ClientRequest& request);

class Requests {
 public:
  // REQUIRES: capacity >= 1. count_duplicates: the deliberate bug of FaultPoints (a second
  // answer from one target is counted; the tally's invariant stops the node).
  // max_write_bytes: what the open writes may hold of their values at once (a write
  // waiting on a slow replica keeps its value until every replica answered or it timed
  // out); past it a new write is refused (over_budget()).
  explicit Requests(size_t capacity, size_t max_write_bytes = SIZE_MAX,
                    bool count_duplicates = false);

  size_t size() const { return open_.size(); }
  size_t capacity() const { return capacity_; }
  bool full() const { return open_.size() >= capacity_; }
  size_t write_bytes() const { return write_bytes_; }
  size_t max_write_bytes() const { return max_write_bytes_; }
  // Whether a write of `bytes` would take the open writes past max_write_bytes (one
  // alone is always let through).
  bool over_budget(size_t bytes) const {
    return write_bytes_ > 0 && write_bytes_ + bytes > max_write_bytes_;
  }

  // REQUIRES: !full(); `id` not open. `write_bytes`: what the request holds of a value
  // while open (0 for reads).
  Pending& open(uint64_t id, size_t write_bytes = 0);
  Pending* find(uint64_t id);
  // REQUIRES: `id` is open.
  void close(uint64_t id);

  // Counts `from`'s answer to request `id` (ok, or failed with `error`; the first error
  // is kept). Returns the request when the answer counted, null when it was ignored.
  Pending* record(uint64_t id, const ring::NodeId& from, bool ok, const Status& error);
  // The open requests sent to `node` that it has not answered yet, by id.
  std::vector<uint64_t> waiting_on(const ring::NodeId& node) const;

 private:
  size_t capacity_;
  size_t max_write_bytes_;
  size_t write_bytes_ = 0;
  bool count_duplicates_;
  std::map<uint64_t, Pending> open_;
};

}  // namespace shoal::core
