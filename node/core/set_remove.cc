// Node: counting removes (update.h, counts_removed): a set remove without a context,
// answered with how many of the members named a read before it would have found (Redis
// SREM) in one round trip when the replicas agree, and removing every add a read quorum
// held (docs/semantics.md, "Removes without a context").
//
// The minter removes what it has seen of each member; every replica merging the delta
// reports per member whether it held it and whether it still holds a dot the minter never
// saw (Pending::removal). When a read quorum of primaries reported and none holds such a
// dot, the remove took out all a read would have seen: the answer goes out. Otherwise (a
// minter behind the others, fallbacks in the quorum, a node before these flags) the
// coordinator reads the members at the request's consistency and removes what that read
// saw, with its context, as a client would: two more round trips, rare.
#include "crdt/assert.h"
#include "node/core/node.h"

namespace shoal::core {

struct Node::RemoveFollowUp {
  ReplyFn reply;
  bool internal = false;
  std::string bucket, key;
  RequestOptions options;
  uint64_t deadline_ms = 0;           // the follow-up's steps share the request's timeout
  std::vector<std::string> elements;  // distinct, as named
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

// The first round was applied (its minter removed what it held), so a failure now is
// indeterminate: timeout, as for any update a replica may have applied.
void Node::follow_up_done(std::shared_ptr<RemoveFollowUp> f, const Status& status) {
  ClientResponse out;
  if (status.is_ok()) {
    out = ClientResponse{Status::ok(), std::move(f->state), f->duplicate};
    out.removed = static_cast<uint32_t>(f->held.size());
  } else {
    out.status = Status::timeout(
        "the remove was applied where it was minted, but taking out what other replicas hold "
        "failed (" +
        status.to_string() + "): retry it with the same operation id");
  }
  answer(std::move(f->reply), std::move(out), f->internal);
}

}  // namespace shoal::core
