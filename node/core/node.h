// Node: the pure, single-threaded state machine of one Shoal node.
//
// Fed events (client requests, peer messages, timers), it acts only through the seams
// of env.h. Any node coordinates any request: it sends to the key's N replicas, answers
// the client once R (or W) of them did, keeps listening until all N answered or the
// timeout fired, then read-repairs the stale ones with the merged value. Updates are
// applied on one replica (the coordinator itself when it is one), which mints the dot;
// the resulting delta is merged into the others.
//
// Turns: everything a turn writes is staged in the Store; end_turn() commits it as one
// batch (fsynced if any write was durable) and only then sends the turn's messages and
// client replies, so nothing is acknowledged before it is stored. The acks of a turn's
// merges to one coordinator that reads batches leave as one kMergeAcks (batch_acks).
//
// Cluster (cluster.cc): gossiped membership (membership.h) decides the ring; heartbeats
// feed a phi-accrual failure detector, and a peer it convicts (or the shell reports
// unreachable) is down in this node's view. Sloppy quorum sends a down primary's share to
// the next healthy node with a hint naming it; hints are stored apart, bounded per
// target, and replayed when the target is back (handoff.cc). After a ring change the
// handoff sweep streams every key this node no longer owns to its owners and drops it
// once all of them acknowledged.
//
// Files: node.cc (events, dispatch, turns), coordinator.cc (requests, tally, read
// repair), replica.cc (minting and merging), cluster.cc, handoff.cc, anti_entropy.cc.
// Node holds little state of its own: its actor (and whether it minted since taking it),
// the next request id, the turn's outbox and replies, the recent mints it answered for
// other coordinators (bounded), when it stops, and a few counters. The parts below own
// the rest, each behind a header that states its contract
// (docs/architecture.md). ObjectStore (objects and their rows), Requests (requests in
// flight), Turn, Membership, RingView (the ring and what it says of keys), PeerHealth
// (who is down), Hints, Transfers, Sweep (the ownership handoff pass), AeSchedule and
// SegmentSync (anti-entropy), FaultFilter and HeldMessages (chaos).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/core/ae_schedule.h"
#include "node/core/env.h"
#include "node/core/fault_filter.h"
#include "node/core/fifo_map.h"
#include "node/core/held_messages.h"
#include "node/core/hints.h"
#include "node/core/keys.h"
#include "node/core/membership.h"
#include "node/core/messages.h"
#include "node/core/object.h"
#include "node/core/object_store.h"
#include "node/core/options.h"
#include "node/core/peer_health.h"
#include "node/core/periodic.h"
#include "node/core/quorum.h"
#include "node/core/requests.h"
#include "node/core/ring_view.h"
#include "node/core/segment_sync.h"
#include "node/core/set_sync.h"
#include "node/core/sweep.h"
#include "node/core/transfers.h"
#include "node/core/turn.h"
#include "node/core/update.h"
#include "ring/ring.h"

