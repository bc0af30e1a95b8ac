// Node: the replica side (node.h): applying an update as the minter, merging what
// coordinators, peers and repairs send, and what a replica answers with.
#include <algorithm>

#include "crdt/assert.h"
#include "node/core/node.h"
#include "node/core/replies.h"

namespace shoal::core {

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

// Whether this replica removed every dot a minter's add delta supersedes (the dots the
// minter held of the members it named, in the delta's context but not its entries): it
// saw each and holds none, so the minter's "held" flags are stale (Message::body). Not
// when this very write already reached it (a read repair, a duplicate): then the write
// itself superseded them.
bool removed_superseded(const crdt::ORSet& mine, const crdt::ORSet& adds) {
  constexpr uint64_t kMaxDots = 4096;  // a bigger context (an op re-send) is not judged
  for (const auto& [elem, dots] : adds.entries()) {
    for (const crdt::Dot& d : dots) {
      if (mine.context().contains(d)) return false;
    }
  }
  const crdt::DotContext& ctx = adds.context();
  uint64_t seen = ctx.cloud().size();
  for (const auto& [actor, counter] : ctx.vv().entries()) seen += counter;
  if (seen == 0 || seen > kMaxDots) return false;
  bool any = false;
  auto removed_here = [&](const crdt::Dot& d) {
    for (const auto& [elem, dots] : adds.entries()) {
      if (dots.count(d)) return true;  // the delta's own dot, not a superseded one
    }
    any = true;
    return mine.removed(d);
  };
  for (const auto& [actor, counter] : ctx.vv().entries()) {
    for (uint64_t c = 1; c <= counter; ++c) {
      if (!removed_here(crdt::Dot{actor, c})) return false;
    }
  }
  for (const crdt::Dot& d : ctx.cloud()) {
    if (!removed_here(d)) return false;
  }
  return any;
}

// One byte per member of `elements` (Message::body of kMintReply / kMergeAck):
//  1  `state` (a set) holds it by a dot other than the ones `delta` (the write being
//     merged, if any) adds: a read repair or anti-entropy may have brought this very
//     write here before its own merge, which is not "held before";
//  2  not held, and this replica removed what the minter held (removed_superseded):
//     a remove the minter has not seen yet, which a read would have seen;
//  0  otherwise.
std::string held_flags(const Object* state, const std::vector<std::string>& elements,
                       const Object* delta = nullptr,
                       const crdt::DotContext* minter_seen = nullptr) {
  std::string flags(elements.size(), '\0');
  const auto* set = state ? state->as<crdt::ORSet>() : nullptr;
  if (!set) return flags;
  const auto* adds = delta ? delta->as<crdt::ORSet>() : nullptr;
  const char not_held = adds && removed_superseded(*set, *adds) ? 2 : 0;
  for (char& f : flags) f = not_held;
  for (size_t i = 0; i < elements.size(); ++i) {
    const crdt::Dots* held = set->find(elements[i]);
    if (held == nullptr) continue;  // not held: 0 or 2
    const crdt::Dots* own = adds ? adds->find(elements[i]) : nullptr;
    // A dot the minter saw and did not hold for this member (not in the delta's context)
    // was removed there: a read of both would not count it.
    const bool other = std::any_of(held->begin(), held->end(), [&](const crdt::Dot& d) {
      if (own && own->count(d)) return false;
      return !minter_seen || !adds || adds->context().contains(d) || !minter_seen->contains(d);
    });
    if (other) flags[i] = 1;
  }
  return flags;
}

// A counting remove's flags (Pending::removal), one byte per member of `elements`, each
// with Pending::kRemoveReport: kRemoveHeld when `state` (before the merge) holds a dot of
// the member that a read of it and the minter would keep (one the minter took out, or
// never saw); kRemoveLeft when one of those is a dot the minter never saw, which the
// remove (it takes out what the minter saw) leaves here. `delta` null: the minter's own
// flags, taken before it removes what it holds.
std::string removal_flags(const Object* state, const std::vector<std::string>& elements,
                          const Object* delta, const crdt::DotContext* minter_seen) {
  using P = Pending;
  std::string flags(elements.size(), P::kRemoveReport);
  const auto* set = state ? state->as<crdt::ORSet>() : nullptr;
  const auto* removal = delta ? delta->as<crdt::ORSet>() : nullptr;
  if (delta && (!removal || !minter_seen)) return std::string();  // cannot judge: no report
  if (!set) return flags;
  for (size_t i = 0; i < elements.size(); ++i) {
    const crdt::Dots* held = set->find(elements[i]);
    if (held == nullptr) continue;
    for (const crdt::Dot& d : *held) {
      const bool unseen = minter_seen && !minter_seen->contains(d);
      char f = flags[i];
      if (!removal || removal->context().contains(d) || unseen) f = f | P::kRemoveHeld;
      if (unseen) f = f | P::kRemoveLeft;
      flags[i] = f;
    }
  }
  return flags;
}

// A set delta that changes nothing anywhere: a counting remove of members its minter did
// not have.
bool is_nothing(const Object& delta) {
  const auto* set = delta.as<crdt::ORSet>();
  return set && set->entries().empty() && set->context().empty() && set->deferred().empty() &&
         delta.ops().empty();
}

}  // namespace

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
  ++counters_.actor_renewals;
  bump_actor();
}

