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
  std::string to_string() const;  // "host:port", "[v6]:port"
};

struct Member {
  std::string id;
  Address peer;  // where its peer listener is
};

// "host:port" or "[IPv6]:port" (host defaults to 127.0.0.1 when only ":port" or "port" is
// given). An IPv6 host without brackets is refused: its last ":" cannot be told from the port's.
Result<Address> parse_address(std::string_view text);
// The key per-address limits count by (connection caps, failed authentications): an IPv4
// address (an IPv4-mapped IPv6 one included) as itself; any other IPv6 address as its /64
// ("2001:db8:1:2::/64"), since one site holds a whole /64, but ::1 as itself; "?" for
// another family. Each 127.x.y.z address is its own (tests dial from several).
std::string address_key(const sockaddr* sa);
// An address a peer sent (gossip, hello): parse_address, and also the form nodes before
// bracketed IPv6 sent ("::1:7101": the host is everything before the last ':').
Result<Address> parse_peer_address(std::string_view text);
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
