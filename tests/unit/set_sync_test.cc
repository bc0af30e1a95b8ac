// SetSyncs (node/core/set_sync.h): at most kMaxInFlight syncs, one per (peer, key); a sync
// that moved on waits for its turn (due()) before it asks its next page; one waiting
// kTimeoutMs, asked or not, is dropped.
#include "node/core/set_sync.h"

#include <catch2/catch.hpp>

namespace shoal::core {
namespace {

TEST_CASE("set syncs: one per peer and key, at most kMaxInFlight", "[set_sync]") {
  SetSyncs s;
  CHECK(s.start(1, "n2", "b", "k", 0));
  CHECK_FALSE(s.start(2, "n2", "b", "k", 0));  // the same key with the same peer
  CHECK(s.start(3, "n3", "b", "k", 0));
  CHECK(s.start(4, "n2", "b", "k2", 0));
  CHECK(s.start(5, "n2", "c", "k", 0));
  CHECK(s.size() == SetSyncs::kMaxInFlight);
  CHECK_FALSE(s.start(6, "n4", "b", "x", 0));
  s.finish(5);
  CHECK(s.start(6, "n4", "b", "x", 0));
}

TEST_CASE("set syncs: a sync that moved on asks its next page only on its turn", "[set_sync]") {
  SetSyncs s;
  REQUIRE(s.start(1, "n2", "b", "k", 0));
  CHECK(s.due().empty());  // the spans are asked at the start
  s.read_regions(1, {SpanRegion{std::nullopt, std::nullopt}}, 5);  // and the first page then
  CHECK(s.due().empty());
  s.advance(1, 2, "m100", 10);
  CHECK(s.find(1) == nullptr);
  REQUIRE(s.find(2) != nullptr);
  CHECK(s.find(2)->after == "m100");
  CHECK(s.find(2)->pages == 1);
  CHECK(s.due() == std::vector<uint64_t>{2});
  s.asked(2, 20);
  CHECK(s.due().empty());
  CHECK(s.find(2)->sent_ms == 20);
}

TEST_CASE("set syncs: one waiting kTimeoutMs is dropped, asked or not", "[set_sync]") {
  SetSyncs s;
  REQUIRE(s.start(1, "n2", "b", "k", 0));
  REQUIRE(s.start(2, "n3", "b", "k", 0));
  s.read_regions(2, {SpanRegion{std::nullopt, std::nullopt}}, 0);
  s.advance(2, 3, "m1", 1'000);  // waits for its turn from 1,000
  CHECK(s.expire(SetSyncs::kTimeoutMs - 1) == 0);
  CHECK(s.expire(SetSyncs::kTimeoutMs) == 1);  // the page asked at 0
  CHECK(s.find(1) == nullptr);
  CHECK(s.expire(SetSyncs::kTimeoutMs + 1'000) == 1);
  CHECK(s.size() == 0);
}

TEST_CASE("set syncs: a sync reads its regions in order, each from its start to its end",
          "[set_sync]") {
  SetSyncs s;
  REQUIRE(s.start(1, "n2", "b", "k", 0));
  s.read_regions(
      1, {SpanRegion{std::nullopt, "c"}, SpanRegion{"f", "h"}, SpanRegion{"p", std::nullopt}}, 0);
  CHECK_FALSE(s.find(1)->spans);
  CHECK(s.find(1)->after == std::nullopt);
  CHECK(s.find(1)->until == "c");
  s.advance(1, 2, "b", 1);  // a full page within the region
  CHECK(s.find(2)->until == "c");
  s.asked(2, 2);
  REQUIRE(s.next_region(2, 3, 3));
  CHECK(s.find(3)->after == "f");
  CHECK(s.find(3)->until == "h");
  CHECK(s.due() == std::vector<uint64_t>{3});
  s.asked(3, 4);
  REQUIRE(s.next_region(3, 4, 5));
  CHECK(s.find(4)->after == "p");
  CHECK(s.find(4)->until == std::nullopt);
  s.asked(4, 6);
  CHECK_FALSE(s.next_region(4, 5, 7));  // the last: the caller closes the sync
  CHECK(s.find(4) != nullptr);
  CHECK(s.find(4)->pages == 3);
}

}  // namespace
}  // namespace shoal::core
