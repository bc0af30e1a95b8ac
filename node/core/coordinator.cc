// Node: the coordinator (node.h): a client request's targets and refusal, its reads and
// updates sent to replicas, the quorum tally, read repair, and the answer.
#include <algorithm>

#include "crdt/assert.h"
#include "node/core/node.h"
#include "node/core/replies.h"

namespace shoal::core {

void Node::on_client_request(ClientRequest request, ReplyFn reply) {
  start_request(std::move(request), std::move(reply), /*internal=*/false);
}

void Node::answer(ReplyFn reply, ClientResponse response, bool internal) {
  if (internal) return reply(std::move(response));
  replies_.emplace_back(std::move(reply), std::move(response));
}

void Node::start_request(ClientRequest&& request, ReplyFn reply, bool internal) {
  Result<ResolvedOptions> opts = resolve(request.options);
  Status invalid = opts.status();
  if (invalid.is_ok() && faults_.refuses_clients()) {
    invalid = Status::unavailable("this node refuses clients (shoal chaos: clients refuse)");
  }
  if (invalid.is_ok() && request.op == ClientRequest::Op::kUpdate) {
    invalid = validate(request.update);
    if (invalid.is_ok()) invalid = store_refuses_writes();
  }
  if (invalid.is_ok() && request.elements.size() > kMaxSetElementsPerOp) {
    invalid = Status::too_large("at most " + std::to_string(kMaxSetElementsPerOp) +
                                " set members per read");
  }
  if (invalid.is_ok() && request.page) invalid = check_page(request);
  if (invalid.is_ok() && requests_.full()) invalid = overload();
  const size_t write_bytes = held_write_bytes(request);
  if (invalid.is_ok() && requests_.over_budget(write_bytes)) invalid = write_overload();
  if (!invalid.is_ok()) return answer(std::move(reply), ClientResponse{invalid, nullptr}, internal);
  const uint64_t id = next_id_++;
  Pending& p = requests_.open(id, write_bytes);
  p.op = request.op;
  p.bucket = std::move(request.bucket);
  p.key = std::move(request.key);
  p.elements = std::move(request.elements);
  p.page = std::move(request.page);
  p.options = fit_to_replicas(request.options, *opts, static_cast<uint32_t>(ring_.ring().size()));
  p.reply = std::move(reply);
  p.internal = internal;
  if (request.op == ClientRequest::Op::kUpdate && counts_removed(request.update)) {
    p.request_options = request.options;
    p.deadline_ms = env_.clock.now_ms() + p.options.timeout_ms;
  }
  const size_t replicas = choose_targets(p, ring::key_hash(p.bucket, p.key));
  const Status refused = refusal(p, replicas);
  if (!refused.is_ok()) {
    respond(p, {refused, nullptr});
    requests_.close(id);
    return;
  }
  if (request.op == ClientRequest::Op::kUpdate && request.update.type == DataType::kLww &&
      request.update.timestamp_ms == 0) {
    request.update.timestamp_ms = env_.clock.wall_ms();
  }
  env_.timers.schedule(id, p.options.timeout_ms);
  if (p.is_read()) {
    start_get(id, p);
  } else {
    start_update(id, p, request.update);
  }
}

// Picks the replicas: primaries, with fallbacks standing in for down ones when sloppy.
// Returns how many replicas the key has (for messages).
size_t Node::choose_targets(Pending& p, uint64_t hash) {
  std::vector<ring::Target> targets;
  if (p.options.local) {
    targets = {ring::Target{config_.self, std::nullopt}};
    if (!p.is_read() && !ring_.owns(hash)) {
      // A LOCAL write on a node that is not a replica: the handoff sweep takes it to the
      // owners when they are reachable.
      sweep_.soon(env_.clock.now_ms());
    }
  } else if (p.options.sloppy && !health_.down().empty()) {
    targets = ring_.ring().sloppy_targets(hash, p.options.n, health_.down());
  } else {
    targets = ring_.primaries(hash, p.options.n, health_.down());
  }
  // Never more targets than replicas, and a primary that is down is never one of them.
  SHOAL_ASSERT(targets.size() <= std::max<size_t>(p.options.n, 1));
  for (const ring::Target& t : targets)
    SHOAL_ASSERT(t.node == config_.self || !health_.is_down(t.node));
  p.set_targets(std::move(targets));
  return p.options.local ? 1 : std::min<size_t>(p.options.n, ring_.ring().size());
}

// Writes are refused while the store cannot take them (a fault being treated, a disk
// below its floor): `unavailable`, nothing was applied; reads go on.
Status Node::store_refuses_writes() const {
  const Status health = env_.store.health();
  if (health.is_ok()) return health;
  return Status::unavailable("node " + config_.self + " refuses writes: " + health.message());
}

Status Node::write_overload() const {
  return Status::overloaded("node " + config_.self + " holds " +
                            std::to_string(requests_.write_bytes()) +
                            " bytes of writes waiting on replicas (limit " +
                            std::to_string(requests_.max_write_bytes()) + ")");
}

Status Node::overload() const {
  return Status::overloaded("node " + config_.self + " has " + std::to_string(requests_.size()) +
                            " requests in flight (limit " + std::to_string(requests_.capacity()) +
                            ")");
}

// Why the request cannot even be tried (ok: it can).
Status Node::refusal(const Pending& p, size_t replicas) const {
  const bool is_read = p.is_read();
  if (!p.options.local && joining_alone()) {
    std::string seeds;
    for (const std::string& sd : config_.seeds) {
      seeds += (seeds.empty() ? "" : ", ") + (sd.starts_with("@") ? sd.substr(1) : sd);
    }
    return Status::unavailable("this node is joining and has not heard from its seeds (" + seeds +
                               ") yet; only LOCAL requests are served until it has");
  }
  const uint32_t primaries = p.goal.primary_targets;
  if (p.targets.size() < p.goal.required || primaries < p.goal.required_primaries) {
    std::string why = std::to_string(is_read ? primaries : p.targets.size()) + " of " +
                      std::to_string(replicas) + " replicas reachable; ";
    why += is_read ? "the read needs " : "the write needs ";
    why += std::to_string(p.goal.required);
    if (p.goal.required_primaries > 0) {
      why += " with " + std::to_string(p.goal.required_primaries) + " primaries (" +
             std::to_string(primaries) + " reachable)";
    }
    return Status::unavailable(why);
  }
  if (!is_read && primaries == 0) {
    return Status::unavailable("no primary replica of " + p.bucket + "/" + p.key +
                               " is reachable to apply the update");
  }
  return Status::ok();
}

bool Node::joining_alone() const {
  return membership_.self().status == MemberStatus::kJoining && ring_.ring().size() <= 1;
}

void Node::start_get(uint64_t id, Pending& p) {
  for (const ring::Target& t : p.targets) {
    if (t.node == config_.self) continue;
    Message m = Message::make(Message::Kind::kRead, id, p.bucket, p.key);
    m.hint_for = t.hint_for.value_or("");
    m.elements = p.elements;
    m.page = p.page;
    send(t.node, std::move(m));
  }
  if (const ring::Target* mine = p.target(config_.self)) {
    Result<ObjectPtr> got = mine->hint_for ? hints_.load(*mine->hint_for, p.bucket, p.key)
                            : p.page       ? objects_.load_page(p.bucket, p.key, *p.page)
                                           : load_members(p.bucket, p.key, p.elements);
    if (got && p.page) {
      p.replies[config_.self] = page_of(*got, *p.page);  // joined at the end (merge_page)
    } else if (got) {
      if (*got) {
        *got = p.elements.empty() ? for_reading(*got, config_.cluster.fault_points.bug_counter_gaps)
                                  : projected(*got, p.elements);
      }
      p.replies[config_.self] = *got;
      p.merged = *got;
    }
    record(id, config_.self, got.is_ok(), got.status());
  }
}

void Node::start_update(uint64_t id, Pending& p, const Update& update) {
  // A primary mints the dot (refusal() made sure one is reachable): this node when it is
  // one, else the first reachable primary in preference order.
  const ring::Target* minter = nullptr;
  for (const ring::Target& t : p.targets) {
    if (!t.hint_for && (t.node == config_.self || !minter)) minter = &t;
    if (minter && minter->node == config_.self) break;
  }
  p.minter = minter->node;
  if (update.kind == Update::Kind::kSetAdd || update.kind == Update::Kind::kSetRemove) {
    p.delta_elements = update.elements;
  }
  if (update.kind == Update::Kind::kSetAdd) p.held.assign(update.elements.size(), '\0');
  if (counts_removed(update)) p.removal.assign(std::max<size_t>(update.elements.size(), 1), '\0');
  if (minter->node != config_.self) {
    Message m = Message::make(Message::Kind::kMint, id, p.bucket, p.key);
    m.update = update;
    if (update.counting) m.body = kRemovalMark;  // Message::body of kMint
    m.durable = p.options.durable;
    send(minter->node, std::move(m));
    p.may_have_applied = true;
    return;
  }
  Result<LocalApplied> applied = local_update(update, p.bucket, p.key, p.options.durable);
  if (!applied) {
    respond(p, {applied.status(), nullptr});
    close_request(id);
    return;
  }
  p.may_have_applied = true;
  p.delta = std::move(applied->delta);
  p.state = std::move(applied->state);
  p.duplicate = applied->duplicate;
  p.base = applied->base;
  note_flags(p, applied->held, config_.self, /*from_minter=*/true);
  spread_delta(id, p, config_.self);
  record(id, config_.self, true, Status::ok());
}

// A set add's or counting remove's minter context: the state the minter answered with is
// the set projected on the members named, with its whole context (answer_state in
// replica.cc).
const crdt::DotContext* Node::minter_context(const Pending& p) {
  if ((p.held.empty() && !p.counting_remove()) || !p.state) return nullptr;
  const auto* set = p.state->as<crdt::ORSet>();
  return set ? &set->context() : nullptr;
}

void Node::spread_delta(uint64_t id, Pending& p, const ring::NodeId& minter) {
  std::string minter_bytes = merge_body(p);  // encoded once for every remote target
  size_t remote = 0;                         // the last one takes minter_bytes, not a copy
  for (const ring::Target& t : p.targets) remote += t.node != minter && t.node != config_.self;
  // By index into p.targets, not a copy of them: only this node's own merge can close the
  // request (record()), and the loop stops then; while it is open, p stays where it is
  // (Requests never moves an open request) and its targets are set once.
  for (size_t i = 0; i < p.targets.size(); ++i) {
    const ring::Target& t = p.targets[i];
    if (t.node == minter) continue;
    if (t.node == config_.self) {
      // Only a counter delta (base set) can miss history: no load for the others.
      Result<ObjectPtr> mine = p.base == 0  ? Result<ObjectPtr>(ObjectPtr())
                               : t.hint_for ? hints_.load(*t.hint_for, p.bucket, p.key)
                                            : objects_.load(p.bucket, p.key);
      if (mine && misses_history(mine->get(), *p.delta, p.base)) {
        on_gap(id, p, config_.self);
      } else {
        std::string held;
        Status s = merge_minted(p, t, &held);
        if (s.is_ok()) note_flags(p, held, config_.self, /*from_minter=*/false);
        record(id, config_.self, s.is_ok(), s);  // not t.node: record() may free it
      }
      if (!requests_.find(id)) return;
      continue;
    }
    Message m = Message::make(Message::Kind::kMerge, id, p.bucket, p.key);
    m.object = p.delta;
    m.durable = p.options.durable;
    m.hint_for = t.hint_for.value_or("");
    m.base = p.base;
    m.elements = p.delta_elements;
    m.body = --remote == 0 ? std::move(minter_bytes) : minter_bytes;
    m.acks_batched = !config_.cluster.fault_points.legacy_acks;
    send(t.node, std::move(m));
  }
}

// `node` refused the delta: it missed some of the minter's history. It gets the minter's
// whole state (with its log) instead, fetched once per request.
void Node::on_gap(uint64_t id, Pending& p, const ring::NodeId& node) {
  ++counters_.gap_refills;
  if (p.full) {
    send_full(id, p, node);
    return;
  }
  p.gapped.push_back(node);
  if (p.full_asked) return;
  p.full_asked = true;
  if (p.minter != config_.self) {
    Message m = Message::make(Message::Kind::kRead, id, p.bucket, p.key);
    m.full = true;
    send(p.minter, std::move(m));
    return;
  }
  Message own = Message::make(Message::Kind::kReadReply, id, p.bucket, p.key);
  Result<ObjectPtr> mine = objects_.load(p.bucket, p.key);
  own.status = mine.status();
  if (mine) own.object = *mine;
  on_full_state(id, own, p);
}

namespace {
// Whether `full` holds everything `delta` does for the delta's counter entries (a minter
// that restarted from an older disk since minting answers with less).
bool covers(const Object& full, const Object& delta) {
  const auto* d = delta.as<crdt::PNCounter>();
  const auto* f = full.as<crdt::PNCounter>();
  if (!d || !f) return false;
  for (const auto& [actor, n] : d->increments().entries()) {
    if (f->increments().get(actor) < n) return false;
  }
  for (const auto& [actor, n] : d->decrements().entries()) {
    if (f->decrements().get(actor) < n) return false;
  }
  return true;
}
}  // namespace

void Node::on_full_state(uint64_t id, const Message& m, Pending& p) {
  if (!p.full_asked || p.full) return;
  const std::vector<ring::NodeId> waiting = std::move(p.gapped);
  p.gapped.clear();
  if (m.status.is_ok() && m.object && covers(*m.object, *p.delta)) {
    p.full = m.object;
    for (const ring::NodeId& node : waiting) {
      send_full(id, p, node);
      if (!requests_.find(id)) return;
    }
    return;
  }
  const Status lost = Status::unavailable("the minter no longer holds this update");
  for (const ring::NodeId& node : waiting) {
    record(id, node, false, lost);
    if (!requests_.find(id)) return;
  }
}

void Node::send_full(uint64_t id, Pending& p, const ring::NodeId& node) {
  const ring::Target* t = p.target(node);
  if (!t) return;
  if (node == config_.self) {
    Status s = t->hint_for ? hints_.store(*t->hint_for, p.bucket, p.key, *p.full, p.options.durable,
                                          env_.clock.wall_ms())
                           : merge_local(p.bucket, p.key, *p.full, p.options.durable);
    record(id, node, s.is_ok(), s);
    return;
  }
  Message m = Message::make(Message::Kind::kMerge, id, p.bucket, p.key);
  m.object = p.full;
  m.durable = p.options.durable;
  m.hint_for = t->hint_for.value_or("");
  m.acks_batched = !config_.cluster.fault_points.legacy_acks;
  send(node, std::move(m));
}

void Node::record(uint64_t id, const ring::NodeId& from, bool ok, const Status& error) {
  if (Pending* p = requests_.record(id, from, ok, error)) finish_if_done(id, *p);
}

void Node::finish_if_done(uint64_t id, Pending& p) {
  const Outcome outcome = p.outcome();
  if (outcome == Outcome::kSucceeded) {
    if (p.counting_remove()) {
      if (!p.replied && !p.awaiting_reports()) finish_counting_remove(p);
    } else if (p.is_read()) {
      std::optional<std::string> next;
      if (p.page) next = merge_page(p);
      ClientResponse r{p.merged ? Status::ok() : Status::not_found(p.bucket + "/" + p.key),
                       for_client(p.merged)};
      r.next = std::move(next);
      respond(p, std::move(r));
    } else {
      // respond() drops the state (only the first answer carries it): moved, not copied,
      // so no reference count on a cold object is touched twice.
      ClientResponse r{Status::ok(), std::move(p.state), p.duplicate};
      if (!p.held.empty()) r.added = p.added();
      respond(p, std::move(r));
    }
  } else if (outcome == Outcome::kFailed) {
    respond(p, {failure(p), nullptr});
  }
  if (p.all_answered()) {
    if (p.is_read()) read_repair(p);
    close_request(id);
  }
}

void Node::close_request(uint64_t id) {
  env_.timers.cancel(id);
  requests_.close(id);
}

// Why a request failed, as the client may rely on it (docs/semantics.md; Pending::failure).
Status Node::failure(const Pending& p) const {
  return config_.cluster.fault_points.bug_unavailable_after_send ? p.first_error : p.failure();
}

void Node::read_repair(Pending& p) {
  // A projection must never be joined into a whole state (crdt/orset.h): reads of a
  // few members repair nothing; anti-entropy does.
  if (!p.merged || !p.elements.empty() || p.page) return;
  // Read replies carry no operation log, and a counter's totals include every mint an
  // actor made: repairing a counter from them would hand a replica mints without their
  // records, so a retry could count one twice. Anti-entropy repairs counters whole.
  if (p.merged->type() == DataType::kCounter && !config_.cluster.fault_points.bug_counter_gaps) {
    return;
  }
  for (const auto& [node, reply] : p.replies) {
    if (reply && (reply == p.merged || *reply == *p.merged)) continue;
    const ring::Target* t = p.target(node);
    if (!t || t->hint_for) continue;  // a fallback's hint is delivered by replay
    ++counters_.read_repairs;
    if (node == config_.self) {
      // A failed local repair (the store failed) is left to the next read or to
      // anti-entropy: the client already has its answer. Not tried while the store
      // refuses writes: its failed commit would fail this turn's answers too.
      if (env_.store.health().is_ok()) (void)merge_local(p.bucket, p.key, *p.merged, false);
    } else {
      Message m = Message::make(Message::Kind::kMerge, 0, p.bucket, p.key);
      m.object = p.merged;
      send(node, std::move(m));
    }
  }
}

void Node::on_read_reply(const ring::NodeId& from, const Message& m, Pending& p) {
  if (m.status.is_ok()) {
    if (p.answered(from)) return;
    p.replies[from] = p.page ? page_of(m.object, *p.page) : m.object;
    if (m.object && !p.page) {
      if (!p.merged) {
        p.merged = m.object;
      } else if (p.merged != m.object && !(*p.merged == *m.object)) {  // differ: join a copy
        Object joined = *p.merged;
        if (joined.join(*m.object).is_ok()) {
          p.merged = std::make_shared<const Object>(std::move(joined));
        } else if (p.first_error.is_ok()) {
          p.first_error = Status::type_mismatch("replicas disagree on the key's type");
        }
      }
    }
  }
  record(m.req_id, from, m.status.is_ok(), m.status);
}

// A replica's answer to a request this node coordinates (unknown ids: already finished).
void Node::on_replica_answer(const ring::NodeId& from, const Message& m) {
  if (m.kind == Message::Kind::kMergeAck) {
    on_merge_ack(from, m.req_id, m.status, m.base, m.body);
    return;
  }
  if (m.kind == Message::Kind::kMergeAcks) {  // a batch: each counts as its own kMergeAck
    for (const MergeAck& a : m.acks) on_merge_ack(from, a.req_id, a.status, a.base, a.held);
    return;
  }
  if (on_set_page(from, m)) return;
  Pending* found = requests_.find(m.req_id);
  if (found == nullptr) return;
  Pending& p = *found;
  if (m.kind == Message::Kind::kReadReply) {
    if (p.is_read()) {
      on_read_reply(from, m, p);
    } else if (p.op == ClientRequest::Op::kUpdate && from == p.minter) {
      on_full_state(m.req_id, m, p);
    }
  } else if (m.kind == Message::Kind::kMintReply) {
    if (p.delta) return;
    if (!m.status.is_ok() || !m.object) {
      respond(p, {m.status.is_ok() ? Status::internal("mint without delta") : m.status, nullptr});
      close_request(m.req_id);
      return;
    }
    p.delta = m.object;
    p.state = m.state;
    p.duplicate = m.duplicate;
    p.base = m.base;
    note_flags(p, m.body, from, /*from_minter=*/true);
    spread_delta(m.req_id, p, from);
    record(m.req_id, from, true, Status::ok());
  }
}

void Node::note_flags(Pending& p, std::string_view flags, const ring::NodeId& from,
                      bool from_minter) {
  if (p.counting_remove()) return p.note_removal(flags, from);
  p.note_held(flags, from_minter);
}

void Node::on_merge_ack(const ring::NodeId& from, uint64_t id, const Status& status, uint64_t base,
                        std::string_view held) {
  Pending* found = requests_.find(id);
  if (found == nullptr) return;
  Pending& p = *found;
  if (p.op != ClientRequest::Op::kUpdate) return;
  if (!status.is_ok() && base != 0 && p.delta && p.target(from) && !p.answered(from)) {
    on_gap(id, p, from);
    return;
  }
  if (status.is_ok() && !p.answered(from)) note_flags(p, held, from, /*from_minter=*/false);
  record(id, from, status.is_ok(), status);
}

}  // namespace shoal::core
