// ObjectCache: LRU order, byte bound, replacement, and that oversized objects bypass it;
// FifoMap, the bounded memory of recent mints.
#include "node/core/object_cache.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "node/core/fifo_map.h"

namespace shoal::core {
namespace {

constexpr size_t kOverhead = ObjectCache::kEntryOverheadBytes;

std::shared_ptr<Object> counter(int64_t v) {
  crdt::PNCounter c;
  return std::make_shared<Object>(*c.add(1, v));
}

int64_t value(const ObjectPtr& o) { return o->as<crdt::PNCounter>()->read(); }

TEST_CASE("the object cache evicts the least recently used beyond its byte bound", "[cache]") {
  // Each entry costs 100 + key + kOverhead bytes: room for three.
  ObjectCache cache(3 * (100 + 1 + kOverhead));
  cache.put("a", counter(1), 100);
  cache.put("b", counter(2), 100);
  cache.put("c", counter(3), 100);
  REQUIRE(cache.find("a") != nullptr);  // a is now the most recent
  cache.put("d", counter(4), 100);      // evicts b
  CHECK(cache.find("b") == nullptr);
  CHECK(value(cache.find("a")) == 1);
  CHECK(value(cache.find("c")) == 3);
  CHECK(value(cache.find("d")) == 4);
  CHECK(cache.entries() == 3);
  CHECK(cache.bytes() <= 3 * (100 + 1 + kOverhead));
}

TEST_CASE("the object cache replaces entries and erases them", "[cache]") {
  ObjectCache cache(10'000);
  CHECK_FALSE(cache.put("k", counter(1), 50));  // each answers whether "k" was cached
  CHECK(cache.put("k", counter(7), 80));
  CHECK(cache.entries() == 1);
  CHECK(value(cache.find("k")) == 7);
  CHECK(cache.bytes() == 80 + 1 + kOverhead);
  CHECK(cache.erase("k"));
  CHECK_FALSE(cache.erase("k"));
  CHECK(cache.find("k") == nullptr);
  CHECK(cache.bytes() == 0);
  CHECK(cache.hits() == 1);
  CHECK(cache.misses() == 1);
}

// Keys up to 48 bytes live in the entry, longer ones on the heap; entries move when
// others are erased (the last takes the hole), and each keeps its own key.
TEST_CASE("the object cache keeps short and long keys apart as entries move", "[cache]") {
  ObjectCache cache(1 << 20);
  std::vector<std::string> keys;
  for (const size_t n : std::vector<size_t>{1, 15, 16, 47, 48, 49, 64, 300}) {
    keys.push_back(std::string(n, 'k'));
    keys.push_back(std::string(n - 1, 'k') + "x");  // same length, last byte differs
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    cache.put(keys[i], counter(static_cast<int64_t>(i)), 10);
  }
  for (size_t i = 0; i < keys.size(); i += 3) cache.erase(keys[i]);
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO(keys[i].size() << " " << keys[i].back());
    const ObjectPtr o = cache.find(keys[i]);
    if (i % 3 == 0) {
      CHECK(o == nullptr);
    } else {
      REQUIRE(o != nullptr);
      CHECK(value(o) == static_cast<int64_t>(i));
      CHECK(cache.contains(keys[i]));
    }
  }
  CHECK(cache.find(std::string(49, 'k').substr(0, 48) + "y") == nullptr);
}

TEST_CASE("an object larger than the cache is not cached", "[cache]") {
  ObjectCache cache(1'000);
  cache.put("small", counter(1), 10);
  cache.put("huge", counter(2), 5'000);
  CHECK(cache.find("huge") == nullptr);
  CHECK(cache.find("small") != nullptr);
  ObjectCache off(0);
  off.put("k", counter(1), 1);
  CHECK(off.find("k") == nullptr);
}

}  // namespace
}  // namespace shoal::core

namespace shoal::core {
namespace {

TEST_CASE("keys that share a hash slot never read each other's objects", "[cache]") {
  const std::string prefix = std::string("d") + std::string(8, '\x42');
  const std::string a = prefix + "bucket-a", b = prefix + "bucket-b";
  ObjectCache cache(100'000);
  cache.put(a, counter(1), 10);
  cache.put(b, counter(2), 10);  // same slot: evicts a
  CHECK(cache.find(a) == nullptr);
  CHECK(value(cache.find(b)) == 2);
  CHECK(cache.entries() == 1);
  cache.erase(a);  // not the key in the slot: b stays
  CHECK(value(cache.find(b)) == 2);
  cache.erase(b);
  CHECK(cache.entries() == 0);
  CHECK(cache.bytes() == 0);
}

}  // namespace
}  // namespace shoal::core

namespace shoal::core {
namespace {

TEST_CASE("the object cache's index agrees with a map through random puts and erases", "[cache]") {
  // Large enough that nothing is evicted: the cache must then hold exactly what the
  // twin holds (keys of a few characters: FNV slots, no shared slots among them).
  ObjectCache cache(1u << 30);
  std::map<std::string, int64_t> twin;
  uint64_t x = 88172645463325252ULL;
  auto next = [&x] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17; };
  for (int step = 0; step < 50'000; ++step) {
    const std::string key = "k" + std::to_string(next() % 3000);
    const uint64_t what = next() % 4;
    if (what == 0) {
      cache.erase(key);
      twin.erase(key);
    } else if (what == 1) {
      const auto v = static_cast<int64_t>(next() % 1000) + 1;
      cache.put(key, counter(v), 10);
      twin[key] = v;
    } else {
      ObjectPtr got = cache.find(key);
      auto it = twin.find(key);
      REQUIRE((got != nullptr) == (it != twin.end()));
      if (got) REQUIRE(value(got) == it->second);
    }
  }
  CHECK(cache.entries() == twin.size());
  for (const auto& [k, v] : twin) REQUIRE(value(cache.find(k)) == v);
}

TEST_CASE("a key written again stays, and a put never evicts what it put", "[cache]") {
  const size_t room = 3 * (100 + 1 + kOverhead);
  ObjectCache cache(room);
  cache.put("a", counter(1), 100);
  cache.put("b", counter(2), 100);
  cache.put("c", counter(3), 100);
  for (const char* k : {"a", "b", "c"}) REQUIRE(cache.find(k) != nullptr);
  cache.put("c", counter(7), 100);  // a write of c: found, changed, put back
  cache.put("d", counter(4), 100);  // every entry used: the hand goes round, takes a
  CHECK(cache.find("a") == nullptr);
  CHECK(value(cache.find("c")) == 7);  // the key just written is not the one evicted
  CHECK(value(cache.find("d")) == 4);  // nor the one just put
  CHECK(cache.entries() == 3);
  CHECK(cache.bytes() <= room);
}

TEST_CASE("the object cache stays within its bound and keeps what is used", "[cache]") {
  ObjectCache cache(100 * (10 + 4 + kOverhead));
  for (int i = 0; i < 10'000; ++i) {
    cache.put("k" + std::to_string(i % 997), counter(i + 1), 10);
    ObjectPtr hot = cache.find("hot");
    REQUIRE((hot == nullptr || value(hot) == 42));
    if (i == 50) cache.put("hot", counter(42), 10);
    REQUIRE(cache.bytes() <= 100 * (10 + 4 + kOverhead));
  }
  // Found on every put, "hot" always had its second chance.
  REQUIRE(cache.find("hot") != nullptr);
  CHECK(cache.entries() <= 100);
}

TEST_CASE("a FifoMap forgets its oldest insert beyond its capacity", "[fifo_map]") {
  FifoMap<int, std::string> m(3);
  for (int i = 1; i <= 3; ++i) m.insert(i, "v" + std::to_string(i));
  m.insert(2, "again");  // present: kept as it was, and as old as it was
  CHECK(*m.find(2) == "v2");
  m.insert(4, "v4");
  CHECK(m.find(1) == nullptr);  // the oldest went
  CHECK(*m.find(4) == "v4");
  m.insert(5, "v5");
  CHECK(m.find(2) == nullptr);
  CHECK(m.size() == 3);
}

}  // namespace
}  // namespace shoal::core
