// The shell's pure parts: addresses as flags give them, and the four renderings of one
// NodeSnapshot (/status JSON, RESP INFO, the cluster_status answer, /metrics) agreeing.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "node/api/json.h"
#include "node/uv/address.h"
#include "node/uv/metrics.h"
#include "node/uv/snapshot.h"

namespace shoal::uvshell {
namespace {

TEST_CASE("addresses parse with a default host and refuse bad ports", "[address]") {
  Result<Address> a = parse_address("10.0.0.2:7101");
  REQUIRE(a);
  CHECK(a->host == "10.0.0.2");
  CHECK(a->port == 7101);
  CHECK(parse_address(":7001")->host == "127.0.0.1");
  CHECK(parse_address("7001")->port == 7001);
  for (const char* bad : {"", "host:", "host:0", "host:65536", "host:12a", "host:-1"}) {
    INFO(bad);
    Result<Address> r = parse_address(bad);
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("expected host:port") != std::string::npos);
  }
}

TEST_CASE("IPv6 hosts go in brackets and print back in them", "[address]") {
  Result<Address> a = parse_address("[::1]:7001");
  REQUIRE(a);
  CHECK(a->host == "::1");
  CHECK(a->port == 7001);
  CHECK(a->to_string() == "[::1]:7001");
  CHECK(is_loopback(*a));
  CHECK(parse_address("[2001:db8::5]:80")->to_string() == "[2001:db8::5]:80");
  CHECK(parse_address("10.0.0.2:7101")->to_string() == "10.0.0.2:7101");
  CHECK_FALSE(is_loopback(*parse_address("[2001:db8::5]:80")));
  CHECK(parse_address("[0:0::1]:80")->host == "::1");  // one spelling per address
  CHECK_THAT(parse_address("[fe80::1%eth0]:80").status().message(),
             Catch::Contains("zone ids such as %eth0 are not supported"));
  // What older nodes gossiped for an IPv6 listener: accepted from peers, not from flags.
  REQUIRE(parse_peer_address("::1:7101"));
  CHECK(parse_peer_address("::1:7101")->to_string() == "[::1]:7101");
  CHECK(parse_peer_address("[::1]:7101")->port == 7101);
  CHECK(parse_peer_address("10.0.0.2:7101")->host == "10.0.0.2");
  CHECK_FALSE(parse_peer_address("nohost::7101"));
  CHECK_FALSE(parse_peer_address("::1:"));
  for (const char* bad : {"::1:7001", "[::1]", "[::1]7001", "[nothost]:7001", "[::1]:", "[]:1"}) {
    INFO(bad);
    Result<Address> r = parse_address(bad);
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("bad address") != std::string::npos);
  }
}

TEST_CASE("per-address limits count IPv4 by address and IPv6 by /64", "[address]") {
  auto key = [](const char* text) {
    sockaddr_storage sa{};
    if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&sa)->sin_addr) == 1) {
      sa.ss_family = AF_INET;
    } else {
      REQUIRE(inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&sa)->sin6_addr) == 1);
      sa.ss_family = AF_INET6;
    }
    return address_key(reinterpret_cast<const sockaddr*>(&sa));
  };
  CHECK(key("10.1.2.3") == "10.1.2.3");
  CHECK(key("::ffff:10.1.2.3") == "10.1.2.3");
  CHECK(key("::1") == "::1");
  CHECK(key("127.0.0.2") == "127.0.0.2");
  CHECK(key("::ffff:127.0.0.1") == "127.0.0.1");
  CHECK(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(key("2001:db8:1:2::7") == key("2001:db8:1:2:ffff::1"));
  CHECK(key("2001:db8:1:3::7") != key("2001:db8:1:2::7"));
  sockaddr_storage unix_sa{};
  unix_sa.ss_family = AF_UNIX;
  CHECK(address_key(reinterpret_cast<const sockaddr*>(&unix_sa)) == "?");
}

