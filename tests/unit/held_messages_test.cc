// HeldMessages: a delayed message is released once, by its timer; beyond the bound
// nothing more is held. Periodic: due at once, then once per interval.
#include "node/core/held_messages.h"

#include <catch2/catch.hpp>

#include "node/core/periodic.h"

namespace shoal::core {
namespace {

TEST_CASE("a held message is released once, by its own timer", "[held_messages]") {
  HeldMessages held(2);
  CHECK(held.hold(10, "n2", Message::make(Message::Kind::kHeartbeat)));
  CHECK(held.hold(11, "n3", Message::make(Message::Kind::kGossipSyn)));
  CHECK_FALSE(held.hold(12, "n2", Message::make(Message::Kind::kHeartbeat)));  // full
  CHECK(held.size() == 2);
  CHECK_FALSE(held.release(12));
  auto m = held.release(11);
  REQUIRE(m);
  CHECK(m->first == "n3");
  CHECK(m->second.kind == Message::Kind::kGossipSyn);
  CHECK_FALSE(held.release(11));
  CHECK(held.hold(12, "n2", Message::make(Message::Kind::kHeartbeat)));  // room again
}

TEST_CASE("a periodic duty is due at once, then once per interval", "[periodic]") {
  Periodic p;
  CHECK(p.due(5, 1000));
  CHECK_FALSE(p.due(1004, 1000));
  CHECK(p.due(1005, 1000));
  CHECK_FALSE(p.due(1006, 1000));
  CHECK(p.due(9000, 1000));  // a late run does not owe the missed ones
  CHECK_FALSE(p.due(9999, 1000));
}

}  // namespace
}  // namespace shoal::core
