#include "node/core/node.h"

#include <algorithm>

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
      objects_(env_.store, turn_, config_.object_cache_bytes,
               [this](uint64_t hash) { segment_changed(hash); }),
      hints_(env_.store, turn_, objects_, config_.cluster.max_hints_per_target),
      membership_(initial_self(config_, env_.clock.wall_ms(), was_leaving(env.store))),
      detector_(detector_options(config_.cluster)) {
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
  ring_members_ = membership_.ring_members();
  ring_ = ring::Ring(ring_members_, config_.vnodes_per_node);
  ring_fingerprint_ = ring_.fingerprint();
  const uint64_t now = env_.clock.now_ms();
  for (const ring::NodeId& peer : membership_.peers()) detector_.watch(peer, now);
  hints_.count();
  start_sweep();
  env_.timers.schedule(kTickTimer, config_.cluster.tick_ms);
}

// ---- storage helpers ----

namespace {

// What a client (or a coordinator) is answered with: no operation log (it is repair
// metadata), and for a set update only the elements it touched and the whole context
// (the whole membership would make every add O(set size) on the wire and in the reply).
ObjectPtr answer_state(const std::shared_ptr<Object>& state, const Update& u) {
  if (const auto* set = state->as<crdt::ORSet>()) {
    return std::make_shared<const Object>(set->project(u.elements));
  }
  if (state->ops().empty()) return state;
  return std::make_shared<const Object>(state->without_ops());
}

ObjectPtr for_client(ObjectPtr o) {
  if (!o || o->ops().empty()) return o;
  return std::make_shared<const Object>(o->without_ops());
}

// What a replica's read reply carries: no operation log (a counter's can be large, so
// counters are never read-repaired), except a register's records of the siblings it
// holds, so a read repair never hands a replica a sibling without the record that makes
// a retry of its write count once. Cost: a scan of the register's log per read.
ObjectPtr for_reading(ObjectPtr o, bool bug_no_records) {
  if (!o || o->ops().empty()) return o;
  const auto* reg = o->as<crdt::DvvSet>();
  if (!reg || bug_no_records) return for_client(o);
  Object out = o->without_ops();
  for (const auto& [key, record] : o->ops().records()) {
    const bool live = std::any_of(record.mints.begin(), record.mints.end(), [&](const auto& m) {
      return std::any_of(m.second.dots.begin(), m.second.dots.end(),
                         [&](const crdt::Dot& d) { return reg->siblings().count(d) > 0; });
    });
    if (live) (void)out.ops().insert(key, record);
  }
  return std::make_shared<const Object>(std::move(out));
}

}  // namespace

// A set restricted to `elements` (other types are answered whole: the API reports the
// type mismatch).
ObjectPtr projected(const ObjectPtr& o, const std::vector<std::string>& elements) {
  const auto* set = o->as<crdt::ORSet>();
  if (!set) return o;
  return std::make_shared<const Object>(set->project(elements));
}

// Drops the operation records older than the op window; their keys go to `changed`.
void Node::prune_ops(Object& o, std::vector<uint64_t>* changed) {
  if (o.ops().empty()) return;
  const uint64_t wall = env_.clock.wall_ms();
  const uint64_t window = config_.cluster.op_window_ms;
  o.ops().prune(wall > window ? wall - window : 0, changed);
}

// A peer holds more of this node's current actor than this node does: its state was
// rolled back while it ran (a VM snapshot restored with its memory). Minting on under
// the same actor would reuse dots the peer holds, so take a new one (identity.h).
void Node::check_own_history(const Object* mine, const Object& incoming) {
  const uint64_t theirs = incoming.seen_of(actor_);
  if (theirs == 0 || (mine && mine->seen_of(actor_) >= theirs)) return;
  ++actor_renewals_;
  bump_actor();
}

