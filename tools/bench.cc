#include "tools/bench.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>
#include <unordered_map>

#include "crdt/prng.h"
#include "node/api/json.h"
#include "tools/client.h"

namespace shoal::bench {

namespace {

using Clock = std::chrono::steady_clock;

enum class BOp { kGet, kPut, kCounter, kSet };
constexpr const char* kOpNames[] = {"get", "put", "counter", "set"};

struct Mix {
  std::vector<std::pair<BOp, uint32_t>> weights;
  uint32_t total = 0;
  BOp pick(Prng& rng) const {
    uint64_t x = rng.below(total);
    for (const auto& [op, w] : weights) {
      if (x < w) return op;
      x -= w;
    }
    return weights.back().first;
  }
};

Result<Mix> parse_mix(const std::string& text) {
  Mix m;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    std::string item =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? text.size() : comma + 1;
    size_t eq = item.find('=');
    std::string name = item.substr(0, eq);
    uint32_t w =
        eq == std::string::npos ? 1 : static_cast<uint32_t>(std::atoi(item.c_str() + eq + 1));
    int idx = -1;
    for (int i = 0; i < 4; ++i) {
      if (name == kOpNames[i]) idx = i;
    }
    if (idx < 0 || w == 0) {
      return Status::invalid_argument("bad --mix item \"" + item + "\" (ops: get put counter set)");
    }
    m.weights.emplace_back(static_cast<BOp>(idx), w);
    m.total += w;
  }
  if (m.total == 0) return Status::invalid_argument("--mix is empty");
  return m;
}

struct WorkerResult {
  std::map<int, std::vector<uint32_t>> latency_us;  // by op
  std::map<std::string, uint64_t> errors;           // by status code
  uint64_t ops = 0;
  Status failure;
};

std::string key_name(uint64_t i) { return "k" + std::to_string(i); }

api::Request make_request(BOp op, uint64_t key, const BenchOptions& o,
                          const core::RequestOptions& opts, const std::string& value, Prng& rng,
                          const std::unordered_map<uint64_t, std::string>& ctx) {
  api::Request r;
  r.bucket = op == BOp::kCounter ? "bench-counter" : op == BOp::kSet ? "bench-set" : "bench";
  r.key = key_name(key);
  r.options = opts;
  switch (op) {
    case BOp::kGet:
      r.op = api::Op::kGet;
      break;
    case BOp::kPut: {
      r.op = api::Op::kPut;
      r.value = value;
      auto it = ctx.find(key);
      if (it != ctx.end()) r.context = it->second;
      break;
    }
    case BOp::kCounter:
      r.op = api::Op::kCounterAdd;
      r.delta = 1;
      break;
    case BOp::kSet:
      r.op = api::Op::kSetAdd;
      r.elements = {"e" + std::to_string(rng.below(100))};
      break;
  }
  (void)o;
  return r;
}

void worker(const std::string& host, const BenchOptions& o, const Mix& mix,
            const core::RequestOptions& opts, uint64_t seed, Clock::time_point end,
            WorkerResult* out) {
  auto client = client::connect_env_address(host, 5'000);
  if (!client) {
    out->failure = client.status();
    return;
  }
  (*client)->set_auto_op_ids(o.op_ids == "on");
  Prng rng(seed);
  const std::string value(o.value_size, 'v');
  std::unordered_map<uint64_t, std::pair<Clock::time_point, std::pair<BOp, uint64_t>>> inflight;
  std::unordered_map<uint64_t, std::string> ctx;  // key -> last context seen
  auto issue = [&]() -> Status {
    const BOp op = mix.pick(rng);
    const uint64_t key = rng.below(o.keys);
    Result<uint64_t> id = (*client)->send(make_request(op, key, o, opts, value, rng, ctx));
    if (!id) return id.status();
    inflight[*id] = {Clock::now(), {op, key}};
    return Status::ok();
  };
  for (uint32_t i = 0; i < o.pipeline; ++i) (void)issue();
  while (!inflight.empty()) {
    Result<api::Response> r = (*client)->recv(30'000);
    if (!r) {
      out->failure = r.status();
      return;
    }
    auto it = inflight.find(r->id);
    if (it == inflight.end()) continue;
    const auto [start, what] = it->second;
    inflight.erase(it);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    out->latency_us[static_cast<int>(what.first)].push_back(static_cast<uint32_t>(us.count()));
    ++out->ops;
    if (!r->status.is_ok() && r->status.code() != Code::kNotFound) {
      ++out->errors[std::string(code_name(r->status.code()))];
    }
    // Reads and writes of the register keys both refresh the context a put will carry.
    if (r->context && (what.first == BOp::kPut || what.first == BOp::kGet)) {
      ctx[what.second] = *r->context;
    }
    if (Clock::now() < end) (void)issue();
  }
}

uint32_t percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

Status preload(const std::string& host, const BenchOptions& o, const core::RequestOptions& opts) {
  auto client = client::connect_env_address(host, 5'000);
  if (!client) return client.status();
  (*client)->set_auto_op_ids(o.op_ids == "on");
  const std::string value(o.value_size, 'v');
  size_t outstanding = 0;
  for (uint32_t k = 0; k < o.keys; ++k) {
    api::Request r;
    r.op = api::Op::kPut;
    r.bucket = "bench";
    r.key = key_name(k);
    r.value = value;
    r.options = opts;
    Result<uint64_t> id = (*client)->send(std::move(r));
    if (!id) return id.status();
    if (++outstanding >= 64) {
      Result<api::Response> resp = (*client)->recv(30'000);
      if (!resp) return resp.status();
      --outstanding;
    }
  }
  while (outstanding > 0) {
    Result<api::Response> resp = (*client)->recv(30'000);
    if (!resp) return resp.status();
    --outstanding;
  }
  return Status::ok();
}

std::vector<std::string> split_hosts(const std::string& list) {
  std::vector<std::string> hosts;
  for (size_t pos = 0; pos <= list.size();) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    if (comma > pos) hosts.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return hosts;
}

// Every worker's counts and latencies in one; the first failure, if any.
WorkerResult merge(std::vector<WorkerResult>& results) {
  WorkerResult all;
  for (auto& r : results) {
    if (!r.failure.is_ok() && all.failure.is_ok()) all.failure = r.failure;
    all.ops += r.ops;
    for (auto& [op, v] : r.latency_us) {
      all.latency_us[op].insert(all.latency_us[op].end(), v.begin(), v.end());
    }
    for (auto& [code, n] : r.errors) all.errors[code] += n;
  }
  return all;
}

json::Json latency_json(const char* name, const std::vector<uint32_t>& v) {
  return {{"op", name},
          {"count", v.size()},
          {"p50_us", percentile(v, 0.5)},
          {"p99_us", percentile(v, 0.99)},
          {"p999_us", percentile(v, 0.999)},
          {"max_us", v.empty() ? 0 : v.back()}};
}

void print_latency(const char* name, const std::vector<uint32_t>& v) {
  std::printf("  %-8s %10zu ops   p50 %7.3f ms   p99 %7.3f ms   p99.9 %7.3f ms   max %7.3f ms\n",
              name, v.size(), percentile(v, 0.5) / 1e3, percentile(v, 0.99) / 1e3,
              percentile(v, 0.999) / 1e3, (v.empty() ? 0 : v.back()) / 1e3);
}

void report_json(const BenchOptions& o, uint32_t replicas, const WorkerResult& all, double secs,
                 const std::vector<uint32_t>& every) {
  json::Json latency = json::Json::array({latency_json("all", every)});
  for (const auto& [op, v] : all.latency_us) latency.push_back(latency_json(kOpNames[op], v));
  json::Json errors = json::Json::object();
  for (const auto& [code, n] : all.errors) errors[code] = n;
  const json::Json out = {{"ops_per_s", std::llround(static_cast<double>(all.ops) / secs)},
                          {"seconds", json::rounded(secs, 2)},
                          {"connections", o.connections},
                          {"pipeline", o.pipeline},
                          {"consistency", o.consistency},
                          {"n", replicas},
                          {"latency", std::move(latency)},
                          {"errors", std::move(errors)}};
  std::printf("%s\n", json::dump(out).c_str());
}

// The throughput line, latency percentiles (all ops, then each op) and error counts.
void report(const BenchOptions& o, uint32_t replicas, size_t host_count, WorkerResult& all,
            double secs, bool json) {
  std::vector<uint32_t> every;
  for (auto& [op, v] : all.latency_us) {
    std::sort(v.begin(), v.end());
    every.insert(every.end(), v.begin(), v.end());
  }
  std::sort(every.begin(), every.end());
  if (json) return report_json(o, replicas, all, secs, every);
  std::printf(
      "%llu ops in %.2f s = %.0f ops/s  (%u connections x %u pipelined, %s n=%u, %u keys, "
      "%u-byte values, mix %s, %zu node(s))\n",
      static_cast<unsigned long long>(all.ops), secs, static_cast<double>(all.ops) / secs,
      o.connections, o.pipeline, o.consistency.c_str(), replicas, o.keys, o.value_size,
      o.mix.c_str(), host_count);
  print_latency("all", every);
  for (auto& [op, v] : all.latency_us) print_latency(kOpNames[op], v);
  for (auto& [code, n] : all.errors) {
    std::printf("  errors: %s x %llu\n", code.c_str(), static_cast<unsigned long long>(n));
  }
}

}  // namespace

void add_flags(CLI::App* cmd, BenchOptions* o) {
  cmd->add_option("--hosts", o->hosts, "comma-separated nodes to spread connections over");
  cmd->add_option("--connections", o->connections, "connections (one thread each)")
      ->capture_default_str();
  cmd->add_option("--pipeline", o->pipeline, "requests in flight per connection")
      ->capture_default_str();
  cmd->add_option("--duration-s", o->duration_s, "how long to run")->capture_default_str();
  cmd->add_option("--keys", o->keys, "key space size")->capture_default_str();
  cmd->add_option("--value-size", o->value_size, "register value bytes")->capture_default_str();
  cmd->add_option("--mix", o->mix, "op weights: get put counter set")->capture_default_str();
  cmd->add_option("-c,--consistency", o->consistency, "ONE, QUORUM, ALL, LOCAL")
      ->capture_default_str();
  cmd->add_option("--n", o->n, "replicas per key (default 3)");
  cmd->add_flag("!--no-preload", o->preload, "skip writing every key once before measuring");
  cmd->add_option("--op-ids", o->op_ids, "updates carry an operation id (on) or none (off)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
}

int run(const std::string& default_host, const BenchOptions& o, bool json) {
  Result<Mix> mix = parse_mix(o.mix);
  Result<core::RequestOptions> opts = core::preset(o.consistency);
  if (opts && o.n > 0) opts->n = o.n;
  if (opts) {
    Result<core::ResolvedOptions> checked = core::resolve(*opts);
    if (!checked) opts = checked.status();
  }
  if (!mix || !opts || o.connections == 0 || o.pipeline == 0 || o.keys == 0) {
    std::fprintf(stderr, "%s\n",
                 !mix    ? mix.status().to_string().c_str()
                 : !opts ? opts.status().to_string().c_str()
                         : "connections, pipeline and keys must be > 0");
    return 2;
  }
  const std::vector<std::string> hosts = split_hosts(o.hosts.empty() ? default_host : o.hosts);
  if (o.preload) {
    Status s = preload(hosts[0], o, *opts);
    if (!s.is_ok()) {
      std::fprintf(stderr, "preload: %s\n", s.to_string().c_str());
      return 1;
    }
  }
  std::vector<WorkerResult> results(o.connections);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(o.duration_s);
  for (uint32_t i = 0; i < o.connections; ++i) {
    threads.emplace_back(worker, hosts[i % hosts.size()], std::cref(o), std::cref(*mix),
                         std::cref(*opts), 0x5eed + i, end, &results[i]);
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  WorkerResult all = merge(results);
  if (!all.failure.is_ok())
    std::fprintf(stderr, "worker failed: %s\n", all.failure.to_string().c_str());
  report(o, opts->n, hosts.size(), all, secs, json);
  return all.failure.is_ok() ? 0 : 1;
}

}  // namespace shoal::bench
