// Client responses of the native protocol (docs/protocol.md): what a node answers, and
// the response frame's codec (a msgpack map with short string keys, like requests). The
// node encodes; the client library decodes. Decoding is lenient where it must be: a
// field it does not know is skipped, so older clients read newer nodes' answers.
//
// Errors: decode_response never throws; malformed msgpack and an unknown status name are
// corruption, a field of the wrong type is invalid_argument naming the field. A decoded
// Response carries the node's own error in its status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crdt/status.h"
#include "node/core/object.h"

namespace shoal::api {

// One member as the answering node sees it (cluster_status).
struct MemberInfo {
  std::string id, status, peer_address, client_address;
  uint64_t generation = 0;
  bool down = false;
  double phi = 0;
  double ownership = 0;       // share of the hash space it replicates
  uint64_t hints_here = 0;    // hints the answering node holds for it
  uint64_t hints = 0;         // hints it holds (gossiped)
  uint64_t handoff_keys = 0;  // keys it holds but no longer owns (gossiped)
  // The convergence signal, for the answering node's ring peers (sync_known; absent for
  // itself, members outside its ring, and in answers of older nodes): whether the data
  // both hold is known equal (node/core/anti_entropy.cc), since when (wall ms of the last
  // segment confirmed equal), and how many of the 256 segments are not known equal yet.
  bool sync_known = false;
  bool in_sync = false;
  uint64_t sync_since_ms = 0;
  uint64_t unconfirmed = 0;
  bool operator==(const MemberInfo&) const = default;
};

struct Response {
  uint64_t id = 0;
  Status status;
  std::optional<core::DataType> type;
  std::vector<std::string> values;    // register: live siblings; lww: the value
  std::vector<std::string> elements;  // set members, in byte order
  // set_get by page: the last member the page covers (the next page's `after`); none:
  // the set has no more members.
  std::optional<std::string> next;
  int64_t counter = 0;
  std::optional<std::string> context;  // register and set: pass back to supersede
  std::string node;                    // ping: the answering node's id
  std::vector<std::string> peers;      // ping: the peers it can reach now
  std::vector<MemberInfo> members;     // cluster_status
  // cluster_status: figures of the answering node ("ring_size", "hints_held",
  // "hints_replayed", "handoff_inflight", "handoff_sent", "handoff_dropped",
  // "gossip_rounds", ...), in name order.
  std::vector<std::pair<std::string, int64_t>> stats;
  std::optional<std::string> chaos;  // chaos: the rules in force on the node afterwards
  // Updates: the operation id had been applied before; this answer is from that attempt
  // ("dup": true on the wire).
  bool duplicate = false;
  // set_add: how many of the members named were new (none of the replicas that
  // acknowledged the write held them before; "added" on the wire).
  std::optional<uint32_t> added;
  // Set removes without a context: how many of the members named a read before the
  // remove would have found ("removed" on the wire; core::ClientResponse::removed).
  std::optional<uint32_t> removed;
};

std::string encode_response(const Response& response);
Result<Response> decode_response(std::string_view payload);

}  // namespace shoal::api
