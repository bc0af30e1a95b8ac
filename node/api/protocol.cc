#include "node/api/protocol.h"

#include <cstring>
#include <map>

#include "crdt/codec.h"

namespace shoal::api {

namespace codec = crdt::codec;
using codec::Packer;
using MsgObject = msgpack::object;

// ---- frames ----

void append_frame(std::string* out, std::string_view payload) {
  const auto n = static_cast<uint32_t>(payload.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(header, 4);
  out->append(payload);
}

void FrameReader::feed(const char* data, size_t n) {
  if (off_ > 0) {
    buf_.erase(0, off_);
    off_ = 0;
  }
  buf_.append(data, n);
}

FrameReader::Next FrameReader::next(std::string_view* payload, size_t* claimed_bytes) {
  if (buf_.size() - off_ < kFrameHeaderBytes) return Next::kNeedMore;
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + off_);
  const size_t n = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  if (n > max_) {
    if (claimed_bytes) *claimed_bytes = n;
    return Next::kTooLarge;
  }
  if (buf_.size() - off_ - kFrameHeaderBytes < n) return Next::kNeedMore;
  *payload = std::string_view(buf_.data() + off_ + kFrameHeaderBytes, n);
  off_ += kFrameHeaderBytes + n;
  return Next::kFrame;
}

// ---- ops ----

namespace {

constexpr std::string_view kOpNames[] = {
    "ping",        "get",     "put",    "del",     "counter_add",
    "counter_get", "set_add", "set_rm", "set_get", "cluster_status",
    "leave",       "remove",  "chaos"};

Status invalid(std::string_view field, std::string_view what) {
  return Status::invalid_argument("field \"" + std::string(field) + "\": " + std::string(what));
}

Status field_bytes(const MsgObject& o, std::string_view name, std::string* out) {
  if (!codec::bytes(o, out).is_ok()) return invalid(name, "expected a byte string");
  return Status::ok();
}

Status field_u64(const MsgObject& o, std::string_view name, uint64_t* out) {
  if (!codec::u64(o, out).is_ok()) return invalid(name, "expected an unsigned integer");
  return Status::ok();
}

Status field_bool(const MsgObject& o, std::string_view name, bool* out) {
  if (!codec::boolean(o, out).is_ok()) return invalid(name, "expected true or false");
  return Status::ok();
}

Status field_string_list(const MsgObject& o, std::string_view name, std::vector<std::string>* out) {
  if (o.type != msgpack::type::ARRAY) return invalid(name, "expected an array of byte strings");
  out->clear();
  out->reserve(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    std::string s;
    SHOAL_RETURN_IF_ERROR(field_bytes(o.via.array.ptr[i], name, &s));
    out->push_back(std::move(s));
  }
  return Status::ok();
}

// Visits the entries of a map whose keys are strings.
template <typename Fn>
Status for_each_field(const MsgObject& o, std::string_view what, Fn&& fn) {
  if (o.type != msgpack::type::MAP) {
    return Status::invalid_argument(std::string(what) + " must be a msgpack map");
  }
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) {
      return Status::invalid_argument(std::string(what) + " keys must be strings");
    }
    SHOAL_RETURN_IF_ERROR(fn(std::string_view(kv.key.via.str.ptr, kv.key.via.str.size), kv.val));
  }
  return Status::ok();
}

// Unpacks a payload; malformed msgpack becomes `code` with a clear message.
Status unpack_payload(std::string_view payload, const std::function<Status(const MsgObject&)>& fn) {
  return codec::unpack(payload, codec::kMaxDepth, fn);
}

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_quorum(Packer& pk, const core::QuorumSpec& q) {
  switch (q.kind) {
    case core::QuorumSpec::Kind::kCount:
      pk.pack_uint32(q.count);
      return;
    case core::QuorumSpec::Kind::kOne:
      pack_str(pk, "one");
      return;
    case core::QuorumSpec::Kind::kQuorum:
      pack_str(pk, "quorum");
      return;
    case core::QuorumSpec::Kind::kAll:
      pack_str(pk, "all");
      return;
  }
}

Status field_quorum(const MsgObject& o, std::string_view name, core::QuorumSpec* out) {
  if (o.type == msgpack::type::STR) {
    Result<core::QuorumSpec> q =
        core::parse_quorum(std::string_view(o.via.str.ptr, o.via.str.size));
    if (!q) return invalid(name, q.status().message());
    *out = *q;
    return Status::ok();
  }
  uint64_t n = 0;
  if (!codec::u64(o, &n).is_ok() || n > 1000) {
    return invalid(name, "expected a count or one/quorum/all");
  }
  *out = core::QuorumSpec::of(static_cast<uint32_t>(n));
  return Status::ok();
}