namespace shoal::core {

// A set restricted to `elements` (crdt::ORSet::project); other types unchanged.
ObjectPtr projected(const ObjectPtr& o, const std::vector<std::string>& elements);

// Fault points inside the core that only the simulator turns on (shoald never does): they
// reach states the network alone rarely produces (docs/testing.md).
struct FaultPoints {
  uint32_t hint_replay_skip_pct = 0;  // a tick skips hint replay this often (late hints)
  bool gossip_one_target = false;     // gossip only to one live peer: no down peer, no seed
  bool shuffle_outbox = false;        // a turn's messages leave in a random order
  // Deliberate bugs, to show the checkers catch them: fallbacks never hand hints back;
  // commits never fsync (durable writes are acknowledged but lost by a power failure).
  bool bug_never_replay_hints = false;
  bool bug_never_fsync = false;
  // The bugs of issue #12, put back: the actor stored in the data directory is reused
  // at start (a restored or cloned directory mints dots others already hold); a replica
  // that went down after being sent an update answers unavailable (it may have applied
  // it); operation ids are ignored (a retry through another coordinator counts twice).
  bool bug_reuse_actor = false;
  bool bug_unavailable_after_send = false;
  bool bug_ignore_op_ids = false;
  // A replica joins a counter delta although it missed earlier mints of its actor, reads
  // repair counters from replies without operation logs, and register read replies carry
  // no records (a mint whose record died with a rolled-back disk spreads inside later
  // totals or as a repaired sibling; its retry counts twice).
  bool bug_counter_gaps = false;
  // A coordinator counts a duplicated reply again (one replica makes a quorum twice); the
  // coordinator's invariant (one reply per target) stops the node at the first one.
  bool bug_count_duplicate_replies = false;
  // A replica of a big set merging a minted delta reads only the members the delta holds
  // entries for, not every member its update named (object_store.h): a remove's member
  // is not read, so its dots survive there.
  bool bug_partial_by_entries = false;
  // The key filter (key_filter.h) is trusted from start, before its walk of the store
  // found the keys already on disk: a restarted node takes a key it holds for absent, and
  // the next write there replaces what it held.
  bool bug_key_filter_trusted_unbuilt = false;
  // The key filter's walk adds no set element row (as before element rows were in it): a
  // restarted node takes a big set's member it holds for absent.
  bool bug_key_filter_skips_members = false;
  // A node from before batched acks: its merges do not ask for kMergeAcks, and as a
  // replica it answers every merge with its own kMergeAck (mixed-version clusters).
  bool legacy_acks = false;
  // A node from before counting deletes (mixed-version clusters): as a minter a kMint
  // reaches it mints a plain delete and reports nothing, as a replica it merges a counting
  // delete's tombstone plainly and reports nothing, as a fallback it keeps a probe as a
  // hint. (Not as a coordinator: one that mints its own request still counts.)
  bool legacy_deletes = false;
};

// Timing and limits of the cluster machinery (docs/operations.md lists them all).
struct ClusterOptions {
  uint32_t tick_ms = 100;                 // the period of the cluster tick
  uint32_t gossip_interval_ms = 1000;     // one gossip round
  uint32_t heartbeat_interval_ms = 1000;  // heartbeats to every peer
  double phi_threshold = 8.0;
  uint32_t phi_window = 1000;
  uint32_t replicas = 3;                      // n used to decide which keys a node owns
  uint64_t hint_window_ms = 3 * 3600 * 1000;  // older hints are dropped, not replayed
  // How long a key remembers an operation id (op_log.h): retries within it count once.
  // At least the hint window (a hint may deliver a first attempt that late).
  uint64_t op_window_ms = 6 * 3600 * 1000;
  uint64_t max_hints_per_target = 100'000;    // beyond: a fallback refuses the write
  uint32_t hints_per_tick = 100;              // replay throttle (per target, per tick)
  uint32_t handoff_keys_per_tick = 256;       // handoff throttle: keys sent per tick
  uint32_t handoff_scan_per_tick = 4096;      // keys examined per tick
  uint32_t key_filter_rows_per_tick = 16384;  // the key filter's build: rows walked per tick
  uint32_t transfer_timeout_ms = 10'000;      // an unacknowledged transfer is re-sent later
  uint32_t max_transfers_in_flight = 1024;    // hints and handoff together (transfers.h)
  // A sweep runs after every ring change and whenever a key this node does not own
  // arrives; otherwise only this often (a safety net: a pass reads every key).
  uint32_t handoff_recheck_ms = 600'000;
  uint32_t ae_interval_ms = 100;             // one anti-entropy exchange (0: none)
  uint32_t ae_max_keys_per_exchange = 1024;  // objects each side sends per exchange
  uint32_t ae_set_page_members = 1024;       // a big set's repair: members per page (set_sync.h)
  // A big set's spans (set_spans.h): members per span on average. Nodes should agree (a
  // difference costs repair work, not correctness).
  uint32_t ae_set_span_members = 1024;
  // Messages a chaos delay rule holds back at once; beyond, they are dropped (counted).
  uint32_t max_delayed_messages = 100'000;
  FaultPoints fault_points;  // simulator only
};

struct NodeConfig {
  ring::NodeId self;
  // A static member list (all up from the start). Empty: this node alone, or joining
  // through `seeds`.
  std::vector<ring::NodeId> members;
  // Transport destinations to gossip with until the membership is known (the shell
  // uses "@host:port"; the simulator node ids). A node with seeds starts as joining.
  std::vector<std::string> seeds;
  std::string peer_address, client_address;  // published in gossip
  uint32_t vnodes_per_node = ring::Ring::kDefaultVnodes;
  size_t object_cache_bytes = 128u << 20;  // decoded objects kept in memory (0: none)
  // The filter of the keys the store may hold (key_filter.h; 0: none): ~10 bits per key.
  size_t key_filter_bytes = 16u << 20;
  // A set with more members is never loaded whole to change or test some of them
  // (object_store.h): its head and the members named are read instead.
  size_t whole_set_max_members = 4096;
  // A whole read of a set with more members is refused (too_large): loading, sending and
  // joining it would stall the replicas for seconds. Pages read any size (SetPage).
  size_t max_set_read_members = 100'000;
  // Client requests coordinated at once; beyond, a request is refused with overloaded.
  size_t max_pending_requests = 100'000;
  // What the writes this node coordinates may hold of their values at once (docs/limits.md).
  size_t max_write_bytes_in_flight = 256u << 20;
  ClusterOptions cluster;
};

struct NodeEnv {
  Clock& clock;
  Transport& transport;
  Timers& timers;
  Store& store;
  Rng& rng;
};

// Whether this node knows its data co-owned with one peer to be equal (anti-entropy,
// anti_entropy.cc): every segment compared equal since it last changed here, no hints
// held here for the peer, and no handoff under way here.
struct PeerSync {
  bool in_sync = false;
  uint64_t since_wall_ms = 0;  // when the last segment was confirmed equal
  uint32_t unconfirmed = 0;    // segments not (yet) known equal
};

// What the operator view shows about one member, from this node's point of view.
struct MemberView {
  MemberState state;
  bool down = false;
  double phi = 0;
  double ownership = 0;     // share of the hash space it replicates (n = replicas)
  uint64_t hints_here = 0;  // hints this node holds for it
  PeerSync sync;            // peers in the ring: whether co-owned data is known equal
};

// Counters the operator sees that no part owns.
struct NodeCounters {
  uint64_t read_repairs = 0;  // replicas repaired by reads
  // Counter deltas a replica refused for a gap and got as the minter's whole state instead.
  uint64_t gap_refills = 0;
  // Times this node took a new actor because a peer held more of its current actor's
  // history than it did (its state was rolled back while it ran: identity.h).
  uint64_t actor_renewals = 0;
  // Updates answered from an earlier attempt of the same operation id (not applied again).
  uint64_t duplicates_answered = 0;
  // Counting removes whose first round left a member on a replica (or had too few
  // reports): a read and a remove with its context followed (set_remove.cc).
  uint64_t remove_followups = 0;
  uint64_t gossip_rounds = 0;
  uint64_t store_resets = 0;  // on_store_reset() calls
  // Register writes minted here that left kWarnSiblings or more siblings (update.h).
  uint64_t sibling_warnings = 0;
};

class Node {
 public:
  // REQUIRES: config.members is empty or contains config.self; actor != 0.
  // Schedules the cluster tick; hint counts are loaded from the store.
  Node(NodeConfig config, NodeEnv env, crdt::Actor actor);

