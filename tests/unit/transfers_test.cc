// Transfers: done only once every destination acknowledged, forgotten on a refusal or
// at the deadline, and each store key in at most one transfer at a time.
#include "node/core/transfers.h"

#include <catch2/catch.hpp>

namespace shoal::core {
namespace {

Transfers::Transfer to(std::set<ring::NodeId> dests, std::string key, uint64_t deadline_ms) {
  Transfers::Transfer t;
  t.store_key = std::move(key);
  t.waiting = std::move(dests);
  t.deadline_ms = deadline_ms;
  return t;
}

TEST_CASE("a transfer is done when every destination acknowledged it", "[transfers]") {
  Transfers t(16);
  t.start(1, to({"n2", "n3"}, "d/k", 1'000));
  CHECK(t.carries("d/k"));
  CHECK_FALSE(t.answered(1, "n2", true));
  CHECK_FALSE(t.answered(1, "n2", true));  // a duplicated ack changes nothing
  std::optional<Transfers::Transfer> done = t.answered(1, "n3", true);
  REQUIRE(done);
  CHECK(done->store_key == "d/k");
  CHECK(t.empty());
  CHECK_FALSE(t.carries("d/k"));
  CHECK_FALSE(t.answered(1, "n3", true));  // already done: unknown
}

TEST_CASE("a refusal or the deadline forgets a transfer, so it is sent again later",
          "[transfers]") {
  Transfers t(16);
  t.start(1, to({"n2"}, "a", 1'000));
  t.start(2, to({"n2"}, "b", 2'000));
  CHECK_FALSE(t.answered(1, "n2", false));
  CHECK_FALSE(t.carries("a"));
  t.expire(1'999);
  CHECK(t.carries("b"));
  t.expire(2'000);
  CHECK(t.empty());
  t.start(3, to({"n2"}, "b", 3'000));  // the key may travel again
  CHECK(t.size() == 1);
}

TEST_CASE("room counts down to the bound and up again as transfers finish", "[transfers]") {
  Transfers t(2);
  CHECK(t.room() == 2);
  t.start(1, to({"n2"}, "a", 1'000));
  t.start(2, to({"n2"}, "b", 1'000));
  CHECK(t.room() == 0);
  REQUIRE(t.answered(1, "n2", true));
  CHECK(t.room() == 1);
  t.expire(1'000);
  CHECK(t.room() == 2);
}

}  // namespace
}  // namespace shoal::core