void pack_options(Packer& pk, const core::RequestOptions& o) {
  pk.pack_map(o.local ? 9 : 8);
  if (o.local) {
    pack_str(pk, "consistency");
    pack_str(pk, "local");
  }
  pack_str(pk, "n");
  pk.pack_uint32(o.n);
  pack_str(pk, "r");
  pack_quorum(pk, o.r);
  pack_str(pk, "w");
  pack_quorum(pk, o.w);
  pack_str(pk, "pr");
  pack_quorum(pk, o.pr);
  pack_str(pk, "pw");
  pack_quorum(pk, o.pw);
  pack_str(pk, "durable");
  pk.pack(o.durable);
  pack_str(pk, "sloppy");
  pk.pack(o.sloppy);
  pack_str(pk, "timeout_ms");
  pk.pack_uint32(o.timeout_ms);
}

Status decode_options(const MsgObject& o, core::RequestOptions* out) {
  // The preset applies first wherever it appears in the map; explicit fields override it.
  if (o.type == msgpack::type::MAP) {
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == "consistency") {
        std::string name;
        SHOAL_RETURN_IF_ERROR(field_bytes(kv.val, "opt.consistency", &name));
        Result<core::RequestOptions> p = core::preset(name);
        if (!p) return invalid("opt.consistency", p.status().message());
        *out = *p;
      }
    }
  }
  return for_each_field(o, "\"opt\"", [&](std::string_view k, const MsgObject& v) -> Status {
    const std::string name = "opt." + std::string(k);
    uint64_t n = 0;
    if (k == "consistency") return Status::ok();  // done above
    if (k == "n" || k == "timeout_ms") {
      SHOAL_RETURN_IF_ERROR(field_u64(v, name, &n));
      if (n > 0xffffffffu) return invalid(name, "out of range");
      (k == "n" ? out->n : out->timeout_ms) = static_cast<uint32_t>(n);
      return Status::ok();
    }
    if (k == "r") return field_quorum(v, name, &out->r);
    if (k == "w") return field_quorum(v, name, &out->w);
    if (k == "pr") return field_quorum(v, name, &out->pr);
    if (k == "pw") return field_quorum(v, name, &out->pw);
    if (k == "durable") return field_bool(v, name, &out->durable);
    if (k == "sloppy") return field_bool(v, name, &out->sloppy);
    // A misspelt option must not fall back to its default without a word.
    return invalid(name,
                   "unknown option (known: consistency n r w pr pw durable sloppy timeout_ms)");
  });
}

}  // namespace

Status check_request(const Request& r) {
  if (!r.op_id.empty() && !is_update(r.op)) {
    return invalid("op_id",
                   "op_id applies to updates only (put, del, counter_add, set_add, "
                   "set_rm), not " +
                       std::string(op_name(r.op)));
  }
  if (r.op_id.size() > core::kMaxOpIdBytes) {
    return invalid("op_id", std::to_string(r.op_id.size()) + " bytes; an operation id is 1.." +
                                std::to_string(core::kMaxOpIdBytes) + " bytes");
  }
  if (r.context && !takes_context(r.op)) {
    return invalid("ctx", "does not apply to " + std::string(op_name(r.op)) +
                              " (only put, del and set_rm take a context)");
  }
  if (!r.elements.empty() && r.op != Op::kSetAdd && r.op != Op::kSetRemove && r.op != Op::kSetGet) {
    return invalid("elems", "does not apply to " + std::string(op_name(r.op)));
  }
  if (r.op == Op::kPing || r.op == Op::kClusterStatus || r.op == Op::kLeave) return Status::ok();
  if (r.op == Op::kRemove) {
    if (r.key.empty()) return invalid("k", "remove needs the node to remove");
    return Status::ok();
  }
  if (r.op == Op::kChaos) {
    if (r.key.empty() || r.key.size() > 4096)
      return invalid("k", "chaos needs a rule (1..4096 bytes)");
    return Status::ok();
  }
  if (r.bucket.empty()) return invalid("b", "the bucket must not be empty");
  if (r.key.empty()) return invalid("k", "the key must not be empty");
  if (r.bucket.size() > kMaxBucketBytes) {
    return Status::too_large("bucket is " + std::to_string(r.bucket.size()) +
                             " bytes; the limit is " + std::to_string(kMaxBucketBytes));
  }
  if (r.key.size() > kMaxKeyBytes) {
    return Status::too_large("key is " + std::to_string(r.key.size()) + " bytes; the limit is " +
                             std::to_string(kMaxKeyBytes));
  }
  if ((r.op == Op::kPut || r.op == Op::kDelete) && r.type != core::DataType::kRegister &&
      r.type != core::DataType::kLww) {
    return invalid("type", "put and del take type register or lww");
  }
  if ((r.op == Op::kSetAdd || r.op == Op::kSetRemove) && r.elements.empty()) {
    return invalid("elems", "at least one element is needed");
  }
  return Status::ok();
}

