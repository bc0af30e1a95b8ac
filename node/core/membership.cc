#include "node/core/membership.h"

#include "crdt/assert.h"
#include "crdt/codec.h"

namespace shoal::core {

namespace codec = crdt::codec;

std::string_view status_name(MemberStatus s) {
  switch (s) {
    case MemberStatus::kJoining:
      return "joining";
    case MemberStatus::kUp:
      return "up";
    case MemberStatus::kLeaving:
      return "leaving";
    case MemberStatus::kLeft:
      return "left";
    case MemberStatus::kRemoved:
      return "removed";
  }
  return "?";
}

bool in_ring(MemberStatus s) { return s == MemberStatus::kJoining || s == MemberStatus::kUp; }

// ---- codec ----

namespace {

void pack_digest(codec::Packer& pk, const Digest& d) {
  pk.pack_array(3);
  codec::pack_bytes(pk, d.id);
  pk.pack_uint64(d.generation);
  pk.pack_uint64(d.version);
}

void pack_state(codec::Packer& pk, const MemberState& s) {
  pk.pack_array(9);
  codec::pack_bytes(pk, s.id);
  pk.pack_uint64(s.generation);
  pk.pack_uint64(s.version);
  pk.pack_uint8(static_cast<uint8_t>(s.status));
  codec::pack_bytes(pk, s.peer_address);
  codec::pack_bytes(pk, s.client_address);
  pk.pack_uint64(s.hints);
  pk.pack_uint64(s.handoff_keys);
  pk.pack_uint64(s.handoff_ring);
}

Status check_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxNodeIdBytes) return codec::bad("gossip: bad node id");
  return Status::ok();
}

Status decode_digest(const codec::Object& o, Digest* d) {
  codec::Array a;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
  if (a.size != 3) return codec::bad("gossip digest: wrong field count");
  SHOAL_RETURN_IF_ERROR(codec::bytes(a[0], &d->id));
  SHOAL_RETURN_IF_ERROR(check_id(d->id));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &d->generation));
  return codec::u64(a[2], &d->version);
}

Status decode_state(const codec::Object& o, MemberState* s) {
  codec::Array a;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
  if (a.size != 9) return codec::bad("gossip state: wrong field count");
  uint64_t status = 0;
  SHOAL_RETURN_IF_ERROR(codec::bytes(a[0], &s->id));
  SHOAL_RETURN_IF_ERROR(check_id(s->id));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &s->generation));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[2], &s->version));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[3], &status));
  if (status < 1 || status > static_cast<uint64_t>(MemberStatus::kRemoved)) {
    return codec::bad("gossip state: unknown status");
  }
  s->status = static_cast<MemberStatus>(status);
  SHOAL_RETURN_IF_ERROR(codec::bytes(a[4], &s->peer_address));
  SHOAL_RETURN_IF_ERROR(codec::bytes(a[5], &s->client_address));
  if (s->peer_address.size() > kMaxAddressBytes || s->client_address.size() > kMaxAddressBytes) {
    return codec::bad("gossip state: address too long");
  }
  SHOAL_RETURN_IF_ERROR(codec::u64(a[6], &s->hints));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[7], &s->handoff_keys));
  return codec::u64(a[8], &s->handoff_ring);
}

template <typename T>
Status decode_list(const codec::Object& o, std::vector<T>* out,
                   Status (*one)(const codec::Object&, T*)) {
  codec::Array a;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
  if (a.size > kMaxMembers) return codec::bad("gossip: too many members");
  out->resize(a.size);
  for (uint32_t i = 0; i < a.size; ++i) SHOAL_RETURN_IF_ERROR(one(a[i], &(*out)[i]));
  return Status::ok();
}

}  // namespace

std::string encode_gossip(const GossipBody& body) {
  msgpack::sbuffer buf(256);
  codec::Packer pk(buf);
  pk.pack_array(2);
  pk.pack_array(static_cast<uint32_t>(body.digests.size()));
  for (const Digest& d : body.digests) pack_digest(pk, d);
  pk.pack_array(static_cast<uint32_t>(body.states.size()));
  for (const MemberState& s : body.states) pack_state(pk, s);
  return std::string(buf.data(), buf.size());
}

