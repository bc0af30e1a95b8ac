#include "crdt/codec.h"

#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <vector>

#include "crdt/msgpack_parse.h"

namespace shoal::crdt::codec {

Status unpack(std::string_view bytes, size_t max_depth,
              const std::function<Status(const Object&)>& fn) {
  // Zones are reused per thread and nesting level (decoders nest: a peer message holds
  // encoded objects): a fresh zone would malloc 8 KiB for every frame.
  thread_local std::vector<std::unique_ptr<msgpack::zone>> zones;
  thread_local size_t level = 0;
  if (zones.size() <= level) zones.push_back(std::make_unique<msgpack::zone>(1024));
  msgpack::zone& zone = *zones[level];
  struct Release {
    msgpack::zone& zone;
    size_t& level;
    ~Release() {
      --level;
      zone.clear();
    }
  } release{zone, ++level};

  try {
    msgpack::object o;
    SHOAL_RETURN_IF_ERROR(parse_msgpack(bytes, max_depth, zone, &o));
    return fn(o);
  } catch (const std::bad_alloc&) {
    return bad("msgpack object too large");
  } catch (const std::exception& e) {  // none known: msgpack-c's own conversions would
    return bad(std::string("malformed msgpack: ") + e.what());
  }
}

Status array(const Object& o, Array* out) {
  if (o.type != msgpack::type::ARRAY) return bad("expected an array");
  out->items = o.via.array.ptr;
  out->size = o.via.array.size;
  return Status::ok();
}

Status tagged(const Object& o, Tag tag, uint32_t fields, Array* out) {
  SHOAL_RETURN_IF_ERROR(array(o, out));
  if (out->size != fields + 1) return bad("wrong field count");
  uint64_t t = 0;
  SHOAL_RETURN_IF_ERROR(u64((*out)[0], &t));
  if (t != tag) return bad("wrong type tag");
  return Status::ok();
}

Status u64(const Object& o, uint64_t* out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) return bad("expected an unsigned integer");
  *out = o.via.u64;
  return Status::ok();
}

Status i64(const Object& o, int64_t* out) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    *out = o.via.i64;
    return Status::ok();
  }
  if (o.type == msgpack::type::POSITIVE_INTEGER &&
      o.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    *out = static_cast<int64_t>(o.via.u64);
    return Status::ok();
  }
  return bad("expected a signed 64-bit integer");
}

Status boolean(const Object& o, bool* out) {
  if (o.type != msgpack::type::BOOLEAN) return bad("expected a boolean");
  *out = o.via.boolean;
  return Status::ok();
}

Status bytes(const Object& o, std::string* out) {
  std::string_view view;
  SHOAL_RETURN_IF_ERROR(bytes(o, &view));
  out->assign(view);
  return Status::ok();
}

Status bytes(const Object& o, std::string_view* out) {
  if (o.type == msgpack::type::BIN) {
    *out = std::string_view(o.via.bin.ptr, o.via.bin.size);
  } else if (o.type == msgpack::type::STR) {
    *out = std::string_view(o.via.str.ptr, o.via.str.size);
  } else {
    return bad("expected bytes");
  }
  return Status::ok();
}

void pack_bytes(Packer& pk, std::string_view b) {
  pk.pack_bin(static_cast<uint32_t>(b.size()));
  pk.pack_bin_body(b.data(), static_cast<uint32_t>(b.size()));
}

void pack_bytes_array(Packer& pk, const std::vector<std::string>& items) {
  pk.pack_array(static_cast<uint32_t>(items.size()));
  for (const std::string& item : items) pack_bytes(pk, item);
}

}  // namespace shoal::crdt::codec