Status Node::merge_local(const std::string& bucket, const std::string& key, const Object& delta,
                         bool durable) {
  Result<std::shared_ptr<Object>> current = objects_.writable(bucket, key);
  if (!current) return current.status();
  check_own_history(current->get(), delta);
  std::vector<uint64_t> ops;
  if (!*current) {
    auto fresh = std::make_shared<Object>(delta);
    prune_ops(*fresh, nullptr);
    objects_.save(bucket, key, std::move(fresh), ObjectStore::Rows{.all = true}, durable);
    return Status::ok();
  }
  Object& mine = **current;
  if (auto* set = mine.as<crdt::ORSet>()) {
    SHOAL_RETURN_IF_ERROR(check_type(delta.type(), DataType::kSet));
    const crdt::DotContext ctx_before = set->context();
    const auto deferred_before = set->deferred();  // almost always empty
    crdt::ORSet::Touched touched;
    SHOAL_RETURN_IF_ERROR(mine.join(delta, &touched, &ops));
    prune_ops(mine, &ops);
    const bool changed = !touched.empty() || !(set->context() == ctx_before) ||
                         set->deferred() != deferred_before || !ops.empty();
    if (changed) objects_.save(bucket, key, *current, ObjectStore::Rows{&touched, &ops}, durable);
    return Status::ok();
  }
  // Registers and counters are small: compare the value to skip no-op writes.
  const Object before = mine.without_ops();
  SHOAL_RETURN_IF_ERROR(mine.join(delta, nullptr, &ops));
  prune_ops(mine, &ops);
  if (!mine.same_value(before) || !ops.empty()) {
    objects_.save(bucket, key, *current, ObjectStore::Rows{nullptr, &ops}, durable);
  }
  return Status::ok();
}

Result<Node::LocalApplied> Node::local_update(const Update& update, const std::string& bucket,
                                              const std::string& key, bool durable) {
  Result<std::shared_ptr<Object>> current = objects_.writable(bucket, key);
  if (!current) return current.status();
  std::shared_ptr<Object> state =
      *current ? std::move(current).value() : std::make_shared<Object>(update_type(update));
  Update u = update;
  if (config_.cluster.fault_points.bug_ignore_op_ids) u.op_id.clear();
  Once once;
  Result<Object> delta = apply_once(state.get(), actor_, u, env_.clock.wall_ms(), &once);
  if (!delta) {
    if (delta.status().code() == Code::kInvalidArgument && once.duplicate) {
      return Status::invalid_argument(delta.status().message() + " (" + bucket + "/" + key + ")");
    }
    return delta.status();
  }
  if (once.duplicate) {
    ++duplicates_answered_;
    return LocalApplied{answer_state(state, u),
                        std::make_shared<const Object>(std::move(delta).value()), true};
  }
  minted_since_bump_ = true;
  prune_ops(*state, &once.ops);
  LocalApplied out{answer_state(state, u), std::make_shared<const Object>(std::move(delta).value()),
                   false, once.base};
  objects_.save(bucket, key, std::move(state), ObjectStore::Rows{&once.touched, &once.ops},
                durable);
  return out;
}

void Node::send(const ring::NodeId& to, Message m) { outbox_.emplace_back(to, std::move(m)); }

void Node::respond(Pending& p, ClientResponse response) {
  if (p.replied) return;
  p.replied = true;
  replies_.emplace_back(std::move(p.reply), std::move(response));
}

// ---- coordinator ----