TEST_CASE("member and seed lists parse, and a member twice or without an id is refused",
          "[address]") {
  Result<std::vector<Member>> m = parse_members("n1@127.0.0.1:7101,,n2@:7102");
  REQUIRE(m);
  REQUIRE(m->size() == 2);
  CHECK((*m)[1].id == "n2");
  CHECK((*m)[1].peer.port == 7102);
  CHECK_FALSE(parse_members("n1@:7101,n1@:7102"));
  CHECK_FALSE(parse_members("@:7101"));
  CHECK_FALSE(parse_members("n1"));
  Result<std::vector<Address>> seeds = parse_addresses("127.0.0.1:7101,:7102");
  REQUIRE(seeds);
  CHECK(seeds->size() == 2);
  CHECK_FALSE(parse_addresses("127.0.0.1:x"));
  CHECK(is_seed_name("@127.0.0.1:7101"));
  CHECK_FALSE(is_seed_name("n1"));
}

NodeSnapshot two_members() {
  NodeSnapshot s;
  s.node_id = "n1";
  s.client_address = "127.0.0.1:7001";
  MemberRow self;
  self.self = true;
  self.view.state.id = "n1";
  self.view.state.status = core::MemberStatus::kUp;
  self.hints = 4;
  MemberRow peer;
  peer.ring_peer = true;
  peer.view.state.id = "n2";
  peer.view.state.status = core::MemberStatus::kUp;
  peer.view.down = true;
  peer.view.hints_here = 3;
  peer.view.phi = 12.34567;
  peer.view.ownership = 1.0 / 3;
  peer.view.sync.in_sync = false;
  peer.view.sync.unconfirmed = 2;
  s.members = {self, peer};
  s.members_known = 2;
  s.ring_size = 2;
  s.ring_fingerprint = 0xabcdef;
  s.hints_held = 4;
  s.in_sync = false;
  s.pending_requests = 5;
  return s;
}

TEST_CASE("/status renders the snapshot as valid JSON", "[snapshot]") {
  const std::string json = status_json(two_members());
  Result<json::Json> v = json::parse(json);
  REQUIRE(v);
  CHECK(json.find("\"phi\":12.346,\"ownership\":0.33333,") != std::string::npos);
  CHECK(json.find("\"fingerprint\":\"0000000000abcdef\"") != std::string::npos);
  CHECK(json.find("\"id\":\"n2\",\"status\":\"up\",\"self\":false,\"down\":true") !=
        std::string::npos);
  CHECK(json.find("\"sync\":{\"in_sync\":false,\"since_ms\":0,\"unconfirmed\":2}") !=
        std::string::npos);
  CHECK(json.find("\"hints\":4,") != std::string::npos);  // the self row's exact count
}

TEST_CASE("INFO, cluster_status and /metrics say what /status says", "[snapshot]") {
  const NodeSnapshot s = two_members();
  const std::string info = info_text(s);
  CHECK(info.find("in_sync:0\r\n") != std::string::npos);
  CHECK(info.find("peer_n2:in_sync=0,unconfirmed=2,down=1,hints_here=3\r\n") != std::string::npos);
  CHECK(info.find("peer_n1") == std::string::npos);  // this node is not its own peer
  api::Response r;
  fill_cluster_status(s, &r);
  REQUIRE(r.members.size() == 2);
  CHECK(r.members[0].hints == 4);
  CHECK_FALSE(r.members[0].sync_known);
  CHECK(r.members[1].sync_known);
  CHECK(r.members[1].unconfirmed == 2);
  bool saw_fingerprint = false;
  for (const auto& [name, value] : r.stats) {
    if (name == "ring_fingerprint") saw_fingerprint = value == 0xabcdef;
  }
  CHECK(saw_fingerprint);
  const std::string metrics = Metrics().render(s);
  CHECK(metrics.find("shoal_hints_held 4\n") != std::string::npos);
  CHECK(metrics.find("shoal_peer_up{peer=\"n2\"} 0\n") != std::string::npos);
  CHECK(metrics.find("shoal_peer_unconfirmed_segments{peer=\"n2\"} 2\n") != std::string::npos);
  CHECK(metrics.find("peer=\"n1\"") == std::string::npos);
}

