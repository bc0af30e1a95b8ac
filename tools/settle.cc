// The settling rounds of `shoal cluster settle` (declared in tools/cluster.h): every
// node's convergence signal asked and judged.
#include <algorithm>
#include <chrono>
#include <thread>

#include "tools/client.h"
#include "tools/cluster.h"

namespace shoal::client {

namespace {

int64_t stat_of(const api::Response& r, std::string_view name, int64_t missing) {
  for (const auto& [k, v] : r.stats) {
    if (k == name) return v;
  }
  return missing;
}

std::string age(uint64_t ms) {
  const uint64_t s = ms / 1000;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  return std::to_string(s / 3600) + "h";
}

// Why a ring peer is not in sync, as the answering node sees it.
std::string not_in_sync_reason(const api::MemberInfo& m) {
  std::string why;
  auto add = [&why](const std::string& part) { why += (why.empty() ? "" : ", ") + part; };
  if (m.down) add("down");
  if (m.hints_here > 0) add(std::to_string(m.hints_here) + " hints for it");
  if (m.unconfirmed > 0) add(std::to_string(m.unconfirmed) + " segments unconfirmed");
  if (why.empty()) add("handoff pending");
  return why;
}

}  // namespace

std::string sync_label(const api::MemberInfo& m, uint64_t now_wall_ms) {
  if (!m.sync_known) return "-";
  if (m.in_sync) {
    return m.sync_since_ms > 0 && now_wall_ms >= m.sync_since_ms
               ? "yes since " + age(now_wall_ms - m.sync_since_ms)
               : "yes";
  }
  return "no (" + not_in_sync_reason(m) + ")";
}

std::string SettleRound::summary() const {
  std::string out;
  for (const NodeSettle& n : nodes) {
    if (!out.empty()) out += "; ";
    out += n.id + ": ";
    if (n.settled) {
      out += "in sync";
      continue;
    }
    for (size_t i = 0; i < n.issues.size() && i < 4; ++i) out += (i ? ", " : "") + n.issues[i];
    if (n.issues.size() > 4) out += ", ...";
  }
  return out;
}

SettleRound settle_round(LocalCluster& c, uint32_t wait_ms) {
  SettleRound round;
  api::Request req;
  req.op = api::Op::kClusterStatus;
  for (const LocalNode& n : c.nodes) {
    NodeSettle ns;
    ns.id = n.id;
    if (!c.external && !node_running(n)) {
      ns.issues.push_back("not running");
      round.nodes.push_back(std::move(ns));
      continue;
    }
    auto cl = connect_env(n.host, n.client_port, wait_ms);
    Result<api::Response> r =
        cl ? (*cl)->call_within(req, wait_ms) : Result<api::Response>(cl.status());
    if (!r || !r->status.is_ok()) {
      ns.issues.push_back("not answering");
      round.nodes.push_back(std::move(ns));
      continue;
    }
    ns.answered = true;
    const api::Response& v = *r;
    const std::string self = v.node.empty() ? n.id : v.node;
    ns.ring = static_cast<uint64_t>(stat_of(v, "ring_fingerprint", 0));
    for (const api::MemberInfo& m : v.members) {
      if (m.id == self) {
        if (m.status != "up") ns.issues.push_back(m.status);
      } else if (m.sync_known && !m.in_sync) {
        ns.issues.push_back(m.id + " " + not_in_sync_reason(m));
      }
    }
    const int64_t in_sync = stat_of(v, "in_sync", -1);
    if (in_sync < 0) ns.issues.push_back("reports no sync (an older shoald?)");
    if (int64_t h = stat_of(v, "hints_held", 0); h > 0) {
      ns.issues.push_back("hints held " + std::to_string(h));
    }
    if (stat_of(v, "handoff_active", 0) > 0) ns.issues.push_back("handoff running");
    if (int64_t k = stat_of(v, "handoff_not_owned", 0); k > 0) {
      ns.issues.push_back(std::to_string(k) + " keys to hand off");
    }
    if (int64_t t = stat_of(v, "handoff_inflight", 0); t > 0) {
      ns.issues.push_back(std::to_string(t) + " transfers in flight");
    }
    if (in_sync == 0 && ns.issues.empty()) ns.issues.push_back("not in sync");
    round.nodes.push_back(std::move(ns));
  }
  // Every node that answered must be on the same ring (else they compare nothing yet).
  const NodeSettle* first = nullptr;
  for (NodeSettle& n : round.nodes) {
    if (!n.answered) continue;
    if (!first) {
      first = &n;
    } else if (n.ring != first->ring) {
      n.issues.push_back("ring differs from " + first->id + "'s");
    }
  }
  round.settled = first != nullptr;
  for (NodeSettle& n : round.nodes) {
    n.settled = n.answered && n.issues.empty();
    if (n.answered && !n.settled) round.settled = false;
  }
  return round;
}

bool settle(LocalCluster& c, uint32_t timeout_ms, uint32_t poll_ms,
            const std::function<void(const SettleRound&, uint64_t elapsed_ms)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&start] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
  };
  int streak = 0;  // settled rounds in a row: two, so a message in flight between two
                   // polls cannot make one round look settled
  for (;;) {
    SettleRound round = settle_round(c);
    const uint64_t t = elapsed();
    if (progress) progress(round, t);
    streak = round.settled ? streak + 1 : 0;
    if (streak >= 2) return true;
    if (t >= timeout_ms) return false;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min<uint64_t>(poll_ms, timeout_ms - t)));
  }
}

}  // namespace shoal::client