void Node::on_client_request(ClientRequest request, ReplyFn reply) {
  Result<ResolvedOptions> opts = resolve(request.options);
  Status invalid = opts.status();
  if (invalid.is_ok() && faults_.refuses_clients()) {
    invalid = Status::unavailable("this node refuses clients (shoal chaos: clients refuse)");
  }
  if (invalid.is_ok() && request.op == ClientRequest::Op::kUpdate) {
    invalid = validate(request.update);
  }
  if (invalid.is_ok() && request.elements.size() > kMaxSetElementsPerOp) {
    invalid = Status::too_large("at most " + std::to_string(kMaxSetElementsPerOp) +
                                " set members per read");
  }
  if (!invalid.is_ok()) {
    replies_.emplace_back(std::move(reply), ClientResponse{invalid, nullptr});
    return;
  }
  const uint64_t id = next_id_++;
  Pending& p = pending_[id];
  p.op = request.op;
  p.bucket = std::move(request.bucket);
  p.key = std::move(request.key);
  p.elements = std::move(request.elements);
  p.options = fit_to_replicas(request.options, *opts, static_cast<uint32_t>(ring_.size()));
  p.reply = std::move(reply);
  const bool is_read = p.op == ClientRequest::Op::kGet;
  const size_t replicas = choose_targets(p, ring::key_hash(p.bucket, p.key));
  const Status refused = refusal(p, replicas);
  if (!refused.is_ok()) {
    respond(p, {refused, nullptr});
    pending_.erase(id);
    return;
  }
  if (request.op == ClientRequest::Op::kUpdate && request.update.type == DataType::kLww &&
      request.update.timestamp_ms == 0) {
    request.update.timestamp_ms = env_.clock.wall_ms();
  }
  env_.timers.schedule(id, p.options.timeout_ms);
  if (is_read) {
    start_get(id, p);
  } else {
    start_update(id, p, request.update);
  }
}

// Picks the replicas: primaries, with fallbacks standing in for down ones when sloppy.
// Returns how many replicas the key has (for messages).
size_t Node::choose_targets(Pending& p, uint64_t hash) {
  const bool is_read = p.op == ClientRequest::Op::kGet;
  if (p.options.local) {
    p.targets = {ring::Target{config_.self, std::nullopt}};
    if (!is_read && !owns(hash)) {
      // A LOCAL write on a node that is not a replica: the handoff sweep takes it to the
      // owners when they are reachable.
      next_sweep_ms_ = std::min(next_sweep_ms_, env_.clock.now_ms() + 1000);
    }
  } else if (down_.empty()) {
    for (ring::NodeId& t : ring_.preference_list(hash, p.options.n)) {
      p.targets.push_back(ring::Target{std::move(t), std::nullopt});
    }
  } else if (p.options.sloppy) {
    p.targets = ring_.sloppy_targets(hash, p.options.n, down_);
  } else {
    for (ring::NodeId& t : ring_.preference_list(hash, p.options.n)) {
      if (!down_.count(t)) p.targets.push_back(ring::Target{std::move(t), std::nullopt});
    }
  }
  const auto primaries = static_cast<uint32_t>(std::count_if(
      p.targets.begin(), p.targets.end(), [](const ring::Target& t) { return !t.hint_for; }));
  p.goal.required =
      is_read ? std::max(p.options.r, p.options.pr) : std::max(p.options.w, p.options.pw);
  // A read counts primaries only: a fallback holds just what a down primary missed, never
  // the whole value, so ALL means every primary answered. Fallbacks are still asked and
  // their hints merged into the answer.
  p.goal.required_primaries = is_read ? p.goal.required : p.options.pw;
  p.goal.targets = static_cast<uint32_t>(p.targets.size());
  p.goal.primary_targets = primaries;
  return p.options.local ? 1 : std::min<size_t>(p.options.n, ring_.size());
}

