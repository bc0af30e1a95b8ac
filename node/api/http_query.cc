#include "node/api/http_query.h"

#include <charconv>
#include <cstdint>

namespace shoal::api::http {

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status parse_bool(const std::string& name, const std::string& v, bool* out) {
  if (v == "true" || v == "1" || v == "yes" || v.empty()) {
    *out = true;
  } else if (v == "false" || v == "0" || v == "no") {
    *out = false;
  } else {
    return Status::invalid_argument("query parameter " + name + ": expected true or false");
  }
  return Status::ok();
}

Status parse_u32(const std::string& name, const std::string& v, uint32_t* out) {
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (ec != std::errc() || end != v.data() + v.size()) {
    return Status::invalid_argument("query parameter " + name + ": expected a number");
  }
  return Status::ok();
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(percent_decode(path.substr(i, j - i), false));
    i = j;
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < q.size()) {
    size_t amp = q.find('&', i);
    if (amp == std::string_view::npos) amp = q.size();
    std::string_view kv = q.substr(i, amp - i);
    const size_t eq = kv.find('=');
    out[percent_decode(kv.substr(0, eq), true)] =
        eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1), true);
    i = amp + 1;
  }
  return out;
}

// Per-request options from the query: a preset first (consistency=), then the fields.
Status options_from(const std::map<std::string, std::string>& q, core::RequestOptions* o,
                    std::string* type) {
  if (auto it = q.find("consistency"); it != q.end()) {
    Result<core::RequestOptions> p = core::preset(it->second);
    if (!p) return p.status();
    *o = *p;
  }
  for (const auto& [k, v] : q) {
    // member, cursor, count: handled by the caller
    if (k == "consistency" || k == "member" || k == "cursor" || k == "count") continue;
    if (k == "type") {
      *type = v;
    } else if (k == "r" || k == "w" || k == "pr" || k == "pw") {
      Result<core::QuorumSpec> s = core::parse_quorum(v);
      if (!s) return Status::invalid_argument("query parameter " + k + ": " + s.status().message());
      (k == "r" ? o->r : k == "w" ? o->w : k == "pr" ? o->pr : o->pw) = *s;
      o->local = false;
    } else if (k == "n" || k == "timeout_ms") {
      SHOAL_RETURN_IF_ERROR(parse_u32(k, v, k == "n" ? &o->n : &o->timeout_ms));
    } else if (k == "durable" || k == "sloppy") {
      SHOAL_RETURN_IF_ERROR(parse_bool(k, v, k == "durable" ? &o->durable : &o->sloppy));
    } else {
      return Status::invalid_argument(
          "unknown query parameter \"" + k +
          "\" (r w pr pw n timeout_ms durable sloppy consistency type member cursor count)");
    }
  }
  return core::resolve(*o).status();
}

}  // namespace shoal::api::http
