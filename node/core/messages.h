// Peer messages between node cores. Their wire codec is node/api/peer_codec.{h,cc}
// (encode_message / decode_message); the simulator passes these structs directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crdt/status.h"
#include "node/core/boxed.h"
#include "node/core/object.h"
#include "node/core/update.h"
#include "ring/ring.h"

namespace shoal::core {

// One kMergeAck, as carried in a kMergeAcks batch (its fields as in Message).
struct MergeAck {
  uint64_t req_id = 0;
  Status status;
  uint64_t base = 0;
  std::string held;  // Message::body of a kMergeAck
  bool operator==(const MergeAck&) const = default;
};
// A kMergeAcks batch: at most this many acks, and beyond the first ack at most this many
// bytes of their messages and held flags (a larger single ack travels alone).
constexpr size_t kMaxBatchAcks = 4096;
constexpr size_t kMaxBatchAckBytes = 1u << 20;

// Starts the body of a counting remove's kMerge (no encoded context starts with it).
inline constexpr char kRemovalMark = '\0';
// Follows kRemovalMark in a counting delete's kMerge when its minter held no value: a
// probe, which replicas without a value do not write (Node::merge_counting_delete).
inline constexpr char kDeleteProbe = '\x01';

struct Message {
  enum class Kind : uint8_t {
    kRead = 1,   // coordinator -> replica: send me your state for (bucket, key)
    kReadReply,  // object: the state, absent when not found
    kMint,       // coordinator -> replica: apply `update` with your actor
    kMintReply,  // object: the delta to spread
    kMerge,      // coordinator -> replica: join `object` (a delta, or a read repair)
    kMergeAck,
    kHeartbeat,   // every heartbeat interval, to every peer (failure detection)
    kGossipSyn,   // body: digests + the sender's own state
    kGossipAck,   // body: newer states + digests wanted
    kGossipAck2,  // body: the states wanted
    kTransfer,    // object: a hint replayed to its owner, or a key handed off
    kTransferAck,
    kAeTree,          // req_id: ring fingerprint; body: segment, leaf hashes
    kAeDiff,          // req_id: ring fingerprint; body: segment, mask of differing leaves
    kAeRepair,        // object: a key's state for the other side to join (no reply)
    kAeSummary,       // req_id: ring fingerprint; body: (segment, segment hash) pairs
    kAeSummaryReply,  // req_id: ring fingerprint; body: mask of the asked segments that differ
    kSetSpans,        // a big set's repair (set_sync.h): send me your set's span digests
    kSetSpansReply,   // elements: span ends; body: their digests, the tail's (set_spans.h);
                      // not_found: none kept
    kMergeAcks,       // acks: the kMergeAcks of one turn to one coordinator, in one message
  };
  static constexpr Kind kLastKind = Kind::kMergeAcks;
  Kind kind = Kind::kRead;
  uint64_t req_id = 0;  // the coordinator's request id, echoed in replies
  std::string bucket;
  std::string key;
  Status status;           // replies
  ObjectPtr object;        // kReadReply (state), kMintReply (delta), kMerge; null: none
  ObjectPtr state;         // kMintReply: the minting replica's new state
  Boxed<Update> update;    // kMint (boxed: most messages are not kMint, boxed.h)
  bool durable = false;    // kMint, kMerge: fsync before acknowledging
  bool duplicate = false;  // kMintReply: the op id was applied before; nothing new minted
  std::string hint_for;    // kRead, kMerge to a sloppy fallback: the down primary
  // gossip: encode_gossip(). kMintReply and kMergeAck of a set delta: one byte per
  // member of the update / kMerge `elements`, 1 if the replica held it before (SADD's
  // count, Pending::held); empty from nodes before these flags. A counting remove's
  // kMintReply and kMergeAck: its removal flags (Pending::removal). kMerge of a set add:
  // the minter's context (encoded); of a counting remove: kRemovalMark and that context;
  // of a counting delete (Update::counting): kRemovalMark, then kDeleteProbe when its
  // minter held no value; kMint of a counting delete: kRemovalMark.
  std::string body;
  // kRead: only these set members (empty: all). kMerge of a minted set delta: the
  // members it touches (every dot its context holds is one of theirs), so a big set's
  // replica reads only those; empty: the replica loads the whole object.
  std::vector<std::string> elements;
  // kMintReply, kMerge of a counter delta: the minter's total for its actor before this
  // mint. A replica holding less missed some of that actor's history, and joining the
  // delta would take in those mints without their operation records (a retry could then
  // count one twice): it refuses, answering kMergeAck with `base` set, and the
  // coordinator sends the minter's whole state instead. 0: no check. kReadReply of a
  // set page: the replica's digest of all the set's member rows (0: none kept).
  uint64_t base = 0;
  bool full = false;  // kRead: with the operation log (the whole state, for a gap above)
  // kRead: a page of the set's members instead (object.h); the reply holds at most
  // page->count members, fewer only when the set has no more after page->after (up to
  // page->until).
  Boxed<SetPage> page;  // boxed: only paged reads carry one
  // kMerge: the coordinator reads kMergeAcks, so the replica may batch its ack with the
  // turn's others to the same coordinator (nodes before batching ignore it). kMergeAck:
  // it may travel in such a batch (Node::end_turn).
  bool acks_batched = false;
  std::vector<MergeAck> acks;  // kMergeAcks: 1 to kMaxBatchAcks acks

  static Message make(Kind kind, uint64_t req_id = 0, std::string bucket = {},
                      std::string key = {}) {
    Message m;
    m.kind = kind;
    m.req_id = req_id;
    m.bucket = std::move(bucket);
    m.key = std::move(key);
    return m;
  }
};

}  // namespace shoal::core
