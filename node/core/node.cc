#include "node/core/node.h"

#include <algorithm>
#include <array>

#include "crdt/assert.h"
#include "node/core/keys.h"

namespace shoal::core {

namespace {

MemberState initial_self(const NodeConfig& c, uint64_t generation, bool leaving) {
  MemberState s;
  s.id = c.self;
  s.generation = generation;
  // A node given seeds (and no static members beyond itself) joins: it serves only
  // LOCAL requests until a seed answered and its ring holds the cluster (refusal()).
  const bool alone = c.members.empty() || (c.members.size() == 1 && c.members[0] == c.self);
  s.status = leaving                     ? MemberStatus::kLeaving
             : alone && !c.seeds.empty() ? MemberStatus::kJoining
                                         : MemberStatus::kUp;
  s.peer_address = c.peer_address;
  s.client_address = c.client_address;
  return s;
}

bool was_leaving(Store& store) {
  auto got = store.get(meta_key("leaving"));
  return got.is_ok() && got->has_value();
}

DetectorOptions detector_options(const ClusterOptions& c) {
  DetectorOptions d;
  d.window = c.phi_window;
  d.threshold = c.phi_threshold;
  d.bootstrap_interval_ms = c.heartbeat_interval_ms;
  d.max_interval_ms = 2ull * c.heartbeat_interval_ms;
  return d;
}

}  // namespace

Node::Node(NodeConfig config, NodeEnv env, crdt::Actor actor)
    : config_(std::move(config)),
      env_(env),
      actor_(actor),
      objects_(
          env_.store, turn_, env_.clock, config_.object_cache_bytes, config_.whole_set_max_members,
          config_.cluster.ae_set_span_members, [this](uint64_t hash) { segment_changed(hash); },
          config_.key_filter_bytes),
      requests_(config_.max_pending_requests, config_.max_write_bytes_in_flight,
                config_.cluster.fault_points.bug_count_duplicate_replies),
      membership_(initial_self(config_, env_.clock.wall_ms(), was_leaving(env.store))),
      ring_(config_.self, config_.vnodes_per_node, config_.cluster.replicas, {}),
      health_(detector_options(config_.cluster)),
      hints_(env_.store, turn_, objects_, config_.cluster.max_hints_per_target),
      transfers_(config_.cluster.max_transfers_in_flight),
      held_(config_.cluster.max_delayed_messages) {
  SHOAL_ASSERT(actor_ != 0);
  SHOAL_ASSERT(config_.members.empty() || std::find(config_.members.begin(), config_.members.end(),
                                                    config_.self) != config_.members.end());
  for (const ring::NodeId& m : config_.members) {
    if (m != config_.self) membership_.add_known(MemberState::of(m, 0, 0));
  }
  // Request ids are unique across restarts (peers remember recent mints by coordinator
  // and id, and answer a repeated id with the remembered reply): each process starts at
  // a point drawn from its fresh actor. Not the generation: a restored or cloned data
  // directory brings back an old generation, and with it ids of a previous process.
  next_id_ = ((actor_ & ((uint64_t{1} << 40) - 1)) << 24) + 1;
  ring_.update(membership_.ring_members());
  const uint64_t now = env_.clock.now_ms();
  for (const ring::NodeId& peer : membership_.peers()) health_.watch(peer, now);
  hints_.count();
  if (config_.cluster.fault_points.bug_key_filter_trusted_unbuilt) {
    objects_.key_filter().trust_unbuilt();
  }
  if (config_.cluster.fault_points.bug_key_filter_skips_members) {
    objects_.key_filter().skip_members_in_walk();
  }
  objects_.build_key_filter(config_.cluster.key_filter_rows_per_tick);
  start_sweep();
  env_.timers.schedule(kTickTimer, config_.cluster.tick_ms);
}

// ---- events ----

void Node::send(const ring::NodeId& to, Message m) { outbox_.emplace_back(to, std::move(m)); }

void Node::respond(Pending& p, ClientResponse response) {
  if (p.replied) return;
  p.replied = true;
  // The minter's state was for this answer: a request waiting on a slow replica after it
  // must not hold a copy of the value (memory per write in flight, docs/limits.md).
  p.state.reset();
  answer(std::move(p.reply), std::move(response), p.internal);
}

void Node::on_timer(uint64_t timer_id) {
  if (timer_id == kTickTimer) {
    tick();
    return;
  }
  if (auto held = held_.release(timer_id)) {
    env_.transport.send(held->first, held->second);  // released at an earlier turn
    return;
  }
  Pending* found = requests_.find(timer_id);
  if (found == nullptr) return;
  Pending& p = *found;
  const bool uncounted = p.counting_remove() && p.outcome() == Outcome::kSucceeded;
  respond(p, {Status::timeout(uncounted ? "the remove was applied, but too few replicas reported "
                                          "what they held in time to count it"
                                        : "only " + std::to_string(p.tally.ok) + " of " +
                                              std::to_string(p.goal.required) +
                                              " replicas answered in time; a write may have "
                                              "landed on some"),
              nullptr});
  if (p.is_read()) read_repair(p);
  requests_.close(timer_id);
}

void Node::prefetch(const Message* messages, size_t count) const {
  constexpr size_t kMaxKeys = 64;
  std::array<uint64_t, kMaxKeys> hashes;
  std::array<const Message*, kMaxKeys> named;
  size_t keys = 0;
  for (size_t i = 0; i < count && keys < kMaxKeys; ++i) {
    const Message& m = messages[i];
    if (m.kind != Message::Kind::kMerge && m.kind != Message::Kind::kMint &&
        m.kind != Message::Kind::kRead) {
      continue;
    }
    hashes[keys] = ring::key_hash(m.bucket, m.key);
    named[keys] = &m;
    objects_.prefetch_slot(hashes[keys]);
    ++keys;
  }
  // The slots asked first have arrived by now (or are on their way): what they name.
  for (size_t i = 0; i < keys; ++i) objects_.prefetch_entry(hashes[i]);
  // A set merge's members, each lookup a few dependent misses in a big cached set (~5% of
  // a replica's CPU under SADD to a 100,000-member set), overlapped step by step.
  for (int stage = 0; stage < 3; ++stage) {
    for (size_t i = 0; i < keys; ++i) {
      if (named[i]->kind != Message::Kind::kMerge || named[i]->elements.empty()) continue;
      objects_.prefetch_members(hashes[i], named[i]->elements, stage);
    }
  }
}

void Node::on_message(const ring::NodeId& from, const Message& m) {
  if (faults_.blocks_from(from)) {  // a chaos partition, enforced on the receiving side
    ++faults_.dropped;
    return;
  }
  switch (m.kind) {
    case Message::Kind::kRead:
    case Message::Kind::kMint:
    case Message::Kind::kMerge:
      handle_replica(from, m);
      return;
    case Message::Kind::kReadReply:
    case Message::Kind::kMintReply:
    case Message::Kind::kMergeAck:
    case Message::Kind::kMergeAcks:
      on_replica_answer(from, m);
      return;
    case Message::Kind::kHeartbeat:
      health_.heartbeat(from, env_.clock.now_ms());
      return;
    case Message::Kind::kGossipSyn:
    case Message::Kind::kGossipAck:
    case Message::Kind::kGossipAck2:
      on_gossip(from, m);
      return;
    case Message::Kind::kTransfer:
      on_transfer(from, m);
      return;
    case Message::Kind::kTransferAck:
      on_transfer_ack(from, m);
      return;
    case Message::Kind::kAeTree:
      on_ae_tree(from, m);
      return;
    case Message::Kind::kAeDiff:
      on_ae_diff(from, m);
      return;
    case Message::Kind::kAeRepair:
      on_ae_repair(m);
      return;
    case Message::Kind::kAeSummary:
      on_ae_summary(from, m);
      return;
    case Message::Kind::kAeSummaryReply:
      on_ae_summary_reply(from, m);
      return;
    case Message::Kind::kSetSpans:
      answer_set_spans(from, m);
      return;
    case Message::Kind::kSetSpansReply:
      on_set_spans(from, m);
      return;
  }
}

void Node::on_peer_status(const ring::NodeId& peer, bool reachable) {
  if (peer == config_.self) return;
  health_.set_reachable(peer, reachable);
  update_down(peer);
}

// Requests waiting on a peer that went down stop waiting: it counts as a failed reply.
void Node::peer_went_down(const ring::NodeId& peer) {
  for (uint64_t id : requests_.waiting_on(peer)) {
    record(id, peer, false, Status::unavailable("replica " + peer + " became unreachable"));
  }
}

// ---- turns ----

void Node::end_turn() {
  Status flushed = turn_.commit(env_.store, !config_.cluster.fault_points.bug_never_fsync);
  auto outbox = std::move(outbox_);
  auto replies = std::move(replies_);
  outbox_.clear();
  replies_.clear();
  const size_t mints = mints_this_turn_;
  mints_this_turn_ = 0;
  objects_.end_turn(turn_.discarded());
  if (!flushed.is_ok()) {
    // Acknowledge nothing of this turn; peers time out, clients learn why. An update's
    // outcome is indeterminate: an earlier turn may have sent it to other replicas. When
    // the store discarded the turn's writes, forget what was derived from them, so
    // nothing refused is kept or retried.
    if (turn_.discarded()) {
      objects_.forget_cache();
      hints_.recount();
      recent_mints_.drop_newest(mints);
    }
    for (auto& [fn, response] : replies) {
      if (response.status.is_ok()) {
        response = {
            Status::timeout("the store of " + config_.self + " failed (" + flushed.message() +
                            "); the update may have reached other replicas"),
            nullptr};
      }
      fn(std::move(response));
    }
    return;
  }
  batch_acks(outbox);
  if (config_.cluster.fault_points.shuffle_outbox) {
    for (size_t i = outbox.size(); i > 1; --i)
      std::swap(outbox[i - 1], outbox[env_.rng.next() % i]);
  }
  for (const auto& [to, m] : outbox) send_filtered(to, m);
  for (auto& [fn, response] : replies) fn(std::move(response));
}

void Node::batch_acks(std::vector<std::pair<ring::NodeId, Message>>& outbox) {
  size_t batchable = 0;
  for (const auto& [to, m] : outbox)
    batchable += m.kind == Message::Kind::kMergeAck && m.acks_batched;
  if (batchable < 2) return;
  struct Open {  // the open batch to one coordinator: its place in `kept`, its bytes
    const ring::NodeId* to;
    size_t index, bytes;
  };
  std::vector<Open> open;  // one per coordinator: a few
  std::vector<std::pair<ring::NodeId, Message>> kept;
  kept.reserve(outbox.size());
  for (auto& entry : outbox) {
    const ring::NodeId& to = entry.first;
    Message& m = entry.second;
    if (m.kind != Message::Kind::kMergeAck || !m.acks_batched) {
      kept.push_back(std::move(entry));
      continue;
    }
    const size_t bytes = m.status.message().size() + m.body.size();
    auto it = std::find_if(open.begin(), open.end(), [&](const Open& o) { return *o.to == to; });
    if (it == open.end() || kept[it->index].second.acks.size() == kMaxBatchAcks ||
        it->bytes + bytes > kMaxBatchAckBytes) {
      kept.emplace_back(to, Message::make(Message::Kind::kMergeAcks));
      if (it == open.end()) it = open.insert(open.end(), Open{&to, 0, 0});
      *it = Open{&to, kept.size() - 1, 0};
    }
    it->bytes += bytes;
    kept[it->index].second.acks.push_back(
        MergeAck{m.req_id, std::move(m.status), m.base, std::move(m.body)});
  }
  outbox = std::move(kept);
}

void Node::send_filtered(const ring::NodeId& to, const Message& m) {
  const FaultFilter::Verdict v = faults_.outbound(to, env_.rng);
  if (v.drop) {
    ++faults_.dropped;
    return;
  }
  for (uint32_t i = 0; i < v.copies; ++i) {
    if (v.delay_ms == 0) {
      env_.transport.send(to, m);
      continue;
    }
    const uint64_t id = next_id_;
    if (!held_.hold(id, to, m)) {  // a busy link: lossy
      ++faults_.dropped;
      continue;
    }
    ++next_id_;
    env_.timers.schedule(id, v.delay_ms);
  }
}

Result<std::string> Node::chaos(const FaultRule& rule) {
  std::set<std::string> known;
  for (const auto& [id, s] : membership_.states()) known.insert(id);
  SHOAL_RETURN_IF_ERROR(faults_.apply(rule, known));
  return faults_.describe();
}

}  // namespace shoal::core
