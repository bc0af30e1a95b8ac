#include "node/api/tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "crdt/assert.h"

namespace shoal::api {
namespace {

constexpr std::string_view kUriPrefix = "shoal:node:";
constexpr size_t kMaxWriteChunk = 1u << 20;  // SSL_write takes an int

// OpenSSL's reasons queued on this thread, oldest first; the queue is emptied.
std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "no reason given" : out;
}

Status ctx_error(const std::string& what) {
  return Status::invalid_argument("TLS: " + what + ": " + openssl_errors());
}

// A context with the node's certificate and the CA; nullptr and *error on failure.
SSL_CTX* make_ctx(const SSL_METHOD* method, const TlsFiles& f, int verify, Status* error) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  SHOAL_ASSERT(ctx != nullptr);
  SSL_CTX_set_min_proto_version(ctx, f.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // idle connections hold no record buffers
  const bool own_cert = !f.cert.empty() || !f.key.empty();  // a client may have none
  if (own_cert && SSL_CTX_use_certificate_chain_file(ctx, f.cert.c_str()) != 1) {
    *error = ctx_error("cannot use the certificate " + f.cert);
  } else if (own_cert && SSL_CTX_use_PrivateKey_file(ctx, f.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = ctx_error("cannot use the key " + f.key);
  } else if (own_cert && SSL_CTX_check_private_key(ctx) != 1) {
    *error = ctx_error("the key " + f.key + " does not match the certificate " + f.cert);
  } else if (SSL_CTX_load_verify_locations(ctx, f.ca.c_str(), nullptr) != 1) {
    *error = ctx_error("cannot read the CA " + f.ca);
  }
  if (!error->is_ok()) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, verify, nullptr);
  // Resumed TLS 1.2 sessions of verified clients need a context id (OpenSSL refuses them
  // otherwise); TLS 1.3 ignores it.
  static const unsigned char kSessionContext[] = "shoal";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  return ctx;
}

int64_t not_after(SSL_CTX* ctx) {
  const X509* cert = SSL_CTX_get0_certificate(ctx);
  std::tm tm{};
  if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::load(const TlsFiles& files) {
  SHOAL_ASSERT(!files.cert.empty() && !files.key.empty() && !files.ca.empty());
  ERR_clear_error();
  std::shared_ptr<TlsContext> t(new TlsContext());
  Status error;
  const int mutual = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  t->peer_server_ = make_ctx(TLS_server_method(), files, mutual, &error);
  if (!error.is_ok()) return error;
  t->client_server_ = make_ctx(TLS_server_method(), files, SSL_VERIFY_PEER, &error);
  if (!error.is_ok()) return error;
  t->client_ = make_ctx(TLS_client_method(), files, SSL_VERIFY_PEER, &error);
  if (!error.is_ok()) return error;
  t->not_after_ = not_after(t->peer_server_);
  return t;
}

Result<std::shared_ptr<TlsContext>> TlsContext::load_client(const TlsFiles& files) {
  SHOAL_ASSERT(!files.ca.empty());
  if (files.cert.empty() != files.key.empty()) {
    return Status::invalid_argument(
        "TLS: a client certificate needs its key, and a key its certificate");
  }
  ERR_clear_error();
  std::shared_ptr<TlsContext> t(new TlsContext());
  Status error;
  t->client_ = make_ctx(TLS_client_method(), files, SSL_VERIFY_PEER, &error);
  if (!error.is_ok()) return error;
  return t;
}

Status parse_tls_min_version(std::string_view text, bool* allow_tls12) {
  if (text != "1.2" && text != "1.3") {
    return Status::invalid_argument("TLS version \"" + std::string(text.substr(0, 16)) +
                                    "\": 1.2 or 1.3");
  }
  *allow_tls12 = text == "1.2";
  return Status::ok();
}

TlsContext::~TlsContext() {
  SSL_CTX_free(peer_server_);
  SSL_CTX_free(client_server_);
  SSL_CTX_free(client_);
}

TlsStream::TlsStream(SSL* ssl) : ssl_(ssl) {
  SHOAL_ASSERT(ssl_ != nullptr);
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  SHOAL_ASSERT(in_ && out_);
  SSL_set_bio(ssl_, in_, out_);  // ssl_ owns both from here
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

std::unique_ptr<TlsStream> TlsStream::accept(SSL_CTX* ctx) {
  std::unique_ptr<TlsStream> s(new TlsStream(SSL_new(ctx)));
  SSL_set_accept_state(s->ssl_);
  return s;
}

std::unique_ptr<TlsStream> TlsStream::connect(SSL_CTX* ctx, const std::string& verify_host) {
  std::unique_ptr<TlsStream> s(new TlsStream(SSL_new(ctx)));
  SSL_set_connect_state(s->ssl_);
  if (!verify_host.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(s->ssl_);
    // An IP address is checked against the certificate's IP names, a host name against its
    // DNS names (and sent as SNI).
    if (X509_VERIFY_PARAM_set1_ip_asc(param, verify_host.c_str()) != 1) {
      ERR_clear_error();
      SHOAL_ASSERT(X509_VERIFY_PARAM_set1_host(param, verify_host.c_str(), 0) == 1);
      SSL_set_tlsext_host_name(s->ssl_, verify_host.c_str());
    }
  }
  return s;
}

void TlsStream::drain(std::string* cipher) {
  char buf[16 * 1024];
  int n = 0;
  while ((n = BIO_read(out_, buf, sizeof(buf))) > 0) cipher->append(buf, static_cast<size_t>(n));
}

void TlsStream::start(std::string* cipher) {
  ERR_clear_error();
  (void)SSL_do_handshake(ssl_);  // WANT_READ: the ClientHello is in out_
  drain(cipher);
}

Status TlsStream::receive(const char* data, size_t n, std::string* plain, std::string* cipher) {
  ERR_clear_error();
  if (n > 0) SHOAL_ASSERT(BIO_write(in_, data, static_cast<int>(n)) == static_cast<int>(n));
  auto failed = [&](int rc) -> Status {
    const int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::ok();
    drain(cipher);  // an alert telling the other side why
    if (e == SSL_ERROR_ZERO_RETURN) return Status::unavailable("TLS: closed by the other side");
    const long verify = SSL_get_verify_result(ssl_);
    std::string why = openssl_errors();
    if (verify != X509_V_OK) why = X509_verify_cert_error_string(verify) + (": " + why);
    return Status::invalid_argument("TLS: " + why);
  };
  if (!established_) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const Status s = failed(rc);
      drain(cipher);
      return s;
    }
    established_ = true;
  }
  char buf[16 * 1024];
  for (;;) {
    const int rc = SSL_read(ssl_, buf, sizeof(buf));
    if (rc <= 0) {
      const Status s = failed(rc);
      drain(cipher);
      return s;
    }
    plain->append(buf, static_cast<size_t>(rc));
  }
}

Result<size_t> TlsStream::send(std::string_view plain, std::string* cipher) {
  if (!established_) return size_t{0};
  ERR_clear_error();
  size_t taken = 0;
  while (taken < plain.size()) {
    const size_t chunk = std::min(kMaxWriteChunk, plain.size() - taken);
    const int rc = SSL_write(ssl_, plain.data() + taken, static_cast<int>(chunk));
    if (rc <= 0) return Status::invalid_argument("TLS: cannot encrypt: " + openssl_errors());
    taken += static_cast<size_t>(rc);
  }
  drain(cipher);
  return taken;
}

bool TlsStream::has_peer_cert() const { return SSL_get0_peer_certificate(ssl_) != nullptr; }

namespace {

// The peer certificate's subjectAltNames: DNS ones when `dns`, and URIs starting with
// `uri_prefix` (the prefix cut off).
std::vector<std::string> alt_names(SSL* ssl, bool dns, std::string_view uri_prefix) {
  std::vector<std::string> out;
  const X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (!(g->type == GEN_DNS && dns) && g->type != GEN_URI) continue;
    const ASN1_STRING* s = g->type == GEN_DNS ? g->d.dNSName : g->d.uniformResourceIdentifier;
    std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
    if (g->type == GEN_URI) {
      if (name.compare(0, uri_prefix.size(), uri_prefix) != 0) continue;
      name.erase(0, uri_prefix.size());
    }
    out.push_back(std::move(name));
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace

std::vector<std::string> TlsStream::peer_names() const { return alt_names(ssl_, true, kUriPrefix); }

std::vector<std::string> TlsStream::peer_uris(std::string_view prefix) const {
  return alt_names(ssl_, false, prefix);
}

bool looks_like_tls(std::string_view first_bytes) {
  if (first_bytes.empty()) return true;  // nothing to judge by yet
  if (static_cast<uint8_t>(first_bytes[0]) != 0x16) return false;
  return first_bytes.size() < 2 || first_bytes[1] == 0x03;
}

}  // namespace shoal::api
