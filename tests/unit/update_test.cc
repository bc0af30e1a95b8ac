// Applying client updates at a replica: types, contexts, limits, deltas.
#include "node/core/update.h"

#include <catch2/catch.hpp>

namespace shoal::core {
namespace {

using Strings = std::vector<std::string>;

Update put(std::string v, std::optional<crdt::DotContext> ctx = std::nullopt) {
  Update u;
  u.kind = Update::Kind::kPut;
  u.value = std::move(v);
  u.context = std::move(ctx);
  return u;
}

Update counter_add(int64_t d) {
  Update u;
  u.kind = Update::Kind::kCounterAdd;
  u.delta = d;
  return u;
}

Update set_op(Update::Kind kind, Strings elems) {
  Update u;
  u.kind = kind;
  u.elements = std::move(elems);
  return u;
}

// Applies at `actor` and checks the replica invariant: old state joined with the
// delta is the new state.
Object apply(std::optional<Object>& state, crdt::Actor actor, const Update& u) {
  Applied a = apply_update(state, actor, u).value();
  Object joined = state.value_or(a.state);
  REQUIRE(joined.join(a.delta).is_ok());
  REQUIRE(joined == a.state);
  state = a.state;
  return a.delta;
}

TEST_CASE("update: a key's first write fixes its type", "[core][update]") {
  std::optional<Object> s;
  apply(s, 1, counter_add(5));
  auto r = apply_update(s, 1, put("text"));
  REQUIRE(r.status().code() == Code::kTypeMismatch);
  r = apply_update(s, 1, set_op(Update::Kind::kSetAdd, {"x"}));
  REQUIRE(r.status().code() == Code::kTypeMismatch);
  apply(s, 1, counter_add(-7));
  REQUIRE(s->as<crdt::PNCounter>()->read() == -2);
}

TEST_CASE("update: register puts with and without a context", "[core][update]") {
  std::optional<Object> s;
  apply(s, 1, put("a"));
  apply(s, 1, put("b"));  // no context: a sibling
  REQUIRE(s->as<crdt::DvvSet>()->values() == Strings{"a", "b"});
  apply(s, 1, put("c", s->as<crdt::DvvSet>()->context()));
  REQUIRE(s->as<crdt::DvvSet>()->values() == Strings{"c"});
  Update del;
  del.kind = Update::Kind::kDelete;
  apply(s, 1, del);  // no context: supersedes what this replica has seen
  REQUIRE(s->as<crdt::DvvSet>()->is_deleted());
}

TEST_CASE("update: a register write that would leave over kMaxSiblings siblings is refused",
          "[core][update]") {
  std::optional<Object> s;
  for (size_t i = 0; i < kMaxSiblings; ++i) apply(s, 1 + i % 3, put("v" + std::to_string(i)));
  REQUIRE(s->as<crdt::DvvSet>()->siblings().size() == kMaxSiblings);
  Result<Applied> refused = apply_update(s, 1, put("one too many"));
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == Code::kTooLarge);
  CHECK(refused.status().message().find("context") != std::string::npos);
  // A write with the context of a read resolves them.
  apply(s, 2, put("resolved", s->as<crdt::DvvSet>()->context()));
  CHECK(s->as<crdt::DvvSet>()->values() == Strings{"resolved"});
}

TEST_CASE("update: a register write that would leave over kMaxSiblingBytes is refused",
          "[core][update]") {
  std::optional<Object> s;
  const std::string mib(kMaxValueBytes, 'v');
  const size_t fit = kMaxSiblingBytes / kMaxValueBytes;  // 16 siblings of 1 MiB
  for (size_t i = 0; i < fit; ++i) apply(s, 1 + i % 3, put(mib));
  Result<Applied> refused = apply_update(s, 1, put("x"));
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == Code::kTooLarge);
  CHECK(refused.status().message().find("over the limit of 16777216") != std::string::npos);
  // A delete is never refused for bytes; a write with the context of a read fits.
  const crdt::DotContext ctx = s->as<crdt::DvvSet>()->context();
  Update del;
  del.kind = Update::Kind::kDelete;
  del.context = crdt::DotContext{};
  CHECK(apply_update(s, 2, del).is_ok());
  apply(s, 2, put("resolved", ctx));
  CHECK(s->as<crdt::DvvSet>()->values() == Strings{"resolved"});
}

TEST_CASE("update: set add and remove with and without a context", "[core][update]") {
  std::optional<Object> s;
  apply(s, 1, set_op(Update::Kind::kSetAdd, {"x", "y"}));
  const crdt::DotContext seen = s->as<crdt::ORSet>()->context();
  apply(s, 2, set_op(Update::Kind::kSetAdd, {"x"}));  // an add the remover did not see
  Update rm = set_op(Update::Kind::kSetRemove, {"x", "y"});
  rm.context = seen;
  apply(s, 1, rm);
  REQUIRE(s->as<crdt::ORSet>()->read() == Strings{"x"});
  apply(s, 1, set_op(Update::Kind::kSetRemove, {"x"}));
  REQUIRE(s->as<crdt::ORSet>()->read().empty());
}

TEST_CASE("update: lww writes carry the coordinator's timestamp", "[core][update]") {
  std::optional<Object> s;
  Update u = put("v1");
  u.type = DataType::kLww;
  u.timestamp_ms = 1000;
  apply(s, 1, u);
  u.value = "v2";
  u.timestamp_ms = 900;  // a slow clock still moves the register forward here
  apply(s, 2, u);
  REQUIRE(s->as<crdt::LWWRegister>()->read() == "v2");
}

TEST_CASE("update: limits and shapes are checked before anything is applied", "[core][update]") {
  REQUIRE(validate(put(std::string(kMaxValueBytes + 1, 'x'))).code() == Code::kTooLarge);
  REQUIRE(validate(put(std::string(kMaxValueBytes, 'x'))).is_ok());
  REQUIRE(validate(set_op(Update::Kind::kSetAdd, {})).code() == Code::kInvalidArgument);
  REQUIRE(validate(set_op(Update::Kind::kSetAdd, Strings(kMaxSetElementsPerOp + 1, "e"))).code() ==
          Code::kTooLarge);
  Update lww = put("v", crdt::DotContext{});
  lww.type = DataType::kLww;
  REQUIRE(validate(lww).code() == Code::kInvalidArgument);
  Update bad_put = put("v");
  bad_put.type = DataType::kSet;
  REQUIRE(validate(bad_put).code() == Code::kInvalidArgument);
  std::optional<Object> s;
  apply(s, 1, counter_add(INT64_MAX));
  REQUIRE(apply_update(s, 1, counter_add(1)).status().code() == Code::kInvalidArgument);
}

}  // namespace
}  // namespace shoal::core
