// crdt/msgpack_parse.h: the same tree as msgpack-c's unpacker for every input, or a
// refusal where it refuses (tests/msgpack_twin.h), and the documented errors.
#include "crdt/msgpack_parse.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/msgpack_twin.h"

namespace shoal::crdt::codec {
namespace {

using testing::msgpack_twin_diff;
using testing::MsgpackGen;

constexpr size_t kDepth = 8;

Status parse(std::string_view bytes) {
  msgpack::zone zone;
  msgpack::object o;
  return parse_msgpack(bytes, kDepth, zone, &o);
}

TEST_CASE("random encodings parse as msgpack-c parses them", "[msgpack]") {
  MsgpackGen gen(20261207);
  size_t accepted = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string bytes = gen.next(10);  // past kDepth now and then
    INFO("input " << i);
    REQUIRE(msgpack_twin_diff(bytes, kDepth) == "");
    // The nesting limits callers use (2 to 11), each on a share of the inputs.
    REQUIRE(msgpack_twin_diff(bytes, 2 + static_cast<size_t>(i) % 10) == "");
    accepted += parse(bytes).is_ok();
  }
  // Most are well formed; the rest hold 0xc1 or nest too deep.
  CHECK(accepted > 10'000);
  CHECK(accepted < 20'000);
}

TEST_CASE("mutated encodings: both refuse, or both give the same tree", "[msgpack]") {
  MsgpackGen gen(7);
  Prng rng(11);
  for (int i = 0; i < 20'000; ++i) {
    std::string bytes = gen.next(4);
    INFO("input " << i);
    REQUIRE(msgpack_twin_diff(bytes.substr(0, rng.below(bytes.size() + 1)), kDepth) == "");
    REQUIRE(msgpack_twin_diff(bytes + static_cast<char>(rng.below(256)), kDepth) == "");
    for (int flips = 0; flips < 3; ++flips) {
      bytes[rng.below(bytes.size())] = static_cast<char>(rng.below(256));
    }
    REQUIRE(msgpack_twin_diff(bytes, kDepth) == "");
  }
}

TEST_CASE("every prefix of an encoding is truncated", "[msgpack]") {
  MsgpackGen gen(3);
  for (int i = 0; i < 500; ++i) {
    const std::string bytes = gen.next(3);
    if (!parse(bytes).is_ok()) continue;
    for (size_t n = 0; n < bytes.size(); ++n) {
      INFO("input " << i << " cut at " << n);
      REQUIRE(parse(bytes.substr(0, n)).message().rfind("truncated msgpack", 0) == 0);
    }
  }
}

TEST_CASE("containers declare no more elements than the input can hold", "[msgpack]") {
  // Eight array32 headers, each declaring as many elements as bytes are left: without
  // counting what the outer ones still owe, each level would allocate ~24 bytes per input
  // byte before running out.
  std::string nested;
  for (int level = 0; level < 8; ++level) nested += std::string("\xdd\0\0\0\0", 5);
  nested += std::string(1000, '\x01');
  for (size_t level = 0; level < 8; ++level) {
    const uint64_t left = nested.size() - 5 * (level + 1);
    for (size_t b = 0; b < 4; ++b) {
      nested[5 * level + 1 + b] = static_cast<char>(left >> (24 - 8 * b));
    }
  }
  // Refused at the second header, not after reading every byte.
  CHECK(parse(nested).message() ==
        "truncated msgpack: a container declares more elements than the bytes left can hold");
  // One level may declare all that is left: [1, 1, ...] parses.
  const std::string flat = std::string("\xdd\0\0\x03\xe8", 5) + std::string(1000, '\x01');
  CHECK(parse(flat).is_ok());
  CHECK(parse(flat.substr(0, flat.size() - 1)).message().rfind("truncated msgpack: ", 0) == 0);
}

TEST_CASE("the documented errors", "[msgpack]") {
  CHECK(parse("").message() == "truncated msgpack");
  CHECK(parse("\x01\x02").message() == "trailing bytes after msgpack object");
  CHECK(parse("\xc1").message() == "malformed msgpack: byte 0xc1");
  // An array claiming more elements than there are bytes left allocates nothing.
  CHECK(
      parse(std::string("\xdd\xff\xff\xff\xff\x00", 6)).message().rfind("truncated msgpack: ", 0) ==
      0);
  std::string nested(kDepth, '\x91');
  CHECK(parse(nested + '\x01').is_ok());
  CHECK(parse('\x91' + nested + '\x01').message() == "malformed msgpack: nested too deep");
  CHECK(parse(std::string(kDepth, '\x81') + "\x01\x02" + std::string(kDepth - 1, '\x03')).is_ok());
}

TEST_CASE("strings point into the input, and values keep their type", "[msgpack]") {
  static constexpr char kBytes[] =
      "\x93\xa3"
      "abc\xd0\x05\xcb\x3f\xf8\0\0\0\0\0\0";
  const std::string bytes(kBytes, sizeof kBytes - 1);
  msgpack::zone zone;
  msgpack::object o;
  REQUIRE(parse_msgpack(bytes, kDepth, zone, &o).is_ok());
  REQUIRE(o.type == msgpack::type::ARRAY);
  REQUIRE(o.via.array.size == 3);
  CHECK(o.via.array.ptr[0].via.str.ptr == bytes.data() + 2);
  CHECK(o.via.array.ptr[1].type == msgpack::type::POSITIVE_INTEGER);  // int8 5, as msgpack-c
  CHECK(o.via.array.ptr[1].via.u64 == 5);
  CHECK(o.via.array.ptr[2].type == msgpack::type::FLOAT64);
  CHECK(o.via.array.ptr[2].via.f64 == 1.5);
}

}  // namespace
}  // namespace shoal::crdt::codec
