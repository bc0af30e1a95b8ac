// The shell's Authenticator (node/uv/authenticator.h) on a real libuv loop: the users
// file read at open and on reload, password checks on the threadpool, the cache of
// verified credentials, the per-address failure limit and the grants. A scrypt check
// costs ~0.1 s, so only a few run here; token users make the failures cheap.
#include "node/uv/authenticator.h"

#include <stdlib.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace shoal::uvshell {
namespace {

namespace fs = std::filesystem;
using api::Access;

// A fresh directory under the system's temporary one, removed with what it holds.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "shoal-auth-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  REQUIRE(out.good());
}

// Made once: each hash_password costs a scrypt.
const std::string& alice_hash() {
  static const std::string h = api::hash_password("alice pw");
  return h;
}
const api::Token& svc_token() {
  static const api::Token t = api::make_token();
  return t;
}
const api::Token& root_token() {
  static const api::Token t = api::make_token();
  return t;
}

// alice: a password, reads everything; svc: a token, writes app-*; root: a token, admin.
std::string alice_line() { return "alice:" + alice_hash() + ":read:*\n"; }
std::string svc_line() { return "svc:" + svc_token().hash + ":write:app-*\n"; }
std::string root_line() { return "root:" + root_token().hash + ":admin\n"; }
std::string all_users() { return "# test users\n" + alice_line() + svc_line() + root_line(); }

// An Authenticator over the users file `text`, on a loop of its own. close() (or the
// destructor) runs the loop until every check has answered, then closes it.
struct Fixture {
  TempDir dir;
  fs::path file = dir.path / "users";
  uv_loop_t loop{};
  std::unique_ptr<Authenticator> auth;
  bool closed = false;

  explicit Fixture(const std::string& text) {
    REQUIRE(uv_loop_init(&loop) == 0);
    write_file(file, text);
    Result<std::unique_ptr<Authenticator>> opened = Authenticator::open(&loop, file.string());
    REQUIRE(opened.is_ok());
    auth = std::move(opened).value();
  }
  ~Fixture() { (void)close(); }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
  int close() {
    if (closed) return 0;
    closed = true;
    run();
    auth.reset();
    return uv_loop_close(&loop);
  }
};

// What one verify answered, once it has.
struct Answer {
  std::optional<Status> status;
  Authenticator::Done done() {
    return [this](Status result) { status = std::move(result); };
  }
};

