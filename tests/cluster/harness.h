// A real cluster for tests: shoald processes on loopback in a temporary directory,
// killed with the test process (PR_SET_PDEATHSIG) and removed afterwards.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "tools/client.h"
#include "tools/cluster.h"

namespace shoal::test {

class TestCluster {
 public:
  explicit TestCluster(int nodes, std::string secret = "test-secret", bool start = true,
                       std::vector<std::string> node_args = {}) {
    char tmpl[] = "/tmp/shoal-cluster-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    const int base = client::pick_free_base_port(nodes);
    REQUIRE(base > 0);
    auto made = client::make_cluster(dir_, nodes, base, std::move(secret), 64);
    REQUIRE(made.is_ok());
    cluster_ = std::move(made).value();
    cluster_.die_with_parent = true;
    cluster_.extra_args = std::move(node_args);
    if (start) {
      for (const auto& n : cluster_.nodes) start_node(n.id);
      wait_connected();
    }
  }
  ~TestCluster() {
    for (const auto& n : cluster_.nodes) (void)client::stop_node(cluster_, n.id, SIGTERM, 10'000);
    std::error_code ec;
    if (!std::getenv("SHOAL_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_, ec);
  }

  void start_node(const std::string& id) {
    Status s = client::start_node(cluster_, id, 20'000);
    INFO(s.to_string() << "\n" << log(id));
    REQUIRE(s.is_ok());
  }
  void wait_connected() {
    Status s = client::wait_connected(cluster_, 20'000);
    INFO(s.to_string());
    REQUIRE(s.is_ok());
  }
  void kill9(const std::string& id) {
    REQUIRE(client::stop_node(cluster_, id, SIGKILL, 5'000).is_ok());
  }
  void stop(const std::string& id) {
    REQUIRE(client::stop_node(cluster_, id, SIGTERM, 10'000).is_ok());
  }
  bool running(const std::string& id) { return client::node_running(*cluster_.find(id)); }
  // Adds a node that joins through `seed` and starts it; returns its id.
  std::string join(const std::string& seed) {
    auto added = client::add_node(cluster_, seed);
    REQUIRE(added.is_ok());
    start_node(added->id);
    return added->id;
  }

  std::unique_ptr<client::Client> connect(const std::string& id) {
    auto c = client::Client::connect("127.0.0.1", cluster_.find(id)->client_port, 5'000);
    INFO(c.status().to_string());
    REQUIRE(c.is_ok());
    return std::move(c).value();
  }
  int client_port(const std::string& id) { return cluster_.find(id)->client_port; }
  int peer_port(const std::string& id) { return cluster_.find(id)->peer_port; }
  std::string log(const std::string& id) {
    std::ifstream in(cluster_.log_path(*cluster_.find(id)));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  client::LocalCluster& cluster() { return cluster_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  client::LocalCluster cluster_;
};

// Polls `fn` until it returns true or timeout_ms passes (replication is asynchronous
// after the client's answer: read repair, the rest of N).
template <typename Fn>
bool eventually(Fn fn, uint32_t timeout_ms = 5'000) {
  for (uint32_t waited = 0; waited < timeout_ms; waited += 10) {
    if (fn()) return true;
    usleep(10'000);
  }
  return fn();
}

// A process's resident memory (/proc/PID/status VmRSS), in KiB; -1 when unknown.
inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

inline core::RequestOptions opts(const char* preset_name) {
  auto p = core::preset(preset_name);
  REQUIRE(p.is_ok());
  return *p;
}

}  // namespace shoal::test