std::string_view op_name(Op op) { return kOpNames[static_cast<size_t>(op)]; }

std::optional<Op> parse_op(std::string_view name) {
  for (size_t i = 0; i < std::size(kOpNames); ++i) {
    if (kOpNames[i] == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}

std::string encode_request(const Request& r) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  uint32_t fields = 4;  // id, op, b, k
  fields += r.op == Op::kPut;
  fields += r.context.has_value();
  fields += r.op == Op::kCounterAdd;
  const bool has_elems =
      r.op == Op::kSetAdd || r.op == Op::kSetRemove || (r.op == Op::kSetGet && !r.elements.empty());
  fields += has_elems;
  fields += (r.op == Op::kPut || r.op == Op::kDelete);
  fields += !r.op_id.empty();
  fields += 1;  // opt
  pk.pack_map(fields);
  pack_str(pk, "id");
  pk.pack_uint64(r.id);
  pack_str(pk, "op");
  pack_str(pk, op_name(r.op));
  pack_str(pk, "b");
  codec::pack_bytes(pk, r.bucket);
  pack_str(pk, "k");
  codec::pack_bytes(pk, r.key);
  if (r.op == Op::kPut) {
    pack_str(pk, "v");
    codec::pack_bytes(pk, r.value);
  }
  if (r.context) {
    pack_str(pk, "ctx");
    codec::pack_bytes(pk, *r.context);
  }
  if (r.op == Op::kCounterAdd) {
    pack_str(pk, "delta");
    pk.pack_int64(r.delta);
  }
  if (has_elems) {
    pack_str(pk, "elems");
    pk.pack_array(static_cast<uint32_t>(r.elements.size()));
    for (const auto& e : r.elements) codec::pack_bytes(pk, e);
  }
  if (r.op == Op::kPut || r.op == Op::kDelete) {
    pack_str(pk, "type");
    pack_str(pk, core::type_name(r.type));
  }
  if (!r.op_id.empty()) {
    pack_str(pk, "op_id");
    codec::pack_bytes(pk, r.op_id);
  }
  pack_str(pk, "opt");
  pack_options(pk, r.options);
  return std::string(buf.data(), buf.size());
}

namespace {

// The fields of a client request, as bits: which were given, which an operation takes.
enum Field : uint32_t {
  kFId = 1u << 0,
  kFOp = 1u << 1,
  kFBucket = 1u << 2,
  kFKey = 1u << 3,
  kFValue = 1u << 4,
  kFContext = 1u << 5,
  kFDelta = 1u << 6,
  kFElems = 1u << 7,
  kFType = 1u << 8,
  kFOpt = 1u << 9,
  kFOpId = 1u << 10,
};
struct FieldName {
  Field bit;
  std::string_view name;
};
constexpr FieldName kFields[] = {
    {kFId, "id"},     {kFOp, "op"},       {kFBucket, "b"},    {kFKey, "k"},
    {kFValue, "v"},   {kFContext, "ctx"}, {kFDelta, "delta"}, {kFElems, "elems"},
    {kFType, "type"}, {kFOpt, "opt"},     {kFOpId, "op_id"},
};

// What an operation takes beyond id, op, b, k and opt (which every request may carry:
// the client library sends b and k, empty, on ping and admin requests).
uint32_t optional_fields(Op op) {
  switch (op) {
    case Op::kPut:
      return kFValue | kFContext | kFType | kFOpId;
    case Op::kDelete:
      return kFContext | kFType | kFOpId;
    case Op::kCounterAdd:
      return kFDelta | kFOpId;
    case Op::kSetAdd:
      return kFElems | kFOpId;
    case Op::kSetRemove:
      return kFElems | kFContext | kFOpId;
    case Op::kSetGet:
      return kFElems;
    case Op::kChaos:
    case Op::kRemove:
    case Op::kGet:
    case Op::kCounterGet:
    case Op::kPing:
    case Op::kClusterStatus:
    case Op::kLeave:
      return 0;
  }
  return 0;
}

// What an operation cannot do without: a missing one is refused, never defaulted.
uint32_t required_fields(Op op) {
  switch (op) {
    case Op::kPut:
      return kFBucket | kFKey | kFValue;
    case Op::kCounterAdd:
      return kFBucket | kFKey | kFDelta;
    case Op::kSetAdd:
    case Op::kSetRemove:
      return kFBucket | kFKey | kFElems;
    case Op::kDelete:
    case Op::kGet:
    case Op::kCounterGet:
    case Op::kSetGet:
      return kFBucket | kFKey;
    case Op::kRemove:
    case Op::kChaos:
      return kFKey;
    case Op::kPing:
    case Op::kClusterStatus:
    case Op::kLeave:
      return 0;
  }
  return 0;
}

constexpr std::string_view kKnownFields = "id op b k v ctx delta elems type op_id opt";

Status decode_request_field(std::string_view k, const MsgObject& v, Request* r, uint32_t* seen) {
  Field bit{};
  for (const FieldName& f : kFields) {
    if (f.name == k) bit = f.bit;
  }
  if (bit == Field{}) {
    // A misspelt field ("value" for "v") must not leave its default in place silently.
    return invalid(k, "unknown field (known: " + std::string(kKnownFields) + ")");
  }
  if (*seen & bit) return invalid(k, "given twice");
  *seen |= bit;
  switch (bit) {
    case kFId:
      return field_u64(v, k, &r->id);
    case kFOp: {
      std::string name;
      SHOAL_RETURN_IF_ERROR(field_bytes(v, k, &name));
      std::optional<Op> op = parse_op(name);
      if (!op) return invalid(k, "unknown operation \"" + name + "\"");
      r->op = *op;
      return Status::ok();
    }
    case kFBucket:
      return field_bytes(v, k, &r->bucket);
    case kFKey:
      return field_bytes(v, k, &r->key);
    case kFValue:
      return field_bytes(v, k, &r->value);
    case kFContext:
      r->context.emplace();
      return field_bytes(v, k, &*r->context);
    case kFDelta:
      if (!codec::i64(v, &r->delta).is_ok()) return invalid(k, "expected a signed 64-bit integer");
      return Status::ok();
    case kFElems:
      return field_string_list(v, k, &r->elements);
    case kFType: {
      std::string name;
      SHOAL_RETURN_IF_ERROR(field_bytes(v, k, &name));
      Result<core::DataType> t = core::parse_type(name);
      if (!t) return invalid(k, t.status().message());
      r->type = *t;
      return Status::ok();
    }
    case kFOpt:
      return decode_options(v, &r->options);
    case kFOpId: {
      const std::string limit = "1.." + std::to_string(core::kMaxOpIdBytes) + " bytes";
      if (v.type != msgpack::type::STR && v.type != msgpack::type::BIN) {
        return invalid(k, "expected a byte string of " + limit);
      }
      SHOAL_RETURN_IF_ERROR(field_bytes(v, k, &r->op_id));
      if (r->op_id.empty()) return invalid(k, "empty; an operation id is " + limit);
      if (r->op_id.size() > core::kMaxOpIdBytes) {
        return invalid(k, std::to_string(r->op_id.size()) + " bytes; an operation id is " + limit);
      }
      return Status::ok();
    }
  }
  return Status::internal("unhandled request field");
}

}  // namespace

Result<Request> decode_request(std::string_view payload, uint64_t* id) {
  *id = 0;
  Request r;
  uint32_t seen = 0;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    if (o.type == msgpack::type::MAP) {
      for (uint32_t i = 0; i < o.via.map.size; ++i) {  // find the id first, for errors
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type == msgpack::type::STR && kv.key.via.str.size == 2 &&
            std::memcmp(kv.key.via.str.ptr, "id", 2) == 0) {
          (void)codec::u64(kv.val, id);
        }
      }
    }
    return for_each_field(o, "a request", [&](std::string_view k, const MsgObject& v) {
      return decode_request_field(k, v, &r, &seen);
    });
  });
  if (s.code() == Code::kCorruption) {
    return Status::invalid_argument("malformed request frame: " + s.message());
  }
  if (!s.is_ok()) return s;
  if (!(seen & kFId)) return invalid("id", "missing");
  if (!(seen & kFOp)) return invalid("op", "missing");
  const uint32_t allowed = kFId | kFOp | kFBucket | kFKey | kFOpt | optional_fields(r.op);
  for (const FieldName& f : kFields) {
    if ((seen & f.bit) && !(allowed & f.bit)) {
      if (f.bit == kFOpId) {
        return invalid(f.name,
                       "op_id applies to updates only (put, del, counter_add, set_add, "
                       "set_rm), not " +
                           std::string(op_name(r.op)));
      }
      return invalid(f.name, "does not apply to " + std::string(op_name(r.op)));
    }
  }
  for (const FieldName& f : kFields) {
    if ((required_fields(r.op) & f.bit) && !(seen & f.bit)) {
      return invalid(f.name, "missing (" + std::string(op_name(r.op)) + " needs it)");
    }
  }
  SHOAL_RETURN_IF_ERROR(check_request(r));
  return r;
}

