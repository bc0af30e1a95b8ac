// Member-by-member repair of big sets: this node's side of set_sync.h.
#include <set>

#include "crdt/assert.h"
#include "node/core/keys.h"
#include "node/core/node.h"

namespace shoal::core {

namespace {

// The members and dots of `page` up to `last` (all of them when nullopt).
void take_span(const crdt::ORSet& page, const std::optional<std::string>& last,
               std::set<std::string>* names, std::vector<crdt::Dot>* dots) {
  for (const auto& [elem, held] : page.entries()) {
    if (last && elem > *last) break;
    names->insert(elem);
    dots->insert(dots->end(), held.begin(), held.end());
  }
}

}  // namespace

void Node::set_sync_start(const ring::NodeId& peer, const DataKey& dk) {
  const uint64_t id = next_id_++;
  if (!set_syncs_.start(id, peer, dk.bucket, dk.key, env_.clock.now_ms())) return;
  ++ae_.stats().set_syncs;
  send(peer, Message::make(Message::Kind::kSetSpans, id, dk.bucket, dk.key));
}

void Node::set_sync_ask(const ring::NodeId& peer, uint64_t id, const SetSync& s, bool full) {
  SHOAL_ASSERT(config_.cluster.ae_set_page_members >= 1 &&
               config_.cluster.ae_set_page_members <= kMaxPageMembers);
  Message m = Message::make(Message::Kind::kRead, id, s.bucket, s.key);
  m.full = full;  // the first page brings the peer's operation records
  m.page = SetPage{s.after, config_.cluster.ae_set_page_members, s.until};
  send(peer, std::move(m));
}

// A peer's repair asks this node's span digests: they go when kept and within
// kMaxReplySpanBytes (else not_found: the peer reads the whole set).
void Node::answer_set_spans(const ring::NodeId& from, const Message& m) {
  Message reply = Message::make(Message::Kind::kSetSpansReply, m.req_id, m.bucket, m.key);
  const std::string prefix = element_prefix(ring::key_hash(m.bucket, m.key), m.bucket, m.key);
  const SpanDigests* spans = objects_.element_spans(prefix);
  size_t bytes = 0;
  if (spans != nullptr) {
    for (const auto& [end, digest] : spans->ends) bytes += end.size() + 8;
  }
  if (spans == nullptr || bytes > kMaxReplySpanBytes) {
    reply.status = Status::not_found("no span digests kept");
  } else {
    encode_spans(*spans, &reply.elements, &reply.body);
  }
  send(from, std::move(reply));
}

// The peer's span digests: read the regions where they differ from this node's (all of
// the set when either side keeps none; the first members only, for the head and the
// records, when every span agrees).
void Node::on_set_spans(const ring::NodeId& from, const Message& m) {
  SetSync* s = set_syncs_.find(m.req_id);
  if (s == nullptr || from != s->peer || !s->spans) return;
  const std::string prefix = element_prefix(ring::key_hash(s->bucket, s->key), s->bucket, s->key);
  const SpanDigests* own = objects_.element_spans(prefix);
  SpanDigests theirs;
  std::vector<SpanRegion> regions;
  if (own != nullptr && m.status.is_ok() && decode_spans(m.elements, m.body, &theirs)) {
    regions = differing_regions(*own, theirs);
    if (regions.empty()) regions.push_back(SpanRegion{std::nullopt, std::string()});
  } else {
    regions.push_back(SpanRegion{});
  }
  ae_.stats().set_regions += regions.size();
  set_syncs_.read_regions(m.req_id, std::move(regions), env_.clock.now_ms());
  set_sync_ask(s->peer, m.req_id, *s, /*full=*/true);
}

void Node::set_sync_pace() {
  for (uint64_t id : set_syncs_.due()) {
    set_syncs_.asked(id, env_.clock.now_ms());
    const SetSync* s = set_syncs_.find(id);
    set_sync_ask(s->peer, id, *s, /*full=*/false);
  }
}

bool Node::on_set_page(const ring::NodeId& from, const Message& m) {
  SetSync* s = set_syncs_.find(m.req_id);
  if (s == nullptr) return false;
  if (m.kind != Message::Kind::kReadReply || from != s->peer || s->spans) return true;
  const Object none{crdt::ORSet()};  // the peer holds no such key
  const Object& their_object = m.object ? *m.object : none;
  const SetPage asked{s->after, config_.cluster.ae_set_page_members, s->until};
  // Cut to the page asked: one past it (a buggy or hostile peer) must not move the cursor
  // backwards or out of its region.
  const ObjectPtr their_page = m.object ? page_of(m.object, asked) : nullptr;
  const crdt::ORSet* theirs = their_page ? their_page->as<crdt::ORSet>() : none.as<crdt::ORSet>();
  Result<ObjectPtr> mine = objects_.load_page(s->bucket, s->key, asked);
  const crdt::ORSet* own = mine && *mine ? (*mine)->as<crdt::ORSet>() : nullptr;
  // Not a set on one side (a type conflict is not repaired member by member), or a
  // failed read: stop; anti-entropy starts again later.
  if (!m.status.is_ok() || theirs == nullptr || own == nullptr) {
    set_syncs_.finish(m.req_id);
    return true;
  }
  // The span ends where either page stops short of the end of its region.
  std::optional<std::string> last;
  if (theirs->size() >= config_.cluster.ae_set_page_members)
    last = theirs->entries().rbegin()->first;
  if (own->size() >= config_.cluster.ae_set_page_members) {
    const std::string& own_last = own->entries().rbegin()->first;
    if (!last || own_last < *last) last = own_last;
  }
  if (last && s->until && *last == *s->until) last.reset();  // the region is done
  std::set<std::string> names;
  std::vector<crdt::Dot> dots;
  take_span(*own, last, &names, &dots);
  take_span(*theirs, last, &names, &dots);
  // With the first page both sides' operation records travel (retries stay idempotent
  // on both); they are not paged.
  std::optional<OpLog> own_records;
  if (s->pages == 0) {
    Result<OpLog> got = objects_.load_records(s->bucket, s->key);
    if (!got) {
      set_syncs_.finish(m.req_id);
      return true;
    }
    own_records = std::move(got).value();
  }
  const bool records = own_records && (!own_records->empty() || !their_object.ops().empty());
  if ((!names.empty() || records) &&
      !set_sync_swap(*s, their_object, *own, own_records ? &*own_records : nullptr, names, dots)) {
    set_syncs_.finish(m.req_id);
    return true;
  }
  ++ae_.stats().set_pages;
  // The next page (or region) is asked on the next anti-entropy step (set_sync_pace).
  if (last) {
    set_syncs_.advance(m.req_id, next_id_++, *last, env_.clock.now_ms());
    return true;
  }
  if (set_syncs_.next_region(m.req_id, next_id_, env_.clock.now_ms())) {
    ++next_id_;
    return true;
  }
  set_sync_close(*s, *theirs, m.base);
  set_syncs_.finish(m.req_id);
  return true;
}

// Joins what the peer's page says of the span's dots, and sends the peer what this node
// knows of them (both as of now: facts, safe to join whenever they land).
bool Node::set_sync_swap(const SetSync& s, const Object& theirs, const crdt::ORSet& own,
                         const OpLog* own_records, const std::set<std::string>& names,
                         const std::vector<crdt::Dot>& dots) {
  const std::vector<std::string> elements(names.begin(), names.end());
  auto to_peer = std::make_shared<Object>(own.delta_of(dots, names));
  if (own_records) to_peer->ops() = *own_records;
  Object from_peer(theirs.as<crdt::ORSet>()->delta_of(dots, names));
  if (own_records) from_peer.ops() = theirs.ops();  // the first page carries them
  const Status joined = merge_local(s.bucket, s.key, from_peer, /*durable=*/false, elements);
  if (!joined.is_ok()) return false;
  Message merge = Message::make(Message::Kind::kMerge, 0, s.bucket, s.key);
  merge.object = std::move(to_peer);
  merge.elements = elements;
  send(s.peer, std::move(merge));
  return true;
}

// After the last page: once both sides' member rows agree (the peer's digest as of its
// page, this node's now), the peer's context and deferred removes can be joined; before
// that, a dot the peer holds that this node never saw would count as removed here.
void Node::set_sync_close(const SetSync& s, const crdt::ORSet& theirs, uint64_t their_digest) {
  const std::string prefix = element_prefix(ring::key_hash(s.bucket, s.key), s.bucket, s.key);
  const std::optional<uint64_t> own_digest = objects_.element_digest(prefix);
  if (their_digest == 0 || !own_digest || *own_digest != their_digest) return;
  std::set<std::string> names{std::string()};  // part() wants a member; any will do
  for (const auto& [observed, named] : theirs.deferred()) names.insert(named.begin(), named.end());
  Result<ObjectStore::Part> got =
      objects_.part(s.bucket, s.key, {names.begin(), names.end()}, {}, /*for_write=*/true);
  if (!got || !got->object) return;
  auto* set = got->object->as<crdt::ORSet>();
  if (set == nullptr) return;
  const crdt::DotContext ctx_before = set->context();
  const auto deferred_before = set->deferred();
  crdt::ORSet::Touched touched;
  set->join_context(theirs, &touched);
  if (touched.empty() && set->context() == ctx_before && set->deferred() == deferred_before) return;
  std::vector<uint64_t> ops;
  objects_.save_part(s.bucket, s.key, std::move(got).value(), ObjectStore::Rows{&touched, &ops},
                     /*durable=*/false);
  ++ae_.stats().set_contexts_joined;
}

}  // namespace shoal::core
