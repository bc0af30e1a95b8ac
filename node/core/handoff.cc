// Node: hinted handoff and the ownership handoff sweep (node.h).
//
// Both move objects to the nodes that should hold them with kTransfer messages, and drop
// the local copy only once every destination acknowledged it and the copy did not
// change meanwhile. Destinations apply a transfer as a durable merge (a join), so a
// repeated or duplicated transfer is harmless.
#include <algorithm>

#include "crdt/assert.h"
#include "node/core/identity.h"
#include "node/core/keys.h"
#include "node/core/node.h"

namespace shoal::core {

// ---- hints ----

void Node::replay_hints(uint64_t now_ms) {
  std::vector<ring::NodeId> targets;
  for (const auto& [t, c] : hints_.by_target()) {
    if (c > 0) targets.push_back(t);
  }
  for (const ring::NodeId& t : targets) replay_hints_for(t, now_ms);
}

// Sends up to hints_per_tick of `target`'s hints to it once it is reachable again. Hints
// for a node that left or was removed go to the key's current owners instead. Hints
// older than the hint window are dropped (anti-entropy repairs what they carried).
void Node::replay_hints_for(const ring::NodeId& target, uint64_t now_ms) {
  if (target == config_.self) {
    absorb_own_hints();
    return;
  }
  const MemberState* st = membership_.find(target);
  const bool gone = !st || !in_ring(st->status);
  if ((!gone && health_.is_down(target)) || transfers_.room() == 0) return;
  const uint64_t wall = env_.clock.wall_ms();
  uint32_t budget = config_.cluster.hints_per_tick;
  std::vector<std::pair<std::string, std::string>> batch;
  Status s = hints_.scan(target, [&](std::string_view k, std::string_view v) {
    if (transfers_.carries(std::string(k))) return true;
    batch.emplace_back(k, v);
    return --budget > 0;
  });
  if (!s.is_ok()) return;  // the next tick tries again
  for (auto& [k, v] : batch) {
    auto [dk, o, first_ms] = Hints::read_row(k, v);
    const bool expired =
        first_ms && wall > *first_ms && wall - *first_ms > config_.cluster.hint_window_ms;
    if (!dk || !o || expired) {  // unreadable or too old: drop it
      hints_.drop(k, target);
      continue;
    }
    std::vector<ring::NodeId> dests{target};
    if (gone) {
      dests = ring_.owners(dk->hash);
      std::erase(dests, config_.self);
      if (std::any_of(dests.begin(), dests.end(), [&](auto& d) { return health_.is_down(d); }))
        continue;
    }
    if (dests.empty()) continue;
    // The room caps what starts, not what is read: a hint kept back (its owners down)
    // must not take a place and stall the hints behind it.
    if (transfers_.room() == 0) break;
    Transfers::Transfer t{true,
                          k,
                          v,
                          nullptr,
                          {dests.begin(), dests.end()},
                          now_ms + config_.cluster.transfer_timeout_ms,
                          target};
    const uint64_t id = next_id_++;
    Message m = Message::make(Message::Kind::kTransfer, id, dk->bucket, dk->key);
    m.object = std::make_shared<const Object>(std::move(o).value());
    m.durable = true;
    for (const ring::NodeId& d : dests) send(d, m);
    transfers_.start(id, std::move(t));
  }
}

// Hints addressed to this node: its disk is a copy of a fallback's that held them (a
// cloned directory). They are joined here like a replayed hint, then dropped.
void Node::absorb_own_hints() {
  uint32_t budget = config_.cluster.hints_per_tick;
  std::vector<std::pair<std::string, std::string>> batch;
  Status s = hints_.scan(config_.self, [&](std::string_view k, std::string_view v) {
    batch.emplace_back(k, v);
    return --budget > 0;
  });
  if (!s.is_ok()) return;  // the next tick tries again
  for (auto& [k, v] : batch) {
    auto [dk, o, first_ms] = Hints::read_row(k, v);
    if (dk && o && !merge_local(dk->bucket, dk->key, *o, /*durable=*/true).is_ok()) continue;
    hints_.drop(k, config_.self);
  }
}

// ---- transfers (both kinds) ----

void Node::on_transfer(const ring::NodeId& from, const Message& m) {
  Message ack = Message::make(Message::Kind::kTransferAck, m.req_id, m.bucket, m.key);
  ack.status = !m.object ? Status::invalid_argument("transfer without an object")
                         : store_refuses_writes();  // refused: sent again later
  if (ack.status.is_ok()) ack.status = merge_local(m.bucket, m.key, *m.object, /*durable=*/true);
  if (ack.status.is_ok() && !ring_.owns(ring::key_hash(m.bucket, m.key))) {
    sweep_.soon(env_.clock.now_ms());
  }
  send(from, std::move(ack));
}

void Node::on_transfer_ack(const ring::NodeId& from, const Message& m) {
  // A refusal forgets the transfer: the next replay or sweep sends it again.
  std::optional<Transfers::Transfer> done = transfers_.answered(m.req_id, from, m.status.is_ok());
  if (!done) return;
  const Transfers::Transfer& t = *done;
  // Dropped only if nothing changed since it was sent; otherwise the next round sends
  // the newer copy.
  if (t.is_hint) {
    hints_.delivered(t.store_key, t.sent_bytes, t.hint_target);
  } else if (auto dk = parse_data_key(t.store_key)) {
    Result<ObjectPtr> current = objects_.load(dk->bucket, dk->key);
    if (current && *current && (*current == t.sent || **current == *t.sent)) {
      if (minted_since_bump_) bump_actor();
      if (objects_.erase_object(*dk).is_ok()) {  // else kept: the next sweep offers it again
        sweep_.dropped();
        turn_.need_sync();
      }
    }
  }
}

// Before a key is dropped, a node that minted under its current actor takes a new one:
// should it mint on that key again (a LOCAL write on a non-owner, or owning it again)
// before the key's history comes back, the new dots cannot collide with the ones the
// owners hold (Riak's per-key epochs, at node granularity). Bumping once per sweep pass
// was not enough: a key written after the bump and dropped in the same pass lost the
// writes that followed (found by `shoal check` with LOCAL writes under isolation).
void Node::on_store_reset() {
  objects_.forget_cache();
  objects_.key_filter().restart();  // the store may hold keys no save added
  segments_.forget_all();
  hints_.recount();
  bump_actor();
  ++counters_.store_resets;
}

void Node::bump_actor() {
  actor_ = next_actor(env_.rng, actor_);
  record_actor(env_.store, actor_);
  turn_.need_sync();
  minted_since_bump_ = false;
}

// ---- the ownership handoff sweep ----

void Node::start_sweep() { sweep_.start(ring_.fingerprint(), data_key_lower_bound(0)); }

// One throttled step (a walk: a pass over every row keeps none of them in the block
// cache): examines up to handoff_scan_per_tick keys from the cursor and
// sends up to handoff_keys_per_tick of those this node does not own to their owners (all
// of them must be reachable: a key is dropped only once every owner has it), never more
// than the transfers' room (ClusterOptions::max_transfers_in_flight).
void Node::sweep_step(uint64_t now_ms) {
  if (!sweep_.step_due(now_ms, ring_.fingerprint(), data_key_lower_bound(0))) return;
  if (transfers_.room() == 0) return;
  uint32_t examined = 0, sent = 0;
  bool finished = true;
  std::vector<DataKey> batch;
  std::vector<std::vector<ring::NodeId>> owners_of;
  std::string last_head;
  const uint64_t wall = env_.clock.wall_ms();
  std::vector<std::string> expired;  // operation rows past the op window
  Status s =
      env_.store.walk(sweep_.cursor(), data_key_end(), [&](std::string_view k, std::string_view v) {
        // The transfers in flight stay within their bound: a step that began below it
        // stops where the next key would pass it (acks come late from a slow owner).
        if (examined == config_.cluster.handoff_scan_per_tick ||
            sent == config_.cluster.handoff_keys_per_tick || sent >= transfers_.room()) {
          sweep_.pause_at(std::string(k));
          finished = false;
          return false;
        }
        ++examined;
        if (is_op_row(k) && op_row_expired(v, wall)) expired.emplace_back(k);
        bool element = false;
        auto dk = parse_data_row(k, &element, nullptr);
        if (!dk || ring_.owns(dk->hash)) return true;
        const std::string head = data_key(dk->hash, dk->bucket, dk->key);
        if (element && head == last_head) return true;  // a set's element rows follow its head
        last_head = head;
        sweep_.found_not_owned();
        if (transfers_.carries(head)) return true;
        std::vector<ring::NodeId> owners = ring_.owners(dk->hash);
        std::erase(owners, config_.self);
        if (owners.empty() || std::any_of(owners.begin(), owners.end(),
                                          [&](auto& o) { return health_.is_down(o); })) {
          return true;  // kept until every owner can take it
        }
        batch.push_back(std::move(*dk));
        owners_of.push_back(std::move(owners));
        ++sent;
        return true;
      });
  if (!s.is_ok()) {  // try again next tick
    objects_.scan_failed(s);
    return;
  }
  objects_.erase_rows(expired);
  start_transfers(batch, owners_of, now_ms);
  sweep_.in_flight(transfers_.size());
  if (finished) finish_sweep_pass(now_ms);
}

// Sends each key of a sweep batch to the owners it no longer belongs with, and tracks it
// until every owner acknowledges (on_transfer_ack drops it here then).
void Node::start_transfers(const std::vector<DataKey>& batch,
                           const std::vector<std::vector<ring::NodeId>>& owners_of,
                           uint64_t now_ms) {
  for (size_t i = 0; i < batch.size(); ++i) {
    const DataKey& dk = batch[i];
    Result<ObjectPtr> o = objects_.load(dk.bucket, dk.key);
    // Corrupt: left alone (anti-entropy or an operator deals with it). Absent: orphan
    // element rows without a head, nothing to send.
    if (!o || !*o) continue;
    // Handed off only to reachable owners other than this node (sweep_step chose them).
    SHOAL_ASSERT(!owners_of[i].empty());
    for (const ring::NodeId& d : owners_of[i])
      SHOAL_ASSERT(d != config_.self && !health_.is_down(d));
    const uint64_t id = next_id_++;
    Message m = Message::make(Message::Kind::kTransfer, id, dk.bucket, dk.key);
    m.object = *o;
    m.durable = true;
    for (const ring::NodeId& d : owners_of[i]) send(d, m);
    const std::string head = data_key(dk.hash, dk.bucket, dk.key);
    transfers_.start(id, Transfers::Transfer{false,
                                             head,
                                             "",
                                             *o,
                                             {owners_of[i].begin(), owners_of[i].end()},
                                             now_ms + config_.cluster.transfer_timeout_ms,
                                             ""});
    sweep_.sent();
  }
}

// A pass that found nothing to hand off under the ring it started with says so in gossip
// (handoff_ring): joiners wait for it (check_joined).
void Node::finish_sweep_pass(uint64_t now_ms) {
  const uint64_t pass_ring = sweep_.pass_ring();
  if (!sweep_.finish(now_ms, ring_.fingerprint(), config_.cluster.handoff_recheck_ms)) return;
  const MemberState& self = membership_.self();
  if (self.handoff_ring == pass_ring && self.handoff_keys == 0) return;
  membership_.update_self([&](MemberState& s) {
    s.handoff_ring = pass_ring;
    s.handoff_keys = 0;
  });
}

// An operation record past the op window (op_log.h); unreadable ones are left to the
// key's next load, which reports them.
bool Node::op_row_expired(std::string_view row, uint64_t wall_ms) const {
  Result<OpRecord> r = OpLog::decode_record(row);
  const uint64_t window = config_.cluster.op_window_ms;
  return r && wall_ms > window && r->first_ms < wall_ms - window;
}

}  // namespace shoal::core
