// The users file (node/api/users.h): password hashes, parsing, and what each grant allows.
#include "node/api/users.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>

#include "node/api/text.h"

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
             Catch::Contains("line 2: the hash is neither scrypt"));
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

TEST_CASE("a token is 43 characters of base64url, kept as its SHA-256, checked without scrypt",
          "[users][auth]") {
  const Token t = make_token();
  CHECK(t.secret.size() == 43);
  CHECK(t.secret.find_first_of(".+/=") == std::string::npos);
  CHECK(std::all_of(t.secret.begin(), t.secret.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  }));
  CHECK(t.hash.rfind("token$", 0) == 0);
  CHECK(t.hash.find(t.secret) == std::string::npos);
  CHECK(check_password(t.hash, t.secret));
  const Token other = make_token();
  CHECK(other.secret != t.secret);
  CHECK_FALSE(check_password(t.hash, other.secret));
  CHECK_FALSE(check_password(t.hash, t.secret + "x"));
  CHECK_FALSE(check_password(t.hash, ""));
  // Only a token hash is checked at once; scrypt, and anything that does not parse (checked
  // against the decoy), costs the slow hash.
  CHECK_FALSE(slow_check(t.hash));
  CHECK(slow_check(hash_password("pw")));
  CHECK(slow_check("garbage"));
  CHECK(slow_check(""));
  CHECK(slow_check("token$AAAA"));  // a digest of 3 bytes is not a token hash

  // In the users file, and through authenticate, a token is a password like any other.
  Result<Users> users = Users::parse("svc:" + t.hash + ":read:*\n");
  REQUIRE(users.is_ok());
  REQUIRE(users->find("svc") != nullptr);
  CHECK(users->find("svc")->hash == t.hash);
  CHECK(users->serialize() == "svc:" + t.hash + ":read:*\n");
  Result<Users> again = Users::parse(users->serialize());
  REQUIRE(again.is_ok());
  CHECK(again->serialize() == users->serialize());
  CHECK(users->authenticate("svc", t.secret) == users->find("svc"));
  CHECK(users->authenticate("svc", other.secret) == nullptr);
}

TEST_CASE("a token hash whose digest is not 32 bytes of base64 is refused", "[users][auth]") {
  const std::string digest = std::string(32, '\x5a');
  CHECK(Users::parse("svc:token$" + text::base64_encode(digest) + ":\n").is_ok());
  for (const std::string& bad :
       {"token$" + text::base64_encode(digest.substr(1)),
        "token$" + text::base64_encode(digest + "z"), std::string("token$"),
        std::string("token$!!!!"), "token" + text::base64_encode(digest)}) {
    INFO(bad);
    Result<Users> users = Users::parse("svc:" + bad + ":read:*\n");
    REQUIRE_FALSE(users.is_ok());
    CHECK(users.status().code() == Code::kInvalidArgument);
    CHECK_THAT(users.status().message(), Catch::Contains("line 1: the hash is neither"));
    Users direct;
    CHECK(direct.add({"svc", bad, {}}).code() == Code::kInvalidArgument);
    CHECK_FALSE(check_password(bad, "anything"));
  }
}

TEST_CASE("a bearer token splits at its last dot into a name and a secret", "[users][auth]") {
  using Split = std::optional<std::pair<std::string, std::string>>;
  CHECK(split_bearer("a.b.SECRET") == Split(std::in_place, "a.b", "SECRET"));
  CHECK(split_bearer("svc.s3cr-t_") == Split(std::in_place, "svc", "s3cr-t_"));
  CHECK(split_bearer("nodot") == std::nullopt);
  CHECK(split_bearer(".x") == std::nullopt);
  CHECK(split_bearer("x.") == std::nullopt);
  CHECK(split_bearer(".") == std::nullopt);
  CHECK(split_bearer("") == std::nullopt);
}

TEST_CASE("each operation needs its access: read, write, admin or none", "[users][auth]") {
  auto need = [](Op op, bool for_update = false) {
    Request r;
    r.op = op;
    r.for_update = for_update;
    return access_for(r);
  };
  using A = std::optional<Access>;
  for (Op op : {Op::kGet, Op::kCounterGet, Op::kSetGet}) {
    INFO(op_name(op));
    CHECK(need(op) == A(Access::kRead));
    CHECK(need(op, true) == A(Access::kWrite));  // the read of an update (DEL, SREM)
  }
  for (Op op : {Op::kPut, Op::kDelete, Op::kCounterAdd, Op::kSetAdd, Op::kSetRemove}) {
    INFO(op_name(op));
    CHECK(need(op) == A(Access::kWrite));
    CHECK(need(op, true) == A(Access::kWrite));
  }
  for (Op op : {Op::kClusterStatus, Op::kLeave, Op::kRemove, Op::kChaos}) {
    INFO(op_name(op));
    CHECK(need(op) == A(Access::kAdmin));
  }
  CHECK(need(Op::kPing) == std::nullopt);
  CHECK(need(Op::kAuth) == std::nullopt);
  CHECK(need(Op::kPing, true) == std::nullopt);
  CHECK(access_name(Access::kRead) == "read");
  CHECK(access_name(Access::kWrite) == "write");
  CHECK(access_name(Access::kAdmin) == "admin");
}

TEST_CASE("no or wrong credentials are unauthenticated, a missing grant is not", "[users][auth]") {
  CHECK(unauthenticated().code() == Code::kUnauthorized);
  CHECK(is_unauthenticated(unauthenticated()));
  CHECK(is_unauthenticated(wrong_credentials()));
  CHECK_FALSE(is_unauthenticated(forbidden("alice", Access::kRead, "b")));
  CHECK_FALSE(is_unauthenticated(forbidden("alice", Access::kAdmin, "")));
  CHECK_FALSE(is_unauthenticated(Status::unauthorized("some other refusal")));
  CHECK_FALSE(is_unauthenticated(Status::invalid_argument("authentication required")));
  CHECK_FALSE(is_unauthenticated(Status::ok()));
  CHECK(forbidden("alice", Access::kWrite, "app-1").message() ==
        "user alice may not write bucket \"app-1\"");
  CHECK(forbidden("alice", Access::kAdmin, "ignored").message() == "user alice has no admin grant");
  // A bucket name in the refusal is cut to 64 bytes.
  CHECK(forbidden("a", Access::kRead, std::string(100, 'b')).message().size() < 100);
}

}  // namespace
}  // namespace shoal::api
