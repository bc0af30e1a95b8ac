// Codec round-trips, and 100,000 hostile inputs per decoder (run under ASan/UBSan by the
// test command): every decode returns, never throws or crashes, and anything accepted
// is a well-formed value that re-encodes and decodes to itself.
#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include "crdt/coding.h"
#include "crdt/prng.h"
#include "crdt/status.h"
#include "crdt_gen.h"

namespace shoal::crdt {
namespace {

using testing::random_history;

constexpr int kFuzzInputs = 100'000;

template <typename T>
std::vector<std::string> valid_encodings() {
  std::vector<std::string> out;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    auto h = random_history<T>(seed, 3, 30);
    for (const T& s : h.pool) out.push_back(s.encode());
  }
  return out;
}

template <>
std::vector<std::string> valid_encodings<DotContext>() {
  std::vector<std::string> out;
  for (const auto& s : random_history<ORSet>(5, 3, 60).pool) out.push_back(s.context().encode());
  return out;
}
template <>
std::vector<std::string> valid_encodings<VersionVector>() {
  std::vector<std::string> out;
  for (const auto& s : random_history<DvvSet>(6, 3, 60).pool) {
    out.push_back(s.context().vv().encode());
  }
  return out;
}
template <>
std::vector<std::string> valid_encodings<Dot>() {
  return {Dot{1, 1}.encode(), Dot{~0ULL, 77}.encode(), Dot{42, 1ULL << 40}.encode()};
}

std::string mutate_bytes(Prng& rng, std::string s) {
  const int edits = 1 + static_cast<int>(rng.below(4));
  for (int e = 0; e < edits; ++e) {
    switch (rng.below(5)) {
      case 0:  // truncate
        s.resize(rng.below(s.size() + 1));
        break;
      case 1:  // flip a byte
        if (!s.empty()) s[rng.below(s.size())] = static_cast<char>(rng.next());
        break;
      case 2:  // insert a byte
        s.insert(s.begin() + static_cast<ptrdiff_t>(rng.below(s.size() + 1)),
                 static_cast<char>(rng.next()));
        break;
      case 3:  // delete a byte
        if (!s.empty()) s.erase(s.begin() + static_cast<ptrdiff_t>(rng.below(s.size())));
        break;
      default:  // a msgpack header that claims a huge container
        s.insert(rng.below(s.size() + 1), std::string("\xdd\x7f\xff\xff\xff", 5));
    }
  }
  return s;
}

std::string random_bytes(Prng& rng) {
  std::string s(rng.below(64), '\0');
  for (char& c : s) c = static_cast<char>(rng.next());
  return s;
}

template <typename T>
void fuzz_decoder(uint64_t seed) {
  const auto valid = valid_encodings<T>();
  REQUIRE_FALSE(valid.empty());
  Prng rng(seed);
  int rejected = 0;
  for (int i = 0; i < kFuzzInputs; ++i) {
    const bool pure_random = i % 4 == 0;
    const std::string input =
        pure_random ? random_bytes(rng) : mutate_bytes(rng, valid[rng.below(valid.size())]);
    Result<T> r = T::decode(input);
    if (!r.is_ok()) {
      ++rejected;
      REQUIRE(r.status().code() == Code::kCorruption);
      continue;
    }
    INFO("seed " << seed << " input " << i);
    REQUIRE_FALSE(pure_random);  // random bytes are never a valid value
    Result<T> again = T::decode(r->encode());
    REQUIRE(again.is_ok());
    REQUIRE(*again == *r);
  }
  REQUIRE(rejected > kFuzzInputs / 2);
}

template <typename T>
void round_trip() {
  for (const std::string& bytes : valid_encodings<T>()) {
    Result<T> r = T::decode(bytes);
    REQUIRE(r.is_ok());
    REQUIRE(r->encode() == bytes);
  }
}

TEMPLATE_TEST_CASE("codec round-trips", "[codec]", Dot, VersionVector, DotContext, GCounter,
                   PNCounter, LWWRegister, ORSet, DvvSet) {
  round_trip<TestType>();
}

TEMPLATE_TEST_CASE("decoders survive 100k random and mutated inputs", "[codec][fuzz]", Dot,
                   VersionVector, DotContext, GCounter, PNCounter, LWWRegister, ORSet, DvvSet) {
  fuzz_decoder<TestType>(20261121);
}

TEST_CASE("decoders reject the wrong type and trailing bytes", "[codec]") {
  ORSet s;
  s.add(1, "x");
  const std::string bytes = s.encode();
  REQUIRE(DvvSet::decode(bytes).status().code() == Code::kCorruption);
  REQUIRE(PNCounter::decode(bytes).status().code() == Code::kCorruption);
  REQUIRE(ORSet::decode(bytes + "x").status().code() == Code::kCorruption);
  REQUIRE(ORSet::decode("").status().code() == Code::kCorruption);
}

TEST_CASE("decoders reject values that break invariants", "[codec]") {
  // A dot cloud that is not compacted: [3, [2, [1, 1]], [1, 2]] -> dot (1,2) follows vv 1.
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(3);
  pk.pack(3);
  pk.pack_array(2);
  pk.pack(2);
  pk.pack_array(2);
  pk.pack(1);
  pk.pack(1);
  pk.pack_array(2);
  pk.pack(1);
  pk.pack(2);
  auto r = DotContext::decode(std::string_view(buf.data(), buf.size()));
  REQUIRE_FALSE(r.is_ok());
  REQUIRE(r.status().message().find("compact") != std::string::npos);
}

TEST_CASE("status codes have stable wire names", "[status]") {
  REQUIRE(code_name(Code::kTypeMismatch) == "type_mismatch");
  REQUIRE(code_from_name("too_large") == Code::kTooLarge);
  REQUIRE_FALSE(code_from_name("nope").has_value());
  REQUIRE(Status::timeout("slow").to_string() == "timeout: slow");
}

}  // namespace
}  // namespace shoal::crdt

namespace shoal {
namespace {

TEST_CASE("big-endian fixed-width integers round-trip and sort by number", "[coding]") {
  Prng rng(7);
  std::string prev;
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 32,
                     ~uint64_t{0} - 1, ~uint64_t{0}}) {
    const std::string b = coding::be64(v);
    REQUIRE(b.size() == 8);
    CHECK(coding::get_be64(b) == v);
    CHECK(prev < b);  // byte order is numeric order: store keys sort by hash
    prev = b;
  }
  for (int i = 0; i < 1000; ++i) {
    const auto v = static_cast<uint32_t>(rng.next());
    std::string b;
    coding::put_be32(&b, v);
    CHECK(coding::get_be32(b) == v);
    std::string three;
    coding::put_be(&three, v, 3);
    CHECK(coding::get_be(three, 3) == (v & 0xffffff));
  }
  CHECK(coding::be64(0x0102030405060708) == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
}

}  // namespace
}  // namespace shoal
