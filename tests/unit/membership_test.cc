// Membership tables: merging gossip is a join (commutative, associative, idempotent, so
// every node that saw the same states holds the same table), the push-pull exchange
// converges two tables, and the gossip codec round-trips and rejects garbage.
#include "node/core/membership.h"

#include <catch2/catch.hpp>

#include "crdt/prng.h"

namespace shoal::core {
namespace {

// A node never publishes two different states under one (generation, version): the
// content here is a function of those.
MemberState random_state(Prng& rng) {
  const uint64_t node = rng.below(6), gen = rng.below(3), ver = rng.below(5);
  MemberState s = MemberState::of("n" + std::to_string(node), gen, ver,
                                  static_cast<MemberStatus>(1 + (node + gen + ver) % 5));
  s.peer_address = "127.0.0.1:" + std::to_string(7100 + node);
  s.hints = gen * 10 + ver;
  return s;
}

std::vector<MemberState> random_states(Prng& rng) {
  std::vector<MemberState> out;
  for (uint64_t n = rng.below(6); n > 0; --n) out.push_back(random_state(rng));
  return out;
}

// A table of an observer ("x", never gossiped about) after merging `batches` in order.
std::map<ring::NodeId, MemberState> after(const std::vector<std::vector<MemberState>>& batches) {
  Membership m(MemberState::of("x", 1, 0));
  for (const auto& b : batches) m.merge(b);
  return m.states();
}

TEST_CASE("merging gossip is commutative associative and idempotent", "[membership]") {
  Prng rng(5);
  for (int i = 0; i < 2000; ++i) {
    auto a = random_states(rng), b = random_states(rng), c = random_states(rng);
    CHECK(after({a, b}) == after({b, a}));
    CHECK(after({a, b, c}) == after({c, b, a}));
    CHECK(after({a, a, b}) == after({a, b}));
  }
}

TEST_CASE("a newer generation or version wins and our own state is defended", "[membership]") {
  Membership m(MemberState::of("n1", 10, 0));
  m.merge({MemberState::of("n2", 5, 3)});
  m.merge({MemberState::of("n2", 5, 2, MemberStatus::kLeaving)});  // older: ignored
  CHECK(m.find("n2")->status == MemberStatus::kUp);
  m.merge({MemberState::of("n2", 6, 0, MemberStatus::kJoining)});  // restarted: wins
  CHECK(m.find("n2")->status == MemberStatus::kJoining);
  // Someone claims a newer state of ours: we re-publish ours above it.
  m.merge({MemberState::of("n1", 10, 7, MemberStatus::kLeaving)});
  CHECK(m.self().status == MemberStatus::kUp);
  CHECK(m.self().version == 8);
  // A removal of us (same generation) is adopted: an operator removed this node.
  m.merge({MemberState::of("n1", 10, 1'000'000, MemberStatus::kRemoved)});
  CHECK(m.self().status == MemberStatus::kRemoved);
}

TEST_CASE("remove writes a state every node adopts and a restart overrides", "[membership]") {
  Membership a(MemberState::of("a", 1, 0)), b(MemberState::of("b", 1, 0));
  a.merge({MemberState::of("dead", 4, 40)});
  b.merge({MemberState::of("dead", 4, 41)});
  a.remove("dead");
  b.merge(a.states_for(a.digests()));
  CHECK(b.find("dead")->status == MemberStatus::kRemoved);
  b.merge({MemberState::of("dead", 5, 0, MemberStatus::kJoining)});
  CHECK(b.find("dead")->status == MemberStatus::kJoining);
}

TEST_CASE("one push-pull exchange makes two tables equal", "[membership]") {
  Prng rng(9);
  for (int i = 0; i < 500; ++i) {
    Membership a(MemberState::of("a", 1, rng.below(3))), b(MemberState::of("b", 2, 0));
    a.merge(random_states(rng));
    b.merge(random_states(rng));
    // a -> SYN(digests, own state) -> b -> ACK(states, wanted) -> a -> ACK2(states) -> b
    b.merge({a.self()});
    GossipBody ack = b.answer(a.digests());
    a.merge(ack.states);
    b.merge(a.states_for(ack.digests));
    CHECK(a.states() == b.states());
  }
}

TEST_CASE("the gossip codec round-trips and rejects garbage without crashing",
          "[membership][fuzz]") {
  Prng rng(3);
  GossipBody body;
  body.digests = {{"n1", 3, 4}, {"n2", 5, 6}};
  body.states = {random_state(rng), random_state(rng)};
  const std::string bytes = encode_gossip(body);
  auto back = decode_gossip(bytes);
  REQUIRE(back.is_ok());
  CHECK(*back == body);
  int accepted = 0;
  for (int i = 0; i < 20'000; ++i) {
    std::string p = bytes;
    for (uint64_t n = rng.below(4) + 1; n > 0 && !p.empty(); --n) {
      const uint64_t at = rng.below(p.size());
      if (rng.chance(1, 2)) {
        p[at] = static_cast<char>(rng.next());
      } else {
        p.resize(at);
      }
    }
    accepted += decode_gossip(p).is_ok();
  }
  CHECK(accepted < 20'000);
  // Limits: an empty node id and an oversized table are refused.
  GossipBody bad;
  bad.digests = {{"", 1, 1}};
  CHECK_FALSE(decode_gossip(encode_gossip(bad)).is_ok());
  GossipBody big;
  for (size_t i = 0; i <= kMaxMembers; ++i) big.digests.push_back({"n" + std::to_string(i), 1, 1});
  CHECK_FALSE(decode_gossip(encode_gossip(big)).is_ok());
}

}  // namespace
}  // namespace shoal::core