Result<GossipBody> decode_gossip(std::string_view bytes) {
  GossipBody body;
  Status s = codec::unpack(bytes, 4, [&](const codec::Object& o) -> Status {
    codec::Array a;
    SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
    if (a.size != 2) return codec::bad("gossip: wrong field count");
    SHOAL_RETURN_IF_ERROR(decode_list<Digest>(a[0], &body.digests, decode_digest));
    return decode_list<MemberState>(a[1], &body.states, decode_state);
  });
  if (!s.is_ok()) return s;
  return body;
}

// ---- the table ----

Membership::Membership(MemberState self) : self_id_(self.id) { states_[self.id] = self; }

const MemberState* Membership::find(std::string_view id) const {
  auto it = states_.find(std::string(id));
  return it == states_.end() ? nullptr : &it->second;
}

void Membership::update_self(const std::function<void(MemberState&)>& change) {
  MemberState& s = states_.at(self_id_);
  change(s);
  ++s.version;
  ++changes_;
}

void Membership::add_known(MemberState s) {
  auto it = states_.find(s.id);
  if (it != states_.end() && !s.newer_than(it->second)) return;
  states_[s.id] = std::move(s);
  ++changes_;
}

bool Membership::merge(const std::vector<MemberState>& incoming) {
  bool changed = false;
  for (const MemberState& s : incoming) {
    auto it = states_.find(s.id);
    if (s.id == self_id_) {
      MemberState& mine = it->second;
      if (!s.newer_than(mine)) continue;
      if (s.status == MemberStatus::kRemoved && s.generation == mine.generation) {
        mine = s;  // an operator removed us while we were thought dead
      } else {
        mine.version = std::max(mine.version, s.version) + 1;  // ours is the truth
        if (s.generation > mine.generation) mine.generation = s.generation;
      }
      SHOAL_ASSERT(!s.newer_than(mine), "a node's word on itself wins over gossip");
      changed = true;
      continue;
    }
    if (it != states_.end() && !s.newer_than(it->second)) continue;
    if (it == states_.end() && states_.size() >= kMaxMembers) continue;
    states_[s.id] = s;
    changed = true;
  }
  if (changed) ++changes_;
  return changed;
}

void Membership::remove(const ring::NodeId& id) {
  SHOAL_ASSERT(id != self_id_);
  MemberState& s = states_.at(id);
  s.status = MemberStatus::kRemoved;
  // Above anything the dead node may have published under this generation, so every
  // node adopts it; a restart (a newer generation) still wins.
  s.version += 1'000'000;
  ++changes_;
}

std::vector<Digest> Membership::digests() const {
  std::vector<Digest> out;
  out.reserve(states_.size());
  for (const auto& [id, s] : states_) out.push_back({id, s.generation, s.version});
  return out;
}

GossipBody Membership::answer(const std::vector<Digest>& theirs) const {
  GossipBody out;
  std::map<std::string_view, const Digest*> known;
  for (const Digest& d : theirs) known[d.id] = &d;
  for (const auto& [id, s] : states_) {
    auto it = known.find(id);
    if (it == known.end()) {
      out.states.push_back(s);
      continue;
    }
    const Digest& d = *it->second;
    if (s.newer_than(d.generation, d.version)) out.states.push_back(s);
  }
  for (const Digest& d : theirs) {
    const MemberState* mine = find(d.id);
    if (!mine || !mine->newer_than(d.generation, d.version)) {
      if (!mine || mine->generation != d.generation || mine->version != d.version)
        out.digests.push_back(d);
    }
  }
  return out;
}

std::vector<MemberState> Membership::states_for(const std::vector<Digest>& wanted) const {
  std::vector<MemberState> out;
  for (const Digest& d : wanted) {
    if (const MemberState* s = find(d.id)) out.push_back(*s);
  }
  return out;
}

std::vector<ring::NodeId> Membership::ring_members() const {
  std::vector<ring::NodeId> out;
  for (const auto& [id, s] : states_) {
    if (in_ring(s.status)) out.push_back(id);
  }
  return out;
}

std::vector<ring::NodeId> Membership::peers() const {
  std::vector<ring::NodeId> out;
  for (const auto& [id, s] : states_) {
    if (id != self_id_ && s.status != MemberStatus::kLeft && s.status != MemberStatus::kRemoved) {
      out.push_back(id);
    }
  }
  return out;
}

}  // namespace shoal::core
