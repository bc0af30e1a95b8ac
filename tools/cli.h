// What every `shoal` command shares: the global flags (--host, --json), the consistency
// flags of the data commands and `shoal check`, and how an error is printed and turned
// into an exit code.
//
// Exit codes: 0 ok, 1 the node answered with an error (not_found, timeout, ...),
// 2 bad usage or a request refused before sending (invalid_argument, too_large).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crdt/status.h"
#include "node/core/options.h"

namespace CLI {
class App;
}

namespace shoal::cli {

struct Global {
  std::string host;  // one address or a comma-separated list
  bool json = false;
  // Sign in as this user ($SHOAL_USER); the password comes from password_file's first line,
  // else $SHOAL_PASSWORD (never a flag: a command line is visible to every local user).
  std::string user, password_file;
  // TLS to the nodes: the CA that signed them, and a client certificate and key if any
  // ($SHOAL_TLS_CA, $SHOAL_TLS_CERT, $SHOAL_TLS_KEY: what client::tls_from_env reads).
  std::string tls_ca, tls_cert, tls_key;
};
// The password Global names; invalid_argument when a user is set and none is found.
Result<std::string> password_of(const Global& g);

// The consistency flags every data command takes.
struct ConsistencyFlags {
  std::string consistency, r, w, pr, pw;
  uint32_t n = 0, timeout_ms = 0;
  bool durable = false, no_sloppy = false;

  void add_to(CLI::App* cmd);
  // The request options the flags name; invalid_argument when they do not make sense.
  Result<core::RequestOptions> build() const;
  // How the flags read, for reports ("quorum", "r=1 w=1 sloppy", ...).
  std::string describe() const;
};

// Prints `s` (as JSON with --json, else on stderr); returns the exit code it means.
int print_error(const Global& g, const Status& s);

}  // namespace shoal::cli
