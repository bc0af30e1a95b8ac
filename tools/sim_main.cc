// shoal-sim: runs swarm seeds of the simulator (tests/sim/swarm.h) outside the test
// suite: one seed verbosely (its options, verdict, history and timeline), or a range of
// seeds on several threads (the long soak). Exit 1 when any seed fails.
//
//   shoal-sim --seed 42 [--out DIR]        replay one seed
//   shoal-sim --seeds 1-10000 [--jobs 2]   a soak; prints every failing seed's report
//   ... --inject-bug NAME                  the same with a deliberate bug (swarm.h)
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "swarm.h"

using namespace shoal;

namespace {

std::string g_inject_bug;
bool g_field_faults = true;

sim::Swarm swarm_for(uint64_t seed) {
  return sim::with_bug(sim::choose_swarm(seed, g_field_faults), g_inject_bug);
}

int replay(uint64_t seed, const std::string& out) {
  const sim::Swarm s = swarm_for(seed);
  std::printf("seed %llu: %s\n", static_cast<unsigned long long>(seed), sim::describe(s).c_str());
  const sim::SwarmRun r = sim::run_swarm(s);
  std::printf("%s", check::summary_table(r.verdict).c_str());
  std::printf("  settled after    %llu ms of the %llu ms bound; trace digest %016llx\n",
              static_cast<unsigned long long>(r.converge_ms),
              static_cast<unsigned long long>(sim::kLivenessBoundMs),
              static_cast<unsigned long long>(r.digest));
  if (!out.empty()) {
    std::filesystem::create_directories(out);
    std::ofstream h(out + "/history.jsonl");
    for (const check::Event& e : r.history) h << check::to_json_line(e) << "\n";
    std::ofstream(out + "/timeline.html")
        << check::timeline_html(r.history, r.verdict, "shoal-sim seed " + std::to_string(seed));
    std::printf("history: %s/history.jsonl\ntimeline: %s/timeline.html\n", out.c_str(),
                out.c_str());
  }
  if (!r.ok()) std::printf("%s", sim::report(s, r).c_str());
  return r.ok() ? 0 : 1;
}

int soak(uint64_t from, uint64_t to, unsigned jobs) {
  const auto start = std::chrono::steady_clock::now();
  std::atomic<uint64_t> next{from}, failed{0}, done{0};
  std::mutex out;
  auto worker = [&] {
    for (uint64_t seed; (seed = next++) <= to;) {
      const sim::Swarm s = swarm_for(seed);
      const sim::SwarmRun r = sim::run_swarm(s);
      const uint64_t n = ++done;
      std::lock_guard<std::mutex> lock(out);
      if (!r.ok()) {
        ++failed;
        std::printf("%s", sim::report(s, r).c_str());
      }
      if (n % 100 == 0) {
        std::printf("%llu seeds, %llu failed\n", static_cast<unsigned long long>(n),
                    static_cast<unsigned long long>(failed.load()));
        std::fflush(stdout);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < jobs; ++i) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seeds %llu-%llu: %llu run, %llu failed, %.0f s (%u jobs)\n",
              static_cast<unsigned long long>(from), static_cast<unsigned long long>(to),
              static_cast<unsigned long long>(done.load()),
              static_cast<unsigned long long>(failed.load()), secs, jobs);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shoal-sim: run or replay simulator swarm seeds"};
  uint64_t seed = 0;
  std::string range, out;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("--seed", seed, "replay one seed verbosely");
  app.add_option("--seeds", range, "run a range, e.g. 1-10000");
  app.add_option("--jobs", jobs, "threads for --seeds")->capture_default_str();
  app.add_option("--out", out, "with --seed: write history.jsonl and timeline.html here");
  app.add_option("--inject-bug", g_inject_bug,
                 "a deliberate bug the runs should catch (tests/sim/swarm.h): no-hint-replay, "
                 "no-fsync, reuse-actor, unavailable-after-send, ignore-op-ids, counter-gaps, "
                 "count-duplicate-replies, no-checksums, partial-repair, partial-merge, "
                 "key-filter-unbuilt, key-filter-members")
      ->check(CLI::IsMember(sim::kInjectableBugs));
  app.add_flag("--field-faults,!--no-field-faults", g_field_faults,
               "with restored, cloned and twin-started disks and client retries (the "
               "default; --no-field-faults draws the same seeds without them)");
  CLI11_PARSE(app, argc, argv);
  if (seed != 0) return replay(seed, out);
  unsigned long long a = 0, b = 0;
  if (range.empty() || std::sscanf(range.c_str(), "%llu-%llu", &a, &b) != 2 || a == 0 || b < a) {
    std::fprintf(stderr, "give --seed N or --seeds A-B (1 <= A <= B)\n");
    return 2;
  }
  return soak(a, b, std::max(1u, jobs));
}