Status Node::merge_local(const std::string& bucket, const std::string& key, const Object& delta,
                         bool durable, const std::vector<std::string>& elements, std::string* held,
                         const crdt::DotContext* minter_seen, bool removal) {
  Result<ObjectStore::Part> current = merge_target(bucket, key, delta, elements);
  if (!current) return current.status();
  ObjectStore::Part part = std::move(current).value();
  if (held) {
    *held = removal ? removal_flags(part.object.get(), elements, &delta, minter_seen)
                    : held_flags(part.object.get(), elements, &delta, minter_seen);
  }
  check_own_history(part.object.get(), delta);
  std::vector<uint64_t> ops;
  if (!part.object && is_nothing(delta)) return Status::ok();  // creates no empty set
  if (!part.object) {
    auto fresh = std::make_shared<Object>(delta);
    prune_ops(*fresh, nullptr);
    objects_.save(bucket, key, std::move(fresh), ObjectStore::Rows{.all = true, .absent = true},
                  durable);
    return Status::ok();
  }
  Object& mine = *part.object;
  if (auto* set = mine.as<crdt::ORSet>()) {
    SHOAL_RETURN_IF_ERROR(check_type(delta.type(), DataType::kSet));
    // The join grows the context exactly when it does not hold the delta's already (both
    // canonical); asked before it, no copy of the context to compare with after.
    const bool context_grows = !set->context().covers(delta.as<crdt::ORSet>()->context());
    const auto deferred_before = set->deferred();  // almost always empty
    const ObjectStore::RowsBefore before =
        objects_.rows_before(bucket, key, *set, elements, delta.as<crdt::ORSet>());
    const ObjectStore::HeldBefore held_before =
        ObjectStore::held_before_of(*set, *delta.as<crdt::ORSet>());
    crdt::ORSet::Touched touched;
    SHOAL_RETURN_IF_ERROR(mine.join(delta, &touched, &ops));
    if (!part.partial) prune_ops(mine, &ops);  // a partial set holds only some records
    const bool changed =
        !touched.empty() || context_grows || set->deferred() != deferred_before || !ops.empty();
    const ObjectStore::Rows rows{
        .elements = &touched, .ops = &ops, .before = &before, .held_before = &held_before};
    if (changed) objects_.save_part(bucket, key, std::move(part), rows, durable);
    return Status::ok();
  }
  // Registers and counters are small: compare the value to skip no-op writes.
  const Object before = mine.without_ops();
  SHOAL_RETURN_IF_ERROR(mine.join(delta, nullptr, &ops));
  prune_ops(mine, &ops);
  if (!mine.same_value(before) || !ops.empty()) {
    objects_.save(bucket, key, std::move(part.object), ObjectStore::Rows{nullptr, &ops}, durable);
  }
  return Status::ok();
}

