// ClusterClient (tools/client.h): one logical operation over several nodes, retried.
#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "tools/client.h"
#include "tools/mono_ms.h"

namespace shoal::client {

bool retryable(Code code) {
  return code == Code::kTimeout || code == Code::kUnavailable || code == Code::kOverloaded;
}

std::vector<std::string> split_addresses(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string a = list.substr(pos, comma - pos);
    const size_t b = a.find_first_not_of(" \t"), e = a.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(a.substr(b, e - b + 1));
    pos = comma + 1;
  }
  return out;
}

ClusterClient::ClusterClient(std::vector<std::string> addresses, RetryPolicy policy)
    : addresses_(std::move(addresses)), policy_(policy), op_ids_(seeded_prng()) {
  for (const std::string& a : addresses_) nodes_.push_back(Node{a, nullptr});
  if (policy_.max_attempts < 1) policy_.max_attempts = 1;
}

namespace {

// Errors a client gives before anything is sent: every node would give them too.
bool refused_before_sending(Code code) {
  return code == Code::kInvalidArgument || code == Code::kTooLarge;
}

// The answer when the last attempt definitely failed but an earlier one may have applied
// the update: timeout, naming every attempt's outcome.
api::Response indeterminate(const Result<api::Response>& last,
                            const std::vector<ClusterClient::Attempt>& attempts) {
  std::string trail;
  for (const ClusterClient::Attempt& a : attempts) {
    trail += (trail.empty() ? "" : "; ") + a.address + ": " + a.outcome.to_string();
  }
  api::Response r;
  r.id = last ? last->id : 0;
  r.status =
      Status::timeout("indeterminate: an earlier attempt may have applied it (" + trail + ")");
  return r;
}

}  // namespace

Result<api::Response> ClusterClient::call(api::Request request) {
  last_ = Last();
  if (nodes_.empty()) return Status::invalid_argument("no node address to send to");
  const bool update = api::is_update(request.op);
  // One op id for every attempt: that is what makes the retries safe.
  if (update && request.op_id.empty()) request.op_id = random_op_id(op_ids_);
  last_.op_id = request.op_id;
  SHOAL_RETURN_IF_ERROR(validate_request(request));
  const int attempts = api::is_admin(request.op) ? 1 : policy_.max_attempts;
  const uint64_t deadline = mono_ms() + policy_.deadline_ms;
  const uint32_t natural_wait = request.options.timeout_ms + 2'000;

  bool maybe_applied = false;  // an earlier attempt of this update may have landed
  std::optional<Result<api::Response>> result;
  size_t at = preferred_;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      at = (at + 1) % nodes_.size();
      const uint64_t pause = static_cast<uint64_t>(attempt) * policy_.backoff_ms;
      if (mono_ms() + pause >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    }
    const uint64_t now = mono_ms();
    if (now >= deadline) break;
    const auto left = static_cast<uint32_t>(deadline - now);
    Node& node = nodes_[at];
    bool sent = false;
    Result<api::Response> r = try_node(node, request, std::min(natural_wait, left),
                                       std::min(policy_.connect_timeout_ms, left), &sent);
    // Refused before sending: the same everywhere, final.
    if (sent && !r && refused_before_sending(r.status().code())) {
      last_.attempts.push_back({node.address, r.status()});
      return r;
    }
    const Status outcome = r ? r->status : r.status();
    last_.attempts.push_back({node.address, outcome});
    // Indeterminate: the node said timeout, or the request left and nothing came back.
    const bool indeterminate = outcome.code() == Code::kTimeout || (sent && !r);
    if (update && indeterminate) maybe_applied = true;
    result = std::move(r);
    // Final: the node's answer (ok or a definite error), or a connection failure that
    // another node cannot help with (a response that does not decode).
    if (!retryable(outcome.code())) {
      if (result->is_ok()) preferred_ = at;
      break;
    }
  }
  if (!result) {
    return Status::unavailable("no attempt could start within the deadline of " +
                               std::to_string(policy_.deadline_ms) + " ms");
  }
  const Status final_status = *result ? (*result)->status : result->status();
  if (maybe_applied &&
      (final_status.code() == Code::kUnavailable || final_status.code() == Code::kOverloaded)) {
    // The last attempt's "not applied" speaks for itself only: an earlier one may have.
    return indeterminate(*result, last_.attempts);
  }
  return std::move(*result);
}

Result<api::Response> ClusterClient::try_node(Node& node, const api::Request& request,
                                              uint32_t wait_ms, uint32_t connect_ms, bool* sent) {
  Result<api::Response> r = Status::internal("no attempt");
  if (!node.conn) {
    Result<std::unique_ptr<Client>> c = Client::connect_address(node.address, connect_ms, tls_);
    if (c) {
      node.conn = std::move(c).value();
    } else {
      r = c.status();  // nothing left: definite
    }
    if (node.conn && !user_.empty()) {  // signs in before the request leaves: definite
      Result<api::Response> in = node.conn->login(user_, password_);
      if (!in || !in->status.is_ok()) {
        node.conn.reset();
        return in ? Result<api::Response>(in->status) : in;
      }
    }
  }
  if (node.conn) {
    *sent = true;
    r = node.conn->call_within(request, wait_ms);
    if (!r && !refused_before_sending(r.status().code())) {
      node.conn.reset();  // the stream may be out of step: start afresh next time
    }
  }
  return r;
}

}  // namespace shoal::client
