#include "node/uv/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include "crdt/assert.h"

namespace shoal::uvshell {

// One password check on the threadpool: what it needs, copied, so a reload meanwhile
// changes nothing under it.
struct Authenticator::Check {
  uv_work_t work{};
  Authenticator* self = nullptr;
  std::string name, password, hash, address, key;
  uint64_t generation = 0;
  bool matched = false;
  Done done;
};

namespace {

Result<std::shared_ptr<const api::Users>> read_users(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::invalid_argument("cannot read the users file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (16u << 20)) {
    return Status::invalid_argument("users file " + path + ": over 16 MiB");
  }
  Result<api::Users> users = api::Users::parse(text.str());
  if (!users) return Status::invalid_argument(path + ": " + users.status().message());
  return std::shared_ptr<const api::Users>(std::make_shared<api::Users>(std::move(users).value()));
}

}  // namespace

Result<std::unique_ptr<Authenticator>> Authenticator::open(uv_loop_t* loop, std::string path) {
  std::unique_ptr<Authenticator> a(new Authenticator(loop, std::move(path)));
  a->salt_.assign(32, '\0');
  SHOAL_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(a->salt_.data()), 32) == 1);
  if (a->enabled()) SHOAL_RETURN_IF_ERROR(a->reload());
  return a;
}

Authenticator::~Authenticator() { SHOAL_ASSERT(in_flight_ == 0); }

Status Authenticator::reload() {
  SHOAL_ASSERT(enabled());
  Result<std::shared_ptr<const api::Users>> users = read_users(path_);
  if (!users) return users.status();
  users_ = std::move(users).value();
  ++generation_;
  verified_.clear();
  return Status::ok();
}

std::string Authenticator::cache_key(std::string_view name, std::string_view password) const {
  // The name's length first: "ab" + "c" is not "a" + "bc".
  std::string in = salt_ + std::to_string(name.size()) + ":";
  in.append(name).append(password);
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  OPENSSL_cleanse(in.data(), in.size());
  return out;
}

bool Authenticator::take_try(const std::string& address, uint64_t now_ms) {
  if (failures_.size() >= kMaxTrackedAddresses && !failures_.count(address)) {
    failures_.erase(failures_.begin());  // bounded; an evicted address starts afresh
  }
  auto [it, fresh] = failures_.try_emplace(address);
  Failures& f = it->second;
  if (fresh) f.at_ms = now_ms;
  f.tokens = std::min(kFailureBurst, f.tokens + static_cast<double>(now_ms - f.at_ms) /
                                                    static_cast<double>(kFailureRefillMs));
  f.at_ms = now_ms;
  if (f.tokens < 1) return false;
  f.tokens -= 1;  // held while the check runs: concurrent guesses are counted too
  return true;
}

void Authenticator::give_back_try(const std::string& address) {
  auto it = failures_.find(address);
  if (it == failures_.end()) return;
  it->second.tokens = std::min(kFailureBurst, it->second.tokens + 1);
  if (it->second.tokens >= kFailureBurst) failures_.erase(it);  // nothing left to remember
}

bool Authenticator::verify(const std::string& name, std::string password,
                           const std::string& address, Done done) {
  SHOAL_ASSERT(enabled());
  // A credential verified before is right: answered first, whatever the address's failures
  // (a guesser behind the same NAT does not lock its users out).
  std::string key = cache_key(name, password);
  if (auto it = verified_.find(key); it != verified_.end() && it->second == name) {
    OPENSSL_cleanse(password.data(), password.size());
    done(Status::ok());
    return false;
  }
  if (!take_try(address, uv_now(loop_))) {
    OPENSSL_cleanse(password.data(), password.size());
    done(Status::overloaded("too many failed authentications from " + address +
                            "; one more is allowed each second"));
    return false;
  }
  const std::string& hash = users_->hash_for(name);
  if (!api::slow_check(hash)) {  // a token: SHA-256, at once
    auto* check = new Check{{},    this,           name,           std::move(password),
                            hash,  address,        std::move(key), generation_,
                            false, std::move(done)};
    ++in_flight_;
    finish(check, api::check_password(check->hash, check->password));
    return false;
  }
  if (in_flight_ >= kMaxChecksInFlight) {
    give_back_try(address);
    OPENSSL_cleanse(password.data(), password.size());
    done(Status::overloaded(std::to_string(in_flight_) + " password checks are running; retry"));
    return false;
  }
  auto* check = new Check{{},    this,           name,           std::move(password),
                          hash,  address,        std::move(key), generation_,
                          false, std::move(done)};
  check->work.data = check;
  ++in_flight_;
  const int rc = uv_queue_work(
      loop_, &check->work,
      [](uv_work_t* w) {
        auto* c = static_cast<Check*>(w->data);
        c->matched = api::check_password(c->hash, c->password);
      },
      [](uv_work_t* w, int status) {
        auto* c = static_cast<Check*>(w->data);
        c->self->finish(c, status == 0 && c->matched);
      });
  SHOAL_ASSERT(rc == 0);
  return true;
}

void Authenticator::finish(Check* check, bool matched) {
  std::unique_ptr<Check> owned(check);
  --in_flight_;
  OPENSSL_cleanse(owned->password.data(), owned->password.size());
  // A reload while the check ran may have removed the user or changed the password.
  const api::User* now = users_->find(owned->name);
  matched = matched && now && now->hash == owned->hash;
  if (!matched) {  // the try taken stays taken
    owned->done(api::wrong_credentials());
    return;
  }
  give_back_try(owned->address);
  if (owned->generation == generation_) {
    if (verified_.size() >= kMaxCachedCredentials) verified_.clear();
    verified_[owned->key] = owned->name;
  }
  owned->done(Status::ok());
}

Status Authenticator::authorize(std::string_view user, api::Access access,
                                std::string_view bucket) const {
  const api::User* u = users_->find(user);
  if (!u) return api::unauthenticated();
  if (api::Users::allows(*u, access, bucket)) return Status::ok();
  return api::forbidden(user, access, bucket);
}

}  // namespace shoal::uvshell
