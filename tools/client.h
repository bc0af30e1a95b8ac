// The C++ client library: one blocking TCP connection to one node, speaking the native
// protocol (docs/protocol.md). call() is one request and its answer; send()/recv()
// pipeline many requests on the connection (answers come back in any order, matched by
// id).
//
// Requests are checked before anything is sent: invalid options or an invalid update
// fail here with invalid_argument (or too_large), exactly as the node would refuse them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crdt/status.h"
#include "node/api/protocol.h"

namespace shoal::client {

class Client {
 public:
  // unavailable when the node cannot be reached within timeout_ms.
  static Result<std::unique_ptr<Client>> connect(const std::string& host, int port,
                                                 uint32_t timeout_ms = 5'000);
  // "host:port"
  static Result<std::unique_ptr<Client>> connect_address(const std::string& address,
                                                         uint32_t timeout_ms = 5'000);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request (a fresh id is assigned) and waits for its response. The
  // response's status is the node's answer; the Result fails only when the request was
  // refused before sending or the connection failed.
  Result<api::Response> call(api::Request request);

  // Pipelining: queue a request (assigning its id, returned), then read responses.
  Result<uint64_t> send(api::Request request);
  Status flush();
  // The next response from the node. timeout when none came within the wait.
  Result<api::Response> recv(uint32_t wait_ms);

  // Conveniences, each one call().
  Result<api::Response> ping();
  // Admin: the node's view of the cluster; ask it to leave; remove a down node.
  Result<api::Response> cluster_status();
  Result<api::Response> leave();
  Result<api::Response> remove(const std::string& node);
  // One fault-filter rule for the node (docs/chaos.md); the answer's `chaos` lists the
  // rules in force afterwards.
  Result<api::Response> chaos(const std::string& rule);
  Result<api::Response> get(const std::string& bucket, const std::string& key,
                            const core::RequestOptions& options = {});
  Result<api::Response> put(const std::string& bucket, const std::string& key, std::string value,
                            std::optional<std::string> context = std::nullopt,
                            const core::RequestOptions& options = {},
                            core::DataType type = core::DataType::kRegister);
  Result<api::Response> del(const std::string& bucket, const std::string& key,
                            std::optional<std::string> context = std::nullopt,
                            const core::RequestOptions& options = {},
                            core::DataType type = core::DataType::kRegister);
  Result<api::Response> counter_add(const std::string& bucket, const std::string& key,
                                    int64_t delta, const core::RequestOptions& options = {});
  Result<api::Response> counter_get(const std::string& bucket, const std::string& key,
                                    const core::RequestOptions& options = {});
  Result<api::Response> set_add(const std::string& bucket, const std::string& key,
                                std::vector<std::string> elements,
                                const core::RequestOptions& options = {});
  Result<api::Response> set_remove(const std::string& bucket, const std::string& key,
                                   std::vector<std::string> elements,
                                   std::optional<std::string> context = std::nullopt,
                                   const core::RequestOptions& options = {});
  // members non-empty: reads only those (the answer's elems are the ones present).
  Result<api::Response> set_get(const std::string& bucket, const std::string& key,
                                const core::RequestOptions& options = {},
                                std::vector<std::string> members = {});

  // Sends raw bytes as they are (tests of bad input).
  Status send_raw(std::string_view bytes);
  const std::string& address() const { return address_; }

 private:
  Client(int fd, std::string address, uint32_t timeout_ms);
  Status check(const api::Request& request) const;

  int fd_;
  std::string address_;
  uint32_t timeout_ms_;
  uint64_t next_id_ = 1;
  api::FrameReader reader_{api::kMaxResponseFrameBytes};
  std::string out_;
};

// Checks a request the way the node will, without sending it.
Status validate_request(const api::Request& request);

}  // namespace shoal::client
