#include "node/api/fault_rule.h"

#include <charconv>
#include <vector>

namespace shoal::api {

namespace {

using core::FaultRule;
using Kind = core::FaultRule::Kind;

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
      "drop PCT [to NODES], dup PCT [to NODES], clients refuse|serve, heal, show)");
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

Result<std::set<std::string>> nodes(const std::string& list) {
  std::set<std::string> out;
  for (size_t i = 0; i <= list.size();) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    std::string id = list.substr(i, j - i);
    if (id.empty()) return bad("empty node name in '" + list + "'");
    out.insert(std::move(id));
    i = j + 1;
  }
  return out;
}

// delay MS [JITTER_MS] [to NODES], drop PCT [to NODES], dup PCT [to NODES]
Result<FaultRule> link_rule(Kind kind, std::vector<std::string> w, std::string_view text) {
  FaultRule r = FaultRule::of(kind);
  size_t n = w.size();
  if (n >= 4 && w[n - 2] == "to") {
    Result<std::set<std::string>> to = nodes(w[n - 1]);
    if (!to) return to.status();
    r.nodes = std::move(to).value();
    n -= 2;
  }
  const bool is_delay = kind == Kind::kDelay;
  if (n < 2 || n > (is_delay ? 3u : 2u)) {
    return bad("wrong number of words in '" + std::string(text) + "'");
  }
  Result<uint32_t> value =
      number(w[1], is_delay ? core::kMaxFaultDelayMs : 100, is_delay ? "delay" : "percent");
  if (!value) return value.status();
  Result<uint32_t> jitter =
      n == 3 ? number(w[2], core::kMaxFaultDelayMs, "jitter") : Result<uint32_t>(0u);
  if (!jitter) return jitter.status();
  r.value = *value;
  r.jitter_ms = *jitter;
  return r;
}

}  // namespace

Result<FaultRule> parse_fault_rule(std::string_view text) {
  if (text.size() > kMaxFaultRuleBytes) {
    return bad(std::to_string(text.size()) + " bytes; a rule is at most " +
               std::to_string(kMaxFaultRuleBytes));
  }
  const std::vector<std::string> w = words(text);
  if (w.empty()) return bad("empty rule");
  const std::string& verb = w[0];
  if ((verb == "show" || verb == "heal") && w.size() == 1) {
    return FaultRule::of(verb == "show" ? Kind::kShow : Kind::kHeal);
  }
  if (verb == "clients" && w.size() == 2 && (w[1] == "refuse" || w[1] == "serve")) {
    FaultRule r = FaultRule::of(Kind::kClients);
    r.refuse = w[1] == "refuse";
    return r;
  }
  if ((verb == "block-in" || verb == "unblock-in") && w.size() == 2) {
    Result<std::set<std::string>> peers = nodes(w[1]);
    if (!peers) return peers.status();
    return FaultRule::of(verb == "block-in" ? Kind::kBlockIn : Kind::kUnblockIn,
                         std::move(peers).value());
  }
  if (verb == "delay") return link_rule(Kind::kDelay, w, text);
  if (verb == "drop") return link_rule(Kind::kDrop, w, text);
  if (verb == "dup") return link_rule(Kind::kDup, w, text);
  return bad("unknown rule '" + verb + "'");
}

}  // namespace shoal::api
