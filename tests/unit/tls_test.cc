// TLS over memory BIOs (node/api/tls.h): two TlsStreams hand each other ciphertext in
// memory, as the shell and a peer would over a socket. Handshakes (mutual, host names, a
// client without a certificate, another CA, an expired certificate, TLS 1.2), data both
// ways, damaged records, and the helpers (looks_like_tls, parse_tls_min_version, load
// errors). The certificates are fixed test material (tls_certs.h).
#include "node/api/tls.h"

#include <openssl/ssl.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tls_certs.h"

namespace shoal::api {
namespace {

namespace fs = std::filesystem;
namespace certs = shoal::test_certs;
using Names = std::vector<std::string>;

TlsFiles files(std::string cert, std::string key, std::string ca, bool allow_tls12 = false) {
  TlsFiles f;
  f.cert = std::move(cert);
  f.key = std::move(key);
  f.ca = std::move(ca);
  f.allow_tls12 = allow_tls12;
  return f;
}

// The test PEMs as files (TlsContext loads files) in a fresh directory, removed after.
struct Pki {
  fs::path dir;
  Pki() {
    std::string pattern = (fs::temp_directory_path() / "shoal-tls-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    write("ca.crt", certs::kCaCert);
    write("other.crt", certs::kOtherCaCert);
    write("n1.crt", certs::kN1Cert);
    write("n1.key", certs::kN1Key);
    write("n2.crt", certs::kN2Cert);
    write("n2.key", certs::kN2Key);
    write("n3.crt", certs::kN3Cert);
    write("n3.key", certs::kN3Key);
    write("n4.crt", certs::kN4Cert);
    write("n4.key", certs::kN4Key);
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

  std::string path(const std::string& name) const { return (dir / name).string(); }
  void write(const std::string& name, std::string_view text) const {
    std::ofstream out(path(name), std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    REQUIRE(out.good());
  }
  // Node `id`'s contexts (its certificate and key, trusting `ca`).
  std::shared_ptr<TlsContext> node(const std::string& id, bool allow_tls12 = false,
                                   const std::string& ca = "ca") const {
    Result<std::shared_ptr<TlsContext>> ctx = TlsContext::load(
        files(path(id + ".crt"), path(id + ".key"), path(ca + ".crt"), allow_tls12));
    REQUIRE(ctx.is_ok());
    return *ctx;
  }
  // A client trusting `ca`, without a certificate of its own.
  std::shared_ptr<TlsContext> client(const std::string& ca = "ca") const {
    Result<std::shared_ptr<TlsContext>> ctx =
        TlsContext::load_client(files("", "", path(ca + ".crt")));
    REQUIRE(ctx.is_ok());
    return *ctx;
  }
};

// How a handshake in memory ended: each side's first error (ok: none) and its plaintext.
struct Pumped {
  Status client, server;
  std::string client_plain, server_plain;
};

// One side's turn: feeds it what is in flight to it (nothing once it failed).
void deliver(TlsStream& to, std::string* in_flight, Status* status, std::string* plain,
             std::string* back) {
  const std::string in = std::exchange(*in_flight, std::string());
  if (in.empty() || !status->is_ok()) return;
  *status = to.receive(in.data(), in.size(), plain, back);
}

// The client's first flight, then each side's output to the other until nothing is in
// flight: both established, or one failed (its alert still reaches the other).
Pumped pump(TlsStream& client, TlsStream& server) {
  Pumped p;
  std::string to_server, to_client;
  client.start(&to_server);
  REQUIRE_FALSE(to_server.empty());
  for (int round = 0; round < 50 && !(to_server.empty() && to_client.empty()); ++round) {
    deliver(server, &to_server, &p.server, &p.server_plain, &to_client);
    deliver(client, &to_client, &p.client, &p.client_plain, &to_server);
  }
  CHECK(to_server.empty());
  CHECK(to_client.empty());
  return p;
}

// Sends `data` from one established stream to the other; what the other decrypted.
std::string transfer(TlsStream& from, TlsStream& to, std::string_view data) {
  std::string cipher, plain, back;
  Result<size_t> taken = from.send(data, &cipher);
  REQUIRE(taken.is_ok());
  CHECK(*taken == data.size());
  // Fed in two uneven pieces, as a socket may cut it.
  const size_t cut = cipher.size() / 3;
  REQUIRE(to.receive(cipher.data(), cut, &plain, &back).is_ok());
  REQUIRE(to.receive(cipher.data() + cut, cipher.size() - cut, &plain, &back).is_ok());
  CHECK(back.empty());
  return plain;
}

std::string pattern_bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 4096) % 251);
  return s;
}

TEST_CASE("a mutual handshake between n1 and n2 carries data both ways", "[tls]") {
  Pki pki;
  auto n1 = pki.node("n1");
  auto n2 = pki.node("n2");
  auto server = TlsStream::accept(n1->server(true));
  auto client = TlsStream::connect(n2->client());
  std::string cipher;
  Result<size_t> early = client->send("too early", &cipher);
  REQUIRE(early.is_ok());
  CHECK(*early == 0);
  CHECK(cipher.empty());
  CHECK_FALSE(client->established());
  CHECK(client->peer_names().empty());

  const Pumped p = pump(*client, *server);
  REQUIRE(p.client.is_ok());
  REQUIRE(p.server.is_ok());
  REQUIRE(client->established());
  REQUIRE(server->established());
  CHECK(p.client_plain.empty());
  CHECK(p.server_plain.empty());
  // n2's certificate names it twice: DNS:n2, and URI:shoal:node:n2 with the prefix cut.
  CHECK(server->peer_names() == Names{"n2", "n2"});
  CHECK(client->peer_names() == Names{"n1", "localhost"});
  CHECK(server->has_peer_cert());
  CHECK(client->has_peer_cert());

  CHECK(transfer(*client, *server, "hello n1") == "hello n1");
  CHECK(transfer(*server, *client, "hello n2") == "hello n2");
  const std::string big = pattern_bytes(3u << 20);  // over send()'s 1 MiB write chunks
  CHECK(transfer(*client, *server, big) == big);
  CHECK(transfer(*server, *client, big) == big);
  CHECK(transfer(*client, *server, "") == "");
}

TEST_CASE("a client checks the server's certificate names the host it dialled", "[tls]") {
  Pki pki;
  auto n1 = pki.node("n1");
  auto client_ctx = pki.client();
  for (const char* host : {"localhost", "127.0.0.1", "n1"}) {
    INFO(host);
    auto server = TlsStream::accept(n1->server(false));
    auto client = TlsStream::connect(client_ctx->client(), host);
    const Pumped p = pump(*client, *server);
    CHECK(p.client.is_ok());
    CHECK(p.server.is_ok());
    CHECK(client->established());
    CHECK(server->established());
    CHECK_FALSE(server->has_peer_cert());
    CHECK(server->peer_names().empty());
  }
  for (const char* host : {"n2", "127.0.0.2", "example.com"}) {
    INFO(host);
    auto server = TlsStream::accept(n1->server(false));
    auto client = TlsStream::connect(client_ctx->client(), host);
    const Pumped p = pump(*client, *server);
    REQUIRE_FALSE(p.client.is_ok());
    CHECK(p.client.code() == Code::kInvalidArgument);
    CHECK_THAT(p.client.message(), Catch::Contains("verify"));
    CHECK_FALSE(client->established());
    CHECK_FALSE(server->established());
    CHECK_FALSE(p.server.is_ok());  // told by the client's alert
  }
}

TEST_CASE("the peer listener refuses a client without a certificate, a client one takes it",
          "[tls]") {
  Pki pki;
  auto n1 = pki.node("n1");
  auto client_ctx = pki.client();
  {
    auto server = TlsStream::accept(n1->server(true));
    auto client = TlsStream::connect(client_ctx->client(), "n1");
    const Pumped p = pump(*client, *server);
    REQUIRE_FALSE(p.server.is_ok());
    CHECK(p.server.code() == Code::kInvalidArgument);
    CHECK_THAT(p.server.message(), Catch::Contains("peer did not return a certificate"));
    CHECK_FALSE(server->established());
    // TLS 1.3: the client finished first; the server's alert then ends it there too.
    CHECK_FALSE(p.client.is_ok());
    CHECK_THAT(p.client.message(), Catch::Contains("certificate required"));
  }
  {
    auto server = TlsStream::accept(n1->server(false));
    auto client = TlsStream::connect(client_ctx->client(), "n1");
    const Pumped p = pump(*client, *server);
    CHECK(p.server.is_ok());
    CHECK(p.client.is_ok());
    CHECK(server->established());
    CHECK_FALSE(server->has_peer_cert());
    CHECK(transfer(*client, *server, "PING") == "PING");
  }
}

TEST_CASE("a certificate of another CA is refused on either side", "[tls]") {
  Pki pki;
  auto n1 = pki.node("n1");
  {  // a client trusting only the other CA refuses n1
    auto client_ctx = pki.client("other");
    auto server = TlsStream::accept(n1->server(false));
    auto client = TlsStream::connect(client_ctx->client(), "localhost");
    const Pumped p = pump(*client, *server);
    REQUIRE_FALSE(p.client.is_ok());
    CHECK_THAT(p.client.message(), Catch::Contains("certificate verify failed"));
    CHECK_FALSE(client->established());
  }
  {  // n3, whose certificate the other CA signed, dials n1's peer listener
    auto n3 = pki.node("n3");
    auto server = TlsStream::accept(n1->server(true));
    auto client = TlsStream::connect(n3->client());
    const Pumped p = pump(*client, *server);
    REQUIRE_FALSE(p.server.is_ok());
    CHECK_THAT(p.server.message(), Catch::Contains("certificate verify failed"));
    CHECK_FALSE(server->established());
    REQUIRE_FALSE(p.client.is_ok());
    CHECK_THAT(p.client.message(), Catch::Contains("unknown ca"));
  }
}

TEST_CASE("an expired certificate is refused by the peer listener", "[tls]") {
  Pki pki;
  auto n1 = pki.node("n1");
  auto n4 = pki.node("n4");  // loads: expiry is checked by whoever verifies it
  auto server = TlsStream::accept(n1->server(true));
  auto client = TlsStream::connect(n4->client(), "n1");
  const Pumped p = pump(*client, *server);
  REQUIRE_FALSE(p.server.is_ok());
  CHECK(p.server.code() == Code::kInvalidArgument);
  CHECK_THAT(p.server.message(), Catch::Contains("certificate has expired"));
  CHECK_FALSE(server->established());
  REQUIRE_FALSE(p.client.is_ok());
  CHECK_THAT(p.client.message(), Catch::Contains("expired"));
}

TEST_CASE("bytes that are not TLS are an error, never a crash", "[tls]") {
  Pki pki;
  auto n1 = pki.node("n1");
  const std::string inputs[] = {
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "*1\r\n$4\r\nPING\r\n",
      std::string("\x16\x03\x01\x00\x05hello", 10),
      std::string("\x16\x03\x03\xff\xff", 5) + std::string(70000, 'x'),
      std::string("\x17\x03\x03\x00\x10", 5) + std::string(16, '\0'),
  };
  for (const std::string& in : inputs) {
    INFO(in.substr(0, 16));
    for (bool mutual : {true, false}) {
      auto server = TlsStream::accept(n1->server(mutual));
      std::string plain, cipher;
      const Status s = server->receive(in.data(), in.size(), &plain, &cipher);
      CHECK_FALSE(s.is_ok());
      CHECK_THAT(s.message(), Catch::StartsWith("TLS: "));
      CHECK(plain.empty());
      CHECK_FALSE(server->established());
      // Feeding it more after the error does not crash (nor decrypt anything).
      (void)server->receive(in.data(), in.size(), &plain, &cipher);
      CHECK(plain.empty());
    }
  }
}

// An established n1 / n2 pair for the cases that start from one.
struct Established {
  std::shared_ptr<TlsContext> n1, n2;
  std::unique_ptr<TlsStream> server, client;
  explicit Established(const Pki& pki) : n1(pki.node("n1")), n2(pki.node("n2")) {
    server = TlsStream::accept(n1->server(true));
    client = TlsStream::connect(n2->client());
    const Pumped p = pump(*client, *server);
    REQUIRE(p.client.is_ok());
    REQUIRE(p.server.is_ok());
    REQUIRE(client->established());
    REQUIRE(server->established());
  }
};

TEST_CASE("a damaged record on an established stream is an error, never a crash", "[tls]") {
  Pki pki;
  std::string sealed;
  {
    Established e(pki);
    Result<size_t> taken = e.client->send("SET k v", &sealed);
    REQUIRE(taken.is_ok());
    REQUIRE(sealed.size() > 5);
  }
  // Every 13th bit flipped (header, tag and payload), each on a fresh pair.
  int refused = 0;
  for (size_t bit = 0; bit < sealed.size() * 8; bit += 13) {
    INFO("bit " << bit);
    Established e(pki);
    std::string fresh;
    REQUIRE(e.client->send("SET k v", &fresh).is_ok());
    REQUIRE(fresh.size() == sealed.size());
    fresh[bit / 8] = static_cast<char>(fresh[bit / 8] ^ (1 << (bit % 8)));
    std::string plain, back;
    const Status s = e.server->receive(fresh.data(), fresh.size(), &plain, &back);
    if (s.is_ok()) {
      // A flipped length bit can leave a record that is merely incomplete; never plaintext.
      CHECK(plain.empty());
      continue;
    }
    ++refused;
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(plain.empty());
    // The stream stays unusable: an intact record after the damaged one is not read.
    std::string again;
    REQUIRE(e.client->send("GET k", &again).is_ok());
    const Status next = e.server->receive(again.data(), again.size(), &plain, &back);
    CHECK_FALSE(next.is_ok());
    CHECK(plain.empty());
  }
  CHECK(refused > 10);
}

TEST_CASE("garbage after the handshake ends an established stream", "[tls]") {
  Pki pki;
  Established e(pki);
  const std::string garbage = std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, 'z');
  std::string plain, back;
  const Status s = e.server->receive(garbage.data(), garbage.size(), &plain, &back);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(plain.empty());
  CHECK_FALSE(back.empty());  // an alert telling the client why
  std::string client_plain, client_back;
  const Status told = e.client->receive(back.data(), back.size(), &client_plain, &client_back);
  CHECK_FALSE(told.is_ok());
  CHECK(client_plain.empty());
}

TEST_CASE("looks_like_tls judges a connection's first bytes", "[tls]") {
  CHECK(looks_like_tls(""));
  CHECK(looks_like_tls("\x16"));
  CHECK(looks_like_tls("\x16\x03"));
  CHECK(looks_like_tls("\x16\x03\x01\x02\x00"));
  CHECK_FALSE(looks_like_tls("\x16\x01"));
  CHECK_FALSE(looks_like_tls("GET "));
  CHECK_FALSE(looks_like_tls("*1\r\n"));
  CHECK_FALSE(looks_like_tls(std::string_view("\0\x03", 2)));
  CHECK_FALSE(looks_like_tls("\x17\x03\x03"));
}

TEST_CASE("parse_tls_min_version takes 1.2 and 1.3 only", "[tls]") {
  bool allow = true;
  CHECK(parse_tls_min_version("1.3", &allow).is_ok());
  CHECK_FALSE(allow);
  CHECK(parse_tls_min_version("1.2", &allow).is_ok());
  CHECK(allow);
  for (const char* bad : {"1.1", "", "TLS1.3", "1.3 ", "13", "1.0"}) {
    INFO(bad);
    allow = false;
    const Status s = parse_tls_min_version(bad, &allow);
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK_THAT(s.message(), Catch::Contains("1.2 or 1.3"));
    CHECK_FALSE(allow);  // untouched
  }
}

// load()'s error: invalid_argument naming `file`.
void check_load_fails(const TlsFiles& f, const std::string& file, const std::string& what) {
  Result<std::shared_ptr<TlsContext>> ctx = TlsContext::load(f);
  REQUIRE_FALSE(ctx.is_ok());
  CHECK(ctx.status().code() == Code::kInvalidArgument);
  CHECK_THAT(ctx.status().message(), Catch::Contains(file));
  CHECK_THAT(ctx.status().message(), Catch::Contains(what));
}

TEST_CASE("TlsContext::load names the file it could not use", "[tls]") {
  Pki pki;
  pki.write("garbage.crt", "not a certificate\n");
  pki.write("empty.crt", "");
  const std::string ca = pki.path("ca.crt"), crt = pki.path("n1.crt"), key = pki.path("n1.key");
  const std::string missing = pki.path("missing.crt");
  check_load_fails(files(missing, key, ca), missing, "cannot use the certificate");
  check_load_fails(files(crt, pki.path("missing.key"), ca), "missing.key", "cannot use the key");
  check_load_fails(files(crt, missing, ca), missing, "key");
  check_load_fails(files(crt, key, missing), missing, "cannot read the CA");
  // A key that is not the certificate's (n2's with n1's certificate).
  check_load_fails(files(crt, pki.path("n2.key"), ca), pki.path("n2.key"), "key");
  check_load_fails(files(crt, key, pki.path("garbage.crt")), "garbage.crt", "CA");
  check_load_fails(files(crt, key, pki.path("empty.crt")), "empty.crt", "CA");
  check_load_fails(files(pki.path("garbage.crt"), key, ca), "garbage.crt", "certificate");
  check_load_fails(files(crt, pki.path("garbage.crt"), ca), "garbage.crt", "key");

  Result<std::shared_ptr<TlsContext>> half = TlsContext::load_client(files(crt, "", ca));
  REQUIRE_FALSE(half.is_ok());
  CHECK_THAT(half.status().message(), Catch::Contains("needs its key"));
  Result<std::shared_ptr<TlsContext>> bad_ca =
      TlsContext::load_client(files("", "", pki.path("garbage.crt")));
  REQUIRE_FALSE(bad_ca.is_ok());
  CHECK_THAT(bad_ca.status().message(), Catch::Contains("garbage.crt"));
  // A good set loads, with the certificate's expiry for the logs (year 2126).
  Result<std::shared_ptr<TlsContext>> good = TlsContext::load(files(crt, key, ca));
  REQUIRE(good.is_ok());
  CHECK((*good)->cert_not_after() > 4'000'000'000);
  CHECK((*good)->server(true) != (*good)->server(false));
  Result<std::shared_ptr<TlsContext>> with_cert = TlsContext::load_client(files(crt, key, ca));
  CHECK(with_cert.is_ok());
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// A TLS 1.2-only client context presenting n2's certificate, trusting the cluster CA.
SslCtxPtr tls12_client(const Pki& pki) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  REQUIRE(ctx != nullptr);
  REQUIRE(SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION) == 1);
  REQUIRE(SSL_CTX_use_certificate_chain_file(ctx.get(), pki.path("n2.crt").c_str()) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), pki.path("n2.key").c_str(), SSL_FILETYPE_PEM) ==
          1);
  REQUIRE(SSL_CTX_load_verify_locations(ctx.get(), pki.path("ca.crt").c_str(), nullptr) == 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

TEST_CASE("a TLS 1.2 client is refused by default and taken with allow_tls12", "[tls]") {
  Pki pki;
  SslCtxPtr old = tls12_client(pki);
  for (bool mutual : {true, false}) {
    INFO("mutual " << mutual);
    auto n1 = pki.node("n1");
    auto server = TlsStream::accept(n1->server(mutual));
    auto client = TlsStream::connect(old.get(), "n1");
    const Pumped p = pump(*client, *server);
    REQUIRE_FALSE(p.server.is_ok());
    CHECK_THAT(p.server.message(), Catch::Contains("unsupported protocol"));
    CHECK_FALSE(p.client.is_ok());
    CHECK_FALSE(server->established());
  }
  for (bool mutual : {true, false}) {
    INFO("mutual " << mutual);
    auto n1 = pki.node("n1", /*allow_tls12=*/true);
    auto server = TlsStream::accept(n1->server(mutual));
    auto client = TlsStream::connect(old.get(), "n1");
    const Pumped p = pump(*client, *server);
    REQUIRE(p.server.is_ok());
    REQUIRE(p.client.is_ok());
    REQUIRE(server->established());
    REQUIRE(client->established());
    // Client listeners ask for a certificate too (one naming a user signs a client in).
    CHECK(server->has_peer_cert());
    CHECK(server->peer_names() == Names{"n2", "n2"});
    CHECK(server->peer_uris("shoal:node:") == Names{"n2"});
    CHECK(server->peer_uris("shoal:user:").empty());
    CHECK(transfer(*client, *server, "over 1.2") == "over 1.2");
    CHECK(transfer(*server, *client, "back") == "back");
  }
  {  // a node allowing 1.2 still speaks 1.3 to its own kind
    auto n1 = pki.node("n1", true);
    auto n2 = pki.node("n2", true);
    auto server = TlsStream::accept(n1->server(true));
    auto client = TlsStream::connect(n2->client(), "n1");
    const Pumped p = pump(*client, *server);
    CHECK(p.server.is_ok());
    CHECK(p.client.is_ok());
    CHECK(server->established());
  }
}

}  // namespace
}  // namespace shoal::api
