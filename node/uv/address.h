// Addresses as shoald's flags and the gossip give them, and their resolution to socket
// addresses. Pure parsing plus getaddrinfo; no libuv state.
//
// Errors: invalid_argument names the bad text and what was expected; resolve() answers
// invalid_argument with the resolver's reason.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace shoal::uvshell {

struct Address {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

struct Member {
  std::string id;
  Address peer;  // where its peer listener is
};

// "host:port" (host defaults to 127.0.0.1 when only ":port" or "port" is given).
Result<Address> parse_address(std::string_view text);
// Whether only this machine can reach a listener on `a`: 127.0.0.0/8, ::1 or "localhost".
// Any other host (a name included: it may resolve elsewhere) counts as reachable.
bool is_loopback(const Address& a);
// "n1@127.0.0.1:7101,n2@127.0.0.1:7102,..." (empty items skipped; an id twice refused)
Result<std::vector<Member>> parse_members(std::string_view text);
// "127.0.0.1:7101,127.0.0.1:7102,..."
Result<std::vector<Address>> parse_addresses(std::string_view text);

// The first socket address `a` resolves to (IPv4 or IPv6).
Result<sockaddr_storage> resolve(const Address& a);

// Seeds are dialled before their ids are known: the core addresses them as "@host:port".
inline bool is_seed_name(std::string_view peer) { return !peer.empty() && peer[0] == '@'; }

}  // namespace shoal::uvshell