namespace {

void pack_member(Packer& pk, const MemberInfo& m) {
  pk.pack_map(m.sync_known ? 14 : 11);
  pack_str(pk, "id");
  pack_str(pk, m.id);
  pack_str(pk, "status");
  pack_str(pk, m.status);
  pack_str(pk, "peer");
  pack_str(pk, m.peer_address);
  pack_str(pk, "client");
  pack_str(pk, m.client_address);
  pack_str(pk, "gen");
  pk.pack_uint64(m.generation);
  pack_str(pk, "down");
  pk.pack(m.down);
  pack_str(pk, "phi");
  pk.pack_double(m.phi);
  pack_str(pk, "own");
  pk.pack_double(m.ownership);
  pack_str(pk, "hints_here");
  pk.pack_uint64(m.hints_here);
  pack_str(pk, "hints");
  pk.pack_uint64(m.hints);
  pack_str(pk, "handoff");
  pk.pack_uint64(m.handoff_keys);
  if (m.sync_known) {
    pack_str(pk, "sync");
    pk.pack(m.in_sync);
    pack_str(pk, "sync_since");
    pk.pack_uint64(m.sync_since_ms);
    pack_str(pk, "unconfirmed");
    pk.pack_uint64(m.unconfirmed);
  }
}

Status field_double(const MsgObject& o, std::string_view name, double* out) {
  if (o.type == msgpack::type::FLOAT64 || o.type == msgpack::type::FLOAT32) {
    *out = o.via.f64;
    return Status::ok();
  }
  uint64_t u = 0;
  if (codec::u64(o, &u).is_ok()) {
    *out = static_cast<double>(u);
    return Status::ok();
  }
  return invalid(name, "expected a number");
}

Status decode_member(const MsgObject& o, MemberInfo* m) {
  return for_each_field(o, "a member", [&](std::string_view k, const MsgObject& v) -> Status {
    if (k == "id") return field_bytes(v, k, &m->id);
    if (k == "status") return field_bytes(v, k, &m->status);
    if (k == "peer") return field_bytes(v, k, &m->peer_address);
    if (k == "client") return field_bytes(v, k, &m->client_address);
    if (k == "gen") return field_u64(v, k, &m->generation);
    if (k == "down") return codec::boolean(v, &m->down);
    if (k == "phi") return field_double(v, k, &m->phi);
    if (k == "own") return field_double(v, k, &m->ownership);
    if (k == "hints_here") return field_u64(v, k, &m->hints_here);
    if (k == "hints") return field_u64(v, k, &m->hints);
    if (k == "handoff") return field_u64(v, k, &m->handoff_keys);
    if (k == "sync") {
      m->sync_known = true;
      return codec::boolean(v, &m->in_sync);
    }
    if (k == "sync_since") return field_u64(v, k, &m->sync_since_ms);
    if (k == "unconfirmed") return field_u64(v, k, &m->unconfirmed);
    return Status::ok();  // unknown fields: from newer nodes
  });
}

}  // namespace

