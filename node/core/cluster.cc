// Node: membership, gossip, failure detection and the operator actions (node.h).
#include <algorithm>

#include "node/core/keys.h"
#include "node/core/node.h"

namespace shoal::core {

void Node::tick() {
  const uint64_t now = env_.clock.now_ms();
  const ClusterOptions& c = config_.cluster;
  if (now >= next_heartbeat_ms_) {
    send_heartbeats(now);
    next_heartbeat_ms_ = now + c.heartbeat_interval_ms;
  }
  for (const ring::NodeId& peer : membership_.peers()) update_down(peer);
  if (now >= next_gossip_ms_) {
    gossip_round();
    next_gossip_ms_ = now + c.gossip_interval_ms;
  }
  sweep_step(now);
  if (!hints_.counts_known()) hints_.count();
  const FaultPoints& fp = c.fault_points;
  const bool skip_replay =
      fp.bug_never_replay_hints ||
      (fp.hint_replay_skip_pct > 0 && env_.rng.next() % 100 < fp.hint_replay_skip_pct);
  if (!skip_replay) replay_hints(now);
  // Anti-entropy exchanges due since the last tick (an interval shorter than the tick
  // runs several per tick), at most 64 at once.
  if (c.ae_interval_ms > 0 && now > next_ae_ms_ + 64ull * c.ae_interval_ms) next_ae_ms_ = now;
  for (int i = 0; c.ae_interval_ms > 0 && now >= next_ae_ms_ && i < 64; ++i) {
    ae_step();
    next_ae_ms_ += c.ae_interval_ms;
  }
  transfers_.expire(now);
  check_joined();
  check_left();
  if (now >= next_publish_ms_) {
    publish_load();
    next_publish_ms_ = now + c.gossip_interval_ms;
  }
  env_.timers.schedule(kTickTimer, c.tick_ms);
}

void Node::send_heartbeats(uint64_t /*now_ms*/) {
  for (const ring::NodeId& peer : membership_.peers()) {
    send(peer, Message::make(Message::Kind::kHeartbeat));
  }
}

// The failure detector's verdict and the shell's connection state, combined.
void Node::update_down(const ring::NodeId& peer) {
  if (peer == config_.self) return;
  const bool convicted = detector_.convicted(peer, env_.clock.now_ms());
  if (convicted) {
    convicted_.insert(peer);
  } else {
    convicted_.erase(peer);
  }
  const bool down = convicted || unreachable_.count(peer) > 0;
  if (!down) {
    down_.erase(peer);
  } else if (down_.insert(peer).second) {
    peer_went_down(peer);
  }
}

double Node::phi(const ring::NodeId& peer) const {
  return detector_.phi(peer, env_.clock.now_ms());
}

// One round: SYN to a random live peer; sometimes to a down one (to notice it is back)
// and to a seed (so separate groups that share a seed merge, and joiners find the
// cluster).
void Node::gossip_round() {
  ++gossip_rounds_;
  std::vector<ring::NodeId> live, dead;
  for (const ring::NodeId& p : membership_.peers()) (down_.count(p) ? dead : live).push_back(p);
  Message syn = Message::make(Message::Kind::kGossipSyn);
  syn.body = encode_gossip(GossipBody{membership_.digests(), {membership_.self()}});
  auto pick = [&](const std::vector<std::string>& from) -> const std::string& {
    return from[env_.rng.next() % from.size()];
  };
  ring::NodeId chosen;
  if (!live.empty()) {
    chosen = pick(live);
    send(chosen, syn);
  }
  if (config_.cluster.fault_points.gossip_one_target && !live.empty()) return;
  if (!dead.empty() && env_.rng.next() % (live.size() + 1) < dead.size()) send(pick(dead), syn);
  std::vector<std::string> seeds;
  for (const std::string& s : config_.seeds) {
    const bool is_self =
        s == config_.self || (s.size() == config_.peer_address.size() + 1 && s[0] == '@' &&
                              s.compare(1, std::string::npos, config_.peer_address) == 0);
    if (!is_self && s != chosen) seeds.push_back(s);
  }
  if (seeds.empty()) return;
  if (live.empty() || env_.rng.next() % (live.size() + dead.size() + 1) < seeds.size()) {
    send(pick(seeds), syn);
  }
}

void Node::on_gossip(const ring::NodeId& from, const Message& m) {
  Result<GossipBody> body = decode_gossip(m.body);
  if (!body) return;  // a corrupt message: the next round repairs what it carried
  bool changed = membership_.merge(body->states);
  if (m.kind == Message::Kind::kGossipSyn) {
    Message ack = Message::make(Message::Kind::kGossipAck);
    ack.body = encode_gossip(membership_.answer(body->digests));
    send(from, std::move(ack));
  } else if (m.kind == Message::Kind::kGossipAck && !body->digests.empty()) {
    Message ack2 = Message::make(Message::Kind::kGossipAck2);
    ack2.body = encode_gossip(GossipBody{{}, membership_.states_for(body->digests)});
    send(from, std::move(ack2));
  }
  if (changed) membership_changed();
}

void Node::membership_changed() {
  const uint64_t now = env_.clock.now_ms();
  std::vector<ring::NodeId> members = membership_.ring_members();
  if (members != ring_members_) {
    ring_members_ = std::move(members);
    ring_ = ring::Ring(ring_members_, config_.vnodes_per_node);
    ring_fingerprint_ = ring_.fingerprint();
    start_sweep();
    segments_.forget_all();  // who co-owns what changed: nothing is known equal any more
    ae_queue_.clear();
  }
  for (const auto& [id, s] : membership_.states()) {
    if (id == config_.self) continue;
    if (s.status == MemberStatus::kLeft || s.status == MemberStatus::kRemoved) {
      detector_.forget(id);
      convicted_.erase(id);
      unreachable_.erase(id);
      down_.erase(id);
    } else if (!detector_.knows(id)) {
      detector_.watch(id, now);  // its silence counts from when we learned of it
    }
  }
  if (membership_.self().status == MemberStatus::kRemoved && stop_at_ms_ == 0) {
    stop_at_ms_ = now;  // an operator removed this node from the cluster
  }
}

// A joining node turns up once every up peer it can reach has finished handing off
// under the current ring (their handoff_ring says so): it then holds its arcs.
void Node::check_joined() {
  if (membership_.self().status != MemberStatus::kJoining || ring_.size() <= 1) return;
  const uint64_t fingerprint = ring_fingerprint_;
  for (const auto& [id, s] : membership_.states()) {
    if (id == config_.self || s.status != MemberStatus::kUp || down_.count(id)) continue;
    if (s.handoff_ring != fingerprint) return;
  }
  membership_.update_self([](MemberState& s) { s.status = MemberStatus::kUp; });
}

// A leaving node turns left once it holds nothing: no data (every key is handed off, as
// it owns none) and no hints. It keeps gossiping a little so everyone hears of it.
void Node::check_left() {
  if (membership_.self().status != MemberStatus::kLeaving) return;
  if (!hints_.counts_known() || !sweep_cursor_.empty() || handoff_.not_owned > 0 ||
      hints_.held() > 0 || !transfers_.empty()) {
    return;
  }
  membership_.update_self([](MemberState& s) {
    s.status = MemberStatus::kLeft;
    s.hints = 0;
    s.handoff_keys = 0;
  });
  ++gossip_rounds_;
  for (const ring::NodeId& peer : membership_.peers()) {
    Message syn = Message::make(Message::Kind::kGossipSyn);
    syn.body = encode_gossip(GossipBody{membership_.digests(), {membership_.self()}});
    send(peer, std::move(syn));
  }
  stop_at_ms_ = env_.clock.now_ms() + 3ull * config_.cluster.gossip_interval_ms;
}

void Node::publish_load() {
  const MemberState& s = membership_.self();
  const uint64_t hints = hints_.held();
  if (s.hints == hints && s.handoff_keys == handoff_.not_owned) return;
  membership_.update_self([&](MemberState& m) {
    m.hints = hints;
    m.handoff_keys = handoff_.not_owned;
  });
}

Status Node::leave() {
  const MemberStatus st = membership_.self().status;
  if (st != MemberStatus::kUp && st != MemberStatus::kJoining) {
    return Status::invalid_argument("this node is already " + std::string(status_name(st)));
  }
  // Remembered on disk: a node restarted while leaving keeps leaving (its handoff
  // continues where it stopped) instead of rejoining.
  env_.store.put(meta_key("leaving"), "1");
  turn_.need_sync();
  membership_.update_self([](MemberState& s) { s.status = MemberStatus::kLeaving; });
  membership_changed();
  return Status::ok();
}

Status Node::remove(const ring::NodeId& node) {
  if (node == config_.self) {
    return Status::invalid_argument("a node cannot remove itself; use leave");
  }
  const MemberState* s = membership_.find(node);
  if (!s) return Status::not_found("no member named " + node);
  if (s->status == MemberStatus::kRemoved || s->status == MemberStatus::kLeft) {
    return Status::invalid_argument(node + " is already " + std::string(status_name(s->status)));
  }
  if (!down_.count(node)) {
    return Status::invalid_argument(node + " is up; only a down node can be removed (stop it, " +
                                    "or let it leave)");
  }
  membership_.remove(node);
  membership_changed();
  return Status::ok();
}

std::vector<MemberView> Node::members_view() const {
  std::vector<MemberView> out;
  if (ownership_ring_ != ring_fingerprint_ || ownership_.empty()) {
    ownership_ = ring_.ownership(config_.cluster.replicas);  // a walk of every token
    ownership_ring_ = ring_fingerprint_;
  }
  const std::map<ring::NodeId, double>& share = ownership_;
  for (const auto& [id, s] : membership_.states()) {
    MemberView v;
    v.state = s;
    const bool gone = s.status == MemberStatus::kLeft || s.status == MemberStatus::kRemoved;
    v.down = !gone && down_.count(id) > 0;
    v.phi = id == config_.self || gone ? 0.0 : phi(id);
    auto it = share.find(id);
    v.ownership = it == share.end() ? 0.0 : it->second;
    auto h = hints_.by_target().find(id);
    v.hints_here = h == hints_.by_target().end() ? 0 : h->second;
    if (id != config_.self && !gone && ring_.has_node(id)) v.sync = sync_with(id);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace shoal::core
