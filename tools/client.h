// The C++ client library, speaking the native protocol (docs/protocol.md).
//
// Client: one blocking TCP connection to one node. call() is one request and its
// answer; send()/recv() pipeline many requests on the connection (answers come back in
// any order, matched by id).
//
// Requests are checked before anything is sent: invalid options or an invalid update
// fail here with invalid_argument (or too_large), exactly as the node would refuse them.
//
// Operation ids. Every update (put, del, counter_add, set_add, set_rm) leaves with an
// operation id: the caller's Request::op_id, or else a fresh random one (16 random bytes
// as 32 hex digits, from a PRNG each Client seeds from std::random_device). Sending the
// same update again with the same id, through any node, takes effect once; the answer
// then says `duplicate` (the node answers from the earlier attempt).
//
// ClusterClient: several nodes, and retries. One call() is one logical operation: the
// update gets its op id once, and the SAME request (same id) is sent again, to the next
// node of the list, when the outcome says nothing or said "not applied, try elsewhere":
//   retried:      a connection that cannot be made or breaks, no answer in time
//                 (timeout), and the node answers timeout, unavailable or overloaded;
//   never retried: invalid_argument, type_mismatch, too_large, not_found, unauthorized,
//                 corruption, internal (the answer is final, or retrying cannot help).
// Attempts are bounded (RetryPolicy::max_attempts, default 3) and so is their total
// time (deadline_ms, default 30 s; each attempt waits at most what is left), with a
// short backoff between them. The node that answered stays first for the next call.
// Reads are retried alike (they are safe); admin requests are never retried.
// If an earlier attempt of an update may have been applied (it timed out, or the
// connection broke after the request left) and the last attempt failed with an answer
// that means "not applied" (unavailable, overloaded, or no connection at all), the call
// answers timeout (indeterminate), never the definite error: that promise holds only for
// one attempt. last() tells the op id used, the attempts made and where.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crdt/prng.h"
#include "crdt/status.h"
#include "node/api/protocol.h"
#include "node/api/tls.h"

