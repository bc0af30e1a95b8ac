// The users file (node/api/users.h) a node reads at start and on SIGHUP, and the HTTP
// bearer token a stranger sends: parse never throws or crashes, what parses re-serializes
// to itself, and a grant's glob checks any bucket within its budget. No scrypt runs per
// input (a hash is parsed, not computed), so the target stays fast.
#include "fuzz.h"
#include "node/api/users.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shoal::api::Users;
  const std::string_view text = shoal::fuzz::view(data, size);
  (void)shoal::api::split_bearer(text);
  (void)shoal::api::parse_grant(text);
  auto users = Users::parse(text);
  if (!users) {
    FUZZ_CHECK(!users.status().message().empty());
    return 0;
  }
  const std::string once = users->serialize();
  auto again = Users::parse(once);
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(again->serialize() == once);
  const std::string_view bucket = text.substr(0, 64);
  for (const auto& [name, u] : users->all()) {
    for (auto access : {shoal::api::Access::kRead, shoal::api::Access::kWrite}) {
      (void)Users::allows(u, access, bucket);
    }
    (void)shoal::api::slow_check(u.hash);
  }
  return 0;
}
