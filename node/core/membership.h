// Membership: what one node knows about every node of the cluster, spread by gossip.
//
// Each node owns its own MemberState and is the only one to change it, bumping
// `version` each time (so one (generation, version) never names two different states); a restart
// starts a new, higher `generation`. Between two states of one node the higher (generation,
// version) wins, so merging is a join: commutative, associative, idempotent, and every node that
// has seen the same states holds the same table. The one exception is `remove NODE`, which another
// node writes on behalf of a dead one: a kRemoved state with the dead node's generation and a
// version above any it published; a later restart of that node (a newer generation) brings it back.
//
// The ring is a pure function of the table: the members that are joining or up. A
// joining node owns its arcs at once (the previous owners stream them to it and it turns
// up once they all finished); a leaving node is out of the ring at once, so all its data
// becomes "not owned" and the handoff sweep streams it to the new owners before it stops.
//
// Gossip is push-pull over digests: SYN carries (id, generation, version) for every
// known node; the receiver answers ACK with the states it has that are newer plus the
// digests it wants; ACK2 carries those. Up/down is never part of this table: each node
// decides it locally with its failure detector.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"
#include "ring/ring.h"

namespace shoal::core {

enum class MemberStatus : uint8_t { kJoining = 1, kUp, kLeaving, kLeft, kRemoved };
std::string_view status_name(MemberStatus s);

struct MemberState {
  ring::NodeId id;
  uint64_t generation = 0;
  uint64_t version = 0;
  MemberStatus status = MemberStatus::kUp;
  std::string peer_address;    // host:port of its peer listener ("" in the simulator)
  std::string client_address;  // host:port of its client listener
  // Load figures, refreshed now and then by the owner.
  uint64_t hints = 0;         // hints it holds for others
  uint64_t handoff_keys = 0;  // keys it holds but no longer owns
  uint64_t handoff_ring = 0;  // fingerprint of the ring it last finished a handoff under
  bool operator==(const MemberState&) const = default;
  // True when this state supersedes `o` (same node, newer generation or version).
  bool newer_than(const MemberState& o) const { return newer_than(o.generation, o.version); }
  bool newer_than(uint64_t gen, uint64_t ver) const {
    return generation != gen ? generation > gen : version > ver;
  }
  static MemberState of(ring::NodeId id, uint64_t generation, uint64_t version,
                        MemberStatus status = MemberStatus::kUp) {
    MemberState s;
    s.id = std::move(id);
    s.generation = generation;
    s.version = version;
    s.status = status;
    return s;
  }
};

struct Digest {
  ring::NodeId id;
  uint64_t generation = 0;
  uint64_t version = 0;
  bool operator==(const Digest&) const = default;
};

// The body of a gossip message (SYN: digests; ACK: states + digests; ACK2: states).
struct GossipBody {
  std::vector<Digest> digests;
  std::vector<MemberState> states;
  bool operator==(const GossipBody&) const = default;
};
std::string encode_gossip(const GossipBody& body);
Result<GossipBody> decode_gossip(std::string_view bytes);

// Limits on what gossip may carry (a hostile or corrupt peer cannot grow the table
// without bound).
constexpr size_t kMaxMembers = 1024;
constexpr size_t kMaxAddressBytes = 256;
constexpr size_t kMaxNodeIdBytes = 128;

class Membership {
 public:
  explicit Membership(MemberState self);

  const ring::NodeId& self_id() const { return self_id_; }
  const MemberState& self() const { return states_.at(self_id_); }
  const std::map<ring::NodeId, MemberState>& states() const { return states_; }
  const MemberState* find(std::string_view id) const;

  // Changes this node's own state (bumping its version).
  void update_self(const std::function<void(MemberState&)>& change);
  // Seeds the table with a state learned out of band (a static member list).
  void add_known(MemberState s);
  // Merges states from gossip; returns true if anything changed. A state about this
  // node that is newer than ours (someone removed us) is adopted as kRemoved; any other
  // claim about us is answered by re-publishing ours with a higher version.
  bool merge(const std::vector<MemberState>& states);
  // Writes a kRemoved state for `id`. REQUIRES: id is known and not self.
  void remove(const ring::NodeId& id);

  std::vector<Digest> digests() const;
  // ACK: the states we have that are newer than `theirs` (or unknown to them), and the
  // digests of theirs that are newer than ours (or unknown to us) to ask for.
  GossipBody answer(const std::vector<Digest>& theirs) const;
  std::vector<MemberState> states_for(const std::vector<Digest>& wanted) const;

  // Nodes in the ring: joining and up.
  std::vector<ring::NodeId> ring_members() const;
  // Nodes worth talking to: everyone but self and those left or removed.
  std::vector<ring::NodeId> peers() const;
  // Bumped whenever the table changes (the shell re-reads addresses then).
  uint64_t change_count() const { return changes_; }

 private:
  ring::NodeId self_id_;
  std::map<ring::NodeId, MemberState> states_;
  uint64_t changes_ = 0;
};

bool in_ring(MemberStatus s);

}  // namespace shoal::core