// Why the request cannot even be tried (ok: it can).
Status Node::refusal(const Pending& p, size_t replicas) const {
  const bool is_read = p.op == ClientRequest::Op::kGet;
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

bool Node::owns(uint64_t hash) const {
  thread_local std::vector<uint32_t> owners;
  ring_.preference_indexes(hash, config_.cluster.replicas, &owners);
  for (uint32_t i : owners) {
    if (ring_.nodes()[i] == config_.self) return true;
  }
  return false;
}

bool Node::joining_alone() const {
  return membership_.self().status == MemberStatus::kJoining && ring_.size() <= 1;
}

const ring::Target* Node::target_of(const Pending& p, const ring::NodeId& node) const {
  for (const ring::Target& t : p.targets) {
    if (t.node == node) return &t;
  }
  return nullptr;
}

void Node::start_get(uint64_t id, Pending& p) {
  for (const ring::Target& t : p.targets) {
    if (t.node == config_.self) continue;
    Message m = Message::make(Message::Kind::kRead, id, p.bucket, p.key);
    m.hint_for = t.hint_for.value_or("");
    m.elements = p.elements;
    send(t.node, std::move(m));
  }
  if (const ring::Target* mine = target_of(p, config_.self)) {
    Result<ObjectPtr> got = mine->hint_for ? hints_.load(*mine->hint_for, p.bucket, p.key)
                                           : objects_.load(p.bucket, p.key);
    if (got && *got) {
      *got = p.elements.empty() ? for_reading(*got, config_.cluster.fault_points.bug_counter_gaps)
                                : projected(*got, p.elements);
    }
    if (got) {
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
  if (minter->node != config_.self) {
    Message m = Message::make(Message::Kind::kMint, id, p.bucket, p.key);
    m.update = update;
    m.durable = p.options.durable;
    send(minter->node, std::move(m));
    p.may_have_applied = true;
    return;
  }
  Result<LocalApplied> applied = local_update(update, p.bucket, p.key, p.options.durable);
  if (!applied) {
    respond(p, {applied.status(), nullptr});
    env_.timers.cancel(id);
    pending_.erase(id);
    return;
  }
  p.may_have_applied = true;
  p.delta = std::move(applied->delta);
  p.state = std::move(applied->state);
  p.duplicate = applied->duplicate;
  p.base = applied->base;
  spread_delta(id, p, config_.self);
  record(id, config_.self, true, Status::ok());
}

void Node::spread_delta(uint64_t id, Pending& p, const ring::NodeId& minter) {
  const std::vector<ring::Target> targets = p.targets;  // record() may erase p
  for (const ring::Target& t : targets) {
    if (t.node == minter) continue;
    if (t.node == config_.self) {
      Result<ObjectPtr> mine =
          t.hint_for ? hints_.load(*t.hint_for, p.bucket, p.key) : objects_.load(p.bucket, p.key);
      if (mine && misses_history(mine->get(), *p.delta, p.base)) {
        on_gap(id, p, t.node);
      } else {
        Status s = t.hint_for ? hints_.store(*t.hint_for, p.bucket, p.key, *p.delta,
                                             p.options.durable, env_.clock.wall_ms())
                              : merge_local(p.bucket, p.key, *p.delta, p.options.durable);
        record(id, t.node, s.is_ok(), s);
      }
      if (!pending_.count(id)) return;
      continue;
    }
    Message m = Message::make(Message::Kind::kMerge, id, p.bucket, p.key);
    m.object = p.delta;
    m.durable = p.options.durable;
    m.hint_for = t.hint_for.value_or("");
    m.base = p.base;
    send(t.node, std::move(m));
  }
}

bool Node::misses_history(const Object* mine, const Object& delta, uint64_t base) const {
  if (config_.cluster.fault_points.bug_counter_gaps) return false;
  const auto* d = delta.as<crdt::PNCounter>();
  if (base == 0 || !d) return false;
  // A minter's counter delta holds one entry: its actor's new totals.
  const auto& inc = d->increments().entries();
  const auto& dec = d->decrements().entries();
  if (inc.empty() && dec.empty()) return false;
  const crdt::Actor actor = inc.empty() ? dec.begin()->first : inc.begin()->first;
  const auto* held = mine ? mine->as<crdt::PNCounter>() : nullptr;
  if (mine && !held) return false;  // another type: the join reports the mismatch
  const uint64_t total = held ? held->increments().get(actor) + held->decrements().get(actor) : 0;
  return total < base;
}

// `node` refused the delta: it missed some of the minter's history. It gets the minter's
// whole state (with its log) instead, fetched once per request.
void Node::on_gap(uint64_t id, Pending& p, const ring::NodeId& node) {
  ++gap_refills_;
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
      if (!pending_.count(id)) return;
    }
    return;
  }
  const Status lost = Status::unavailable("the minter no longer holds this update");
  for (const ring::NodeId& node : waiting) {
    record(id, node, false, lost);
    if (!pending_.count(id)) return;
  }
}

void Node::send_full(uint64_t id, Pending& p, const ring::NodeId& node) {
  const ring::Target* t = target_of(p, node);
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
  send(node, std::move(m));
}

void Node::record(uint64_t id, const ring::NodeId& from, bool ok, const Status& error) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  const ring::Target* t = target_of(p, from);
  if (!t) return;  // a stranger
  if (!p.answered_by.insert(from).second &&
      !config_.cluster.fault_points.bug_count_duplicate_replies) {
    return;  // a duplicate
  }
  p.tally.record(ok, /*primary=*/!t->hint_for);
  SHOAL_ASSERT(p.answered_by.size() == p.tally.ok + p.tally.failed);
  if (!ok && p.first_error.is_ok()) p.first_error = error;
  finish_if_done(id);
}