  void on_client_request(ClientRequest request, ReplyFn reply);
  void on_message(const ring::NodeId& from, const Message& message);
  // A hint before on_message() of each of `messages`, in one batch: starts fetching the
  // cache slots, filter blocks and cached objects their keys' lookups read, then what the
  // lookups of a set merge's members read in the cached set, so those cache misses
  // overlap instead of stalling each message in turn. No other effect.
  void prefetch(const Message* messages, size_t count) const;
  void on_timer(uint64_t timer_id);
  // The shell reports whether it can reach a peer (connected and handshaken). An
  // unreachable replica is not waited for: a request that cannot reach its quorum fails
  // at once with unavailable, and another reachable replica mints updates. (The
  // phi-accrual failure detector of #4 feeds the same event.)
  void on_peer_status(const ring::NodeId& peer, bool reachable);
  void end_turn();
  // What the answers end_turn() delivered started (a client's next request, issued from
  // its callback: RESP's SADD writes after its read) waits for another end_turn(). The
  // shell must not block waiting for an event before that, or the request waits for the
  // next timer (a tick: 100 ms).
  bool has_turn_work() const {
    return !outbox_.empty() || !replies_.empty() || env_.store.has_staged();
  }
  // The Store was repaired or reopened after a fault (node/store/store_doctor.h) and may
  // hold less than before: a repair drops unreadable rows, this node's own history
  // perhaps among them. The node forgets what it cached of the store, compares every
  // segment with its peers again (anti-entropy brings the lost rows back), recounts its
  // hints and mints under a new actor, so no dot it may have lost is ever reused.
  void on_store_reset();

