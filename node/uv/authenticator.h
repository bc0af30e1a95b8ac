// Authenticator: client authentication in the shell (issue #16; docs/security.md, "Users").
//
// Owns the users file as last read (api::Users), the cache of credentials verified since,
// and the count of failed attempts per remote address. Password checks cost scrypt (~0.1 s,
// 32 MiB), so they run on libuv's threadpool, never on the loop; a token check (SHA-256)
// and a cached credential are answered at once.
//
// Limits (docs/limits.md): kMaxChecksInFlight password checks at once (past it: overloaded);
// each address may fail kFailureBurst times, then once per kFailureRefillMs, counting the
// checks it has running as failures until they succeed (past it: overloaded, without a
// check; a credential in the cache is still answered); kMaxCachedCredentials verified credentials
// (the cache is emptied when full and on every reload); kMaxTrackedAddresses addresses.
//
// The cache keeps SHA-256(random salt | name | password), never a password; a password
// handed to verify() is wiped once checked.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crdt/status.h"
#include "node/api/users.h"

namespace shoal::uvshell {

class Authenticator {
 public:
  static constexpr size_t kMaxChecksInFlight = 16;
  static constexpr double kFailureBurst = 10;
  static constexpr uint64_t kFailureRefillMs = 1'000;
  static constexpr size_t kMaxCachedCredentials = 4096;
  static constexpr size_t kMaxTrackedAddresses = 4096;

  // `path` empty: authentication is off and every client may do everything. Otherwise
  // the file is read now: a missing or bad file is an error naming it (and the line).
  static Result<std::unique_ptr<Authenticator>> open(uv_loop_t* loop, std::string path);
  ~Authenticator();

  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // Reads the file again (SIGHUP). On an error the users read before stay in force.
  // Credentials verified before are checked again from now on.
  Status reload();
  size_t user_count() const { return users_->all().size(); }

  // Checks `name` / `password` for a client at `address`. `done` runs once: with ok (the
  // user exists and the password is theirs), api::wrong_credentials(), or overloaded
  // (too many failures from `address`, or too many checks in flight); now, or later from
  // the loop. Returns true when it runs later.
  // REQUIRES: enabled().
  using Done = std::function<void(Status)>;
  bool verify(const std::string& name, std::string password, const std::string& address, Done done);
  // Whether `user` may do `access` on `bucket`: ok, api::unauthenticated() (no such user,
  // e.g. removed by a reload) or api::forbidden. kAdmin ignores the bucket.
  Status authorize(std::string_view user, api::Access access, std::string_view bucket) const;
  bool exists(std::string_view user) const { return users_->find(user) != nullptr; }

 private:
  struct Check;
  Authenticator(uv_loop_t* loop, std::string path) : loop_(loop), path_(std::move(path)) {}
  std::string cache_key(std::string_view name, std::string_view password) const;
  // Takes one of `address`'s tries (refilled kFailureRefillMs apart, at most kFailureBurst)
  // for a check; false when none is left. A check that succeeds gives it back, so only
  // failures use them up, and checks running at once each hold one.
  bool take_try(const std::string& address, uint64_t now_ms);
  void give_back_try(const std::string& address);
  void finish(Check* check, bool matched);

  uv_loop_t* loop_;
  std::string path_;
  std::shared_ptr<const api::Users> users_ = std::make_shared<api::Users>();
  uint64_t generation_ = 1;  // bumped by reload: a check begun before cannot fill the cache
  std::string salt_;         // of cache keys
  std::unordered_map<std::string, std::string> verified_;  // cache key -> user name
  struct Failures {
    double tokens = kFailureBurst;
    uint64_t at_ms = 0;
  };
  std::map<std::string, Failures> failures_;
  size_t in_flight_ = 0;
};

}  // namespace shoal::uvshell
