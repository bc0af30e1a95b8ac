#include "node/api/users.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <optional>

#include "crdt/assert.h"
#include "node/api/glob.h"
#include "node/api/text.h"

namespace shoal::api {
namespace {

constexpr size_t kSaltBytes = 16, kKeyBytes = 32, kTokenBytes = 32;
constexpr std::string_view kTokenPrefix = "token$";
constexpr std::string_view kUnauthenticated = "authentication required";
constexpr uint64_t kGlobBudgetSteps = 1 << 20;  // a grant's glob against one bucket name

struct ScryptHash {
  uint32_t log2n = 0, r = 0, p = 0;
  std::string salt, key;
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    const size_t next = s.find(sep, at);
    out.push_back(s.substr(at, next == std::string_view::npos ? s.npos : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

bool parse_u32(std::string_view s, uint32_t max, uint32_t* out) {
  if (s.empty() || s.size() > 3) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v < 1 || v > max) return false;
  *out = v;
  return true;
}

std::optional<ScryptHash> parse_hash(std::string_view text) {
  const std::vector<std::string_view> f = split(text, '$');
  ScryptHash h;
  if (f.size() != 6 || f[0] != "scrypt" || !parse_u32(f[1], kMaxLog2N, &h.log2n) ||
      !parse_u32(f[2], kMaxR, &h.r) || !parse_u32(f[3], kMaxP, &h.p) || h.log2n < kMinLog2N ||
      (128 * uint64_t{h.r} << h.log2n) > kMaxScryptBytes ||
      h.log2n >= 16 * h.r) {  // OpenSSL's own bound: N < 2^(16 r)
    return std::nullopt;
  }
  std::optional<std::string> salt = text::base64_decode(f[4]);
  std::optional<std::string> key = text::base64_decode(f[5]);
  if (!salt || !key || salt->size() < 8 || key->size() != kKeyBytes) return std::nullopt;
  h.salt = std::move(*salt);
  h.key = std::move(*key);
  return h;
}

// nullopt if OpenSSL refuses the parameters (parse_hash keeps to what it takes).
std::optional<std::string> derive(std::string_view password, const ScryptHash& h) {
  std::string key(kKeyBytes, '\0');
  const uint64_t n = uint64_t{1} << h.log2n;
  const uint64_t max_mem = 128 * uint64_t{h.r} * (n + uint64_t{h.p} + 2) + (1 << 20);
  const int ok =
      EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(h.salt.data()), h.salt.size(), n, h.r,
                     h.p, max_mem, reinterpret_cast<unsigned char*>(key.data()), key.size());
  if (ok != 1) return std::nullopt;
  return key;
}

std::string sha256(std::string_view bytes) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// A token hash's digest; nullopt when `text` is not token$DIGEST.
std::optional<std::string> parse_token_hash(std::string_view text) {
  if (text.substr(0, kTokenPrefix.size()) != kTokenPrefix) return std::nullopt;
  std::optional<std::string> digest = text::base64_decode(text.substr(kTokenPrefix.size()));
  if (!digest || digest->size() != SHA256_DIGEST_LENGTH) return std::nullopt;
  return digest;
}

std::string format_hash(const ScryptHash& h) {
  return "scrypt$" + std::to_string(h.log2n) + "$" + std::to_string(h.r) + "$" +
         std::to_string(h.p) + "$" + text::base64_encode(h.salt) + "$" + text::base64_encode(h.key);
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxUserNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '@' || c == '-';
  });
}

// What an unknown user's check hashes, so it costs what a known one does.
const std::string& decoy_hash() {
  static const std::string h = hash_password("shoal decoy password");
  return h;
}

}  // namespace

std::string scrypt_key(std::string_view password, std::string_view salt) {
  std::optional<std::string> key =
      derive(password, {kScryptLog2N, kScryptR, kScryptP, std::string(salt), ""});
  SHOAL_ASSERT(key.has_value());  // the default parameters are always taken
  return std::move(*key);
}

std::string hash_password(std::string_view password) {
  SHOAL_ASSERT(password.size() <= kMaxPasswordBytes);
  ScryptHash h{kScryptLog2N, kScryptR, kScryptP, std::string(kSaltBytes, '\0'), ""};
  SHOAL_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(h.salt.data()), kSaltBytes) == 1);
  h.key = scrypt_key(password, h.salt);
  return format_hash(h);
}

bool check_password(std::string_view hash, std::string_view password) {
  if (password.size() > kMaxPasswordBytes) return false;
  if (std::optional<std::string> digest = parse_token_hash(hash)) {
    return CRYPTO_memcmp(sha256(password).data(), digest->data(), digest->size()) == 0;
  }
  std::optional<ScryptHash> h = parse_hash(hash);
  if (!h || password.size() > kMaxPasswordBytes) return false;
  const std::optional<std::string> key = derive(password, *h);
  return key && CRYPTO_memcmp(key->data(), h->key.data(), kKeyBytes) == 0;
}

bool slow_check(std::string_view hash) { return !parse_token_hash(hash).has_value(); }

Token make_token() {
  std::string raw(kTokenBytes, '\0');
  SHOAL_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), kTokenBytes) == 1);
  std::string secret = text::base64_encode(raw);
  while (!secret.empty() && secret.back() == '=') secret.pop_back();
  for (char& c : secret) c = c == '+' ? '-' : c == '/' ? '_' : c;  // base64url: no '.'
  std::string hash = std::string(kTokenPrefix) + text::base64_encode(sha256(secret));
  return {std::move(secret), std::move(hash)};
}

