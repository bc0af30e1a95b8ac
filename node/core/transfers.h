// Transfers: objects in flight to the nodes that should hold them (hint replay and the
// ownership sweep, handoff.cc). A transfer is one object sent to one or more
// destinations, all of which must acknowledge it before the local copy (the hint row or
// the data key) may be dropped; a refusal or a timeout forgets it, and the next replay
// or sweep sends it again (destinations apply a transfer as a join, so repeats are
// harmless).
//
// Owns the transfers in flight, at most max_in_flight (ClusterOptions::
// max_transfers_in_flight, 1,024), and which store keys they carry (a key is in at most
// one transfer at a time). Pure: time comes in as arguments.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "node/core/object.h"
#include "ring/ring.h"

namespace shoal::core {

class Transfers {
 public:
  // REQUIRES: max_in_flight >= 1.
  explicit Transfers(size_t max_in_flight);

  struct Transfer {
    bool is_hint = false;
    std::string store_key;   // the hint key or data key to drop
    std::string sent_bytes;  // hints: what was sent, to check nothing changed since
    ObjectPtr sent;          // data: the same
    std::set<ring::NodeId> waiting;
    uint64_t deadline_ms = 0;
    ring::NodeId hint_target;
  };

  bool empty() const { return in_flight_.empty(); }
  size_t size() const { return in_flight_.size(); }
  // How many more may start.
  size_t room() const { return max_in_flight_ - in_flight_.size(); }
  // Whether a transfer of `store_key` is in flight (not to be sent again meanwhile).
  bool carries(const std::string& store_key) const { return keys_.count(store_key) > 0; }

  // REQUIRES: room() > 0, `id` new, its key not carried.
  void start(uint64_t id, Transfer t);
  // A destination's answer to transfer `id` (unknown ids: already done or expired). A
  // refusal forgets the transfer. Returns the transfer once every destination
  // acknowledged it (and forgets it), for the caller to drop the local copy.
  std::optional<Transfer> answered(uint64_t id, const ring::NodeId& from, bool ok);
  // Forgets transfers past their deadline.
  void expire(uint64_t now_ms);

 private:
  size_t max_in_flight_;
  std::map<uint64_t, Transfer> in_flight_;
  std::set<std::string> keys_;  // store keys with a transfer in flight
};

}  // namespace shoal::core
