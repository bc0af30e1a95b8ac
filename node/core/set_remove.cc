// Node: counting removes (update.h, counts_removed): a set remove without a context,
// answered with how many of the members named a read before it would have found (Redis
// SREM) in one round trip when the replicas agree, and removing every add a read quorum
// held (docs/semantics.md, "Removes without a context"); the same for a counting delete
// of an lww key (Redis DEL), whose one "member" is the key's value.
//
// The minter removes what it has seen of each member; every replica merging the delta
// reports per member whether it held it and whether it still holds a dot the minter never
// saw (Pending::removal). When a read quorum of primaries reported and none holds such a
// dot, the remove took out all a read would have seen: the answer goes out. Otherwise (a
// minter behind the others, fallbacks in the quorum, a node before these flags) the
// coordinator reads the members at the request's consistency and removes what that read
// saw, with its context, as a client would: two more round trips, rare.
#include "crdt/assert.h"
#include "crdt/coding.h"
#include "node/core/node.h"

namespace shoal::core {

struct Node::RemoveFollowUp {
  ReplyFn reply;
  bool internal = false;
  std::string bucket, key;
  RequestOptions options;
  uint64_t deadline_ms = 0;           // the follow-up's steps share the request's timeout
  std::vector<std::string> elements;  // distinct, as named (a counting delete: none)
  bool whole_key = false;             // a counting delete (Update::counting)
  bool probe = false;                 // ... whose minter held no value (Pending::probe)
  bool found = false;                 // ... that found a value: its count
  std::set<std::string> held;         // the members some replica held: the count
  ObjectPtr state;                    // the minter's answer
  bool duplicate = false;
};

// The next step's timeout: what is left of the request's (false: nothing is).
bool Node::fit_to_deadline(RemoveFollowUp& f) const {
  const uint64_t now_ms = env_.clock.now_ms();
  if (now_ms >= f.deadline_ms) return false;
  f.options.timeout_ms = static_cast<uint32_t>(f.deadline_ms - now_ms);
  return true;
}

void Node::finish_counting_remove(Pending& p) {
  SHOAL_ASSERT(p.counting_remove() && !p.replied);
  if (std::optional<uint32_t> n = p.removed_if_conclusive()) {
    ClientResponse r{Status::ok(), std::move(p.state), p.duplicate};
    r.removed = n;
    respond(p, std::move(r));
    return;
  }
  ++counters_.remove_followups;
  auto f = std::make_shared<RemoveFollowUp>();
  f->reply = std::move(p.reply);
  f->internal = p.internal;
  f->bucket = p.bucket;
  f->key = p.key;
  f->options = p.request_options;
  f->deadline_ms = p.deadline_ms;
  const std::set<std::string> named(p.delta_elements.begin(), p.delta_elements.end());
  f->elements.assign(named.begin(), named.end());
  f->whole_key = p.counting_delete();
  f->probe = p.probe;
  f->found = p.found_value();
  f->held = p.removal_held();
  f->state = std::move(p.state);
  f->duplicate = p.duplicate;
  p.replied = true;  // answered by the follow-up; later acks of this round change nothing
  if (!fit_to_deadline(*f)) return follow_up_done(f, Status::timeout("no time left to read"));
  ClientRequest q;
  q.op = ClientRequest::Op::kGet;
  q.bucket = f->bucket;
  q.key = f->key;
  q.options = f->options;
  q.elements = f->elements;
  start_request(
      std::move(q), [this, f](ClientResponse r) { follow_up_read(f, std::move(r)); },
      /*internal=*/true);
}

void Node::follow_up_read(std::shared_ptr<RemoveFollowUp> f, ClientResponse read) {
  if (!read.status.is_ok() && read.status.code() != Code::kNotFound) {
    return follow_up_done(f, read.status);
  }
  if (f->whole_key) return follow_up_delete(f, read.object.get());
  const auto* set = read.object ? read.object->as<crdt::ORSet>() : nullptr;
  ClientRequest w;
  w.op = ClientRequest::Op::kUpdate;
  w.bucket = f->bucket;
  w.key = f->key;
  w.options = f->options;
  w.update.kind = Update::Kind::kSetRemove;
  for (const std::string& e : f->elements) {
    if (set && set->contains(e)) w.update.elements.push_back(e);
  }
  if (w.update.elements.empty()) return follow_up_done(f, Status::ok());
  f->held.insert(w.update.elements.begin(), w.update.elements.end());
  w.update.context = set->context();
  if (!fit_to_deadline(*f)) return follow_up_done(f, Status::timeout("no time left to remove"));
  w.options = f->options;
  start_request(
      std::move(w), [this, f](ClientResponse r) { follow_up_done(f, r.status); },
      /*internal=*/true);
}

// A counting delete's follow-up: deletes what the read found (an lww value, stamped after
// it, or a register's siblings, with its context).
void Node::follow_up_delete(std::shared_ptr<RemoveFollowUp> f, const Object* found) {
  const auto* lww = found ? found->as<crdt::LWWRegister>() : nullptr;
  const auto* reg = found ? found->as<crdt::DvvSet>() : nullptr;
  if (found && !lww && !reg) {
    const Status other = Status::type_mismatch("the key holds a counter or a set");
    // A probe no reporter held a value for wrote nothing: the answer is definite.
    if (f->probe && f->held.empty())
      return answer(std::move(f->reply), {other, nullptr}, f->internal);
    return follow_up_done(f, other);
  }
  // A value some replica held in the first round is deleted again even when the read sees
  // only tombstones: the replicas that lacked it may not have written one.
  if ((!lww || !lww->read()) && (!reg || reg->is_deleted()) && f->held.empty()) {
    return follow_up_done(f, Status::ok());  // nothing was there
  }
  ClientRequest w;
  w.op = ClientRequest::Op::kUpdate;
  w.bucket = f->bucket;
  w.key = f->key;
  w.update.kind = Update::Kind::kDelete;
  w.update.type = reg ? DataType::kRegister : DataType::kLww;
  if (reg) w.update.context = reg->context();
  // It supersedes what the read saw, even a value stamped by a clock ahead of this one.
  if (!reg) w.update.timestamp_ms = std::max(env_.clock.wall_ms(), lww ? lww->timestamp() + 1 : 0);
  if ((lww && lww->read()) || (reg && !reg->is_deleted())) f->found = true;
  if (!fit_to_deadline(*f)) return follow_up_done(f, Status::timeout("no time left to delete"));
  w.options = f->options;
  start_request(
      std::move(w), [this, f](ClientResponse r) { follow_up_done(f, r.status); },
      /*internal=*/true);
}

// The first round was applied (its minter removed what it held), so a failure now is
// indeterminate: timeout, as for any update a replica may have applied.
void Node::follow_up_done(std::shared_ptr<RemoveFollowUp> f, const Status& status) {
  ClientResponse out;
  if (status.is_ok()) {
    out = ClientResponse{Status::ok(), std::move(f->state), f->duplicate};
    out.removed = f->whole_key ? (f->found ? 1u : 0u) : static_cast<uint32_t>(f->held.size());
  } else {
    out.status = Status::timeout(
        "the remove was applied where it was minted, but taking out what other replicas hold "
        "failed (" +
        status.to_string() + "): retry it with the same operation id");
  }
  answer(std::move(f->reply), std::move(out), f->internal);
}

// A counting delete's tombstone (Update::counting): joined where the key holds a value,
// and where it does not, written unless it is a probe (its minter held no value either):
// a DEL of a key no replica has leaves nothing behind, as in Redis. The flags say whether
// this replica held a value before, and whether one survives (stamped later), and carry
// the stamp of what it held (Pending::latest).
Status Node::merge_counting_delete(const std::string& bucket, const std::string& key,
                                   const Object& delta, bool durable, bool probe,
                                   std::string* flags) {
  // A big set is loaded in part (only its head), never whole, to learn its type.
  Result<ObjectStore::Part> part = objects_.part(bucket, key, {std::string()}, {}, true);
  if (!part) return part.status();
  std::shared_ptr<Object> mine = std::move(part->object);
  // Another type is left as it is, unreported: the coordinator reads the key and deletes
  // what it finds (Node::follow_up_delete).
  if (mine && mine->type() != DataType::kLww) return Status::ok();
  const auto* tomb = delta.as<crdt::LWWRegister>();
  if (!tomb) return Status::invalid_argument("a counting delete carries an lww tombstone");
  const auto* reg = mine ? mine->as<crdt::LWWRegister>() : nullptr;
  const bool live = reg && reg->read();
  if (flags) *flags = delete_flags(mine.get(), nullptr);  // a tombstone's stamp counts too
  // This delete's tombstone, written here before (a duplicate of the message): what this
  // replica held before is gone (its records are still joined below).
  const bool again =
      reg && !live && reg->timestamp() == tomb->timestamp() && reg->actor() == tomb->actor();
  if (probe && !live && !again) return Status::ok();
  check_own_history(mine.get(), delta);
  if (!mine) {
    auto fresh = std::make_shared<Object>(delta);
    prune_ops(*fresh, nullptr);
    objects_.save(bucket, key, std::move(fresh), ObjectStore::Rows{.all = true, .absent = true},
                  durable);
    return Status::ok();
  }
  const Object before = mine->without_ops();
  std::vector<uint64_t> ops;
  SHOAL_RETURN_IF_ERROR(mine->join(delta, nullptr, &ops));
  prune_ops(*mine, &ops);
  if (flags && again) {
    // A probe is only written where a value was: this replica held one, stamped at most
    // as the tombstone (an upper bound). A plain delete's duplicate reports no stamp.
    *flags = std::string(1, Pending::kRemoveReport);
    if (probe) {
      *flags = std::string(1, Pending::kRemoveReport | Pending::kRemoveHeld);
      coding::put_be64(flags, tomb->timestamp());
      coding::put_be64(flags, tomb->actor());
    }
  } else if (flags) {
    *flags = delete_flags(&before, mine.get());
  }
  if (!mine->same_value(before) || !ops.empty()) {
    objects_.save(bucket, key, std::move(mine), ObjectStore::Rows{nullptr, &ops}, durable);
  }
  return Status::ok();
}

// A kMerge of a counting delete (its body a kRemovalMark, then kDeleteProbe for a probe;
// no context follows): merged, its flags in `reply`. False: another merge.
bool Node::merged_counting_delete(const Message& m, Message& reply) {
  const bool probe = m.body == std::string{kRemovalMark, kDeleteProbe};
  if (m.body != std::string(1, kRemovalMark) && !probe) return false;
  if (config_.cluster.fault_points.legacy_deletes) {  // a node from before: a plain merge
    reply.status = merge_local(m.bucket, m.key, *m.object, m.durable);
    return true;
  }
  reply.status = merge_counting_delete(m.bucket, m.key, *m.object, m.durable, probe,
                                       m.req_id != 0 ? &reply.body : nullptr);
  return true;
}

// A counting delete where the minter holds only a tombstone (its stamp is in `held`): a
// probe, written here no more than where nothing is, stamped past that tombstone so it is
// never taken for it.
bool Node::probe_over_tombstone(Update& u, const std::string& held, ObjectStore::Part& part) {
  const auto* lww = part.object ? part.object->as<crdt::LWWRegister>() : nullptr;
  if (!u.counting || !lww || (held[0] & Pending::kRemoveHeld)) return false;
  SHOAL_ASSERT(u.op_id.empty(), "validate() refuses an op id on a counting delete");
  u.timestamp_ms = std::max(u.timestamp_ms, lww->timestamp() + 1);
  part.object = nullptr;
  return true;
}

// What a minted delta's kMerge carries (Message::body): a set add's minter context, by
// which each replica judges its held flags; a counting remove's kRemovalMark and that
// context; a counting delete's kRemovalMark, then kDeleteProbe when its minter held no
// value (its flags are in by now).
std::string Node::merge_body(Pending& p) {
  if (p.counting_delete()) {
    // A probe only when the minter said it held no value: a minter from before counting
    // deletes says nothing and writes a plain tombstone, so every replica must write one
    // and a fallback keep it as a hint. (A minter answering from an earlier attempt re-sends
    // that attempt's state: never a probe. Counting deletes take no op id, so no honest
    // peer says so.)
    p.probe =
        !p.duplicate && p.reporters.count(p.minter) > 0 && !(p.removal[0] & Pending::kRemoveHeld);
    return p.probe ? std::string{kRemovalMark, kDeleteProbe} : std::string(1, kRemovalMark);
  }
  const crdt::DotContext* minter_seen = minter_context(p);
  if (!minter_seen) return std::string();
  return (p.counting_remove() ? std::string(1, kRemovalMark) : std::string()) +
         minter_seen->encode();
}

// This node's merge of a delta it coordinates but did not mint, with its flags; as a
// fallback (`t`), a hint (but a counting delete's probe is kept for nobody: apply_merge).
Status Node::merge_minted(const Pending& p, const ring::Target& t, std::string* flags) {
  if (t.hint_for) {
    if (p.counting_delete() && p.probe) return Status::ok();
    return hints_.store(*t.hint_for, p.bucket, p.key, *p.delta, p.options.durable,
                        env_.clock.wall_ms());
  }
  if (p.counting_delete()) {
    return merge_counting_delete(p.bucket, p.key, *p.delta, p.options.durable, p.probe, flags);
  }
  return merge_local(p.bucket, p.key, *p.delta, p.options.durable, p.delta_elements, flags,
                     minter_context(p), p.counting_remove());
}

}  // namespace shoal::core
