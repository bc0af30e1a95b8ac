// Boxed<T> (node/core/boxed.h): an optional on the heap, with value semantics.
#include "node/core/boxed.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "node/core/messages.h"

using shoal::core::Boxed;

TEST_CASE("boxed: empty, set, copied deep, moved, reset, compared as an optional", "[boxed]") {
  Boxed<std::string> a;
  CHECK_FALSE(a.has_value());
  CHECK_FALSE(a);
  CHECK(a == Boxed<std::string>());
  CHECK(a == std::optional<std::string>());
  a = std::string("red");
  REQUIRE(a);
  CHECK(*a == "red");
  CHECK(a->size() == 3);
  Boxed<std::string> b = a;  // a copy of its own
  *b += "der";
  CHECK(*a == "red");
  CHECK(*b == "redder");
  CHECK_FALSE(a == b);
  CHECK(a == std::optional<std::string>("red"));
  CHECK_FALSE(a == std::optional<std::string>());
  Boxed<std::string> c = std::move(b);
  CHECK(*c == "redder");
  c = std::optional<std::string>();  // from an empty optional: empty
  CHECK_FALSE(c);
  c = std::optional<std::string>("blue");
  CHECK(*c == "blue");
  c.emplace(size_t{2}, 'x');
  CHECK(*c == "xx");
  CHECK(c.to_optional() == std::optional<std::string>("xx"));
  c = a;
  CHECK(c == a);
  c.reset();
  CHECK_FALSE(c);
  CHECK(c.to_optional() == std::nullopt);
}

TEST_CASE("boxed: a message keeps kMint's update and a page off its own size", "[boxed]") {
  using shoal::core::Message;
  STATIC_REQUIRE(sizeof(Message) < 400);  // 624 bytes with them inline
  Message m = Message::make(Message::Kind::kMint, 7, "b", "k");
  m.update = shoal::core::Update{.kind = shoal::core::Update::Kind::kSetAdd, .elements = {"x"}};
  const Message copy = m;
  REQUIRE(copy.update);
  CHECK(copy.update->elements == std::vector<std::string>{"x"});
  m.update->elements.push_back("y");
  CHECK(copy.update->elements.size() == 1);  // the copy owns its update
  CHECK_FALSE(copy.page);
}