// The lines of `text` that start with `prefix`, in order.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? end : end - at);
    if (line.starts_with(prefix)) out.push_back(line);
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

TEST_CASE("/metrics names each request cell, in name order, and only those counted", "[metrics]") {
  using C = Metrics::Consistency;
  Metrics m;
  // Observed out of name order, the first one twice, two codes under one op.
  m.observe(api::Op::kSetAdd, C::kQuorum, Code::kOk, 0.0003);
  m.observe(api::Op::kGet, C::kOne, Code::kNotFound, 0.002);
  m.observe(api::Op::kSetAdd, C::kQuorum, Code::kOk, 0.0001);
  m.observe(api::Op::kGet, C::kOne, Code::kOk, 7.0);
  m.observe(api::Op::kPut, C::kCustom, Code::kTimeout, 1.0);
  CHECK(m.requests() == 5);
  const std::string text = m.render(NodeSnapshot{});
  CHECK(lines_starting(text, "shoal_requests_total{") ==
        std::vector<std::string>{
            R"(shoal_requests_total{op="get",consistency="one",code="not_found"} 1)",
            R"(shoal_requests_total{op="get",consistency="one",code="ok"} 1)",
            R"(shoal_requests_total{op="put",consistency="custom",code="timeout"} 1)",
            R"(shoal_requests_total{op="set_add",consistency="quorum",code="ok"} 2)"});
  // One histogram per op and consistency: its buckets count what fell at or under them.
  auto bucket = [](const char* le, int n) {
    return std::string(
               R"(shoal_request_duration_seconds_bucket{op="set_add",consistency="quorum",)") +
           "le=\"" + le + "\"} " + std::to_string(n);
  };
  CHECK(lines_starting(text, R"(shoal_request_duration_seconds_bucket{op="set_add")") ==
        std::vector<std::string>{
            bucket("0.0001", 1), bucket("0.00025", 1), bucket("0.0005", 2), bucket("0.001", 2),
            bucket("0.0025", 2), bucket("0.005", 2), bucket("0.01", 2), bucket("0.025", 2),
            bucket("0.05", 2), bucket("0.1", 2), bucket("0.25", 2), bucket("0.5", 2),
            bucket("1", 2), bucket("2.5", 2), bucket("5", 2), bucket("+Inf", 2)});
  CHECK(lines_starting(text, "shoal_request_duration_seconds_count{") ==
        std::vector<std::string>{
            R"(shoal_request_duration_seconds_count{op="get",consistency="one"} 2)",
            R"(shoal_request_duration_seconds_count{op="put",consistency="custom"} 1)",
            R"(shoal_request_duration_seconds_count{op="set_add",consistency="quorum"} 2)"});
  CHECK(lines_starting(text, R"(shoal_request_duration_seconds_sum{op="get")") ==
        std::vector<std::string>{
            R"(shoal_request_duration_seconds_sum{op="get",consistency="one"} 7.002)"});
  // A request past the last bucket counts only in +Inf.
  CHECK(text.find(R"(op="get",consistency="one",le="5"} 1)") != std::string::npos);
  CHECK(text.find(R"(op="get",consistency="one",le="+Inf"} 2)") != std::string::npos);
  // Nothing counted: no request series at all, only their headers.
  const std::string none = Metrics().render(NodeSnapshot{});
  CHECK(lines_starting(none, "shoal_request").empty());
  CHECK(none.find("# TYPE shoal_requests_total counter") != std::string::npos);
}

}  // namespace
}  // namespace shoal::uvshell
