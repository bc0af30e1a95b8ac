#include "node/core/fault_filter.h"

#include <charconv>
#include <vector>

namespace shoal::core {

namespace {

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Status bad(const std::string& why) {
  return Status::invalid_argument(
      std::string("chaos rule: ") + why +
      " (rules: block-in NODES, unblock-in NODES, delay MS [JITTER_MS] [to NODES], "
      "drop PCT [to NODES], dup PCT [to NODES], clients refuse|serve, heal)");
}

Result<uint32_t> number(const std::string& w, uint32_t max, const char* what) {
  std::string_view s = w;
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") s.remove_suffix(2);
  if (!s.empty() && s.back() == '%') s.remove_suffix(1);
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v > max) {
    std::string why(what);
    why += " must be a whole number from 0 to " + std::to_string(max) + ", not '" + w + "'";
    return bad(why);
  }
  return v;
}

Result<std::set<std::string>> nodes(const std::string& list, const std::set<std::string>& known) {
  std::set<std::string> out;
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    std::string id = list.substr(i, j - i);
    if (id.empty()) return bad(std::string("empty node name in '") + list + "'");
    if (!known.count(id)) {
      return Status::not_found(std::string("chaos rule: unknown node '") + id + "'");
    }
    out.insert(std::move(id));
    i = j + 1;
  }
  return out;
}

}  // namespace

Status FaultFilter::apply(std::string_view rule, const std::set<std::string>& known) {
  const std::vector<std::string> w = words(rule);
  if (w.empty()) return bad("empty rule");
  const std::string& verb = w[0];
  if (verb == "show" && w.size() == 1) return Status::ok();  // changes nothing
  if (verb == "heal" && w.size() == 1) {
    clear();
    return Status::ok();
  }
  if (verb == "clients" && w.size() == 2 && (w[1] == "refuse" || w[1] == "serve")) {
    refuse_clients_ = w[1] == "refuse";
    return Status::ok();
  }
  if ((verb == "block-in" || verb == "unblock-in") && w.size() == 2) {
    Result<std::set<std::string>> peers = nodes(w[1], known);
    if (!peers) return peers.status();
    for (const std::string& p : *peers) {
      if (verb == "block-in") {
        blocked_in_.insert(p);
      } else {
        blocked_in_.erase(p);
      }
    }
    return Status::ok();
  }
  if (verb != "delay" && verb != "drop" && verb != "dup") {
    return bad(std::string("unknown rule '") + verb + "'");
  }
  // VERB VALUE [JITTER] [to NODES]
  size_t n = w.size();
  std::set<std::string> to;
  if (n >= 4 && w[n - 2] == "to") {
    Result<std::set<std::string>> peers = nodes(w[n - 1], known);
    if (!peers) return peers.status();
    to = std::move(peers).value();
    n -= 2;
  }
  const bool is_delay = verb == "delay";
  if (n < 2 || n > (is_delay ? 3u : 2u)) {
    return bad(std::string("wrong number of words in '") + std::string(rule) + "'");
  }
  Result<uint32_t> value =
      number(w[1], is_delay ? kMaxDelayMs : 100, is_delay ? "delay" : "percent");
  if (!value) return value.status();
  Result<uint32_t> jitter = n == 3 ? number(w[2], kMaxDelayMs, "jitter") : Result<uint32_t>(0u);
  if (!jitter) return jitter.status();
  auto set = [&](Link& l) {
    if (is_delay) {
      l.delay_ms = *value;
      l.jitter_ms = *jitter;
    } else {
      (verb == "drop" ? l.drop_pct : l.dup_pct) = *value;
    }
  };
  if (to.empty()) {
    set(all_);
    for (auto& [peer, link] : per_peer_) set(link);
  } else {
    for (const std::string& p : to) set(per_peer_.try_emplace(p, all_).first->second);
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