namespace shoal::client {

class Client {
 public:
  // unavailable when the node cannot be reached within timeout_ms. With `tls` (a
  // TlsContext::load_client), the connection is TLS and the node's certificate must be
  // signed by its CA and name `host`; a failed handshake is unavailable, naming OpenSSL's
  // reason ("certificate verify failed", ...).
  static Result<std::unique_ptr<Client>> connect(
      const std::string& host, int port, uint32_t timeout_ms = 5'000,
      const std::shared_ptr<api::TlsContext>& tls = nullptr);
  // "host:port"
  static Result<std::unique_ptr<Client>> connect_address(
      const std::string& address, uint32_t timeout_ms = 5'000,
      const std::shared_ptr<api::TlsContext>& tls = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request (a fresh id is assigned; an update without an op_id gets a fresh
  // one) and waits for its response. The response's status is the node's answer; the
  // Result fails only when the request was refused before sending or the connection
  // failed.
  Result<api::Response> call(api::Request request);
  // The same, waiting at most wait_ms for the answer (a timeout Result after it).
  Result<api::Response> call_within(api::Request request, uint32_t wait_ms);

  // Pipelining: queue a request (assigning its id, returned; an update without an op_id
  // gets a fresh one), then read responses.
  Result<uint64_t> send(api::Request request);
  Status flush();
  // The next response from the node. timeout when none came within the wait.
  Result<api::Response> recv(uint32_t wait_ms);

  // Conveniences, each one call().
  Result<api::Response> ping();
  // Signs this connection in as `user` (a node with a users file: docs/security.md). The
  // answer's status is ok, or unauthorized (wrong user or password).
  Result<api::Response> login(const std::string& user, const std::string& password);
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
  // Off: updates leave without an operation id unless the caller gives one (retries are
  // then not safe; shoal bench --op-ids off measures what ids cost). Default on.
  void set_auto_op_ids(bool on) { auto_op_ids_ = on; }

 private:
  Client(int fd, std::string address, uint32_t timeout_ms);
  Status check(const api::Request& request) const;
  Status handshake(const std::string& host, const std::shared_ptr<api::TlsContext>& tls);
  Status write_all(std::string_view bytes, uint64_t deadline);  // the socket, ciphertext or not

  int fd_;
  std::string address_;
  uint32_t timeout_ms_;
  uint64_t next_id_ = 1;
  api::FrameReader reader_{api::kMaxResponseFrameBytes};
  std::string out_;
  Prng op_ids_;
  bool auto_op_ids_ = true;
  std::unique_ptr<api::TlsStream> tls_;  // nullptr: plaintext
};

// The TLS context $SHOAL_TLS_CA (and $SHOAL_TLS_CERT, $SHOAL_TLS_KEY for a client
// certificate) name, loaded once; nullptr when $SHOAL_TLS_CA is unset.
Result<std::shared_ptr<api::TlsContext>> tls_from_env();
// Client::connect, with TLS when tls_from_env() names one, then, when $SHOAL_USER is set,
// Client::login as that user with $SHOAL_PASSWORD (as libpq reads PGUSER): how the CLI's
// cluster, chaos, check and settle tools reach nodes that want TLS or authentication. A
// refused login is unauthorized.
Result<std::unique_ptr<Client>> connect_env(const std::string& host, int port,
                                            uint32_t timeout_ms = 5'000);
// The same for "host:port" (shoal bench).
Result<std::unique_ptr<Client>> connect_env_address(const std::string& address,
                                                    uint32_t timeout_ms = 5'000);

// Checks a request the way the node will, without sending it.
Status validate_request(const api::Request& request);

// A fresh operation id: 16 bytes from `rng` as 32 hex digits.
std::string random_op_id(Prng& rng);
// A Prng seeded from std::random_device (for op ids: distinct across processes).
Prng seeded_prng();

// Whether an answer (or a failed attempt) sends ClusterClient to another node: timeout,
// unavailable, overloaded. Everything else is final.
bool retryable(Code code);

struct RetryPolicy {
  int max_attempts = 3;
  uint32_t deadline_ms = 30'000;  // all attempts of one call together
  uint32_t connect_timeout_ms = 2'000;
  uint32_t backoff_ms = 50;  // before the k-th attempt: (k - 1) * backoff_ms
};

class ClusterClient {
 public:
  // addresses: "host:port" of the nodes to use, first preferred.
  explicit ClusterClient(std::vector<std::string> addresses, RetryPolicy policy = {});
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // One logical operation, retried as the header comment says. A Result error is a
  // refusal before sending (invalid_argument, too_large) or the last attempt's
  // connection failure; otherwise the Response is a node's answer.
  Result<api::Response> call(api::Request request);

  struct Attempt {
    std::string address;
    Status outcome;  // the node's answer, or what went wrong with the connection
  };
  struct Last {
    std::string op_id;              // the update's operation id ("" for reads)
    std::vector<Attempt> attempts;  // in order
  };
  // What the last call() did.
  const Last& last() const { return last_; }
  // Every connection signs in as `user` first (Client::login); a refusal is final.
  void set_credentials(std::string user, std::string password) {
    user_ = std::move(user);
    password_ = std::move(password);
  }
  // Every connection is TLS with this context (Client::connect).
  void set_tls(std::shared_ptr<api::TlsContext> tls) { tls_ = std::move(tls); }
  const std::vector<std::string>& addresses() const { return addresses_; }

 private:
  struct Node {
    std::string address;
    std::unique_ptr<Client> conn;
  };
  // One attempt through `node`, connecting first if it has no connection. *sent tells
  // whether the request left (then no answer is indeterminate). The connection is
  // dropped after a failure, unless the request was refused before sending.
  Result<api::Response> try_node(Node& node, const api::Request& request, uint32_t wait_ms,
                                 uint32_t connect_ms, bool* sent);

  std::vector<Node> nodes_;
  std::vector<std::string> addresses_;
  RetryPolicy policy_;
  size_t preferred_ = 0;
  Prng op_ids_;
  Last last_;
  std::string user_, password_;  // empty user: no login
  std::shared_ptr<api::TlsContext> tls_;
};

// Splits "a:1,b:2" into addresses (empty entries and surrounding spaces dropped).
std::vector<std::string> split_addresses(const std::string& list);

}  // namespace shoal::client
