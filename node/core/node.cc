#include "node/core/node.h"

#include <algorithm>
#include <cassert>

#include "node/core/keys.h"

namespace shoal::core {

Node::Node(NodeConfig config, NodeEnv env, crdt::Actor actor)
    : config_(std::move(config)),
      env_(env),
      actor_(actor),
      ring_(config_.members, config_.vnodes_per_node),
      cache_(config_.object_cache_bytes) {
  assert(ring_.has_node(config_.self));
  assert(actor_ != 0);
}

// ---- storage helpers ----

Result<ObjectPtr> Node::load(const std::string& bucket, const std::string& key) {
  const std::string k = data_key(ring::key_hash(bucket, key), bucket, key);
  if (ObjectPtr cached = cache_.find(k)) return cached;
  auto raw = env_.store.get(k);
  if (!raw) return raw.status();
  if (!raw->has_value()) return ObjectPtr();
  Result<Object> o = Object::decode(**raw);
  if (!o)
    return Status::corruption("stored object for " + bucket + "/" + key + ": " +
                              o.status().message());
  auto ptr = std::make_shared<const Object>(std::move(o).value());
  cache_.put(k, ptr, (*raw)->size());
  return ObjectPtr(std::move(ptr));
}

void Node::save(const std::string& bucket, const std::string& key, ObjectPtr o, bool durable) {
  const std::string k = data_key(ring::key_hash(bucket, key), bucket, key);
  std::string bytes = o->encode();
  env_.store.put(k, bytes);
  cache_.put(k, std::move(o), bytes.size());
  sync_needed_ = sync_needed_ || durable;
}

Status Node::merge_local(const std::string& bucket, const std::string& key, const Object& delta,
                         bool durable) {
  Result<ObjectPtr> current = load(bucket, key);
  if (!current) return current.status();
  if (!*current) {
    save(bucket, key, std::make_shared<const Object>(delta), durable);
    return Status::ok();
  }
  Object next = **current;
  SHOAL_RETURN_IF_ERROR(next.join(delta));
  if (!(next == **current))
    save(bucket, key, std::make_shared<const Object>(std::move(next)), durable);
  return Status::ok();
}

Result<Node::LocalApplied> Node::local_update(const Update& update, const std::string& bucket,
                                              const std::string& key, bool durable) {
  Result<ObjectPtr> current = load(bucket, key);
  if (!current) return current.status();
  Result<Applied> applied = apply_update(
      *current ? std::optional<Object>(**current) : std::optional<Object>(), actor_, update);
  if (!applied) return applied.status();
  LocalApplied out{std::make_shared<const Object>(std::move(applied->state)),
                   std::make_shared<const Object>(std::move(applied->delta))};
  save(bucket, key, out.state, durable);
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
  if (invalid.is_ok() && request.op == ClientRequest::Op::kUpdate) {
    invalid = validate(request.update);
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
  p.options = *opts;
  p.reply = std::move(reply);
  if (p.options.local) {
    p.targets = {config_.self};
  } else {
    p.targets = ring_.preference_list(ring::key_hash(p.bucket, p.key), p.options.n);
  }
  const size_t replicas = p.targets.size();
  std::erase_if(p.targets, [&](const ring::NodeId& t) { return unreachable_.count(t) > 0; });
  const bool is_read = p.op == ClientRequest::Op::kGet;
  p.goal.required =
      is_read ? std::max(p.options.r, p.options.pr) : std::max(p.options.w, p.options.pw);
  p.goal.required_primaries = is_read ? p.options.pr : p.options.pw;
  p.goal.targets = p.goal.primary_targets = static_cast<uint32_t>(p.targets.size());
  if (p.targets.size() < p.goal.required) {
    respond(p, {Status::unavailable(std::to_string(p.targets.size()) + " of " +
                                    std::to_string(replicas) + " replicas reachable; " +
                                    (is_read ? "the read" : "the write") + " needs " +
                                    std::to_string(p.goal.required)),
                nullptr});
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

void Node::start_get(uint64_t id, Pending& p) {
  for (const ring::NodeId& t : p.targets) {
    if (t != config_.self) {
      send(t, Message{Message::Kind::kRead, id, p.bucket, p.key, {}, {}, {}, {}, false});
    }
  }
  if (std::find(p.targets.begin(), p.targets.end(), config_.self) != p.targets.end()) {
    Result<ObjectPtr> mine = load(p.bucket, p.key);
    if (mine) {
      p.replies[config_.self] = *mine;
      p.merged = *mine;
    }
    record(id, config_.self, mine.is_ok(), mine.status());
  }
}

void Node::start_update(uint64_t id, Pending& p, const Update& update) {
  const bool self_is_replica =
      std::find(p.targets.begin(), p.targets.end(), config_.self) != p.targets.end();
  if (!self_is_replica) {
    // Some replica must mint the dot: the first reachable one in preference order.
    send(p.targets.front(),
         Message{Message::Kind::kMint, id, p.bucket, p.key, {}, {}, {}, update, p.options.durable});
    return;
  }
  Result<LocalApplied> applied = local_update(update, p.bucket, p.key, p.options.durable);
  if (!applied) {
    respond(p, {applied.status(), nullptr});
    env_.timers.cancel(id);
    pending_.erase(id);
    return;
  }
  p.delta = std::move(applied->delta);
  p.state = std::move(applied->state);
  spread_delta(id, p, config_.self);
  record(id, config_.self, true, Status::ok());
}

void Node::spread_delta(uint64_t id, Pending& p, const ring::NodeId& minter) {
  for (const ring::NodeId& t : p.targets) {
    if (t == minter) continue;
    if (t == config_.self) {
      Status s = merge_local(p.bucket, p.key, *p.delta, p.options.durable);
      record(id, t, s.is_ok(), s);
      if (!pending_.count(id)) return;
      continue;
    }
    send(t,
         Message{
             Message::Kind::kMerge, id, p.bucket, p.key, {}, p.delta, {}, {}, p.options.durable});
  }
}

void Node::record(uint64_t id, const ring::NodeId& from, bool ok, const Status& error) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  if (!p.answered_by.insert(from).second) return;  // a duplicate reply
  p.tally.record(ok, /*primary=*/true);
  if (!ok && p.first_error.is_ok()) p.first_error = error;
  finish_if_done(id);
}

void Node::finish_if_done(uint64_t id) {
  Pending& p = pending_.at(id);
  const Outcome outcome = evaluate(p.goal, p.tally);
  if (outcome == Outcome::kSucceeded) {
    if (p.op == ClientRequest::Op::kGet) {
      respond(p, {p.merged ? Status::ok() : Status::not_found(p.bucket + "/" + p.key), p.merged});
    } else {
      respond(p, {Status::ok(), p.state});
    }
  } else if (outcome == Outcome::kFailed) {
    respond(p, {p.first_error, nullptr});
  }
  if (p.answered_by.size() == p.targets.size()) {
    if (p.op == ClientRequest::Op::kGet) read_repair(p);
    env_.timers.cancel(id);
    pending_.erase(id);
  }
}

void Node::read_repair(Pending& p) {
  if (!p.merged) return;
  for (const auto& [node, reply] : p.replies) {
    if (reply && (reply == p.merged || *reply == *p.merged)) continue;
    if (node == config_.self) {
      (void)merge_local(p.bucket, p.key, *p.merged, false);
    } else {
      send(node, Message{Message::Kind::kMerge, 0, p.bucket, p.key, {}, p.merged, {}, {}, false});
    }
  }
}

void Node::on_timer(uint64_t timer_id) {
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

void Node::on_message(const ring::NodeId& from, const Message& m) {
  auto it = pending_.find(m.req_id);
  switch (m.kind) {
    case Message::Kind::kRead:
    case Message::Kind::kMint:
    case Message::Kind::kMerge:
      handle_replica(from, m);
      return;
    case Message::Kind::kReadReply:
      if (it == pending_.end() || it->second.op != ClientRequest::Op::kGet) return;
      if (m.status.is_ok()) {
        Pending& p = it->second;
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
      return;
    case Message::Kind::kMintReply:
      if (it == pending_.end() || it->second.delta) return;
      if (!m.status.is_ok() || !m.object) {
        respond(it->second,
                {m.status.is_ok() ? Status::internal("mint without delta") : m.status, nullptr});
        env_.timers.cancel(m.req_id);
        pending_.erase(it);
        return;
      }
      it->second.delta = m.object;
      it->second.state = m.state;
      spread_delta(m.req_id, it->second, from);
      record(m.req_id, from, true, Status::ok());
      return;
    case Message::Kind::kMergeAck:
      if (it == pending_.end() || it->second.op != ClientRequest::Op::kUpdate) return;
      record(m.req_id, from, m.status.is_ok(), m.status);
      return;
  }
}

void Node::handle_replica(const ring::NodeId& from, const Message& m) {
  Message reply;
  reply.req_id = m.req_id;
  reply.bucket = m.bucket;
  reply.key = m.key;
  if (m.kind == Message::Kind::kRead) {
    reply.kind = Message::Kind::kReadReply;
    Result<ObjectPtr> mine = load(m.bucket, m.key);
    reply.status = mine.status();
    if (mine) reply.object = *mine;
  } else if (m.kind == Message::Kind::kMint) {
    reply.kind = Message::Kind::kMintReply;
    Result<LocalApplied> applied =
        m.update ? local_update(*m.update, m.bucket, m.key, m.durable)
                 : Result<LocalApplied>(Status::invalid_argument("mint without an update"));
    reply.status = applied.status();
    if (applied) {
      reply.object = std::move(applied->delta);
      reply.state = std::move(applied->state);
    }
  } else {
    reply.kind = Message::Kind::kMergeAck;
    reply.status = m.object ? merge_local(m.bucket, m.key, *m.object, m.durable)
                            : Status::invalid_argument("merge without an object");
    if (m.req_id == 0) return;  // read repair: nobody waits for an ack
  }
  send(from, std::move(reply));
}

void Node::on_peer_status(const ring::NodeId& peer, bool reachable) {
  if (peer == config_.self) return;
  if (reachable) {
    unreachable_.erase(peer);
    return;
  }
  if (!unreachable_.insert(peer).second) return;
  // Requests waiting on the peer stop waiting: it counts as a failed reply now.
  std::vector<uint64_t> waiting;
  for (const auto& [id, p] : pending_) {
    if (std::find(p.targets.begin(), p.targets.end(), peer) != p.targets.end() &&
        !p.answered_by.count(peer)) {
      waiting.push_back(id);
    }
  }
  for (uint64_t id : waiting) {
    record(id, peer, false, Status::unavailable("replica " + peer + " became unreachable"));
  }
}

// ---- turns ----

void Node::end_turn() {
  Status flushed = env_.store.flush(sync_needed_);
  sync_needed_ = false;
  auto outbox = std::move(outbox_);
  auto replies = std::move(replies_);
  outbox_.clear();
  replies_.clear();
  if (!flushed.is_ok()) {
    // Nothing of this turn is stored: acknowledge nothing. Peers time out; clients
    // learn why.
    for (auto& [fn, response] : replies) {
      if (response.status.is_ok()) response = {Status::internal(flushed.message()), nullptr};
      fn(std::move(response));
    }
    return;
  }
  for (const auto& [to, m] : outbox) env_.transport.send(to, m);
  for (auto& [fn, response] : replies) fn(std::move(response));
}

}  // namespace shoal::core
