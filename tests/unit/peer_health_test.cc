// PeerHealth: a peer is down when the shell cannot reach it or the failure detector
// convicts it; refresh() reports the moment it goes down exactly once; forget() keeps
// nothing of a peer that left.
#include "node/core/peer_health.h"

#include <catch2/catch.hpp>

namespace shoal::core {
namespace {

DetectorOptions one_second() {
  DetectorOptions d;
  d.bootstrap_interval_ms = 1000;
  d.max_interval_ms = 2000;
  return d;
}

TEST_CASE("an unreachable peer is down until reachable again, reported down once",
          "[peer_health]") {
  PeerHealth h(one_second());
  h.watch("n2", 0);
  CHECK_FALSE(h.refresh("n2", 0));
  CHECK_FALSE(h.is_down("n2"));
  h.set_reachable("n2", false);
  CHECK_FALSE(h.is_down("n2"));  // only refresh() derives the state
  CHECK(h.refresh("n2", 1));
  CHECK(h.is_down("n2"));
  CHECK_FALSE(h.refresh("n2", 2));  // already down: not reported again
  CHECK(h.down().count("n2") == 1);
  h.set_reachable("n2", true);
  CHECK_FALSE(h.refresh("n2", 3));
  CHECK_FALSE(h.is_down("n2"));
}

TEST_CASE("a silent peer is convicted by phi and acquitted by its next heartbeat",
          "[peer_health]") {
  PeerHealth h(one_second());
  uint64_t t = 0;
  for (int i = 0; i < 10; ++i, t += 1000) h.heartbeat("n2", t);
  CHECK_FALSE(h.refresh("n2", t));
  // phi 8 after 8 / log10(e) = 18.4 mean intervals of silence
  CHECK_FALSE(h.refresh("n2", t + 15'000));
  CHECK(h.refresh("n2", t + 20'000));
  CHECK(h.convicted("n2"));
  CHECK(h.phi("n2", t + 20'000) >= 8.0);
  h.heartbeat("n2", t + 21'000);  // acquitted at once, not at the next refresh
  CHECK_FALSE(h.convicted("n2"));
  CHECK_FALSE(h.is_down("n2"));
}

TEST_CASE("a convicted peer that is also unreachable stays down after a heartbeat",
          "[peer_health]") {
  PeerHealth h(one_second());
  h.watch("n2", 0);
  h.set_reachable("n2", false);
  CHECK(h.refresh("n2", 30'000));
  h.heartbeat("n2", 30'001);
  CHECK_FALSE(h.convicted("n2"));
  CHECK(h.is_down("n2"));  // the shell still has no connection
}

TEST_CASE("forget drops every trace of a peer, and watch does not restart a known clock",
          "[peer_health]") {
  PeerHealth h(one_second());
  h.watch("n2", 0);
  h.watch("n2", 25'000);  // known: its silence still counts from 0
  CHECK(h.refresh("n2", 25'000));
  h.set_reachable("n2", false);
  h.forget("n2");
  CHECK_FALSE(h.is_down("n2"));
  CHECK(h.down().empty());
  CHECK(h.phi("n2", 50'000) == 0.0);  // never heard of
  CHECK_FALSE(h.refresh("n2", 50'000));
}

}  // namespace
}  // namespace shoal::core
