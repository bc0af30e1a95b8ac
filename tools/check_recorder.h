// The history of a `shoal check` run as it is recorded: every client thread and the
// nemesis append events (tools/checker.h) to one Recorder, which stamps each with the
// time since the run began. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tools/checker.h"

namespace shoal::check {

class Recorder {
 public:
  using Clock = std::chrono::steady_clock;

  Recorder() : start_(Clock::now()) {}
  // Milliseconds since the recorder was made (the start of the run).
  uint64_t now_ms() const;
  // A fresh attempt number (the `op` an invoke and its completion share).
  uint64_t next_op() { return ++ops_; }
  // Appends `e`, stamped with now_ms().
  void add(Event e);
  // Records a fault (or its undoing) and prints it, so the run shows what it does.
  void nemesis(const std::string& f, const std::string& detail);
  // A copy of everything recorded so far.
  std::vector<Event> take();

 private:
  Clock::time_point start_;
  std::atomic<uint64_t> ops_{0};
  std::mutex mu_;
  std::vector<Event> events_;
};

}  // namespace shoal::check
