// Peer authentication without sending the cluster secret (protocol 2, peer_codec.h).
//
// Each side of a peer connection proves it knows the secret by an HMAC-SHA256, keyed by
// a key derived from the secret, over both sides' fresh random nonces and both node ids, with its
// role (dialler or listener) first: a proof cannot be replayed on another connection (new nonces),
// reflected back to its sender (the role differs), or moved to another pair of nodes (the ids). An
// observer, or a stranger who sends a hello and gets a challenge, sees nonces and MACs, never the
// secret. The MACs are keyed not by the secret but by peer_key(secret), an scrypt of it computed
// once at start, so each offline guess of the secret from a recorded proof costs an scrypt (32 MiB,
// ~0.1 s) instead of one HMAC (docs/security.md).
#pragma once

#include <string>
#include <string_view>

namespace shoal::uvshell {

constexpr size_t kNonceBytes = 32;

enum class PeerRole { kDialler, kListener };

// kNonceBytes from the operating system's random source (OpenSSL RAND_bytes).
// Aborts if there is none: a predictable nonce would make proofs replayable.
std::string random_nonce();

// The key proofs are made with: scrypt(secret, "shoal peer key v2", N=2^15, r=8, p=1),
// 32 bytes. About 0.1 s: call once (at start), not per connection.
std::string peer_key(std::string_view secret);

// The proof `role` sends: HMAC-SHA256(key, role | dialler_nonce | listener_nonce |
// dialler id | listener id), each field length-prefixed so no two inputs collide.
// `key`: peer_key(secret).
std::string peer_proof(std::string_view key, PeerRole role, std::string_view dialler_nonce,
                       std::string_view listener_nonce, std::string_view dialler,
                       std::string_view listener);

// Constant-time comparison of a received proof with the expected one.
bool proof_matches(std::string_view got, std::string_view expected);

}  // namespace shoal::uvshell