void Node::finish_if_done(uint64_t id) {
  Pending& p = pending_.at(id);
  const Outcome outcome = evaluate(p.goal, p.tally);
  if (outcome == Outcome::kSucceeded) {
    if (p.op == ClientRequest::Op::kGet) {
      respond(p, {p.merged ? Status::ok() : Status::not_found(p.bucket + "/" + p.key),
                  for_client(p.merged)});
    } else {
      respond(p, {Status::ok(), p.state, p.duplicate});
    }
  } else if (outcome == Outcome::kFailed) {
    respond(p, {failure(p), nullptr});
  }
  if (p.answered_by.size() == p.targets.size()) {
    if (p.op == ClientRequest::Op::kGet) read_repair(p);
    env_.timers.cancel(id);
    pending_.erase(id);
  }
}

// Why a request failed, as the client may rely on it (docs/semantics.md): once a
// replica may have applied an update, the outcome is indeterminate whatever the cause.
Status Node::failure(const Pending& p) const {
  if (p.op != ClientRequest::Op::kUpdate || !p.may_have_applied ||
      config_.cluster.fault_points.bug_unavailable_after_send) {
    return p.first_error;
  }
  return Status::timeout("the write may have been applied (" + p.first_error.to_string() +
                         "): retry it with the same operation id");
}

void Node::read_repair(Pending& p) {
  // A projection must never be joined into a whole state (crdt/orset.h): reads of a
  // few members repair nothing; anti-entropy does.
  if (!p.merged || !p.elements.empty()) return;
  // Read replies carry no operation log, and a counter's totals include every mint an
  // actor made: repairing a counter from them would hand a replica mints without their
  // records, so a retry could count one twice. Anti-entropy repairs counters whole.
  if (p.merged->type() == DataType::kCounter && !config_.cluster.fault_points.bug_counter_gaps) {
    return;
  }
  for (const auto& [node, reply] : p.replies) {
    if (reply && (reply == p.merged || *reply == *p.merged)) continue;
    const ring::Target* t = target_of(p, node);
    if (!t || t->hint_for) continue;  // a fallback's hint is delivered by replay
    ++read_repairs_;
    if (node == config_.self) {
      (void)merge_local(p.bucket, p.key, *p.merged, false);
    } else {
      Message m = Message::make(Message::Kind::kMerge, 0, p.bucket, p.key);
      m.object = p.merged;
      send(node, std::move(m));
    }
  }
}

