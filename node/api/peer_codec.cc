#include "node/api/peer_codec.h"

#include <memory>

#include "crdt/assert.h"
#include "node/api/msgpack_fields.h"

namespace shoal::api {

namespace codec = crdt::codec;
using wire::field_string_list;
using wire::MsgObject;
using wire::pack_str;
using wire::Packer;
using wire::unpack_payload;

std::string encode_hello(const Hello& h) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  pk.pack_array(h.nonce.empty() ? 5 : 6);
  pack_str(pk, "hello");
  pk.pack_uint32(h.version);
  codec::pack_bytes(pk, h.node);
  codec::pack_bytes(pk, h.secret);
  codec::pack_bytes(pk, h.peer_address);
  if (!h.nonce.empty()) codec::pack_bytes(pk, h.nonce);
  return std::string(buf.data(), buf.size());
}

Result<Hello> decode_hello(std::string_view payload) {
  Hello h;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    codec::Array a;
    std::string tag;
    uint64_t version = 0;
    if (!codec::array(o, &a).is_ok() || a.size < 4 || a.size > 6 ||
        !codec::bytes(a[0], &tag).is_ok() || tag != "hello" ||
        !codec::u64(a[1], &version).is_ok() || version > UINT32_MAX ||
        !codec::bytes(a[2], &h.node).is_ok() || !codec::bytes(a[3], &h.secret).is_ok() ||
        (a.size >= 5 && !codec::bytes(a[4], &h.peer_address).is_ok()) ||
        (a.size == 6 && !codec::bytes(a[5], &h.nonce).is_ok()) ||
        h.nonce.size() > kMaxHandshakeFieldBytes) {
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

std::string encode_challenge(const Challenge& c) {
  msgpack::sbuffer buf(128);
  Packer pk(buf);
  pk.pack_array(4);
  pack_str(pk, "challenge");
  codec::pack_bytes(pk, c.node);
  codec::pack_bytes(pk, c.nonce);
  codec::pack_bytes(pk, c.proof);
  return std::string(buf.data(), buf.size());
}

Result<Challenge> decode_challenge(std::string_view payload) {
  Challenge c;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    codec::Array a;
    std::string tag;
    if (!codec::array(o, &a).is_ok() || a.size != 4 || !codec::bytes(a[0], &tag).is_ok() ||
        tag != "challenge" || !codec::bytes(a[1], &c.node).is_ok() ||
        !codec::bytes(a[2], &c.nonce).is_ok() || !codec::bytes(a[3], &c.proof).is_ok() ||
        c.nonce.size() > kMaxHandshakeFieldBytes || c.proof.size() > kMaxHandshakeFieldBytes) {
      return Status::corruption("expected a challenge frame");
    }
    return Status::ok();
  });
  if (!s.is_ok()) return Status::corruption(s.message());
  return c;
}

std::string encode_proof(std::string_view proof) {
  msgpack::sbuffer buf(64);
  Packer pk(buf);
  pk.pack_array(2);
  pack_str(pk, "proof");
  codec::pack_bytes(pk, proof);
  return std::string(buf.data(), buf.size());
}

Result<std::string> decode_proof(std::string_view payload) {
  std::string proof;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    codec::Array a;
    std::string tag;
    if (!codec::array(o, &a).is_ok() || a.size != 2 || !codec::bytes(a[0], &tag).is_ok() ||
        tag != "proof" || !codec::bytes(a[1], &proof).is_ok() ||
        proof.size() > kMaxHandshakeFieldBytes) {
      return Status::corruption("expected a proof frame");
    }
    return Status::ok();
  });
  if (!s.is_ok()) return Status::corruption(s.message());
  return proof;
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
  std::string_view bytes;
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
  codec::pack_bytes_array(pk, u.elements);
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

// [kMergeAcks, [[req_id, code, message, base, held], ...]]
std::string encode_acks(const core::Message& m) {
  SHOAL_ASSERT(!m.acks.empty() && m.acks.size() <= core::kMaxBatchAcks);
  msgpack::sbuffer buf(16 + 24 * m.acks.size());
  Packer pk(buf);
  pk.pack_array(2);
  pk.pack_uint8(static_cast<uint8_t>(m.kind));
  pk.pack_array(static_cast<uint32_t>(m.acks.size()));
  for (const core::MergeAck& a : m.acks) {
    pk.pack_array(5);
    pk.pack_uint64(a.req_id);
    pk.pack_uint8(static_cast<uint8_t>(a.status.code()));
    pack_str(pk, a.status.message());
    pk.pack_uint64(a.base);
    codec::pack_bytes(pk, a.held);
  }
  return std::string(buf.data(), buf.size());
}

Status decode_status(const MsgObject& code_field, const MsgObject& message_field, Status* out) {
  uint64_t code = 0;
  SHOAL_RETURN_IF_ERROR(codec::u64(code_field, &code));
  if (code > static_cast<uint64_t>(Code::kInternal)) return codec::bad("peer message: code");
  std::string msg;
  SHOAL_RETURN_IF_ERROR(codec::bytes(message_field, &msg));
  if (code != 0) *out = Status(static_cast<Code>(code), std::move(msg));
  return Status::ok();
}

