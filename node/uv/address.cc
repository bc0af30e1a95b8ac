#include "node/uv/address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <set>

namespace shoal::uvshell {

Result<Address> parse_address(std::string_view text) {
  Address a;
  std::string_view port = text;
  if (!text.empty() && text[0] == '[') {  // [IPv6]:port
    const size_t close = text.find("]:");
    in6_addr v6{};
    a.host = std::string(text.substr(1, close == std::string_view::npos ? 0 : close - 1));
    if (close == std::string_view::npos || inet_pton(AF_INET6, a.host.c_str(), &v6) != 1) {
      return Status::invalid_argument(
          "bad address \"" + std::string(text) + "\": expected [IPv6]:port, as in [::1]:7001" +
          (a.host.find('%') != std::string::npos ? " (zone ids such as %eth0 are not supported)"
                                                 : ""));
    }
    char canonical[INET6_ADDRSTRLEN];  // one spelling per address: [0::1] is [::1]
    a.host = inet_ntop(AF_INET6, &v6, canonical, sizeof(canonical));
    port = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (colon > 0) a.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (a.host.find(':') != std::string::npos) {
      return Status::invalid_argument("bad address \"" + std::string(text) +
                                      "\": an IPv6 host goes in brackets, as in [::1]:7001");
    }
  }
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || p > 65535) p = -1;
    if (p < 0) break;
    p = p * 10 + (c - '0');
  }
  if (port.empty() || p <= 0 || p > 65535) {
    return Status::invalid_argument("bad address \"" + std::string(text) +
                                    "\": expected host:port with a port in 1..65535");
  }
  a.port = p;
  return a;
}

std::string Address::to_string() const {
  const std::string p = std::to_string(port);
  return host.find(':') == std::string::npos ? host + ":" + p : "[" + host + "]:" + p;
}

std::string address_key(const sockaddr* sa) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, ip, sizeof(ip));
    return ip;
  }
  if (sa->sa_family != AF_INET6) return ip;
  in6_addr v6 = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {  // ::ffff:a.b.c.d is the IPv4 client a.b.c.d
    inet_ntop(AF_INET, &v6.s6_addr[12], ip, sizeof(ip));
    return ip;
  }
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return "::1";
  // One site gets a /64 (RFC 6177): its 2^64 addresses are one client, or caps mean nothing.
  std::memset(&v6.s6_addr[8], 0, 8);
  inet_ntop(AF_INET6, &v6, ip, sizeof(ip));
  return std::string(ip) + "/64";
}

Result<Address> parse_peer_address(std::string_view text) {
  Result<Address> a = parse_address(text);
  const size_t colon = text.rfind(':');
  in6_addr v6{};
  if (a || colon == std::string_view::npos) return a;
  const std::string host(text.substr(0, colon));
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return a;
  return parse_address("[" + host + "]" + std::string(text.substr(colon)));
}

bool is_loopback(const Address& a) {
  if (a.host == "localhost" || a.host == "::1") return true;
  in_addr v4{};
  return inet_pton(AF_INET, a.host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

Result<std::vector<Member>> parse_members(std::string_view text) {
  std::vector<Member> out;
  std::set<std::string> seen;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    size_t at = item.find('@');
    if (at == std::string_view::npos || at == 0) {
      return Status::invalid_argument("bad member \"" + std::string(item) +
                                      "\": expected id@host:port");
    }
    Result<Address> addr = parse_address(item.substr(at + 1));
    if (!addr) return addr.status();
    Member m{std::string(item.substr(0, at)), *addr};
    if (!seen.insert(m.id).second) return Status::invalid_argument("member " + m.id + " twice");
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Address>> parse_addresses(std::string_view text) {
  std::vector<Address> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    Result<Address> addr = parse_address(item);
    if (!addr) return addr.status();
    out.push_back(*addr);
  }
  return out;
}

Result<sockaddr_storage> resolve(const Address& a) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(a.host.c_str(), std::to_string(a.port).c_str(), &hints, &res);
  if (rc != 0 || !res) {
    return Status::invalid_argument("cannot resolve " + a.to_string() + ": " + gai_strerror(rc));
  }
  sockaddr_storage out{};
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return out;
}

}  // namespace shoal::uvshell