std::optional<std::pair<std::string, std::string>> split_bearer(std::string_view token) {
  const size_t dot = token.rfind('.');
  if (dot == token.npos || dot == 0 || dot + 1 == token.size()) return std::nullopt;
  return std::pair{std::string(token.substr(0, dot)), std::string(token.substr(dot + 1))};
}

std::string_view access_name(Access a) {
  return a == Access::kRead ? "read" : a == Access::kWrite ? "write" : "admin";
}

std::optional<Access> access_for(const Request& r) {
  if (is_admin(r.op)) return Access::kAdmin;
  if (is_update(r.op)) return Access::kWrite;
  if (r.op == Op::kGet || r.op == Op::kCounterGet || r.op == Op::kSetGet) {
    return r.for_update ? Access::kWrite : Access::kRead;
  }
  return std::nullopt;
}

Status unauthenticated() {
  return Status::unauthorized(std::string(kUnauthenticated) +
                              ": authenticate first (docs/security.md, \"Users\")");
}

Status wrong_credentials() {
  return Status::unauthorized(std::string(kUnauthenticated) + ": wrong user name or password");
}

Status forbidden(std::string_view user, Access access, std::string_view bucket) {
  if (access == Access::kAdmin) {
    return Status::unauthorized("user " + std::string(user) + " has no admin grant");
  }
  return Status::unauthorized("user " + std::string(user) + " may not " +
                              std::string(access_name(access)) + " bucket \"" +
                              std::string(bucket.substr(0, 64)) + "\"");
}

bool is_unauthenticated(const Status& s) {
  return s.code() == Code::kUnauthorized &&
         std::string_view(s.message()).substr(0, kUnauthenticated.size()) == kUnauthenticated;
}

std::string grant_text(const Grant& g) {
  switch (g.access) {
    case Access::kAdmin:
      return "admin";
    case Access::kRead:
      return "read:" + g.bucket_glob;
    case Access::kWrite:
      return "write:" + g.bucket_glob;
  }
  return "";
}

Result<Grant> parse_grant(std::string_view text) {
  if (text == "admin") return Grant{Access::kAdmin, ""};
  for (auto [prefix, access] : {std::pair{std::string_view("read:"), Access::kRead},
                                {std::string_view("write:"), Access::kWrite}}) {
    if (text.substr(0, prefix.size()) != prefix) continue;
    std::string_view glob = text.substr(prefix.size());
    if (glob.empty() || glob.size() > 256 || glob.find_first_of(",\n\r") != glob.npos) {
      break;
    }
    return Grant{access, std::string(glob)};
  }
  return Status::invalid_argument("bad grant \"" + std::string(text.substr(0, 64)) +
                                  "\": expected admin, read:GLOB or write:GLOB");
}

Result<Users> Users::parse(std::string_view text) {
  (void)decoy_hash();  // made now, so the first unknown name costs no more than others
  Users users;
  const std::vector<std::string_view> lines = split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](const std::string& why) {
      return Status::invalid_argument("users file line " + std::to_string(i + 1) + ": " + why);
    };
    const size_t c1 = line.find(':');
    const size_t c2 = c1 == line.npos ? line.npos : line.find(':', c1 + 1);
    if (c2 == line.npos) return bad("expected NAME:HASH:ROLES");
    User u{std::string(line.substr(0, c1)), std::string(line.substr(c1 + 1, c2 - c1 - 1)), {}};
    const std::string_view roles = line.substr(c2 + 1);
    for (std::string_view g : roles.empty() ? std::vector<std::string_view>{} : split(roles, ',')) {
      Result<Grant> grant = parse_grant(g);
      if (!grant) return bad(grant.status().message());
      u.grants.push_back(*grant);
    }
    if (users.find(u.name)) return bad("user " + u.name + " appears twice");
    if (Status s = users.add(std::move(u)); !s.is_ok()) return bad(s.message());
  }
  return users;
}

std::string Users::serialize() const {
  std::string out;
  for (const auto& [name, u] : users_) {
    out += name + ":" + u.hash + ":";
    for (size_t i = 0; i < u.grants.size(); ++i) {
      if (i > 0) out += ',';
      out += grant_text(u.grants[i]);
    }
    out += "\n";
  }
  return out;
}

Status Users::add(User u) {
  if (!valid_name(u.name)) {
    return Status::invalid_argument("bad user name \"" + u.name.substr(0, 64) +
                                    "\": 1-64 of A-Z a-z 0-9 _ . @ -");
  }
  if (!parse_hash(u.hash) && !parse_token_hash(u.hash)) {
    return Status::invalid_argument(
        "the hash is neither scrypt$LOG2N$R$P$SALT$KEY within the cost bounds nor "
        "token$DIGEST");
  }
  for (const Grant& g : u.grants) SHOAL_RETURN_IF_ERROR(parse_grant(grant_text(g)).status());
  std::string name = u.name;
  users_[std::move(name)] = std::move(u);
  return Status::ok();
}

bool Users::remove(std::string_view name) {
  auto it = users_.find(name);
  if (it == users_.end()) return false;
  users_.erase(it);
  return true;
}

const User* Users::find(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

const std::string& Users::hash_for(std::string_view name) const {
  const User* u = find(name);
  return u ? u->hash : decoy_hash();
}

const User* Users::authenticate(std::string_view name, std::string_view password) const {
  const User* u = find(name);
  const bool ok = check_password(hash_for(name), password);
  return u && ok ? u : nullptr;
}

bool Users::allows(const User& u, Access access, std::string_view bucket) {
  for (const Grant& g : u.grants) {
    if (g.access == Access::kAdmin) return true;
    if (g.access != access) continue;
    uint64_t budget = kGlobBudgetSteps;
    if (glob::match(g.bucket_glob, bucket, &budget).value_or(false)) return true;
  }
  return false;
}

}  // namespace shoal::api