TEST_CASE("the authenticator is off without a path and refuses a missing or bad file by name",
          "[auth]") {
  uv_loop_t loop{};
  REQUIRE(uv_loop_init(&loop) == 0);
  {
    Result<std::unique_ptr<Authenticator>> off = Authenticator::open(&loop, "");
    REQUIRE(off.is_ok());
    CHECK_FALSE((*off)->enabled());
    CHECK((*off)->path().empty());
    TempDir dir;
    const std::string missing = (dir.path / "no-such-users").string();
    Result<std::unique_ptr<Authenticator>> none = Authenticator::open(&loop, missing);
    REQUIRE_FALSE(none.is_ok());
    CHECK(none.status().code() == Code::kInvalidArgument);
    CHECK_THAT(none.status().message(), Catch::Contains(missing));
    const fs::path bad = dir.path / "bad-users";
    write_file(bad, svc_line() + "alice\n");
    Result<std::unique_ptr<Authenticator>> broken = Authenticator::open(&loop, bad.string());
    REQUIRE_FALSE(broken.is_ok());
    CHECK(broken.status().code() == Code::kInvalidArgument);
    CHECK_THAT(broken.status().message(), Catch::Contains(bad.string()));
    CHECK_THAT(broken.status().message(), Catch::Contains("line 2"));
  }
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("a password is checked on the threadpool once, then answered from the cache", "[auth]") {
  Fixture f(all_users());
  REQUIRE(f.auth->enabled());
  CHECK(f.auth->user_count() == 3);
  Answer first;
  CHECK(f.auth->verify("alice", "alice pw", "192.0.2.1", first.done()));  // later
  CHECK_FALSE(first.status.has_value());
  f.run();
  REQUIRE(first.status.has_value());
  CHECK(first.status->is_ok());
  Answer again;  // the same credentials: the cache, at once
  CHECK_FALSE(f.auth->verify("alice", "alice pw", "192.0.2.2", again.done()));
  REQUIRE(again.status.has_value());
  CHECK(again.status->is_ok());

  Answer wrong;  // a wrong password is checked (scrypt) and refused
  CHECK(f.auth->verify("alice", "alice pw?", "192.0.2.1", wrong.done()));
  f.run();
  REQUIRE(wrong.status.has_value());
  CHECK(*wrong.status == api::wrong_credentials());
  Answer unknown;  // an unknown user costs the decoy's scrypt, and is refused the same way
  CHECK(f.auth->verify("mallory", "alice pw", "192.0.2.1", unknown.done()));
  f.run();
  REQUIRE(unknown.status.has_value());
  CHECK(*unknown.status == api::wrong_credentials());

  // A token is checked at once (SHA-256), right or wrong; another user's cached password
  // is not theirs.
  Answer token;
  CHECK_FALSE(f.auth->verify("svc", svc_token().secret, "192.0.2.1", token.done()));
  REQUIRE(token.status.has_value());
  CHECK(token.status->is_ok());
  Answer not_theirs;
  CHECK_FALSE(f.auth->verify("svc", "alice pw", "192.0.2.1", not_theirs.done()));
  REQUIRE(not_theirs.status.has_value());
  CHECK(*not_theirs.status == api::wrong_credentials());
  CHECK(f.close() == 0);
}

TEST_CASE("after kFailureBurst failures an address is refused at once and others may try",
          "[auth]") {
  Fixture f(all_users());
  const std::string bad_address = "198.51.100.7";
  for (int i = 0; i < static_cast<int>(Authenticator::kFailureBurst); ++i) {
    Answer a;
    CHECK_FALSE(f.auth->verify("svc", "guess " + std::to_string(i), bad_address, a.done()));
    REQUIRE(a.status.has_value());
    CHECK(*a.status == api::wrong_credentials());
  }
  // Refused without a check: a password user's verify would run scrypt on the threadpool
  // (and return true); it answers now. The right credentials are refused too.
  Answer refused;
  CHECK_FALSE(f.auth->verify("alice", "alice pw", bad_address, refused.done()));
  REQUIRE(refused.status.has_value());
  CHECK(refused.status->code() == Code::kOverloaded);
  CHECK_THAT(refused.status->message(), Catch::Contains(bad_address));
  Answer right;
  CHECK_FALSE(f.auth->verify("svc", svc_token().secret, bad_address, right.done()));
  REQUIRE(right.status.has_value());
  CHECK(right.status->code() == Code::kOverloaded);

  Answer elsewhere;
  CHECK_FALSE(f.auth->verify("svc", svc_token().secret, "198.51.100.8", elsewhere.done()));
  REQUIRE(elsewhere.status.has_value());
  CHECK(elsewhere.status->is_ok());
  Answer one_failure;  // an address with fewer failures may fail again
  CHECK_FALSE(f.auth->verify("svc", "guess", "198.51.100.8", one_failure.done()));
  REQUIRE(one_failure.status.has_value());
  CHECK(*one_failure.status == api::wrong_credentials());
  CHECK(f.close() == 0);
}

// A guesser does not wait for answers: every check still running holds one of its
// address's tries, so kFailureBurst checks at once leave none for the next guess (the
// limiter used to count a failure only once its check had answered).
TEST_CASE("checks running at once each hold one of their address's tries", "[auth]") {
  Fixture f(all_users());
  const std::string guesser = "203.0.113.9";
  const size_t burst = static_cast<size_t>(Authenticator::kFailureBurst);
  REQUIRE(burst < Authenticator::kMaxChecksInFlight);
  std::vector<Answer> running(burst);
  for (size_t i = 0; i < burst; ++i) {  // scrypt checks: all still on the threadpool
    CHECK(f.auth->verify("alice", "guess " + std::to_string(i), guesser, running[i].done()));
  }
  Answer next;
  CHECK_FALSE(f.auth->verify("alice", "one more", guesser, next.done()));
  REQUIRE(next.status.has_value());
  CHECK(next.status->code() == Code::kOverloaded);
  f.run();
  for (const Answer& a : running) {
    REQUIRE(a.status.has_value());
    CHECK(*a.status == api::wrong_credentials());
  }
  // A right password's check gives its try back. Another address: 9 guesses and the right
  // password at once hold all 10 tries; once they answered, the right one's try is back.
  const std::string user = "203.0.113.10";
  std::vector<Answer> wrong(burst - 1);
  for (size_t i = 0; i + 1 < burst; ++i) {
    CHECK(f.auth->verify("alice", "guess " + std::to_string(i), user, wrong[i].done()));
  }
  Answer right;
  CHECK(f.auth->verify("alice", "alice pw", user, right.done()));
  Answer full;
  CHECK_FALSE(f.auth->verify("alice", "one more", user, full.done()));
  REQUIRE(full.status.has_value());
  CHECK(full.status->code() == Code::kOverloaded);
  f.run();
  REQUIRE(right.status.has_value());
  CHECK(right.status->is_ok());
  Answer after;  // the returned try (plus what refilled meanwhile) lets one more guess run
  CHECK(f.auth->verify("alice", "guess after", user, after.done()));
  f.run();
  REQUIRE(after.status.has_value());
  CHECK(*after.status == api::wrong_credentials());
  CHECK(f.close() == 0);
}

TEST_CASE("authorize allows a user's grants only, and an unknown user is unauthenticated",
          "[auth]") {
  Fixture f(all_users());
  CHECK(f.auth->authorize("alice", Access::kRead, "anything").is_ok());
  CHECK(f.auth->authorize("alice", Access::kWrite, "anything") ==
        api::forbidden("alice", Access::kWrite, "anything"));
  CHECK(f.auth->authorize("alice", Access::kAdmin, "") ==
        api::forbidden("alice", Access::kAdmin, ""));
  CHECK(f.auth->authorize("svc", Access::kWrite, "app-1").is_ok());
  CHECK(f.auth->authorize("svc", Access::kWrite, "other") ==
        api::forbidden("svc", Access::kWrite, "other"));
  CHECK(f.auth->authorize("svc", Access::kRead, "app-1") ==
        api::forbidden("svc", Access::kRead, "app-1"));
  CHECK(f.auth->authorize("root", Access::kAdmin, "").is_ok());
  CHECK(f.auth->authorize("root", Access::kWrite, "x").is_ok());
  const Status no_admin = f.auth->authorize("svc", Access::kAdmin, "");
  CHECK(no_admin.code() == Code::kUnauthorized);
  CHECK_FALSE(api::is_unauthenticated(no_admin));
  CHECK(f.auth->authorize("nobody", Access::kRead, "x") == api::unauthenticated());
  CHECK(f.auth->exists("root"));
  CHECK_FALSE(f.auth->exists("nobody"));
  CHECK(f.close() == 0);
}

TEST_CASE("reload drops removed users and the cache, and a bad file keeps the users before",
          "[auth]") {
  Fixture f(all_users());
  Answer cached;
  CHECK_FALSE(f.auth->verify("svc", svc_token().secret, "192.0.2.1", cached.done()));
  REQUIRE(cached.status.has_value());
  CHECK(cached.status->is_ok());

  write_file(f.file, alice_line() + root_line());  // svc removed
  REQUIRE(f.auth->reload().is_ok());
  CHECK(f.auth->user_count() == 2);
  const Status gone = f.auth->authorize("svc", Access::kWrite, "app-1");
  CHECK(gone == api::unauthenticated());
  CHECK(api::is_unauthenticated(gone));
  CHECK_FALSE(f.auth->exists("svc"));
  Answer after;  // not from the cache: svc is unknown now (the decoy's scrypt)
  CHECK(f.auth->verify("svc", svc_token().secret, "192.0.2.1", after.done()));
  f.run();
  REQUIRE(after.status.has_value());
  CHECK(*after.status == api::wrong_credentials());

  write_file(f.file, root_line() + "svc:" + svc_token().hash + ":write:app-*,root\n");
  const Status bad = f.auth->reload();
  CHECK(bad.code() == Code::kInvalidArgument);
  CHECK_THAT(bad.message(), Catch::Contains(f.file.string()));
  CHECK_THAT(bad.message(), Catch::Contains("line 2"));
  fs::remove(f.file);
  CHECK(f.auth->reload().code() == Code::kInvalidArgument);
  CHECK(f.auth->user_count() == 2);  // the users read before stay in force
  CHECK(f.auth->authorize("alice", Access::kRead, "b").is_ok());
  CHECK(f.auth->authorize("root", Access::kAdmin, "").is_ok());
  CHECK(f.auth->authorize("svc", Access::kWrite, "app-1") == api::unauthenticated());
  CHECK(f.close() == 0);
}

TEST_CASE("a check that was running when a reload removed its user answers wrong credentials",
          "[auth]") {
  Fixture f(all_users());
  Answer running;
  CHECK(f.auth->verify("alice", "alice pw", "192.0.2.1", running.done()));
  write_file(f.file, svc_line() + root_line());  // alice removed meanwhile
  REQUIRE(f.auth->reload().is_ok());
  f.run();
  REQUIRE(running.status.has_value());
  CHECK(*running.status == api::wrong_credentials());

  // A check begun before a reload that kept its user answers ok, but is not cached (the
  // file it was checked against is gone).
  write_file(f.file, all_users());
  REQUIRE(f.auth->reload().is_ok());
  Answer begun;
  CHECK(f.auth->verify("alice", "alice pw", "192.0.2.1", begun.done()));
  REQUIRE(f.auth->reload().is_ok());
  f.run();
  REQUIRE(begun.status.has_value());
  CHECK(begun.status->is_ok());
  Answer next;
  CHECK(f.auth->verify("alice", "alice pw", "192.0.2.1", next.done()));  // checked again
  f.run();
  REQUIRE(next.status.has_value());
  CHECK(next.status->is_ok());
  CHECK(f.close() == 0);
}

}  // namespace
}  // namespace shoal::uvshell
