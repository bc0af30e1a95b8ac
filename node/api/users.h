// Users, their password hashes and roles: the users file a node reads (issue #16;
// docs/security.md, "Users"). This is the file format and the checks; which requests
// need which access, and reading the file at start and on SIGHUP, belong to the shell.
//
// One user per line, `NAME:HASH:ROLES`; blank lines and lines starting with '#' are
// ignored.
//   NAME   1..64 bytes of [A-Za-z0-9_.@-]
//   HASH   scrypt$LOG2N$R$P$SALT$KEY (SALT and KEY base64): OpenSSL's EVP_PBE_scrypt of
//          the password, a 16-byte random salt and a 32-byte key; the password is never
//          stored. Or token$DIGEST: the user's credential is a generated token (32 random
//          bytes, make_token), stored as its SHA-256; a token has too much entropy to
//          guess, so its check needs no slow hash.
//   ROLES  comma-separated grants: `admin` (membership, chaos, status details),
//          `read:GLOB`, `write:GLOB` (buckets matching the glob: glob.h, e.g. `read:*`,
//          `write:app-*`). Empty: the user can authenticate and do nothing else.
//
// Errors: parse() returns invalid_argument naming the line and what is wrong with it;
// add() returns invalid_argument for a bad name or grant (a user of the same name is
// replaced). No function logs or returns a password.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"
#include "node/api/client_request.h"

namespace shoal::api {

// scrypt cost: 2^15 x 8 x 128 bytes = 32 MiB and ~50-100 ms per hash here, so a guess
// costs an attacker as much. A file's parameters are bounded: at least 2^14 (no weak
// hashes), at most 64 MiB of memory (128 x r x N) and p <= 2, so a bad line cannot make
// a check take the node's memory or seconds of a core.
constexpr uint32_t kScryptLog2N = 15, kScryptR = 8, kScryptP = 1;
constexpr uint32_t kMinLog2N = 14, kMaxLog2N = 20, kMaxR = 16, kMaxP = 2;
constexpr uint64_t kMaxScryptBytes = 64u << 20;
constexpr size_t kMaxUserNameBytes = 64;
constexpr size_t kMaxPasswordBytes = 1024;

enum class Access { kRead, kWrite, kAdmin };
// "read", "write", "admin"
std::string_view access_name(Access a);
// The grant a request needs: get, counter_get, set_get read (write when for_update);
// updates write; cluster_status, leave, remove, chaos admin. nullopt for ping (any
// signed-in user) and auth (anyone).
std::optional<Access> access_for(const Request& r);

// The refusals every API shares (the error table's `unauthorized`): no credentials, or
// wrong ones (RESP -NOAUTH / -WRONGPASS, HTTP 401), and a known user without the grant
// (RESP -NOPERM, HTTP 403). The text tells them apart: is_unauthenticated.
Status unauthenticated();
Status wrong_credentials();
Status forbidden(std::string_view user, Access access, std::string_view bucket);
bool is_unauthenticated(const Status& s);

struct Grant {
  Access access = Access::kRead;
  std::string bucket_glob;  // "" for admin
};

struct User {
  std::string name;
  std::string hash;
  std::vector<Grant> grants;
};

// scrypt(password, salt) with the default cost above, 32 bytes: what hash_password stores
// and what the peer handshake keys its proofs by (node/uv/peer_auth.h).
std::string scrypt_key(std::string_view password, std::string_view salt);
// A new hash of `password` with a fresh random salt.
// REQUIRES: password.size() <= kMaxPasswordBytes.
std::string hash_password(std::string_view password);
// Whether `password` matches `hash`; false for a hash that does not parse.
bool check_password(std::string_view hash, std::string_view password);
// Whether check_password on `hash` costs a slow hash (scrypt, or a hash that does not
// parse, checked against the decoy): what the shell runs off its loop.
bool slow_check(std::string_view hash);

// A new token credential: `secret` (43 characters of base64url: what the client sends,
// shown once) and `hash` (what the users file keeps). As a bearer token the client sends
// NAME.SECRET (split_bearer).
struct Token {
  std::string secret, hash;
};
Token make_token();
// "NAME.SECRET" -> {NAME, SECRET}: split at the last '.'; nullopt without one.
std::optional<std::pair<std::string, std::string>> split_bearer(std::string_view token);

class Users {
 public:
  static Result<Users> parse(std::string_view text);
  std::string serialize() const;  // parse(serialize()) gives the same users

  // Adds or replaces `u`. invalid_argument for a bad name or a grant with a bad glob.
  Status add(User u);
  bool remove(std::string_view name);  // false: no such user
  const User* find(std::string_view name) const;
  const std::map<std::string, User, std::less<>>& all() const { return users_; }

  // The hash a check of `name` runs: the user's, or the decoy for an unknown name.
  const std::string& hash_for(std::string_view name) const;
  // The user, if `password` is theirs; nullptr otherwise. An unknown name costs the same
  // hash as a password user's, so the answer's timing does not tell which of those names
  // exist. A token user answers at once (SHA-256): its name may show, its token cannot be
  // guessed.
  const User* authenticate(std::string_view name, std::string_view password) const;
  // Whether `u` may do `access` on `bucket` (admin: any bucket, and admin operations).
  static bool allows(const User& u, Access access, std::string_view bucket);

 private:
  std::map<std::string, User, std::less<>> users_;
};

// "read", "write", "admin"; the grant as the file spells it ("read:app-*").
std::string grant_text(const Grant& g);
Result<Grant> parse_grant(std::string_view text);

}  // namespace shoal::api
