#include "node/api/client_request.h"

#include <cstring>

#include "node/api/fault_rule.h"
#include "node/api/msgpack_fields.h"
#include "node/api/options_codec.h"
#include "node/core/update.h"

namespace shoal::api {

namespace codec = crdt::codec;
using wire::decode_options;
using wire::field_bytes;
using wire::field_string_list;
using wire::field_u64;
using wire::for_each_field;
using wire::invalid;
using wire::MsgObject;
using wire::pack_options;
using wire::pack_str;
using wire::Packer;
using wire::unpack_payload;

namespace {

constexpr std::string_view kOpNames[] = {
    "ping",        "get",     "put",    "del",     "counter_add",
    "counter_get", "set_add", "set_rm", "set_get", "cluster_status",
    "leave",       "remove",  "chaos",  "auth"};

// An admin operation naming its node or rule in k (the wire before typed fields) is told
// which field to use, also when that field is missing (an old client sends only k).
Status admin_key_refused(const Request& r) {
  if (r.key.empty() || (r.op != Op::kRemove && r.op != Op::kChaos)) return Status::ok();
  return invalid("k", r.op == Op::kRemove ? "remove names its node in field \"node\", not k"
                                          : "chaos takes its rule in field \"rule\", not k");
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
  if ((r.after || r.count != 0) && r.op != Op::kSetGet) {
    return invalid(r.after ? "after" : "count", "pages apply to set_get only");
  }
  if (r.after && r.count == 0) return invalid("after", "a page needs \"count\" too");
  if (r.count > core::kMaxPageMembers) {
    return invalid("count",
                   "a page holds 1.." + std::to_string(core::kMaxPageMembers) + " members");
  }
  if (r.count != 0 && !r.elements.empty()) {
    return invalid("count", "a page reads the set's members in order, not named ones (elems)");
  }
  if (r.op == Op::kPing || r.op == Op::kClusterStatus || r.op == Op::kLeave) return Status::ok();
  if (r.op == Op::kAuth) {
    if (r.user.empty() || r.user.size() > kMaxAuthUserBytes) {
      return invalid("user", "a user name is 1.." + std::to_string(kMaxAuthUserBytes) + " bytes");
    }
    if (r.password.size() > kMaxAuthPasswordBytes) {
      return invalid("password", "at most " + std::to_string(kMaxAuthPasswordBytes) + " bytes");
    }
    return Status::ok();
  }
  if (r.op == Op::kRemove || r.op == Op::kChaos) {
    const bool remove = r.op == Op::kRemove;
    SHOAL_RETURN_IF_ERROR(admin_key_refused(r));
    if (remove && r.node.empty()) return invalid("node", "remove needs the node to remove");
    if (remove) return Status::ok();
    Result<core::FaultRule> rule = parse_fault_rule(r.rule);
    return rule ? Status::ok() : invalid("rule", rule.status().message());
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

namespace {

// remove's node, chaos's rule, auth's user and password.
void pack_admin_fields(Packer& pk, const Request& r) {
  if (r.op == Op::kRemove || r.op == Op::kChaos) {
    pack_str(pk, r.op == Op::kRemove ? "node" : "rule");
    codec::pack_bytes(pk, r.op == Op::kRemove ? r.node : r.rule);
  }
  if (r.op == Op::kAuth) {
    pack_str(pk, "user");
    codec::pack_bytes(pk, r.user);
    pack_str(pk, "password");
    codec::pack_bytes(pk, r.password);
  }
}

}  // namespace

std::string encode_request(const Request& r) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  uint32_t fields = 4;  // id, op, b, k
  fields += r.op == Op::kRemove || r.op == Op::kChaos;
  fields += 2 * (r.op == Op::kAuth);
  fields += r.op == Op::kPut;
  fields += r.context.has_value();
  fields += r.op == Op::kCounterAdd;
  const bool has_elems =
      r.op == Op::kSetAdd || r.op == Op::kSetRemove || (r.op == Op::kSetGet && !r.elements.empty());
  fields += has_elems;
  fields += (r.op == Op::kPut || r.op == Op::kDelete);
  fields += !r.op_id.empty();
  fields += static_cast<uint32_t>(r.after.has_value()) + static_cast<uint32_t>(r.count != 0);
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
    codec::pack_bytes_array(pk, r.elements);
  }
  if (r.after) {
    pack_str(pk, "after");
    codec::pack_bytes(pk, *r.after);
  }
  if (r.count != 0) {
    pack_str(pk, "count");
    pk.pack_uint32(r.count);
  }
  if (r.op == Op::kPut || r.op == Op::kDelete) {
    pack_str(pk, "type");
    pack_str(pk, core::type_name(r.type));
  }
  if (!r.op_id.empty()) {
    pack_str(pk, "op_id");
    codec::pack_bytes(pk, r.op_id);
  }
  pack_admin_fields(pk, r);
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
  kFNode = 1u << 11,
  kFRule = 1u << 12,
  kFAfter = 1u << 13,
  kFCount = 1u << 14,
  kFUser = 1u << 15,
  kFPassword = 1u << 16,
};
struct FieldName {
  Field bit;
  std::string_view name;
};
constexpr FieldName kFields[] = {
    {kFId, "id"},
    {kFOp, "op"},
    {kFBucket, "b"},
    {kFKey, "k"},
    {kFValue, "v"},
    {kFContext, "ctx"},
    {kFDelta, "delta"},
    {kFElems, "elems"},
    {kFType, "type"},
    {kFOpt, "opt"},
    {kFOpId, "op_id"},
    {kFNode, "node"},
    {kFRule, "rule"},
    {kFAfter, "after"},
    {kFCount, "count"},
    {kFUser, "user"},
    {kFPassword, "password"},
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
      return kFElems | kFAfter | kFCount;
    case Op::kChaos:
      return kFRule;
    case Op::kRemove:
      return kFNode;
    case Op::kAuth:
      return kFUser | kFPassword;
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
      return kFNode;
    case Op::kChaos:
      return kFRule;
    case Op::kAuth:
      return kFUser | kFPassword;
    case Op::kPing:
    case Op::kClusterStatus:
    case Op::kLeave:
      return 0;
  }
  return 0;
}

constexpr std::string_view kKnownFields =
    "id op b k v ctx delta elems type op_id opt node rule after count user password";

Status decode_count(const MsgObject& v, std::string_view k, Request* r) {
  uint64_t n = 0;
  SHOAL_RETURN_IF_ERROR(field_u64(v, k, &n));
  if (n < 1 || n > core::kMaxPageMembers) {
    return invalid(k, "a page holds 1.." + std::to_string(core::kMaxPageMembers) + " members");
  }
  r->count = static_cast<uint32_t>(n);
  return Status::ok();
}

Status decode_op_id(const MsgObject& v, std::string_view k, Request* r) {
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
    case kFNode:
      return field_bytes(v, k, &r->node);
    case kFRule:
      return field_bytes(v, k, &r->rule);
    case kFAfter:
      r->after.emplace();
      return field_bytes(v, k, &*r->after);
    case kFCount:
      return decode_count(v, k, r);
    case kFUser:
      return field_bytes(v, k, &r->user);
    case kFPassword:
      return field_bytes(v, k, &r->password);
    case kFOpId:
      return decode_op_id(v, k, r);
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
  SHOAL_RETURN_IF_ERROR(admin_key_refused(r));
  for (const FieldName& f : kFields) {
    if ((required_fields(r.op) & f.bit) && !(seen & f.bit)) {
      return invalid(f.name, "missing (" + std::string(op_name(r.op)) + " needs it)");
    }
  }
  SHOAL_RETURN_IF_ERROR(check_request(r));
  return r;
}

}  // namespace shoal::api
