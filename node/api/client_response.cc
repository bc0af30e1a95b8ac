#include "node/api/client_response.h"

#include <limits>

#include "node/api/msgpack_fields.h"

namespace shoal::api {

namespace codec = crdt::codec;
using wire::field_bool;
using wire::field_bytes;
using wire::field_string_list;
using wire::field_u64;
using wire::for_each_field;
using wire::invalid;
using wire::MsgObject;
using wire::pack_str;
using wire::Packer;
using wire::unpack_payload;

namespace {

// msgpack-c's pack_double packs a whole number as an integer, and 2^64 itself it first
// converts to uint64_t, out of range (undefined behaviour: fuzz_client_response found it
// in a `phi` read from an integer of 2^64 - 211). 2^64 goes as the largest uint64, which
// field_double reads back as the same double.
void pack_number(Packer& pk, double d) {
  if (d == 0x1p64) {
    pk.pack_uint64(std::numeric_limits<uint64_t>::max());
    return;
  }
  pk.pack_double(d);
}

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
  pack_number(pk, m.phi);
  pack_str(pk, "own");
  pack_number(pk, m.ownership);
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
  // msgpack-c packs a double holding a whole number as an integer, negative ones too.
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    *out = static_cast<double>(o.via.i64);
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

// The fields of ping and the admin answers, after the data fields (the order on the wire).
void pack_node_fields(Packer& pk, const Response& r) {
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
}

}  // namespace

std::string encode_response(const Response& r) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  const bool ok = r.status.is_ok();
  uint32_t fields = 2u + !ok + r.type.has_value() + r.context.has_value() + !r.node.empty() * 2u +
                    !r.members.empty() + !r.stats.empty() + r.chaos.has_value() + r.duplicate +
                    r.next.has_value() + r.added.has_value() + r.removed.has_value();
  const bool has_values =
      r.type && (*r.type == core::DataType::kRegister || *r.type == core::DataType::kLww);
  const bool has_counter = r.type && *r.type == core::DataType::kCounter;
  const bool has_elements = r.type && *r.type == core::DataType::kSet;
  fields += static_cast<uint32_t>(has_values + has_counter + has_elements);
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
  if (r.added) {
    pack_str(pk, "added");
    pk.pack_uint32(*r.added);
  }
  if (r.removed) {
    pack_str(pk, "removed");
    pk.pack_uint32(*r.removed);
  }
  if (r.type) {
    pack_str(pk, "type");
    pack_str(pk, core::type_name(*r.type));
  }
  if (has_values) {
    pack_str(pk, "values");
    codec::pack_bytes_array(pk, r.values);
  }
  if (has_counter) {
    pack_str(pk, "value");
    pk.pack_int64(r.counter);
  }
  if (has_elements) {
    pack_str(pk, "elems");
    codec::pack_bytes_array(pk, r.elements);
  }
  if (r.context) {
    pack_str(pk, "ctx");
    codec::pack_bytes(pk, *r.context);
  }
  if (r.next) {
    pack_str(pk, "next");
    codec::pack_bytes(pk, *r.next);
  }
  pack_node_fields(pk, r);
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
      if (k == "added" || k == "removed") {
        uint64_t n = 0;
        SHOAL_RETURN_IF_ERROR(field_u64(v, k, &n));
        if (n > UINT32_MAX) return invalid(k, "out of range");
        (k == "added" ? r.added : r.removed) = static_cast<uint32_t>(n);
        return Status::ok();
      }
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
      if (k == "next") {
        r.next.emplace();
        return field_bytes(v, k, &*r.next);
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

}  // namespace shoal::api