Status decode_acks(const MsgObject& list, core::Message* m) {
  codec::Array acks;
  SHOAL_RETURN_IF_ERROR(codec::array(list, &acks));
  if (acks.size < 1 || acks.size > core::kMaxBatchAcks) return codec::bad("acks: count");
  m->acks.resize(acks.size);
  for (uint32_t i = 0; i < acks.size; ++i) {
    codec::Array a;
    SHOAL_RETURN_IF_ERROR(codec::array(acks[i], &a));
    if (a.size != 5) return codec::bad("ack: wrong field count");
    core::MergeAck& ack = m->acks[i];
    SHOAL_RETURN_IF_ERROR(codec::u64(a[0], &ack.req_id));
    SHOAL_RETURN_IF_ERROR(decode_status(a[1], a[2], &ack.status));
    SHOAL_RETURN_IF_ERROR(codec::u64(a[3], &ack.base));
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[4], &ack.held));
  }
  return Status::ok();
}

}  // namespace

std::string encode_message(const core::Message& m) {
  if (m.kind == core::Message::Kind::kMergeAcks) return encode_acks(m);
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  // The 14th field (duplicate) only when set, the 15th and 16th (base, full) only when
  // either is, the 17th and 18th (a set page: after or nil, count) only on a page read,
  // the 19th (the page's last member) only on a page read with one: the 13-field form is
  // what nodes before operation ids send and accept.
  const bool page_fields = m.page.has_value();
  const bool until_field = page_fields && m.page->until.has_value();
  const bool gap_fields = m.base != 0 || m.full || page_fields;
  // The 14th field of a kMerge is acks_batched (duplicate is a kMintReply's).
  const bool merge = m.kind == core::Message::Kind::kMerge;
  const bool flag = merge ? m.acks_batched : m.duplicate;
  pk.pack_array(until_field ? 19 : page_fields ? 18 : gap_fields ? 16 : flag ? 14 : 13);
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
  codec::pack_bytes_array(pk, m.elements);
  if (flag || gap_fields) pk.pack(flag);
  if (gap_fields) {
    pk.pack_uint64(m.base);
    pk.pack(m.full);
  }
  if (page_fields) {
    if (m.page->after) {
      codec::pack_bytes(pk, *m.page->after);
    } else {
      pk.pack_nil();
    }
    pk.pack_uint32(m.page->count);
    if (until_field) codec::pack_bytes(pk, *m.page->until);
  }
  return std::string(buf.data(), buf.size());
}

Result<core::Message> decode_message(std::string_view payload) {
  core::Message m;
  SHOAL_RETURN_IF_ERROR(decode_message_into(payload, &m));
  return m;
}

Status decode_message_into(std::string_view payload, core::Message* out) {
  core::Message& m = *out;
  Status s = unpack_payload(payload, [&](const MsgObject& o) -> Status {
    codec::Array a;
    SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
    uint64_t kind = 0;
    if (a.size > 0) SHOAL_RETURN_IF_ERROR(codec::u64(a[0], &kind));
    if (kind == static_cast<uint64_t>(core::Message::Kind::kMergeAcks)) {
      if (a.size != 2) return codec::bad("peer message: wrong field count");
      m.kind = core::Message::Kind::kMergeAcks;
      return decode_acks(a[1], &m);
    }
    if (a.size != 13 && a.size != 14 && a.size != 16 && a.size != 18 && a.size != 19) {
      return codec::bad("peer message: wrong field count");
    }
    if (kind < 1 || kind > static_cast<uint64_t>(core::Message::kLastKind)) {
      return codec::bad("peer message: unknown kind");
    }
    m.kind = static_cast<core::Message::Kind>(kind);
    SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &m.req_id));
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[2], &m.bucket));
    SHOAL_RETURN_IF_ERROR(codec::bytes(a[3], &m.key));
    SHOAL_RETURN_IF_ERROR(decode_status(a[4], a[5], &m.status));
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
    if (a.size >= 14) {
      const bool merge = m.kind == core::Message::Kind::kMerge;
      SHOAL_RETURN_IF_ERROR(codec::boolean(a[13], merge ? &m.acks_batched : &m.duplicate));
    }
    if (a.size >= 16) {
      SHOAL_RETURN_IF_ERROR(codec::u64(a[14], &m.base));
      SHOAL_RETURN_IF_ERROR(codec::boolean(a[15], &m.full));
    }
    if (a.size >= 18) {
      core::SetPage page;
      if (a[16].type != msgpack::type::NIL) {
        page.after.emplace();
        SHOAL_RETURN_IF_ERROR(codec::bytes(a[16], &*page.after));
      }
      uint64_t count = 0;
      SHOAL_RETURN_IF_ERROR(codec::u64(a[17], &count));
      if (count < 1 || count > core::kMaxPageMembers) return codec::bad("peer message: page count");
      page.count = static_cast<uint32_t>(count);
      if (a.size == 19) {
        page.until.emplace();
        SHOAL_RETURN_IF_ERROR(codec::bytes(a[18], &*page.until));
      }
      m.page = std::move(page);
    }
    return Status::ok();
  });
  if (!s.is_ok()) return Status::corruption("peer message: " + s.message());
  return Status::ok();
}

}  // namespace shoal::api
