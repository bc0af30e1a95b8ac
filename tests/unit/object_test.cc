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

}  // namespace
}  // namespace shoal::core