std::string encode_response(const Response& r) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  const bool ok = r.status.is_ok();
  uint32_t fields = 2 + !ok + r.type.has_value() + r.context.has_value() + !r.node.empty() * 2 +
                    !r.members.empty() + !r.stats.empty() + r.chaos.has_value() + r.duplicate;
  const bool has_values =
      r.type && (*r.type == core::DataType::kRegister || *r.type == core::DataType::kLww);
  const bool has_counter = r.type && *r.type == core::DataType::kCounter;
  const bool has_elements = r.type && *r.type == core::DataType::kSet;
  fields += has_values + has_counter + has_elements;
  pk.pack_map(fields);
  pack_str(pk, "id");
  pk.pack_uint64(r.id);
  pack_str(pk, "status");
  pack_str(pk, code_name(r.status.code()));
  if (!ok) {
    pack_str(pk, "msg");
    pack_str(pk, r.status.message());
  }
  if (r.duplicate) {
    pack_str(pk, "dup");
    pk.pack(true);
  }
  if (r.type) {
    pack_str(pk, "type");
    pack_str(pk, core::type_name(*r.type));
  }
  if (has_values) {
    pack_str(pk, "values");
    pk.pack_array(static_cast<uint32_t>(r.values.size()));
    for (const auto& v : r.values) codec::pack_bytes(pk, v);
  }
  if (has_counter) {
    pack_str(pk, "value");
    pk.pack_int64(r.counter);
  }
  if (has_elements) {
    pack_str(pk, "elems");
    pk.pack_array(static_cast<uint32_t>(r.elements.size()));
    for (const auto& e : r.elements) codec::pack_bytes(pk, e);
  }
  if (r.context) {
    pack_str(pk, "ctx");
    codec::pack_bytes(pk, *r.context);
  }
  if (!r.node.empty()) {
    pack_str(pk, "node");
    pack_str(pk, r.node);
    pack_str(pk, "peers");
    pk.pack_array(static_cast<uint32_t>(r.peers.size()));
    for (const auto& p : r.peers) pack_str(pk, p);
  }
  if (!r.members.empty()) {
    pack_str(pk, "members");
    pk.pack_array(static_cast<uint32_t>(r.members.size()));
    for (const MemberInfo& m : r.members) pack_member(pk, m);
  }
  if (r.chaos) {
    pack_str(pk, "chaos");
    pack_str(pk, *r.chaos);
  }
  if (!r.stats.empty()) {
    pack_str(pk, "stats");
    pk.pack_map(static_cast<uint32_t>(r.stats.size()));
    for (const auto& [name, value] : r.stats) {
      pack_str(pk, name);
      pk.pack_int64(value);
    }
  }
  return std::string(buf.data(), buf.size());
}

