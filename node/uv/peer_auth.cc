#include "node/uv/peer_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crdt/assert.h"
#include "crdt/coding.h"
#include "node/api/users.h"

namespace shoal::uvshell {

std::string random_nonce() {
  std::string nonce(kNonceBytes, '\0');
  const int ok = RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceBytes);
  SHOAL_ASSERT(ok == 1);
  return nonce;
}

std::string peer_key(std::string_view secret) {
  return api::scrypt_key(secret, "shoal peer key v2");
}

std::string peer_proof(std::string_view key, PeerRole role, std::string_view dialler_nonce,
                       std::string_view listener_nonce, std::string_view dialler,
                       std::string_view listener) {
  std::string input = role == PeerRole::kDialler ? "shoal peer dialler" : "shoal peer listener";
  for (std::string_view field : {dialler_nonce, listener_nonce, dialler, listener}) {
    coding::put_be32(&input, static_cast<uint32_t>(field.size()));
    input.append(field);
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_bytes = 0;
  const unsigned char* out =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_bytes);
  SHOAL_ASSERT(out != nullptr && mac_bytes == 32);
  return std::string(reinterpret_cast<const char*>(mac), mac_bytes);
}

bool proof_matches(std::string_view got, std::string_view expected) {
  return got.size() == expected.size() &&
         CRYPTO_memcmp(got.data(), expected.data(), got.size()) == 0;
}

}  // namespace shoal::uvshell
