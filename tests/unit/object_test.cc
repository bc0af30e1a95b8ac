// The stored object envelope and the store key layout.
#include "node/core/object.h"

#include <catch2/catch.hpp>

#include "crdt/prng.h"
#include "node/core/keys.h"
#include "ring/ring.h"

namespace shoal::core {
namespace {

TEST_CASE("object: type is fixed and joining another type is a type_mismatch", "[core][object]") {
  Object counter(DataType::kCounter);
  Object set(DataType::kSet);
  const Object before = counter;
  Status s = counter.join(set);
  REQUIRE(s.code() == Code::kTypeMismatch);
  REQUIRE(s.message() == "key holds a set, not a counter");
  REQUIRE(counter == before);
  REQUIRE(counter.as<crdt::ORSet>() == nullptr);
  REQUIRE(counter.as<crdt::PNCounter>() != nullptr);
}

TEST_CASE("object: every type round-trips through its encoding", "[core][object]") {
  crdt::PNCounter c;
  REQUIRE(c.add(7, -5).is_ok());
  crdt::ORSet s;
  s.add(7, "x");
  crdt::DvvSet r;
  r.put(7, {}, "v");
  crdt::LWWRegister l;
  l.set(7, 10, "w");
  for (const Object& o : {Object(c), Object(s), Object(r), Object(l)}) {
    auto back = Object::decode(o.encode());
    REQUIRE(back.is_ok());
    REQUIRE(*back == o);
  }
  REQUIRE(Object::decode("\x93\x01\x09\x90").status().code() == Code::kCorruption);
  REQUIRE(Object::decode("").status().code() == Code::kCorruption);
}

TEST_CASE("object: data type names parse and print", "[core][object]") {
  for (DataType t : {DataType::kRegister, DataType::kCounter, DataType::kSet, DataType::kLww}) {
    REQUIRE(parse_type(type_name(t)).value() == t);
  }
  REQUIRE(parse_type("hash").status().code() == Code::kInvalidArgument);
}

TEST_CASE("keys: data keys round-trip and sort by key hash", "[core][keys]") {
  Prng rng(9);
  std::vector<std::pair<uint64_t, std::string>> keys;
  for (int i = 0; i < 1000; ++i) {
    const std::string bucket = "b" + std::to_string(rng.below(5));
    const std::string key(rng.below(20), static_cast<char>('a' + rng.below(26)));
    const uint64_t h = ring::key_hash(bucket, key);
    const std::string k = data_key(h, bucket, key);
    auto parsed = parse_data_key(k);
    REQUIRE(parsed.has_value());
    REQUIRE(*parsed == DataKey{h, bucket, key});
    keys.emplace_back(h, k);
  }
  std::sort(keys.begin(), keys.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  for (size_t i = 1; i < keys.size(); ++i) REQUIRE(keys[i - 1].first <= keys[i].first);
  REQUIRE(data_key_lower_bound(5) < data_key(5, "", ""));
  REQUIRE(data_key(4, "zz", "zz") < data_key_lower_bound(5));
  REQUIRE_FALSE(parse_data_key("d123").has_value());
  REQUIRE_FALSE(parse_data_key(meta_key("actor")).has_value());
  std::string bad = data_key(1, "bucket", "k");
  bad[12] = '\x7f';  // bucket length beyond the key
  REQUIRE_FALSE(parse_data_key(bad).has_value());
}

TEST_CASE("keys: an element row's prefix is told without parsing the row", "[core][keys]") {
  for (const std::string& key : {std::string("k"), std::string(300, 'x')}) {
    const std::string prefix = element_prefix(7, "bucket", key);
    CHECK(element_prefix_of(prefix + "member") == prefix);
    CHECK(element_prefix_of(prefix) == prefix);  // the empty member
    CHECK(element_prefix_of(data_key(7, "bucket", key)).empty());
    CHECK(element_prefix_of(op_row_key(op_prefix(7, "bucket", key), 3)).empty());
    CHECK(element_prefix_of(prefix.substr(0, prefix.size() - 1)).empty());  // cut short
    CHECK(element_prefix_of(prefix.substr(0, 15)).empty());
  }
  CHECK(element_prefix_of(meta_key("actor")).empty());
  CHECK(element_prefix_of("").empty());
  // Every cut of every kind of row, and a row with both flags, against the parse it
  // replaces (anti_entropy.cc before: the row less its parsed member).
  const std::string prefix = element_prefix(7, "bucket", "key");
  std::string both = prefix;
  both[9] = static_cast<char>(both[9] | 0x40);  // the op flag too
  for (const std::string& row : {prefix + "member", op_row_key(op_prefix(7, "bucket", "key"), 3),
                                 data_key(7, "bucket", "key"), both + "member"}) {
    for (size_t n = 0; n <= row.size(); ++n) {
      const std::string_view cut = std::string_view(row).substr(0, n);
      bool sub = false;
      std::string elem;
      const bool element = parse_data_row(cut, &sub, &elem) && sub && !is_op_row(cut);
      INFO(n);
      CHECK(element_prefix_of(cut) ==
            (element ? cut.substr(0, cut.size() - elem.size()) : std::string_view()));
    }
  }
}

TEST_CASE("keys: a data key buffer holds the key's bytes, inline or not", "[core][keys]") {
  const std::string expected =
      std::string("d\x01\x02\x03\x04\x05\x06\x07\x08\0\0\0\x02", 13) + "bk" + "key";
  CHECK(DataKeyBuffer(0x0102030405060708, "bk", "key").view() == expected);
  // Across the inline size (96 bytes: 13 of header, then bucket and key).
  for (size_t n = 0; n < 200; ++n) {
    INFO(n);
    const std::string key(n, static_cast<char>('a' + n % 26));
    const DataKeyBuffer k(n, "bucket", key);
    REQUIRE(k.view().size() == 13 + 6 + n);
    REQUIRE(parse_data_key(k) == DataKey{n, "bucket", key});
  }
}

}  // namespace
}  // namespace shoal::core
