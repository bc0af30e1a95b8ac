// A stand-in for the node behind the RESP and HTTP sessions: answers every request at
// once, in turn ok (with fields of the request's type), not_found or unavailable, so the
// fuzzed bytes reach each command's handling of each kind of answer.
#pragma once

#include <cstdint>

#include "node/api/client_request.h"
#include "node/api/client_response.h"

namespace shoal::fuzz {

class StubNode {
 public:
  api::Response answer(const api::Request& r) {
    api::Response a;
    a.id = r.id;
    switch (n_++ % 3) {
      case 1:
        a.status = Status::not_found("no such key");
        return a;
      case 2:
        a.status = Status::unavailable("1 of 2 replicas answered");
        return a;
      default:
        break;
    }
    switch (r.op) {
      case api::Op::kCounterGet:
      case api::Op::kCounterAdd:
        a.type = core::DataType::kCounter;
        a.counter = 7;
        break;
      case api::Op::kSetGet:
      case api::Op::kSetAdd:
      case api::Op::kSetRemove:
        a.type = core::DataType::kSet;
        a.elements = {"a", "b"};
        a.added = 1;
        if (r.count > 0) a.next = "b";
        break;
      default:
        a.type = r.op == api::Op::kGet ? core::DataType::kLww : r.type;
        a.values = {"v"};
        break;
    }
    a.context = std::string("\x90", 1);
    return a;
  }

 private:
  uint64_t n_ = 0;
};

}  // namespace shoal::fuzz