  // Operator actions. leave(): hand everything off, then turn `left` (wants_stop()).
  Status leave();
  // Forgets a dead node for good. Fails unless it is known, not self, and down here.
  Status remove(const ring::NodeId& node);
  // Applies one fault-filter rule (fault_filter.h) to this node's peer traffic; the
  // rules in force afterwards. Rules naming a node this node never heard of fail
  // (not_found). REQUIRES: as FaultFilter::apply.
  Result<std::string> chaos(const FaultRule& rule);
  const FaultFilter& faults() const { return faults_; }
  size_t delayed_messages() const { return held_.size(); }  // held by delay rules

  const ring::Ring& ring() const { return ring_.ring(); }
  crdt::Actor actor() const { return actor_; }
  size_t pending_requests() const { return requests_.size(); }
  const Membership& membership() const { return membership_; }
  bool is_down(const ring::NodeId& peer) const { return health_.is_down(peer); }
  bool reachable(const ring::NodeId& peer) const { return !is_down(peer); }
  double phi(const ring::NodeId& peer) const;
  std::vector<MemberView> members_view() const;
  uint64_t hints_held() const { return hints_.held(); }
  const std::map<ring::NodeId, uint64_t>& hints_by_target() const { return hints_.by_target(); }
  const HandoffProgress& handoff() const { return sweep_.progress(); }
  const AntiEntropyStats& anti_entropy() const { return ae_.stats(); }
  // Per ring peer: is the data both hold known equal (the convergence signal)?
  PeerSync sync_with(const ring::NodeId& peer) const;
  // Every ring peer is in sync, no hints held, no handoff pending.
  bool in_sync() const;
  uint64_t hints_replayed() const { return hints_.replayed(); }
  const NodeCounters& counters() const { return counters_; }
  // Store scans that failed (a read error or corruption): the work that needed them waits
  // for the next turn or tick, and a write that could not clear its old rows answers
  // timeout (`shoal_store_scan_failures_total`).
  uint64_t store_scan_failures() const { return objects_.scan_failures(); }
  // The key filter (key_filter.h): whether it is built, and the store reads it spared.
  const KeyFilter& key_filter() const { return objects_.key_filter(); }
  // True once this node has left the cluster and told its peers: the shell stops.
  bool wants_stop() const { return stop_at_ms_ != 0 && env_.clock.now_ms() >= stop_at_ms_; }

  static constexpr uint64_t kTickTimer = ~0ULL;

 private:
  void start_get(uint64_t id, Pending& p);
  void start_update(uint64_t id, Pending& p, const Update& update);
  static const crdt::DotContext* minter_context(const Pending& p);
  std::string merge_body(Pending& p);
  Status merge_minted(const Pending& p, const ring::Target& t, std::string* flags);
  static bool probe_over_tombstone(Update& u, const std::string& held, ObjectStore::Part& part);
  void spread_delta(uint64_t id, Pending& p, const ring::NodeId& minter);
  void on_gap(uint64_t id, Pending& p, const ring::NodeId& node);
  void send_full(uint64_t id, Pending& p, const ring::NodeId& node);
  void on_full_state(uint64_t id, const Message& m, Pending& p);
  // Whether joining a counter delta minted on `base` into `mine` would skip some of the
  // minter's history (Message::base).
  bool misses_history(const Object* mine, const Object& delta, uint64_t base) const;
  bool refuses_gap(const Message& m, bool hint);
  void record(uint64_t id, const ring::NodeId& from, bool ok, const Status& error);
  void finish_if_done(uint64_t id, Pending& p);
  void read_repair(Pending& p);
  Status failure(const Pending& p) const;
  void close_request(uint64_t id);  // forgets the request and cancels its timer
  void on_read_reply(const ring::NodeId& from, const Message& m, Pending& p);
  void respond(Pending& p, ClientResponse response);
  // `internal`: a step of a request this node runs for another (set_remove.cc): answered
  // at once, within the turn, instead of with the turn's answers.
  void start_request(ClientRequest&& request, ReplyFn reply, bool internal);
  void answer(ReplyFn reply, ClientResponse response, bool internal);
  // Joins a replica's flags into a set add's held flags or a counting remove's removal.
  static void note_flags(Pending& p, std::string_view flags, const ring::NodeId& from,
                         bool from_minter);
  // set_remove.cc
  struct RemoveFollowUp;
  void finish_counting_remove(Pending& p);
  bool fit_to_deadline(RemoveFollowUp& f) const;
  void follow_up_read(std::shared_ptr<RemoveFollowUp> f, ClientResponse read);
  void follow_up_delete(std::shared_ptr<RemoveFollowUp> f, const Object* found);
  void follow_up_done(std::shared_ptr<RemoveFollowUp> f, const Status& status);

