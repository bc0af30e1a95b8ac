// The native protocol (docs/protocol.md): length-prefixed msgpack frames over TCP.
//
// Client frames are msgpack maps with short string keys, so a client in any language
// can speak them; peer frames are compact arrays. Every decoder returns a Status for
// bad input (never throws, never crashes): malformed msgpack is corruption, a frame of
// the wrong shape or a field of the wrong type is invalid_argument naming the field.
//
// This library is pure (no sockets): node/uv and the client library in tools/ share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"
#include "node/core/messages.h"
#include "node/core/object.h"
#include "node/core/options.h"

namespace shoal::api {

constexpr uint32_t kProtocolVersion = 1;
constexpr size_t kFrameHeaderBytes = 4;                // u32 big-endian payload length
constexpr size_t kMaxClientFrameBytes = 4u << 20;      // what a node accepts from a client
constexpr size_t kMaxPeerFrameBytes = 64u << 20;       // what a node accepts from a peer
constexpr size_t kMaxResponseFrameBytes = 256u << 20;  // what the client library accepts
constexpr size_t kMaxBucketBytes = 1024;
constexpr size_t kMaxKeyBytes = 8192;

// Appends a frame header and `payload` to `out`.
void append_frame(std::string* out, std::string_view payload);

// Splits a byte stream into frames.
class FrameReader {
 public:
  enum class Next { kNeedMore, kFrame, kTooLarge };

  explicit FrameReader(size_t max_payload_bytes) : max_(max_payload_bytes) {}
  // Invalidates payloads returned by next().
  void feed(const char* data, size_t n);
  // kFrame: *payload is the next frame, valid until the next feed(). kTooLarge: the
  // next frame's header claims more than the limit (*claimed_bytes); the stream cannot
  // be trusted after it.
  Next next(std::string_view* payload, size_t* claimed_bytes = nullptr);
  size_t buffered() const { return buf_.size() - off_; }

 private:
  size_t max_;
  std::string buf_;
  size_t off_ = 0;
};

// ---- client protocol ----

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
  kRemove,         // k: a down node to forget for good
  kChaos,          // k: one fault-filter rule for this node (node/core/fault_filter.h)
};
// "ping", "get", "put", "del", "counter_add", "counter_get", "set_add", "set_rm", "set_get",
// "cluster_status", "leave", "remove", "chaos"
std::string_view op_name(Op op);
inline bool is_admin(Op op) { return op >= Op::kClusterStatus; }
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
  core::DataType type = core::DataType::kRegister;  // put, del: register or lww
  core::RequestOptions options;
  // Updates: the client's operation id ("op_id", 1..64 bytes; empty: none). Every
  // attempt of one operation carries the same id and it takes effect once.
  std::string op_id;
};

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
};

// The checks decode_request applies after parsing, on the fields of the struct: a
// bucket and key (1..1024 and 1..8192 bytes), put/del types, set elements present, an
// op_id (at most 64 bytes) only on updates, a context only on put/del/set_rm. Every API
// runs it before submitting.
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
std::string encode_response(const Response& response);
Result<Response> decode_response(std::string_view payload);

// Options as they travel: {"consistency": preset, "n", "r", "w", "pr", "pw",
// "durable", "sloppy", "timeout_ms"}; a preset first, then the explicit fields.

// ---- peer protocol ----

struct Hello {
  uint32_t version = kProtocolVersion;
  std::string node;
  std::string secret;
  // The dialler's own peer listener (host:port), so the listener can answer a node it
  // has not yet heard of through gossip. Optional on the wire (absent: "").
  std::string peer_address;
};
std::string encode_hello(const Hello& hello);
Result<Hello> decode_hello(std::string_view payload);
// The accepting side's answer: ok, or why the connection is refused.
std::string encode_welcome(const Status& status, const std::string& node);
Result<std::string> decode_welcome(std::string_view payload);  // the node id, or the refusal

std::string encode_message(const core::Message& message);
Result<core::Message> decode_message(std::string_view payload);

}  // namespace shoal::api
