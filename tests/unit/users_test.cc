// The users file (node/api/users.h): password hashes, parsing, and what each grant allows.
#include "node/api/users.h"

#include <catch2/catch.hpp>

namespace shoal::api {
namespace {

TEST_CASE("a password hash checks its password and no other, and never holds it", "[users]") {
  const std::string h = hash_password("correct horse");
  CHECK(h.rfind("scrypt$15$8$1$", 0) == 0);
  CHECK(h.find("correct horse") == std::string::npos);
  CHECK(check_password(h, "correct horse"));
  CHECK_FALSE(check_password(h, "correct hors"));
  CHECK_FALSE(check_password(h, ""));
  CHECK(hash_password("correct horse") != h);  // a fresh salt each time
  // Hashes that do not parse check nothing, and costs past the caps are refused.
  CHECK_FALSE(check_password("", "x"));
  CHECK_FALSE(check_password("plain:correct horse", "correct horse"));
  CHECK_FALSE(check_password("scrypt$30$8$1$AAAAAAAAAAA=$AAAA", "x"));
  // Parameters out of bounds are a hash that does not parse, never a crash or a long
  // check: weak (2^4), too much memory (2^20 x 16), p over 2, and what OpenSSL refuses
  // (N >= 2^(16 r)).
  const std::string salt_key = h.substr(std::string("scrypt$15$8$1").size());  // $SALT$KEY
  for (const char* params : {"4$8$1", "20$16$1", "15$8$3", "16$1$1"}) {
    const std::string bad = std::string("scrypt$") + params + salt_key;
    CHECK_FALSE(check_password(bad, "correct horse"));
    CHECK_FALSE(Users::parse("u:" + bad + ":\n").is_ok());
  }
  CHECK(check_password("scrypt$15$8$1" + salt_key, "correct horse"));
}

TEST_CASE("the users file round-trips and says which line is wrong", "[users]") {
  const std::string h = hash_password("pw");
  const std::string text =
      "# ops\n\nalice:" + h + ":read:*,write:app-*\nroot:" + h + ":admin\nnobody:" + h + ":\n";
  Result<Users> users = Users::parse(text);
  REQUIRE(users.is_ok());
  REQUIRE(users->all().size() == 3);
  const User* alice = users->find("alice");
  REQUIRE(alice != nullptr);
  REQUIRE(alice->grants.size() == 2);
  CHECK(grant_text(alice->grants[1]) == "write:app-*");
  Result<Users> again = Users::parse(users->serialize());
  REQUIRE(again.is_ok());
  CHECK(again->serialize() == users->serialize());

  auto error_of = [](const std::string& t) { return Users::parse(t).status().message(); };
  CHECK_THAT(error_of("alice\n"), Catch::Contains("line 1: expected NAME:HASH:ROLES"));
  CHECK_THAT(error_of("# c\nalice:plain:admin\n"),
             Catch::Contains("line 2: the hash is not scrypt"));
  CHECK_THAT(error_of("alice:" + h + ":root\n"), Catch::Contains("bad grant \"root\""));
  CHECK_THAT(error_of("al ice:" + h + ":admin\n"), Catch::Contains("bad user name"));
  CHECK_THAT(error_of("a:" + h + ":\na:" + h + ":\n"), Catch::Contains("appears twice"));
}

TEST_CASE("grants allow exactly their access on their buckets, admin allows all", "[users]") {
  const std::string h = hash_password("pw");
  Result<Users> users = Users::parse("r:" + h + ":read:*\nw:" + h + ":write:app-*\na:" + h +
                                     ":admin\nn:" + h + ":\n");
  REQUIRE(users.is_ok());
  const User& r = *users->find("r");
  const User& w = *users->find("w");
  const User& a = *users->find("a");
  const User& n = *users->find("n");
  CHECK(Users::allows(r, Access::kRead, "anything"));
  CHECK_FALSE(Users::allows(r, Access::kWrite, "anything"));
  CHECK_FALSE(Users::allows(r, Access::kAdmin, ""));
  CHECK(Users::allows(w, Access::kWrite, "app-1"));
  CHECK_FALSE(Users::allows(w, Access::kWrite, "other"));
  CHECK_FALSE(Users::allows(w, Access::kRead, "app-1"));  // write does not imply read
  CHECK(Users::allows(a, Access::kAdmin, ""));
  CHECK(Users::allows(a, Access::kWrite, "x"));
  CHECK_FALSE(Users::allows(n, Access::kRead, "x"));
}

TEST_CASE("authenticate takes the right password only, for known users only", "[users]") {
  Users users;
  REQUIRE(users.add({"alice", hash_password("s3cret"), {{Access::kRead, "*"}}}).is_ok());
  CHECK(users.authenticate("alice", "s3cret") == users.find("alice"));
  CHECK(users.authenticate("alice", "S3cret") == nullptr);
  CHECK(users.authenticate("bob", "s3cret") == nullptr);
  CHECK(users.add({"bad name", hash_password("x"), {}}).code() == Code::kInvalidArgument);
  CHECK(users.add({"bob", "not a hash", {}}).code() == Code::kInvalidArgument);
  CHECK(users.remove("alice"));
  CHECK_FALSE(users.remove("alice"));
  CHECK(users.authenticate("alice", "s3cret") == nullptr);
}

}  // namespace
}  // namespace shoal::api