  size_t choose_targets(Pending& p, uint64_t hash);
  Status overload() const;        // why a request is refused while requests_ is full
  Status write_overload() const;  // why a write is refused past max_write_bytes_in_flight
  Status store_refuses_writes() const;
  bool refuse_write(const ring::NodeId& from, const Message& m, Message& reply);
  Status refusal(const Pending& p, size_t replicas) const;
  bool joining_alone() const;
  void on_replica_answer(const ring::NodeId& from, const Message& m);
  void on_merge_ack(const ring::NodeId& from, uint64_t id, const Status& status, uint64_t base,
                    std::string_view held);
  void answer_read(const Message& m, Message& reply);
  void handle_replica(const ring::NodeId& from, const Message& m);
  void apply_merge(const Message& m, Message& reply);
  // cluster.cc
  void tick();
  void send_heartbeats(uint64_t now_ms);
  void gossip_round();
  void on_gossip(const ring::NodeId& from, const Message& m);
  void membership_changed();
  void update_down(const ring::NodeId& peer);
  void peer_went_down(const ring::NodeId& peer);
  void check_joined();
  void check_left();
  void publish_load();

  // handoff.cc
  void replay_hints(uint64_t now_ms);
  void replay_hints_for(const ring::NodeId& target, uint64_t now_ms);
  void absorb_own_hints();
  void sweep_step(uint64_t now_ms);
  void start_transfers(const std::vector<DataKey>& batch,
                       const std::vector<std::vector<ring::NodeId>>& owners_of, uint64_t now_ms);
  void start_sweep();
  void finish_sweep_pass(uint64_t now_ms);
  void on_transfer(const ring::NodeId& from, const Message& m);
  void on_transfer_ack(const ring::NodeId& from, const Message& m);
  void bump_actor();
  bool op_row_expired(std::string_view row, uint64_t wall_ms) const;

  // anti_entropy.cc
  // fn(key hash, row key, row digest) for each row; or once for a big set's element rows
  // (row key: their prefix, digest: theirs, kept by objects_).
  using AeRowFn = std::function<void(uint64_t, std::string_view, uint64_t)>;
  Status ae_scan(uint32_t segment, const ring::NodeId& peer, const AeRowFn& fn);
  Status ae_scan_from(std::string* from, const std::string& end, const ring::NodeId& peer,
                      const AeRowFn& fn);
  Result<std::vector<uint64_t>> ae_leaves(uint32_t segment, const ring::NodeId& peer);
  void ae_send_leaves(uint32_t segment, uint64_t mask, const ring::NodeId& peer);
  void ae_step();
  void on_ae_tree(const ring::NodeId& from, const Message& m);
  void on_ae_diff(const ring::NodeId& from, const Message& m);
  void on_ae_repair(const Message& m);
  void on_ae_summary(const ring::NodeId& from, const Message& m);
  void on_ae_summary_reply(const ring::NodeId& from, const Message& m);
  bool ae_send_summary();
  void ae_send_tree(uint32_t segment, const ring::NodeId& peer);
  Result<uint64_t> ae_segment_hash(uint32_t segment, const ring::NodeId& peer);
  // Member-by-member repair of big sets (set_sync.h, set_repair.cc).
  void set_sync_start(const ring::NodeId& peer, const DataKey& dk);
  void set_sync_ask(const ring::NodeId& peer, uint64_t id, const SetSync& s, bool full);
  void answer_set_spans(const ring::NodeId& from, const Message& m);
  void on_set_spans(const ring::NodeId& from, const Message& m);
  void set_sync_pace();  // each sync waiting for its turn asks its next page
  bool on_set_page(const ring::NodeId& from, const Message& m);  // true: it was one
  bool set_sync_swap(const SetSync& s, const Object& theirs, const crdt::ORSet& own,
                     const OpLog* own_records, const std::set<std::string>& names,
                     const std::vector<crdt::Dot>& dots);
  void set_sync_close(const SetSync& s, const crdt::ORSet& theirs, uint64_t their_digest);
  void segment_changed(uint64_t key_hash);
  struct LocalApplied {
    ObjectPtr state, delta;
    bool duplicate = false;  // the op id was applied before: `delta` re-sends that attempt
    uint64_t base = 0;       // counters: Once::base
    std::string held;        // set adds: per member named, 1 if it was here before
  };
  void prune_ops(Object& o, std::vector<uint64_t>* changed);
  void check_own_history(const Object* mine, const Object& incoming);
  Result<LocalApplied> local_update(const Update& update, const std::string& bucket,
                                    const std::string& key, bool durable);
  // `elements`: the set members a minted delta touches (Message::elements); non-empty, a
  // big set's merge reads only those (ObjectStore::part). `held` (when given): one byte
  // per element, 1 if this replica held it before the merge (Pending::held).
  // `minter_seen`: the minting replica's context of the set, to judge `held` by.
  Status merge_local(const std::string& bucket, const std::string& key, const Object& delta,
                     bool durable, const std::vector<std::string>& elements = {},
                     std::string* held = nullptr, const crdt::DotContext* minter_seen = nullptr,
                     bool removal = false);  // `held` gets removal flags (Pending::removal)
  Status merge_counting_delete(const std::string& bucket, const std::string& key,
                               const Object& delta, bool durable, bool probe, std::string* flags);
  bool merged_counting_delete(const Message& m, Message& reply);
  Result<ObjectStore::Part> merge_target(const std::string& bucket, const std::string& key,
                                         const Object& delta,
                                         const std::vector<std::string>& elements);
  Result<ObjectStore::Part> update_target(const Update& u, const std::string& bucket,
                                          const std::string& key);
  static Status check_page(const ClientRequest& r);
  std::optional<std::string> merge_page(Pending& p);
  // A key's object for a read of `elements` (all when empty).
  Result<ObjectPtr> load_members(const std::string& bucket, const std::string& key,
                                 const std::vector<std::string>& elements);
  void send(const ring::NodeId& to, Message m);

