// Answers to pipelined requests, released in request order: the cluster may answer
// request 7 before request 6, but the client must read 6 first (RESP and HTTP both
// require it).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace shoal::api {

class OrderedOutput {
 public:
  // The slot of the next request.
  uint64_t reserve() { return next_seq_++; }
  // Fills a slot; true when this released output that take() now returns.
  bool complete(uint64_t seq, std::string bytes) {
    done_.emplace(seq, std::move(bytes));
    bool released = false;
    for (auto it = done_.find(next_out_); it != done_.end(); it = done_.find(next_out_)) {
      out_ += it->second;
      done_.erase(it);
      ++next_out_;
      released = true;
    }
    return released;
  }
  std::string take() {
    std::string out;
    out.swap(out_);
    return out;
  }
  size_t pending() const { return next_seq_ - next_out_; }  // reserved, not yet released

 private:
  uint64_t next_seq_ = 0, next_out_ = 0;
  std::map<uint64_t, std::string> done_;  // completed out of order, waiting their turn
  std::string out_;
};

}  // namespace shoal::api