Result<Response> decode_response(std::string_view payload) {
  Response r;
  std::string code = "ok", msg;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    return for_each_field(o, "a response", [&](std::string_view k, const MsgObject& v) -> Status {
      if (k == "id") return field_u64(v, k, &r.id);
      if (k == "status") return field_bytes(v, k, &code);
      if (k == "msg") return field_bytes(v, k, &msg);
      if (k == "dup") return field_bool(v, k, &r.duplicate);
      if (k == "type") {
        std::string name;
        SHOAL_RETURN_IF_ERROR(field_bytes(v, k, &name));
        Result<core::DataType> t = core::parse_type(name);
        if (!t) return invalid(k, t.status().message());
        r.type = *t;
        return Status::ok();
      }
      if (k == "values") return field_string_list(v, k, &r.values);
      if (k == "elems") return field_string_list(v, k, &r.elements);
      if (k == "chaos") {
        r.chaos.emplace();
        return field_bytes(v, k, &*r.chaos);
      }
      if (k == "value") {
        if (!codec::i64(v, &r.counter).is_ok()) return invalid(k, "expected an integer");
        return Status::ok();
      }
      if (k == "ctx") {
        r.context.emplace();
        return field_bytes(v, k, &*r.context);
      }
      if (k == "node") return field_bytes(v, k, &r.node);
      if (k == "peers") return field_string_list(v, k, &r.peers);
      if (k == "members") {
        codec::Array a;
        if (!codec::array(v, &a).is_ok()) return invalid(k, "expected an array");
        r.members.resize(a.size);
        for (uint32_t i = 0; i < a.size; ++i)
          SHOAL_RETURN_IF_ERROR(decode_member(a[i], &r.members[i]));
        return Status::ok();
      }
      if (k == "stats") {
        return for_each_field(v, "stats", [&](std::string_view name, const MsgObject& x) {
          int64_t value = 0;
          if (!codec::i64(x, &value).is_ok()) return invalid(name, "expected an integer");
          r.stats.emplace_back(std::string(name), value);
          return Status::ok();
        });
      }
      return Status::ok();
    });
  });
  if (!s.is_ok()) return s;
  std::optional<Code> c = code_from_name(code);
  if (!c) return Status::corruption("unknown status \"" + code + "\" in response");
  r.status = *c == Code::kOk ? Status::ok() : Status(*c, msg);
  return r;
}

