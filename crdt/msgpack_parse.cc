#include "crdt/msgpack_parse.h"

#include <cstdint>
#include <cstring>

#include "crdt/assert.h"

namespace shoal::crdt::codec {

namespace {

namespace type = msgpack::type;

Status truncated() { return Status::corruption("truncated msgpack"); }

// A cursor over the input; every read checks what is left first.
class Parser {
 public:
  Parser(std::string_view bytes, size_t max_depth, msgpack::zone& zone)
      : at_(reinterpret_cast<const uint8_t*>(bytes.data())),
        end_(at_ + bytes.size()),
        max_depth_(max_depth),
        zone_(zone) {}

  Status object(msgpack::object* out, size_t depth);
  bool done() const { return at_ == end_; }

 private:
  size_t left() const { return static_cast<size_t>(end_ - at_); }
  // The next `width` bytes as a big-endian number. REQUIRES: left() >= width.
  uint64_t be(size_t width) {
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | at_[i];
    at_ += width;
    return v;
  }
  Status number(uint8_t lead, msgpack::object* out);
  Status span(uint8_t lead, msgpack::object* out);
  Status container(uint8_t lead, msgpack::object* out, size_t depth);
  Status elements(msgpack::object* items, uint64_t count, size_t depth);

  const uint8_t* at_;
  const uint8_t* end_;
  const size_t max_depth_;
  msgpack::zone& zone_;
  // Elements the open containers declared and have not started yet: each takes at least
  // a byte, so a container may declare at most left() - owed_ more. This bounds the tree
  // by the input (24 bytes per input byte) even for input refused in the end.
  uint64_t owed_ = 0;
};

static_assert(sizeof(size_t) == 8, "sizes below are summed in size_t without overflow checks");

// Integers and floats (lead 0xca..0xd3): the width follows from the lead byte.
Status Parser::number(uint8_t lead, msgpack::object* out) {
  static constexpr uint8_t kWidth[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8};
  const size_t width = kWidth[lead - 0xca];
  if (left() < width) return truncated();
  const uint64_t raw = be(width);
  if (lead == 0xca) {
    uint32_t bits = static_cast<uint32_t>(raw);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    out->type = type::FLOAT32;
    out->via.f64 = f;
  } else if (lead == 0xcb) {
    out->type = type::FLOAT64;
    std::memcpy(&out->via.f64, &raw, sizeof raw);
  } else if (lead <= 0xcf) {
    out->type = type::POSITIVE_INTEGER;
    out->via.u64 = raw;
  } else {
    // Sign-extend from `width` bytes; msgpack-c files a non-negative one as positive.
    const int shift = static_cast<int>(64 - 8 * width);
    const int64_t v = static_cast<int64_t>(raw << shift) >> shift;
    out->type = v < 0 ? type::NEGATIVE_INTEGER : type::POSITIVE_INTEGER;
    if (v < 0) {
      out->via.i64 = v;
    } else {
      out->via.u64 = static_cast<uint64_t>(v);
    }
  }
  return Status::ok();
}

// Strings, binaries and extensions (lead 0xc4..0xc9, 0xd4..0xdb): a view into the input.
Status Parser::span(uint8_t lead, msgpack::object* out) {
  size_t size_width = 0, size = 0;
  bool ext = false;
  if (lead >= 0xd4 && lead <= 0xd8) {  // fixext 1, 2, 4, 8, 16: a type byte and the data
    size = size_t{1} << (lead - 0xd4);
    ext = true;
  } else if (lead >= 0xd9) {  // str 8, 16, 32
    size_width = size_t{1} << (lead - 0xd9);
  } else if (lead >= 0xc7) {  // ext 8, 16, 32
    size_width = size_t{1} << (lead - 0xc7);
    ext = true;
  } else {  // bin 8, 16, 32
    size_width = size_t{1} << (lead - 0xc4);
  }
  if (left() < size_width) return truncated();
  if (size_width != 0) size = be(size_width);
  const size_t total = size + (ext ? 1 : 0);  // an extension's type byte comes first
  if (left() < total) return truncated();
  const char* ptr = reinterpret_cast<const char*>(at_);
  at_ += total;
  const uint32_t size32 = static_cast<uint32_t>(size);
  if (ext) {
    out->type = type::EXT;
    out->via.ext = {size32, ptr};
  } else if (lead >= 0xd9) {
    out->type = type::STR;
    out->via.str = {size32, ptr};
  } else {
    out->type = type::BIN;
    out->via.bin = {size32, ptr};
  }
  return Status::ok();
}

Status Parser::elements(msgpack::object* items, uint64_t count, size_t depth) {
  for (uint64_t i = 0; i < count; ++i) {
    --owed_;
    SHOAL_RETURN_IF_ERROR(object(&items[i], depth));
  }
  return Status::ok();
}

// Arrays and maps (fix forms included). A map's pairs are laid out as key, value, ...,
// which is what msgpack::object_kv is.
Status Parser::container(uint8_t lead, msgpack::object* out, size_t depth) {
  const bool map = lead <= 0x8f || lead == 0xde || lead == 0xdf;
  uint64_t count = 0;
  if (lead <= 0x9f) {
    count = lead & 0x0f;
  } else {
    const size_t width = (lead == 0xdc || lead == 0xde) ? 2 : 4;
    if (left() < width) return truncated();
    count = be(width);
  }
  if (depth > max_depth_) return Status::corruption("malformed msgpack: nested too deep");
  const uint64_t objects = map ? 2 * count : count;
  if (objects + owed_ > left()) {  // every object takes at least one byte
    return Status::corruption(
        "truncated msgpack: a container declares more elements than "
        "the bytes left can hold");
  }
  owed_ += objects;
  msgpack::object* items = nullptr;
  if (count != 0) {
    items = static_cast<msgpack::object*>(zone_.allocate_align(
        objects * sizeof(msgpack::object), MSGPACK_ZONE_ALIGNOF(msgpack::object)));
  }
  static_assert(sizeof(msgpack::object_kv) == 2 * sizeof(msgpack::object));
  out->type = map ? type::MAP : type::ARRAY;
  if (map) {
    out->via.map = {static_cast<uint32_t>(count), reinterpret_cast<msgpack::object_kv*>(items)};
  } else {
    out->via.array = {static_cast<uint32_t>(count), items};
  }
  return elements(items, objects, depth + 1);
}

Status Parser::object(msgpack::object* out, size_t depth) {
  if (at_ == end_) return truncated();
  const uint8_t lead = *at_++;
  if (lead <= 0x7f || lead >= 0xe0) {  // positive and negative fixint
    out->type = lead <= 0x7f ? type::POSITIVE_INTEGER : type::NEGATIVE_INTEGER;
    if (lead <= 0x7f) {
      out->via.u64 = lead;
    } else {
      out->via.i64 = static_cast<int8_t>(lead);
    }
    return Status::ok();
  }
  if (lead <= 0x9f || lead == 0xdc || lead == 0xdd || lead == 0xde || lead == 0xdf) {
    return container(lead, out, depth);
  }
  if (lead <= 0xbf) {  // fixstr
    const size_t size = lead & 0x1f;
    if (left() < size) return truncated();
    out->type = type::STR;
    out->via.str = {static_cast<uint32_t>(size), reinterpret_cast<const char*>(at_)};
    at_ += size;
    return Status::ok();
  }
  switch (lead) {
    case 0xc0:
      out->type = type::NIL;
      return Status::ok();
    case 0xc1:
      return Status::corruption("malformed msgpack: byte 0xc1");
    case 0xc2:
    case 0xc3:
      out->type = type::BOOLEAN;
      out->via.boolean = lead == 0xc3;
      return Status::ok();
    default:
      break;
  }
  if (lead >= 0xca && lead <= 0xd3) return number(lead, out);
  return span(lead, out);  // 0xc4..0xc9, 0xd4..0xdb: what is left
}

}  // namespace

Status parse_msgpack(std::string_view bytes, size_t max_depth, msgpack::zone& zone,
                     msgpack::object* out) {
  SHOAL_ASSERT(max_depth >= 1);
  Parser parser(bytes, max_depth, zone);
  SHOAL_RETURN_IF_ERROR(parser.object(out, 1));
  if (!parser.done()) return Status::corruption("trailing bytes after msgpack object");
  return Status::ok();
}

}  // namespace shoal::crdt::codec
