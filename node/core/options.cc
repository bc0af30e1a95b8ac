#include "node/core/options.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace shoal::core {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<uint32_t> count_of(const QuorumSpec& q, uint32_t n, std::string_view name) {
  switch (q.kind) {
    case QuorumSpec::Kind::kOne:
      return 1u;
    case QuorumSpec::Kind::kQuorum:
      return majority(n);
    case QuorumSpec::Kind::kAll:
      return n;
    case QuorumSpec::Kind::kCount:
      if (q.count > n) {
        return Status::invalid_argument(std::string(name) + "=" + std::to_string(q.count) +
                                        " exceeds n=" + std::to_string(n));
      }
      return q.count;
  }
  return Status::internal("unknown quorum kind");
}

}  // namespace

Result<QuorumSpec> parse_quorum(std::string_view text) {
  const std::string t = lower(text);
  if (t == "one") return QuorumSpec::one();
  if (t == "quorum") return QuorumSpec::quorum();
  if (t == "all") return QuorumSpec::all();
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) {
    return Status::invalid_argument("bad quorum '" + std::string(text) +
                                    "': expected a count or one/quorum/all");
  }
  return QuorumSpec::of(v);
}

Result<RequestOptions> preset(std::string_view name) {
  const std::string t = lower(name);
  RequestOptions o;
  if (t == "quorum") return o;
  if (t == "one") {
    o.r = o.w = QuorumSpec::one();
    return o;
  }
  if (t == "all") {
    o.r = o.w = QuorumSpec::all();
    return o;
  }
  if (t == "local") {
    o.local = true;
    return o;
  }
  return Status::invalid_argument("unknown consistency '" + std::string(name) +
                                  "': expected ONE, QUORUM, ALL or LOCAL");
}

Result<ResolvedOptions> resolve(const RequestOptions& o) {
  if (o.timeout_ms < 1 || o.timeout_ms > kMaxTimeoutMs) {
    return Status::invalid_argument("timeout_ms must be in 1.." + std::to_string(kMaxTimeoutMs));
  }
  ResolvedOptions out;
  out.durable = o.durable;
  out.sloppy = o.sloppy;
  out.timeout_ms = o.timeout_ms;
  if (o.local) {
    out.local = true;
    out.n = out.r = out.w = 1;
    return out;
  }
  if (o.n < 1 || o.n > kMaxReplicas) {
    return Status::invalid_argument("n must be in 1.." + std::to_string(kMaxReplicas));
  }
  out.n = o.n;
  struct Field {
    const QuorumSpec& spec;
    uint32_t* dest;
    const char* name;
    uint32_t min;
  };
  for (const Field& f : {Field{o.r, &out.r, "r", 1}, Field{o.w, &out.w, "w", 1},
                         Field{o.pr, &out.pr, "pr", 0}, Field{o.pw, &out.pw, "pw", 0}}) {
    Result<uint32_t> c = count_of(f.spec, o.n, f.name);
    if (!c) return c.status();
    if (*c < f.min) return Status::invalid_argument(std::string(f.name) + " must be >= 1");
    *f.dest = *c;
  }
  return out;
}

ResolvedOptions fit_to_replicas(const RequestOptions& o, ResolvedOptions resolved,
                                uint32_t replicas) {
  if (resolved.local || replicas == 0 || replicas >= resolved.n) return resolved;
  auto fit = [&](const QuorumSpec& spec, uint32_t* dest) {
    if (spec.kind != QuorumSpec::Kind::kCount) *dest = count_of(spec, replicas, "").value();
  };
  fit(o.r, &resolved.r);
  fit(o.w, &resolved.w);
  fit(o.pr, &resolved.pr);
  fit(o.pw, &resolved.pw);
  return resolved;
}

}  // namespace shoal::core
