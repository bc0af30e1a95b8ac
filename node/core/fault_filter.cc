#include "node/core/fault_filter.h"

#include "crdt/assert.h"

namespace shoal::core {

Status FaultFilter::apply(const FaultRule& rule, const std::set<std::string>& known) {
  using Kind = FaultRule::Kind;
  const bool is_delay = rule.kind == Kind::kDelay;
  SHOAL_ASSERT(rule.value <= (is_delay ? kMaxDelayMs : 100u) && rule.jitter_ms <= kMaxDelayMs);
  SHOAL_ASSERT(!rule.nodes.empty() ||
               (rule.kind != Kind::kBlockIn && rule.kind != Kind::kUnblockIn));
  for (const std::string& id : rule.nodes) {
    if (!known.count(id)) return Status::not_found("chaos rule: unknown node '" + id + "'");
  }
  switch (rule.kind) {
    case Kind::kShow:
      return Status::ok();
    case Kind::kHeal:
      clear();
      return Status::ok();
    case Kind::kClients:
      refuse_clients_ = rule.refuse;
      return Status::ok();
    case Kind::kBlockIn:
      blocked_in_.insert(rule.nodes.begin(), rule.nodes.end());
      return Status::ok();
    case Kind::kUnblockIn:
      for (const std::string& p : rule.nodes) blocked_in_.erase(p);
      return Status::ok();
    case Kind::kDelay:
    case Kind::kDrop:
    case Kind::kDup:
      break;
  }
  auto set = [&](Link& l) {
    if (is_delay) {
      l.delay_ms = rule.value;
      l.jitter_ms = rule.jitter_ms;
    } else {
      (rule.kind == Kind::kDrop ? l.drop_pct : l.dup_pct) = rule.value;
    }
  };
  if (rule.nodes.empty()) {
    set(all_);
    for (auto& [peer, link] : per_peer_) set(link);
  } else {
    for (const std::string& p : rule.nodes) set(per_peer_.try_emplace(p, all_).first->second);
  }
  return Status::ok();
}

void FaultFilter::clear() {
  blocked_in_.clear();
  all_ = Link{};
  per_peer_.clear();
  refuse_clients_ = false;
}

const FaultFilter::Link* FaultFilter::link_for(const std::string& to) const {
  auto it = per_peer_.find(to);
  return it != per_peer_.end() ? &it->second : &all_;
}

FaultFilter::Verdict FaultFilter::outbound(const std::string& to, Rng& rng) const {
  Verdict v;
  const Link& l = *link_for(to);
  if (l.drop_pct > 0 && rng.next() % 100 < l.drop_pct) {
    v.drop = true;
    return v;
  }
  if (l.dup_pct > 0 && rng.next() % 100 < l.dup_pct) v.copies = 2;
  if (l.delay_ms > 0 || l.jitter_ms > 0) {
    const uint64_t lo = l.delay_ms > l.jitter_ms ? l.delay_ms - l.jitter_ms : 0;
    const uint64_t hi = uint64_t{l.delay_ms} + l.jitter_ms;
    v.delay_ms = lo + rng.next() % (hi - lo + 1);
  }
  return v;
}

bool FaultFilter::active() const { return !describe().empty(); }

std::string FaultFilter::describe() const {
  std::string out;
  auto join = [](const std::set<std::string>& s) {
    std::string r;
    for (const std::string& x : s) r += (r.empty() ? "" : ",") + x;
    return r;
  };
  if (!blocked_in_.empty()) out += "block-in " + join(blocked_in_) + "\n";
  // The all-peers link where set; a per-peer one where it differs from it.
  auto link = [&](const Link& l, const Link* base, const std::string& suffix) {
    auto show = [&](uint32_t mine, uint32_t theirs) { return base ? mine != theirs : mine != 0; };
    if (show(l.delay_ms, base ? base->delay_ms : 0) ||
        show(l.jitter_ms, base ? base->jitter_ms : 0)) {
      out +=
          "delay " + std::to_string(l.delay_ms) + " " + std::to_string(l.jitter_ms) + suffix + "\n";
    }
    if (show(l.drop_pct, base ? base->drop_pct : 0)) {
      out += "drop " + std::to_string(l.drop_pct) + suffix + "\n";
    }
    if (show(l.dup_pct, base ? base->dup_pct : 0)) {
      out += "dup " + std::to_string(l.dup_pct) + suffix + "\n";
    }
  };
  link(all_, nullptr, "");
  for (const auto& [peer, l] : per_peer_) link(l, &all_, std::string(" to ") + peer);
  if (refuse_clients_) out += "clients refuse\n";
  return out;
}

}  // namespace shoal::core
