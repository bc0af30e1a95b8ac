// TLS-record handling at the shell edge (node/api/tls.h): a listener's TlsStream fed a
// connection's first bytes, whole and in 1..16-byte pieces, as the shell hands it what a
// socket delivers. The first byte's low bit picks the peer listener (a certificate
// required) or a client one. Whatever the bytes: no crash, leak or undefined behaviour;
// no plaintext and no peer names before the handshake finished; send() takes nothing
// before it; once receive() failed the stream stays failed; fed whole or cut, the bytes
// are refused alike. looks_like_tls on every prefix: a connection judged plaintext stays
// plaintext however many more bytes arrive. The node's contexts load once, from the unit
// tests' certificates (tests/unit/tls_certs.h). OpenSSL itself is not instrumented: the
// coverage libFuzzer reports is of Shoal's side of the edge.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "fuzz.h"
#include "node/api/tls.h"
#include "tests/unit/tls_certs.h"

namespace {

namespace fs = std::filesystem;
using shoal::api::TlsContext;
using shoal::api::TlsStream;

void write_file(const fs::path& path, const char* text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  FUZZ_CHECK(out.good());
}

// n1's contexts, loaded from files in a temporary directory removed right after.
std::shared_ptr<TlsContext> load_node() {
  std::string pattern = (fs::temp_directory_path() / "shoal-fuzz-tls-XXXXXX").string();
  FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
  const fs::path dir = pattern;
  write_file(dir / "n1.crt", shoal::test_certs::kN1Cert);
  write_file(dir / "n1.key", shoal::test_certs::kN1Key);
  write_file(dir / "ca.crt", shoal::test_certs::kCaCert);
  shoal::api::TlsFiles files;
  files.cert = (dir / "n1.crt").string();
  files.key = (dir / "n1.key").string();
  files.ca = (dir / "ca.crt").string();
  auto ctx = shoal::api::TlsContext::load(files);
  std::error_code ec;
  fs::remove_all(dir, ec);
  FUZZ_CHECK(ctx.is_ok());
  return *ctx;
}

const TlsContext& node() {
  static const std::shared_ptr<TlsContext> ctx = load_node();
  return *ctx;
}

// What a listener made of a connection's bytes: whether it refused them, and how far the
// handshake got.
struct Fed {
  bool failed = false;
  bool established = false;
};

Fed feed(std::string_view s, size_t chunk, bool mutual) {
  std::unique_ptr<TlsStream> tls = TlsStream::accept(node().server(mutual));
  Fed out;
  std::string plain, cipher;
  for (size_t off = 0; off < s.size(); off += chunk) {
    const std::string_view piece = s.substr(off, chunk);
    const shoal::Status status = tls->receive(piece.data(), piece.size(), &plain, &cipher);
    if (out.failed) {
      FUZZ_CHECK(!status.is_ok());  // an error: the stream is unusable
    } else if (!status.is_ok()) {
      out.failed = true;
      FUZZ_CHECK(status.message().rfind("TLS: ", 0) == 0);
    }
    FUZZ_CHECK(plain.empty() || tls->established());
    if (!tls->established()) {
      FUZZ_CHECK(tls->peer_names().empty());
      std::string early;
      const shoal::Result<size_t> taken = tls->send("PING", &early);
      FUZZ_CHECK(taken.is_ok() && *taken == 0 && early.empty());
    }
    if (!tls->has_peer_cert()) FUZZ_CHECK(tls->peer_names().empty());
  }
  out.established = tls->established();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = shoal::fuzz::view(data, size);
  bool plaintext = false;  // some prefix was judged not TLS
  for (size_t n = 0; n <= s.size() && n <= 4; ++n) {
    const bool tls = shoal::api::looks_like_tls(s.substr(0, n));
    FUZZ_CHECK(!(plaintext && tls));
    plaintext = !tls;
  }
  FUZZ_CHECK(shoal::api::looks_like_tls(s) == !plaintext);

  const bool mutual = size > 0 && (data[0] & 1) != 0;
  const Fed whole = feed(s, s.size() + 1, mutual);
  const Fed cut = feed(s, shoal::fuzz::chunk_of(s), mutual);
  FUZZ_CHECK(whole.failed == cut.failed);
  // No input can finish a handshake: that takes the Finished of a key it never had.
  FUZZ_CHECK(!whole.established && !cut.established);
  return 0;
}
