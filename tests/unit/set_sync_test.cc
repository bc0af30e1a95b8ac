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
  CHECK(s.due().empty());  // the first page is asked at the start
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
  s.advance(2, 3, "m1", 1'000);  // waits for its turn from 1,000
  CHECK(s.expire(SetSyncs::kTimeoutMs - 1) == 0);
  CHECK(s.expire(SetSyncs::kTimeoutMs) == 1);  // the page asked at 0
  CHECK(s.find(1) == nullptr);
  CHECK(s.expire(SetSyncs::kTimeoutMs + 1'000) == 1);
  CHECK(s.size() == 0);
}

}  // namespace
}  // namespace shoal::core