void Node::on_timer(uint64_t timer_id) {
  if (timer_id == kTickTimer) {
    tick();
    return;
  }
  if (auto d = delayed_.find(timer_id); d != delayed_.end()) {
    env_.transport.send(d->second.first, d->second.second);  // released at an earlier turn
    delayed_.erase(d);
    return;
  }
  auto it = pending_.find(timer_id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  respond(p, {Status::timeout("only " + std::to_string(p.tally.ok) + " of " +
                              std::to_string(p.goal.required) +
                              " replicas answered in time; a write may have landed on some"),
              nullptr});
  if (p.op == ClientRequest::Op::kGet) read_repair(p);
  pending_.erase(it);
}

// ---- replica side ----

void Node::on_read_reply(const ring::NodeId& from, const Message& m, Pending& p) {
  if (m.status.is_ok()) {
    if (p.answered_by.count(from)) return;
    p.replies[from] = m.object;
    if (m.object) {
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
      on_replica_answer(from, m);
      return;
    case Message::Kind::kHeartbeat:
      detector_.heartbeat(from, env_.clock.now_ms());
      if (convicted_.count(from)) update_down(from);
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
  }
}

// A replica's answer to a request this node coordinates (unknown ids: already finished).
void Node::on_replica_answer(const ring::NodeId& from, const Message& m) {
  auto it = pending_.find(m.req_id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  if (m.kind == Message::Kind::kReadReply) {
    if (p.op == ClientRequest::Op::kGet) {
      on_read_reply(from, m, p);
    } else if (p.op == ClientRequest::Op::kUpdate && from == p.minter) {
      on_full_state(m.req_id, m, p);
    }
  } else if (m.kind == Message::Kind::kMintReply) {
    if (p.delta) return;
    if (!m.status.is_ok() || !m.object) {
      respond(p, {m.status.is_ok() ? Status::internal("mint without delta") : m.status, nullptr});
      env_.timers.cancel(m.req_id);
      pending_.erase(it);
      return;
    }
    p.delta = m.object;
    p.state = m.state;
    p.duplicate = m.duplicate;
    p.base = m.base;
    spread_delta(m.req_id, p, from);
    record(m.req_id, from, true, Status::ok());
  } else if (m.kind == Message::Kind::kMergeAck) {
    if (p.op != ClientRequest::Op::kUpdate) return;
    if (!m.status.is_ok() && m.base != 0 && p.delta && target_of(p, from) &&
        !p.answered_by.count(from)) {
      on_gap(m.req_id, p, from);
      return;
    }
    record(m.req_id, from, m.status.is_ok(), m.status);
  }
}

void Node::handle_replica(const ring::NodeId& from, const Message& m) {
  if (m.kind != Message::Kind::kRead && m.hint_for.empty() &&
      !owns(ring::key_hash(m.bucket, m.key))) {
    // A coordinator with another ring sent us a key we do not own: hand it off soon.
    next_sweep_ms_ = std::min(next_sweep_ms_, env_.clock.now_ms() + 1000);
  }
  Message reply;
  reply.req_id = m.req_id;
  reply.bucket = m.bucket;
  reply.key = m.key;
  if (m.kind == Message::Kind::kRead) {
    reply.kind = Message::Kind::kReadReply;
    Result<ObjectPtr> mine = m.hint_for.empty() ? objects_.load(m.bucket, m.key)
                                                : hints_.load(m.hint_for, m.bucket, m.key);
    reply.status = mine.status();
    if (mine && *mine && !m.full) {
      *mine = m.elements.empty() ? for_reading(*mine, config_.cluster.fault_points.bug_counter_gaps)
                                 : projected(*mine, m.elements);
    }
    if (mine) reply.object = *mine;
  } else if (m.kind == Message::Kind::kMint) {
    reply.kind = Message::Kind::kMintReply;
    // A mint is not idempotent (a counter would count twice): a duplicate of one already
    // applied gets the same answer again.
    const auto mint_id = std::make_pair(from, m.req_id);
    if (auto seen = recent_mints_.find(mint_id); seen != recent_mints_.end()) {
      reply.object = seen->second.delta;
      reply.state = seen->second.state;
      reply.duplicate = seen->second.duplicate;
      reply.base = seen->second.base;
      send(from, std::move(reply));
      return;
    }
    Result<LocalApplied> applied =
        m.update ? local_update(*m.update, m.bucket, m.key, m.durable)
                 : Result<LocalApplied>(Status::invalid_argument("mint without an update"));
    reply.status = applied.status();
    if (applied) {
      remember_mint(mint_id, *applied);
      reply.object = std::move(applied->delta);
      reply.state = std::move(applied->state);
      reply.duplicate = applied->duplicate;
      reply.base = applied->base;
    }
  } else {
    reply.kind = Message::Kind::kMergeAck;
    const bool hint = !m.hint_for.empty() && m.hint_for != config_.self;
    if (!m.object) {
      reply.status = Status::invalid_argument("merge without an object");
    } else if (m.base != 0 && refuses_gap(m, hint)) {
      reply.status = Status::unavailable("this replica missed earlier updates of the counter");
      reply.base = m.base;
    } else if (hint) {
      reply.status =
          hints_.store(m.hint_for, m.bucket, m.key, *m.object, m.durable, env_.clock.wall_ms());
    } else {
      reply.status = merge_local(m.bucket, m.key, *m.object, m.durable);
    }
    if (m.req_id == 0) return;  // read repair: nobody waits for an ack
  }
  send(from, std::move(reply));
}

bool Node::refuses_gap(const Message& m, bool hint) {
  Result<ObjectPtr> mine =
      hint ? hints_.load(m.hint_for, m.bucket, m.key) : objects_.load(m.bucket, m.key);
  return mine && misses_history(mine->get(), *m.object, m.base);
}

void Node::remember_mint(const std::pair<ring::NodeId, uint64_t>& id, const LocalApplied& applied) {
  recent_mints_.emplace(id, applied);
  recent_mint_order_.push_back(id);
  if (recent_mint_order_.size() > kRecentMints) {
    recent_mints_.erase(recent_mint_order_.front());
    recent_mint_order_.pop_front();
  }
}

void Node::on_peer_status(const ring::NodeId& peer, bool reachable) {
  if (peer == config_.self) return;
  if (reachable) {
    unreachable_.erase(peer);
  } else {
    unreachable_.insert(peer);
  }
  update_down(peer);
}

// Requests waiting on a peer that went down stop waiting: it counts as a failed reply.
void Node::peer_went_down(const ring::NodeId& peer) {
  std::vector<uint64_t> waiting;
  for (const auto& [id, p] : pending_) {
    if (target_of(p, peer) && !p.answered_by.count(peer)) waiting.push_back(id);
  }
  for (uint64_t id : waiting) {
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
  if (!flushed.is_ok()) {
    // Nothing of this turn is stored: acknowledge nothing. Peers time out; clients
    // learn why. The changes stay in the object cache and may still be committed with
    // a later write of the same key, so an update's outcome is indeterminate.
    for (auto& [fn, response] : replies) {
      if (response.status.is_ok()) {
        response = {Status::timeout("the store failed (" + flushed.message() +
                                    "); the write may still be committed later"),
                    nullptr};
      }
      fn(std::move(response));
    }
    return;
  }
  if (config_.cluster.fault_points.shuffle_outbox) {
    for (size_t i = outbox.size(); i > 1; --i)
      std::swap(outbox[i - 1], outbox[env_.rng.next() % i]);
  }
  for (const auto& [to, m] : outbox) send_filtered(to, m);
  for (auto& [fn, response] : replies) fn(std::move(response));
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
    const uint64_t id = next_id_++;
    delayed_.emplace(id, std::make_pair(to, m));
    env_.timers.schedule(id, v.delay_ms);
  }
}

Result<std::string> Node::chaos(std::string_view rule) {
  std::set<std::string> known;
  for (const auto& [id, s] : membership_.states()) known.insert(id);
  SHOAL_RETURN_IF_ERROR(faults_.apply(rule, known));
  return faults_.describe();
}

}  // namespace shoal::core