  NodeConfig config_;
  NodeEnv env_;
  crdt::Actor actor_;
  // Whether this node minted with its current actor since taking it. A key is dropped
  // only under an actor that minted none of its dots: should the node mint on that key
  // again (a LOCAL write, or owning it again), fresh dots cannot collide with ones the
  // owners already hold. False at start: every process takes a fresh actor (identity.h).
  bool minted_since_bump_ = false;
  uint64_t next_id_ = 1;  // request, transfer and held-message ids (timers share them)
  NodeCounters counters_;
  Turn turn_;  // what this turn's writes ask of its commit (end_turn)
  ObjectStore objects_;
  Requests requests_;  // the client requests this node coordinates
  // Mints applied for other coordinators, by (coordinator, request id): a duplicated
  // kMint is answered from here instead of minting twice. Bounded (FIFO).
  static constexpr size_t kRecentMints = 4096;
  FifoMap<std::pair<ring::NodeId, uint64_t>, LocalApplied> recent_mints_{kRecentMints};
  size_t mints_this_turn_ = 0;  // recent_mints_ entries a failed commit must forget
  FifoMap<std::pair<ring::NodeId, uint64_t>, bool> refused_mints_{kRecentMints};

  // Cluster (cluster.cc).
  Membership membership_;
  RingView ring_;
  PeerHealth health_;
  Periodic gossip_, heartbeat_, publish_;
  uint64_t stop_at_ms_ = 0;  // wants_stop() from then on

  // Hint replay and handoff (handoff.cc).
  Hints hints_;  // kept here as a fallback for down replicas
  Transfers transfers_;
  Sweep sweep_;

  // Anti-entropy (anti_entropy.cc).
  AeSchedule ae_;
  SegmentSync segments_;  // the convergence signal: what is known equal with each peer
  SetSyncs set_syncs_;    // big sets being repaired member by member

  // Chaos: the fault filter, and the outgoing messages its delay rules hold back (by
  // timer id, at most ClusterOptions::max_delayed_messages).
  FaultFilter faults_;
  HeldMessages held_;
  void send_filtered(const ring::NodeId& to, const Message& m);
  // The turn's kMergeAcks that may be batched travel as one kMergeAcks per coordinator.
  static void batch_acks(std::vector<std::pair<ring::NodeId, Message>>& outbox);
  // This turn's effects, released by end_turn() after the store commit.
  std::vector<std::pair<ring::NodeId, Message>> outbox_;
  std::vector<std::pair<ReplyFn, ClientResponse>> replies_;
};

}  // namespace shoal::core
