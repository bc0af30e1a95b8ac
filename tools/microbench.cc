// shoal-microbench: CPU cost of the pure libraries (crdt/, ring/).
//
//   tools/dev bench            (Release build, then this program)
//
// Prints one line per measurement. Each figure is the best of a few repetitions, to damp
// noise from other work on a shared machine. Results go in docs/benchmarks.md.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "crdt/counter.h"
#include "crdt/dvv_set.h"
#include "crdt/orset.h"
#include "crdt/prng.h"
#include "ring/ring.h"

namespace {

using shoal::Prng;
using namespace shoal::crdt;
using Clock = std::chrono::steady_clock;

uint64_t g_sink = 0;  // printed at the end so the optimizer cannot drop the work

// Best-of-`reps` nanoseconds for one call of `fn`.
double best_ns(int reps, const std::function<void()>& fn) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    fn();
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    if (ns < best) best = ns;
  }
  return best;
}

void report(const char* what, double value, const char* unit) {
  std::printf("%-58s %12.3f %s\n", what, value, unit);
}

ORSet make_set(size_t n, Actor actor, const char* prefix) {
  ORSet s;
  for (size_t i = 0; i < n; ++i) s.add(actor, std::string(prefix).append(std::to_string(i)));
  return s;
}

void bench_ring() {
  std::vector<std::string> ids;
  for (int i = 1; i <= 64; ++i) ids.push_back("n" + std::to_string(i));
  shoal::ring::Ring ring(ids);
  constexpr int kKeys = 1'000'000;
  std::vector<uint64_t> hashes;
  Prng rng(1);
  for (int i = 0; i < kKeys; ++i) hashes.push_back(rng.next());
  std::vector<uint32_t> out;
  const double ns = best_ns(3, [&] {
    for (uint64_t h : hashes) {
      ring.preference_indexes(h, 3, &out);
      g_sink += out[0];
    }
  });
  report("ring: preference list (N=3), 64 nodes, V=4096", ns / kKeys, "ns/key");
  const double hash_ns = best_ns(3, [&] {
    for (int i = 0; i < kKeys; ++i) g_sink += shoal::ring::key_hash("bucket", "key-000000");
  });
  report("ring: key_hash of a 16-byte (bucket, key)", hash_ns / kKeys, "ns/key");
  const double build_ns = best_ns(3, [&] { g_sink += shoal::ring::Ring(ids).tokens().size(); });
  report("ring: build a 64-node ring", build_ns / 1e6, "ms");
}

void bench_orset_add() {
  constexpr int kAdds = 20'000;
  for (size_t size : {1'000u, 100'000u}) {
    ORSet base = make_set(size, 1, "e");
    ORSet s = base;
    int next = 0;
    const double ns = best_ns(3, [&] {
      for (int i = 0; i < kAdds; ++i)
        g_sink += s.add(2, std::string("new").append(std::to_string(next++))).size();
    });
    char label[96];
    std::snprintf(label, sizeof label, "orset: add a new element into a %zu-element set", size);
    report(label, ns / kAdds / 1000.0, "us/add");
    s = base;
    const double re_ns = best_ns(3, [&] {
      for (int i = 0; i < kAdds; ++i)
        g_sink += s.add(2, std::string("e").append(std::to_string(i * 3))).size();
    });
    std::snprintf(label, sizeof label, "orset: re-add an existing element, %zu-element set", size);
    report(label, re_ns / kAdds / 1000.0, "us/add");
  }
}

void bench_orset_join() {
  ORSet a = make_set(100'000, 1, "e");
  ORSet b = a;
  for (int i = 0; i < 50'000; ++i)
    b.add(2, std::string("b").append(std::to_string(i)));  // concurrent adds
  for (int i = 0; i < 50'000; ++i)
    a.remove(std::string("e").append(std::to_string(i)));  // concurrent removes
  const double ns = best_ns(5, [&] {
    ORSet x = a;
    x.join(b);
    g_sink += x.size();
  });
  const double copy_ns = best_ns(5, [&] {
    ORSet x = a;
    g_sink += x.size();
  });
  report("orset: join two ~100,000-element sets (excl. copy)", (ns - copy_ns) / 1e6, "ms");
}

void bench_counter_and_dvv() {
  PNCounter a, b;
  for (Actor i = 1; i <= 64; ++i) {
    (void)a.add(i, static_cast<int64_t>(i));
    (void)b.add(i, -static_cast<int64_t>(i * 2));
  }
  constexpr int kJoins = 100'000;
  const double ns = best_ns(3, [&] {
    for (int i = 0; i < kJoins; ++i) {
      PNCounter x = a;
      x.join(b);
      g_sink += static_cast<uint64_t>(x.read());
    }
  });
  report("pncounter: copy + join with 64 actors", ns / kJoins, "ns/join");
  PNCounter x = a;
  const double join_ns = best_ns(3, [&] {
    for (int i = 0; i < kJoins; ++i) {
      x.join(b);
      g_sink += static_cast<uint64_t>(x.read());
    }
  });
  report("pncounter: join + read with 64 actors (no copy)", join_ns / kJoins, "ns/join");

  DvvSet d;
  constexpr int kPuts = 200'000;
  const double put_ns = best_ns(3, [&] {
    for (int i = 0; i < kPuts; ++i)
      g_sink += d.put(1u + static_cast<unsigned>(i % 3), d.context(), "value").values().size();
  });
  report("dvvset: put with the read context (3 actors)", put_ns / kPuts, "ns/put");
}

template <typename T>
void bench_codec(const char* name, const T& value, int reps) {
  const std::string bytes = value.encode();
  const double enc = best_ns(3, [&] {
    for (int i = 0; i < reps; ++i) g_sink += value.encode().size();
  });
  const double dec = best_ns(3, [&] {
    for (int i = 0; i < reps; ++i) g_sink += T::decode(bytes).is_ok();
  });
  const double mb = static_cast<double>(bytes.size()) * reps / 1e6;
  char label[96];
  std::snprintf(label, sizeof label, "codec: %s (%zu bytes) encode", name, bytes.size());
  report(label, mb / (enc / 1e9), "MB/s");
  std::snprintf(label, sizeof label, "codec: %s (%zu bytes) decode", name, bytes.size());
  report(label, mb / (dec / 1e9), "MB/s");
}

}  // namespace

int main() {
  bench_ring();
  bench_orset_add();
  bench_orset_join();
  bench_counter_and_dvv();
  bench_codec("orset 100,000 elements", make_set(100'000, 1, "element-"), 3);
  PNCounter c;
  for (Actor i = 1; i <= 64; ++i) (void)c.add(i, static_cast<int64_t>(i) * 1000);
  bench_codec("pncounter 64 actors", c, 20'000);
  DvvSet d;
  for (Actor i = 1; i <= 3; ++i) d.put(i, {}, std::string(100, 'v'));
  bench_codec("dvvset 3 siblings x 100 B", d, 100'000);
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(g_sink));
  return 0;
}
