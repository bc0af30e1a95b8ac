// Between the client protocol and the core: a Request becomes a core ClientRequest, and
// the core's answer becomes a Response shaped by the operation (values and context for
// registers, the count for counters, members and context for sets).
#pragma once

#include "crdt/status.h"
#include "node/api/client_request.h"
#include "node/api/client_response.h"
#include "node/core/node.h"

namespace shoal::api {

// REQUIRES: request.op != Op::kPing. invalid_argument for a context that is not one
// Shoal returned, or an op_id on a read. An update's op_id becomes Update::op_id.
// The rvalue form moves the bucket, key, value, members, page start and op id out of
// `request`.
Result<core::ClientRequest> to_core(Request&& request);
Result<core::ClientRequest> to_core(const Request& request);

// What to_response reads of the request: its id, operation, status_only and, for a GET
// (whose not_found names them), bucket and key. Smaller than a Request to keep while the
// core works.
struct Asked {
  uint64_t id = 0;
  Op op = Op::kGet;
  bool status_only = false;
  std::string bucket, key;  // Op::kGet only

  static Asked of(const Request& request);
};

// The response to `request` given the core's answer. A typed read (counter_get,
// set_get) of a key holding another type is type_mismatch; a register whose siblings
// are all tombstones reads as not_found (with its context, so a later put supersedes
// the delete). The answer's duplicate flag (the op id was applied before) is carried.
Response to_response(const Asked& request, core::ClientResponse answer);
Response to_response(const Request& request, core::ClientResponse answer);

}  // namespace shoal::api
