#include "tools/check_recorder.h"

#include <cstdio>

namespace shoal::check {

uint64_t Recorder::now_ms() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count());
}

void Recorder::add(Event e) {
  e.time_ms = now_ms();
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(std::move(e));
}

void Recorder::nemesis(const std::string& f, const std::string& detail) {
  Event e;
  e.type = EventType::kNemesis;
  e.f = f;
  e.detail = detail;
  add(std::move(e));
  std::printf("  %6.1fs  %s %s\n", now_ms() / 1000.0, f.c_str(), detail.c_str());
  std::fflush(stdout);
}

std::vector<Event> Recorder::take() {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

}  // namespace shoal::check