// ---- peer protocol ----

std::string encode_hello(const Hello& h) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  pk.pack_array(5);
  pack_str(pk, "hello");
  pk.pack_uint32(h.version);
  codec::pack_bytes(pk, h.node);
  codec::pack_bytes(pk, h.secret);
  codec::pack_bytes(pk, h.peer_address);
  return std::string(buf.data(), buf.size());
}

Result<Hello> decode_hello(std::string_view payload) {
  Hello h;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    codec::Array a;
    std::string tag;
    uint64_t version = 0;
    if (!codec::array(o, &a).is_ok() || (a.size != 4 && a.size != 5) ||
        !codec::bytes(a[0], &tag).is_ok() || tag != "hello" ||
        !codec::u64(a[1], &version).is_ok() || !codec::bytes(a[2], &h.node).is_ok() ||
        !codec::bytes(a[3], &h.secret).is_ok() ||
        (a.size == 5 && !codec::bytes(a[4], &h.peer_address).is_ok())) {
      return Status::invalid_argument("the first peer frame must be a hello");
    }
    h.version = static_cast<uint32_t>(version);
    return Status::ok();
  });
  if (s.code() == Code::kCorruption) {
    return Status::invalid_argument("the first peer frame must be a hello (" + s.message() + ")");
  }
  if (!s.is_ok()) return s;
  return h;
}

std::string encode_welcome(const Status& status, const std::string& node) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  pk.pack_array(4);
  pack_str(pk, "welcome");
  pack_str(pk, code_name(status.code()));
  pack_str(pk, status.message());
  codec::pack_bytes(pk, node);
  return std::string(buf.data(), buf.size());
}

Result<std::string> decode_welcome(std::string_view payload) {
  std::string code, msg, node;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    codec::Array a;
    std::string tag;
    if (!codec::array(o, &a).is_ok() || a.size != 4 || !codec::bytes(a[0], &tag).is_ok() ||
        tag != "welcome" || !codec::bytes(a[1], &code).is_ok() ||
        !codec::bytes(a[2], &msg).is_ok() || !codec::bytes(a[3], &node).is_ok()) {
      return Status::corruption("expected a welcome frame");
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  std::optional<Code> c = code_from_name(code);
  if (!c) return Status::corruption("unknown status in welcome");
  if (*c != Code::kOk) return Status(*c, msg);
  return node;
}

namespace {

void pack_optional_object(Packer& pk, const core::ObjectPtr& o) {
  if (o) {
    codec::pack_bytes(pk, o->encode());
  } else {
    pk.pack_nil();
  }
}

Status decode_optional_object(const MsgObject& o, core::ObjectPtr* out) {
  if (o.type == msgpack::type::NIL) return Status::ok();
  std::string bytes;
  SHOAL_RETURN_IF_ERROR(codec::bytes(o, &bytes));
  Result<core::Object> obj = core::Object::decode(bytes);
  if (!obj) return obj.status();
  *out = std::make_shared<const core::Object>(std::move(obj).value());
  return Status::ok();
}

// [kind, type, value, ctx|nil, delta, [elements], timestamp_ms, op_id]; op_id only when
// there is one (the 7-field form is what nodes before operation ids send and accept).
void pack_update(Packer& pk, const core::Update& u) {
  pk.pack_array(u.op_id.empty() ? 7 : 8);
  pk.pack_uint8(static_cast<uint8_t>(u.kind));
  pk.pack_uint8(static_cast<uint8_t>(u.type));
  codec::pack_bytes(pk, u.value);
  if (u.context) {
    codec::pack_bytes(pk, u.context->encode());
  } else {
    pk.pack_nil();
  }
  pk.pack_int64(u.delta);
  pk.pack_array(static_cast<uint32_t>(u.elements.size()));
  for (const auto& e : u.elements) codec::pack_bytes(pk, e);
  pk.pack_uint64(u.timestamp_ms);
  if (!u.op_id.empty()) codec::pack_bytes(pk, u.op_id);
}

Status decode_update(const MsgObject& o, core::Update* u) {
  codec::Array a;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
  if (a.size != 7 && a.size != 8) return codec::bad("update: wrong field count");
  uint64_t kind = 0, type = 0;
  SHOAL_RETURN_IF_ERROR(codec::u64(a[0], &kind));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &type));
  if (kind > static_cast<uint64_t>(core::Update::Kind::kSetRemove))
    return codec::bad("update kind");
  if (type < 1 || type > 4) return codec::bad("update type");
  u->kind = static_cast<core::Update::Kind>(kind);
  u->type = static_cast<core::DataType>(type);
  SHOAL_RETURN_IF_ERROR(codec::bytes(a[2], &u->value));
  if (a[3].type != msgpack::type::NIL) {
    std::string ctx;
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[3], &ctx));
    Result<crdt::DotContext> c = crdt::DotContext::decode(ctx);
    if (!c) return c.status();
    u->context = std::move(c).value();
  }
  SHOAL_RETURN_IF_ERROR(codec::i64(a[4], &u->delta));
  SHOAL_RETURN_IF_ERROR(field_string_list(a[5], "elements", &u->elements));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[6], &u->timestamp_ms));
  if (a.size == 8) {
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[7], &u->op_id));
    if (u->op_id.size() > core::kMaxOpIdBytes) return codec::bad("update: op_id too long");
  }
  return Status::ok();
}

}  // namespace