Result<Node::LocalApplied> Node::local_update(const Update& update, const std::string& bucket,
                                              const std::string& key, bool durable) {
  // A copy only where the update changes (a copy of every value and member list would
  // cost allocations on every write): the fault drops its op id, and a counting delete's
  // timestamp may move past a tombstone (probe_over_tombstone).
  const bool drop_op_id = config_.cluster.fault_points.bug_ignore_op_ids && !update.op_id.empty();
  std::optional<Update> copy;
  if (drop_op_id || update.counting) copy = update;
  if (drop_op_id) copy->op_id.clear();
  const Update& u = copy ? *copy : update;
  Result<ObjectStore::Part> current = update_target(u, bucket, key);
  if (!current) return current.status();
  ObjectStore::Part part = std::move(current).value();
  std::shared_ptr<Object> state =
      part.object ? part.object : std::make_shared<Object>(update_type(update));
  const std::string held = u.kind == Update::Kind::kSetAdd ? held_flags(state.get(), u.elements)
                           : u.counting ? delete_flags(part.object.get(), nullptr)
                           : counts_removed(u)
                               ? removal_flags(state.get(), u.elements, nullptr, nullptr)
                               : std::string();
  if (copy && probe_over_tombstone(*copy, held, part))
    state = std::make_shared<Object>(update_type(update));
  const auto* set = state->as<crdt::ORSet>();
  const ObjectStore::RowsBefore before =
      set ? objects_.rows_before(bucket, key, *set, u.elements) : ObjectStore::RowsBefore();
  const ObjectStore::HeldBefore held_before =
      set ? ObjectStore::held_before_of(*set, u.elements) : ObjectStore::HeldBefore();
  Once once;
  Result<Object> delta = apply_once(state.get(), actor_, u, env_.clock.wall_ms(), &once);
  if (!delta) {
    if (delta.status().code() == Code::kInvalidArgument && once.duplicate) {
      return Status::invalid_argument(delta.status().message() + " (" + bucket + "/" + key + ")");
    }
    return delta.status();
  }
  if (once.duplicate) {
    ++counters_.duplicates_answered;
    return LocalApplied{answer_state(state, u),
                        std::make_shared<const Object>(std::move(delta).value()), true, 0, held};
  }
  if (!part.object && counts_removed(u)) {
    // Members of a set this replica does not have: nothing to save or spread (no empty set
    // is created, as Redis SREM on a missing key); the others report what they hold. A
    // counting delete spreads its tombstone, which only replicas holding the key write.
    ObjectPtr spread = u.counting ? std::make_shared<const Object>(std::move(delta).value())
                                  : std::make_shared<const Object>(crdt::ORSet{});
    return LocalApplied{answer_state(state, u), std::move(spread), false, 0, held};
  }
  minted_since_bump_ = true;
  if (const auto* reg = state->as<crdt::DvvSet>(); reg && reg->siblings().size() >= kWarnSiblings) {
    ++counters_.sibling_warnings;
  }
  if (!part.partial) prune_ops(*state, &once.ops);  // a partial set holds only some records
  LocalApplied out{answer_state(state, u), std::make_shared<const Object>(std::move(delta).value()),
                   false, once.base, held};
  part.object = std::move(state);
  objects_.save_part(bucket, key, std::move(part),
                     ObjectStore::Rows{.elements = &once.touched,
                                       .ops = &once.ops,
                                       .before = &before,
                                       .held_before = &held_before},
                     durable);
  return out;
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

// A replica's answer to kRead: its state, the members asked, or a page of its set.
void Node::answer_read(const Message& m, Message& reply) {
  reply.kind = Message::Kind::kReadReply;
  Result<ObjectPtr> mine = !m.hint_for.empty() ? hints_.load(m.hint_for, m.bucket, m.key)
                           : m.page            ? objects_.load_page(m.bucket, m.key, *m.page)
                                               : load_members(m.bucket, m.key, m.elements);
  reply.status = mine.status();
  if (mine && *mine && m.page) {
    *mine = page_of(*mine, *m.page);
    // For a member-by-member repair (set_sync.h): the digest of all its member rows, and
    // with the first page its operation records.
    reply.base =
        objects_.element_digest(element_prefix(ring::key_hash(m.bucket, m.key), m.bucket, m.key))
            .value_or(0);
    if (m.full) {
      Result<OpLog> records = objects_.load_records(m.bucket, m.key);
      if (!records) {
        reply.status = records.status();
        return;
      }
      auto with_records = std::make_shared<Object>(**mine);
      with_records->ops() = std::move(records).value();
      *mine = std::move(with_records);
    }
  } else if (mine && *mine && !m.full) {
    *mine = m.elements.empty() ? for_reading(*mine, config_.cluster.fault_points.bug_counter_gaps)
                               : projected(*mine, m.elements);
  }
  if (mine) reply.object = *mine;
}

void Node::handle_replica(const ring::NodeId& from, const Message& m) {
  if (m.kind != Message::Kind::kRead && m.hint_for.empty() &&
      !ring_.owns(ring::key_hash(m.bucket, m.key))) {
    // A coordinator with another ring sent us a key we do not own: hand it off soon.
    sweep_.soon(env_.clock.now_ms());
  }
  Message reply;
  reply.req_id = m.req_id;
  // A merge's ack may travel in a batch (Node::batch_acks) when its coordinator reads
  // them; a batched ack names no key.
  reply.acks_batched = m.kind == Message::Kind::kMerge && m.acks_batched &&
                       !config_.cluster.fault_points.legacy_acks;
  if (!reply.acks_batched) {
    reply.bucket = m.bucket;
    reply.key = m.key;
  }
  // A duplicate of a mint already applied is answered from recent_mints_ below, even
  // while the store refuses writes: refusing it would say `unavailable` of a write that
  // was applied.
  if (m.kind == Message::Kind::kMerge && refuse_write(from, m, reply)) return;
  if (m.kind == Message::Kind::kRead) {
    answer_read(m, reply);
  } else if (m.kind == Message::Kind::kMint) {
    reply.kind = Message::Kind::kMintReply;
    // A mint is not idempotent (a counter would count twice): a duplicate of one already
    // applied gets the same answer again.
    const auto mint_id = std::make_pair(from, m.req_id);
    if (const LocalApplied* seen = recent_mints_.find(mint_id)) {
      reply.object = seen->delta;
      reply.state = seen->state;
      reply.duplicate = seen->duplicate;
      reply.base = seen->base;
      reply.body = seen->held;
      send(from, std::move(reply));
      return;
    }
    if (refuse_write(from, m, reply)) return;
    Result<LocalApplied> applied = Status::invalid_argument("mint without an update");
    if (m.update) {
      Update u = *m.update;
      u.counting = u.kind == Update::Kind::kDelete && m.body == std::string(1, kRemovalMark) &&
                   !config_.cluster.fault_points.legacy_deletes;
      // A peer's update is checked as a client's is (a counting delete with an operation
      // id, say, is refused, not trusted).
      const Status valid = validate(u);
      applied =
          valid.is_ok() ? local_update(u, m.bucket, m.key, m.durable) : Result<LocalApplied>(valid);
    }
    reply.status = applied.status();
    if (applied) {
      if (recent_mints_.insert(mint_id, *applied)) ++mints_this_turn_;
      reply.object = std::move(applied->delta);
      reply.state = std::move(applied->state);
      reply.duplicate = applied->duplicate;
      reply.base = applied->base;
      reply.body = std::move(applied->held);  // Message::body of kMintReply
    }
  } else {
    apply_merge(m, reply);
    if (m.req_id == 0) return;  // read repair: nobody waits for an ack
  }
  send(from, std::move(reply));
}

// A kMerge: joins its object (or stores it as a hint, or refuses a counter delta with a
// gap), saying how in `reply` (a kMergeAck).
void Node::apply_merge(const Message& m, Message& reply) {
  reply.kind = Message::Kind::kMergeAck;
  const bool hint = !m.hint_for.empty() && m.hint_for != config_.self;
  if (!m.object) {
    reply.status = Status::invalid_argument("merge without an object");
  } else if (m.base != 0 && refuses_gap(m, hint)) {
    reply.status = Status::unavailable("this replica missed earlier updates of the counter");
    reply.base = m.base;
  } else if (hint) {
    // A counting delete's probe is not kept for a down replica: where it matters (a
    // replica held a value) the coordinator deletes again, on a write quorum.
    const bool probe = m.body == std::string{kRemovalMark, kDeleteProbe} &&
                       !config_.cluster.fault_points.legacy_deletes;
    reply.status = probe ? Status::ok()
                         : hints_.store(m.hint_for, m.bucket, m.key, *m.object, m.durable,
                                        env_.clock.wall_ms());
  } else {
    // Flags for a set add or a counting remove someone waits on (Message::body of
    // kMergeAck), judged against the minter's context, which only their merges carry
    // (Message::body of kMerge; a counting remove's starts with a 0 byte): a repair's
    // merge needs none.
    if (merged_counting_delete(m, reply)) return;
    const bool removal = !m.body.empty() && m.body.front() == kRemovalMark;
    std::optional<crdt::DotContext> seen;
    if (!m.body.empty()) {
      const std::string_view bytes = std::string_view(m.body).substr(removal ? 1 : 0);
      if (Result<crdt::DotContext> c = crdt::DotContext::decode(bytes)) seen = std::move(*c);
    }
    reply.status = merge_local(m.bucket, m.key, *m.object, m.durable, m.elements,
                               m.req_id != 0 && seen ? &reply.body : nullptr,
                               seen ? &*seen : nullptr, removal);
  }
}

// A mint or merge while the store cannot take writes: refused (`unavailable`, nothing
// applied), so the coordinator counts this replica as failed instead of waiting.
bool Node::refuse_write(const ring::NodeId& from, const Message& m, Message& reply) {
  Status refused = store_refuses_writes();
  // A refused mint stays refused: a duplicate of it arriving once the store recovered
  // must not apply what the client was told never happened.
  const auto mint_id = std::make_pair(from, m.req_id);
  if (m.kind == Message::Kind::kMint) {
    if (refused.is_ok() && refused_mints_.find(mint_id)) {
      refused = Status::unavailable("node " + config_.self + " refused this write earlier");
    }
    if (!refused.is_ok()) refused_mints_.insert(mint_id, true);
  }
  if (refused.is_ok()) return false;
  if (m.req_id == 0) return true;  // read repair: nobody waits for an ack
  reply.kind =
      m.kind == Message::Kind::kMint ? Message::Kind::kMintReply : Message::Kind::kMergeAck;
  reply.status = std::move(refused);
  send(from, std::move(reply));
  return true;
}

bool Node::refuses_gap(const Message& m, bool hint) {
  Result<ObjectPtr> mine =
      hint ? hints_.load(m.hint_for, m.bucket, m.key) : objects_.load(m.bucket, m.key);
  return mine && misses_history(mine->get(), *m.object, m.base);
}

}  // namespace shoal::core
