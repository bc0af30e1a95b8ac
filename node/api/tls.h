// TLS for Shoal's connections (issue #16; docs/security.md, "TLS"), through OpenSSL
// memory BIOs: the shell (and the client library) reads and writes the socket as before
// and hands the bytes to a TlsStream, which turns ciphertext into plaintext and back. No
// socket here, so the libuv shell and the blocking client share it; the core never sees TLS.
//
// TlsContext owns the SSL_CTXs made from one set of files: the node's certificate and key,
// and the CA that signs every node's certificate (peers) and, when clients present one,
// theirs. A reload (SIGHUP) makes a new TlsContext; connections keep the one they began
// with (an SSL holds a reference to its SSL_CTX), so none is dropped.
//
// Peer identity: a node's certificate names its node id as a subjectAltName URI
// shoal:node:<id>. Peer links are mutual: each side presents its certificate and checks the
// other's against the CA; the shell then checks that name against the id the other side
// claims (peer_uris("shoal:node:")). A client certificate names its user, shoal:user:<name>.
//
// Errors: load() returns invalid_argument naming the file and OpenSSL's reason; a
// TlsStream's receive() returns invalid_argument with OpenSSL's reason when the other
// side's bytes are not TLS or the handshake fails (the shell closes the connection).
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace shoal::api {

struct TlsFiles {
  std::string cert, key, ca;  // PEM files; cert may hold the chain
  bool allow_tls12 = false;   // TLS 1.3 only unless set
};
// What a version flag names: "1.3" (default), "1.2" (also 1.2); invalid_argument otherwise.
Status parse_tls_min_version(std::string_view text, bool* allow_tls12);

class TlsContext {
 public:
  // A node's contexts. REQUIRES: files.cert, key and ca non-empty.
  static Result<std::shared_ptr<TlsContext>> load(const TlsFiles& files);
  // A client's (the CLI, the client library): client() only, verifying servers against
  // files.ca and presenting files.cert and key when both are given. REQUIRES: ca non-empty.
  static Result<std::shared_ptr<TlsContext>> load_client(const TlsFiles& files);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Listeners: present the node's certificate. `require_peer_cert`: the peer listener, which
  // refuses a client without a certificate signed by the CA; client listeners ask for one
  // and take clients without (a certificate signed by the CA naming a user, URI
  // shoal:user:NAME, signs the client in: docs/security.md; a certificate the CA did not
  // sign fails the handshake).
  SSL_CTX* server(bool require_peer_cert) const {
    return require_peer_cert ? peer_server_ : client_server_;
  }
  // Dialled peer links: present the node's certificate, require the listener's.
  SSL_CTX* client() const { return client_; }
  // Not after of the node's certificate (seconds since the epoch), for logs.
  int64_t cert_not_after() const { return not_after_; }

 private:
  TlsContext() = default;
  SSL_CTX* peer_server_ = nullptr;
  SSL_CTX* client_server_ = nullptr;
  SSL_CTX* client_ = nullptr;
  int64_t not_after_ = 0;
};

class TlsStream {
 public:
  // An accepted connection (server side) or a dialled one (client side). `verify_host`:
  // the server's certificate must name it (a DNS name, or an IP address); empty: the
  // caller checks the names itself (peer_names: a peer's node id).
  static std::unique_ptr<TlsStream> accept(SSL_CTX* ctx);
  static std::unique_ptr<TlsStream> connect(SSL_CTX* ctx, const std::string& verify_host = "");
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Feeds ciphertext from the socket; appends what it decrypts to *plain and whatever the
  // protocol must send back (handshake, alerts) to *cipher. An error: the stream is unusable.
  Status receive(const char* data, size_t n, std::string* plain, std::string* cipher);
  // Encrypts as much of `plain` as the handshake allows (none before it finished) and
  // appends the records to *cipher; returns the bytes of `plain` taken.
  Result<size_t> send(std::string_view plain, std::string* cipher);
  // The client's first flight (connect): what to write before anything was read.
  void start(std::string* cipher);
  bool established() const { return established_; }
  // The other side's certificate's node names (subjectAltName DNS and URI shoal:node:ID),
  // once established; empty without a certificate.
  std::vector<std::string> peer_names() const;
  // Its subjectAltName URIs that start with `prefix`, the prefix cut off
  // (peer_uris("shoal:user:"): the users a client certificate names).
  std::vector<std::string> peer_uris(std::string_view prefix) const;
  bool has_peer_cert() const;

 private:
  explicit TlsStream(SSL* ssl);
  void drain(std::string* cipher);  // ciphertext OpenSSL produced, to the socket
  SSL* ssl_;
  BIO* in_;   // ciphertext from the socket (owned by ssl_)
  BIO* out_;  // ciphertext to the socket (owned by ssl_)
  bool established_ = false;
};

// Whether the first bytes of a connection look like a TLS handshake record (0x16 0x03):
// a plaintext client on a TLS port is answered in clear and closed, not handed to OpenSSL.
bool looks_like_tls(std::string_view first_bytes);

}  // namespace shoal::api