std::string encode_message(const core::Message& m) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  // The 14th field (duplicate) only when set, the 15th and 16th (base, full) only when
  // either is: the 13-field form is what nodes before operation ids send and accept.
  const bool gap_fields = m.base != 0 || m.full;
  pk.pack_array(gap_fields ? 16 : m.duplicate ? 14 : 13);
  pk.pack_uint8(static_cast<uint8_t>(m.kind));
  pk.pack_uint64(m.req_id);
  codec::pack_bytes(pk, m.bucket);
  codec::pack_bytes(pk, m.key);
  pk.pack_uint8(static_cast<uint8_t>(m.status.code()));
  pack_str(pk, m.status.message());
  pack_optional_object(pk, m.object);
  pack_optional_object(pk, m.state);
  if (m.update) {
    pack_update(pk, *m.update);
  } else {
    pk.pack_nil();
  }
  pk.pack(m.durable);
  codec::pack_bytes(pk, m.hint_for);
  codec::pack_bytes(pk, m.body);
  pk.pack_array(static_cast<uint32_t>(m.elements.size()));
  for (const std::string& e : m.elements) codec::pack_bytes(pk, e);
  if (m.duplicate || gap_fields) pk.pack(m.duplicate);
  if (gap_fields) {
    pk.pack_uint64(m.base);
    pk.pack(m.full);
  }
  return std::string(buf.data(), buf.size());
}

Result<core::Message> decode_message(std::string_view payload) {
  core::Message m;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    codec::Array a;
    SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
    if (a.size != 13 && a.size != 14 && a.size != 16) {
      return codec::bad("peer message: wrong field count");
    }
    uint64_t kind = 0, code = 0;
    SHOAL_RETURN_IF_ERROR(codec::u64(a[0], &kind));
    if (kind < 1 || kind > static_cast<uint64_t>(core::Message::kLastKind)) {
      return codec::bad("peer message: unknown kind");
    }
    m.kind = static_cast<core::Message::Kind>(kind);
    SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &m.req_id));
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[2], &m.bucket));
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[3], &m.key));
    SHOAL_RETURN_IF_ERROR(codec::u64(a[4], &code));
    if (code > static_cast<uint64_t>(Code::kInternal)) return codec::bad("peer message: code");
    std::string msg;
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[5], &msg));
    if (code != 0) m.status = Status(static_cast<Code>(code), std::move(msg));
    SHOAL_RETURN_IF_ERROR(decode_optional_object(a[6], &m.object));
    SHOAL_RETURN_IF_ERROR(decode_optional_object(a[7], &m.state));
    if (a[8].type != msgpack::type::NIL) {
      m.update.emplace();
      SHOAL_RETURN_IF_ERROR(decode_update(a[8], &*m.update));
    }
    SHOAL_RETURN_IF_ERROR(codec::boolean(a[9], &m.durable));
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[10], &m.hint_for));
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[11], &m.body));
    SHOAL_RETURN_IF_ERROR(field_string_list(a[12], "elements", &m.elements));
    if (a.size >= 14) SHOAL_RETURN_IF_ERROR(codec::boolean(a[13], &m.duplicate));
    if (a.size == 16) {
      SHOAL_RETURN_IF_ERROR(codec::u64(a[14], &m.base));
      SHOAL_RETURN_IF_ERROR(codec::boolean(a[15], &m.full));
    }
    return Status::ok();
  });
  if (!s.is_ok()) return Status::corruption("peer message: " + s.message());
  return m;
}

}  // namespace shoal::api
