#include "node/api/options_codec.h"

namespace shoal::api::wire {

namespace codec = crdt::codec;

namespace {

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

}  // namespace

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

}  // namespace shoal::api::wire
