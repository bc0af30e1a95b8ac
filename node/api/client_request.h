// Client requests of the native protocol (docs/protocol.md): what a client asks a node,
// and the request frame's codec. A request frame is a msgpack map with short string
// keys, so a client in any language can speak it. The node decodes strictly; the
// client library encodes; HTTP and RESP build the same Request and run check_request.
//
// Errors: decode_request never throws; malformed msgpack and a frame of the wrong shape
// or with a field of the wrong type are all invalid_argument naming what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"
#include "node/core/object.h"
#include "node/core/options.h"

namespace shoal::api {

constexpr size_t kMaxBucketBytes = 1024;
constexpr size_t kMaxKeyBytes = 8192;
constexpr size_t kMaxAuthUserBytes = 64, kMaxAuthPasswordBytes = 1024;  // users.h's bounds

enum class Op : uint8_t {
  kPing,
  kGet,
  kPut,
  kDelete,
  kCounterAdd,
  kCounterGet,
  kSetAdd,
  kSetRemove,
  kSetGet,
  kClusterStatus,  // the node's view of the cluster (members, phi, ownership, hints, handoff)
  kLeave,          // the node hands off its data, turns left and stops
  kRemove,         // node: a down node to forget for good
  kChaos,          // rule: one fault-filter rule for this node (fault_rule.h)
  kAuth,           // user, password: who this connection is (node/api/users.h)
  // Keep kAuth last, or move Metrics::kOps (node/uv/metrics.h) to the new last op.
};
// "ping", "get", "put", "del", "counter_add", "counter_get", "set_add", "set_rm", "set_get",
// "cluster_status", "leave", "remove", "chaos", "auth"
std::string_view op_name(Op op);
inline bool is_admin(Op op) { return op >= Op::kClusterStatus && op <= Op::kChaos; }
// put, del, counter_add, set_add, set_rm: the operations that may carry an op_id.
inline bool is_update(Op op) {
  return op == Op::kPut || op == Op::kDelete || op == Op::kCounterAdd || op == Op::kSetAdd ||
         op == Op::kSetRemove;
}
// put, del, set_rm: the operations that take a causal context.
inline bool takes_context(Op op) {
  return op == Op::kPut || op == Op::kDelete || op == Op::kSetRemove;
}
std::optional<Op> parse_op(std::string_view name);

struct Request {
  uint64_t id = 0;  // chosen by the client, echoed in the response (pipelining)
  Op op = Op::kGet;
  std::string bucket;
  std::string key;
  std::string value;                   // put
  std::optional<std::string> context;  // put, del, set_rm: an opaque context from a read
  int64_t delta = 0;                   // counter_add
  std::vector<std::string> elements;   // set_add, set_rm
  // set_get by page (SSCAN, ?cursor=): at most `count` members after `after` (none: from
  // the first); count 0: the whole set.
  std::optional<std::string> after;
  uint32_t count = 0;
  core::DataType type = core::DataType::kRegister;  // put, del: register or lww
  core::RequestOptions options;
  // Updates: the client's operation id ("op_id", 1..64 bytes; empty: none). Every
  // attempt of one operation carries the same id and it takes effect once.
  std::string op_id;
  std::string node;            // remove: the node to forget ("node" on the wire)
  std::string rule;            // chaos: one fault-filter rule, as text ("rule"; fault_rule.h)
  std::string user, password;  // auth ("user", "password"); never logged
  // Not on the wire: a read an update command makes first (RESP's DEL and SREM read, then
  // write), so it needs the write grant, not the read one (users.h, access_for).
  bool for_update = false;
  // Not on the wire: RESP DEL's delete of an lww key, which answers whether the key was
  // there (Response::removed) in one round trip (core::Update::counting).
  bool counting = false;
  // Not on the wire: the caller reads only the status and the counts (RESP SET, SADD,
  // SREM, DEL), so the answer's type, values, members, counter and context are not
  // copied out of the state (to_response); duplicate, added and removed still are.
  bool status_only = false;
};

// The checks decode_request applies after parsing, on the fields of the struct: a
// bucket and key (1..1024 and 1..8192 bytes), put/del types, set elements present, an
// op_id (at most 64 bytes) only on updates, a context only on put/del/set_rm; a node on
// remove and a rule that parses on chaos (and no key on either). Every API runs it
// before submitting.
Status check_request(const Request& request);

std::string encode_request(const Request& request);
// Strict (docs/protocol.md): "id" and "op" are required on every request, and each
// operation's own fields too (b and k on data operations, v on put, delta on
// counter_add, elems on set_add/set_rm); an unknown field, a field given twice, or one
// the operation does not take (op_id on a read, delta on a put, ...) is refused. Every
// refusal is invalid_argument naming the field ('field "v": missing (put needs it)').
// On failure *id is the request id when it could be read (0 otherwise), so the error
// can still be matched to its request.
Result<Request> decode_request(std::string_view payload, uint64_t* id);

}  // namespace shoal::api
