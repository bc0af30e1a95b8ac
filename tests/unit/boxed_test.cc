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
  CHECK(a == std::nullopt);
  a = std::string("red");
  REQUIRE(a);
  CHECK(*a == "red");
  CHECK(a->size() == 3);
  Boxed<std::string> b = a;  // a copy of its own
  *b += "der";
  CHECK(*a == "red");
  CHECK(*b == "redder");
  CHECK_FALSE(a == b);
  const std::optional<std::string> red = "red", none;
  CHECK(a == red);
  CHECK(a == std::string("red"));
  CHECK_FALSE(a == none);
  Boxed<std::string> c = std::move(b);
  CHECK(*c == "redder");
  c = none;  // from an empty optional: empty
  CHECK_FALSE(c);
  const std::optional<std::string> blue = "blue";
  c = blue;
  CHECK(*c == "blue");
  c.emplace(size_t{2}, 'x');
  CHECK(*c == "xx");
  REQUIRE(c.to_optional().has_value());
  CHECK(*c.to_optional() == "xx");
  c = a;
  CHECK(c == a);
  c.reset();
  CHECK_FALSE(c);
  CHECK_FALSE(c.to_optional().has_value());
}

TEST_CASE("boxed: a message keeps kMint's update and a page off its own size", "[boxed]") {
  using shoal::core::Message;
  STATIC_REQUIRE(sizeof(Message) < 400);  // 624 bytes with them inline
  Message m = Message::make(Message::Kind::kMint, 7, "b", "k");
  shoal::core::Update add;
  add.kind = shoal::core::Update::Kind::kSetAdd;
  add.elements = {"x"};
  m.update = add;
  const Message copy = m;
  REQUIRE(copy.update);
  CHECK(copy.update->elements == std::vector<std::string>{"x"});
  m.update->elements.push_back("y");
  CHECK(copy.update->elements.size() == 1);  // the copy owns its update
  CHECK_FALSE(copy.page);
}
