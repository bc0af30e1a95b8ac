// Node: membership, gossip, failure detection and the operator actions (node.h).
#include <algorithm>

#include "crdt/assert.h"
#include "node/core/keys.h"
#include "node/core/node.h"

namespace shoal::core {

void Node::tick() {
  const uint64_t now = env_.clock.now_ms();
  const ClusterOptions& c = config_.cluster;
  if (heartbeat_.due(now, c.heartbeat_interval_ms)) send_heartbeats(now);
  for (const ring::NodeId& peer : membership_.peers()) update_down(peer);
  if (gossip_.due(now, c.gossip_interval_ms)) gossip_round();
  sweep_step(now);
  objects_.build_key_filter(c.key_filter_rows_per_tick);
  if (!hints_.counts_known()) hints_.count();
  const FaultPoints& fp = c.fault_points;
  const bool skip_replay =
      fp.bug_never_replay_hints ||
      (fp.hint_replay_skip_pct > 0 && env_.rng.next() % 100 < fp.hint_replay_skip_pct);
  if (!skip_replay) replay_hints(now);
  // Anti-entropy exchanges due since the last tick (an interval shorter than the tick
  // runs several per tick).
  for (uint32_t due = ae_.exchanges_due(now, c.ae_interval_ms); due > 0; --due) ae_step();
  transfers_.expire(now);
  check_joined();
  check_left();
  if (publish_.due(now, c.gossip_interval_ms)) publish_load();
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
  if (health_.refresh(peer, env_.clock.now_ms())) peer_went_down(peer);
}

double Node::phi(const ring::NodeId& peer) const { return health_.phi(peer, env_.clock.now_ms()); }

// One round: SYN to a random live peer; sometimes to a down one (to notice it is back)
// and to a seed (so separate groups that share a seed merge, and joiners find the
// cluster).
void Node::gossip_round() {
  ++counters_.gossip_rounds;
  std::vector<ring::NodeId> live, dead;
  for (const ring::NodeId& p : membership_.peers()) {
    (health_.is_down(p) ? dead : live).push_back(p);
  }
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
  if (ring_.update(membership_.ring_members())) {
    SHOAL_ASSERT(ring_.ring().size() <= kMaxMembers);
    start_sweep();
    segments_.forget_all();  // who co-owns what changed: nothing is known equal any more
    ae_.ring_changed();
  }
  for (const auto& [id, s] : membership_.states()) {
    if (id == config_.self) continue;
    if (s.status == MemberStatus::kLeft || s.status == MemberStatus::kRemoved) {
      health_.forget(id);
    } else {
      health_.watch(id, now);  // its silence counts from when we learned of it
    }
  }
  if (membership_.self().status == MemberStatus::kRemoved && stop_at_ms_ == 0) {
    stop_at_ms_ = now;  // an operator removed this node from the cluster
  }
}

// A joining node turns up once every up peer it can reach has finished handing off
// under the current ring (their handoff_ring says so): it then holds its arcs.
void Node::check_joined() {
  if (membership_.self().status != MemberStatus::kJoining || ring_.ring().size() <= 1) return;
  const uint64_t fingerprint = ring_.fingerprint();
  for (const auto& [id, s] : membership_.states()) {
    if (id == config_.self || s.status != MemberStatus::kUp || health_.is_down(id)) continue;
    if (s.handoff_ring != fingerprint) return;
  }
  membership_.update_self([](MemberState& s) { s.status = MemberStatus::kUp; });
}

// A leaving node turns left once it holds nothing: no data (every key is handed off, as
// it owns none) and no hints. It keeps gossiping a little so everyone hears of it.
void Node::check_left() {
  if (membership_.self().status != MemberStatus::kLeaving) return;
  if (!hints_.counts_known() || sweep_.running() || sweep_.progress().not_owned > 0 ||
      hints_.held() > 0 || !transfers_.empty()) {
    return;
  }
  membership_.update_self([](MemberState& s) {
    s.status = MemberStatus::kLeft;
    s.hints = 0;
    s.handoff_keys = 0;
  });
  ++counters_.gossip_rounds;
  for (const ring::NodeId& peer : membership_.peers()) {
    Message syn = Message::make(Message::Kind::kGossipSyn);
    syn.body = encode_gossip(GossipBody{membership_.digests(), {membership_.self()}});
    send(peer, std::move(syn));
  }
  stop_at_ms_ = env_.clock.now_ms() + 3ull * config_.cluster.gossip_interval_ms;
  SHOAL_ASSERT(hints_.held() == 0 && transfers_.empty());  // left holding nothing
}

void Node::publish_load() {
  const MemberState& s = membership_.self();
  const uint64_t hints = hints_.held();
  const uint64_t not_owned = sweep_.progress().not_owned;
  if (s.hints == hints && s.handoff_keys == not_owned) return;
  membership_.update_self([&](MemberState& m) {
    m.hints = hints;
    m.handoff_keys = not_owned;
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
  if (!health_.is_down(node)) {
    return Status::invalid_argument(node + " is up; only a down node can be removed (stop it, " +
                                    "or let it leave)");
  }
  membership_.remove(node);
  membership_changed();
  return Status::ok();
}

std::vector<MemberView> Node::members_view() const {
  std::vector<MemberView> out;
  const std::map<ring::NodeId, double>& share = ring_.ownership();
  for (const auto& [id, s] : membership_.states()) {
    MemberView v;
    v.state = s;
    const bool gone = s.status == MemberStatus::kLeft || s.status == MemberStatus::kRemoved;
    v.down = !gone && health_.is_down(id);
    v.phi = id == config_.self || gone ? 0.0 : phi(id);
    auto it = share.find(id);
    v.ownership = it == share.end() ? 0.0 : it->second;
    auto h = hints_.by_target().find(id);
    v.hints_here = h == hints_.by_target().end() ? 0 : h->second;
    if (id != config_.self && !gone && ring_.ring().has_node(id)) v.sync = sync_with(id);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace shoal::core
