#include "node/api/http_routes.h"

#include <http_parser.h>

#include <charconv>
#include <initializer_list>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "node/api/http_query.h"
#include "node/api/json.h"
#include "node/api/resp_codec.h"
#include "node/api/text.h"
#include "node/core/update.h"

namespace shoal::api::http {

namespace {

constexpr uint32_t kDefaultPageMembers = 100;  // ?cursor= without ?count=

using json::Json;

// Elements in JSON: strings, or {"base64": "..."} for bytes that are not UTF-8.
Status elements_from(const Json& v, std::vector<std::string>* out) {
  if (!v.is_array()) return Status::invalid_argument("expected an array");
  for (const Json& e : v) {
    std::optional<std::string> bytes = json::bytes_of(e);
    if (!bytes) return Status::invalid_argument("an element is a string or {\"base64\": ...}");
    out->push_back(std::move(*bytes));
  }
  return Status::ok();
}

Reply text_reply(std::string body, const char* type) {
  Reply r;
  r.content_type = type;
  r.body = std::move(body);
  return r;
}

// True when m.method is one of `methods`; otherwise *refusal is the 405 naming them.
bool allowed(const Message& m, std::string_view path, std::initializer_list<const char*> methods,
             Reply* refusal) {
  for (const char* x : methods) {
    if (m.method == x) return true;
  }
  Reply r =
      error_reply(Status::invalid_argument(m.method + " is not allowed on " + std::string(path)));
  r.status = 405;
  std::string allow;
  for (const char* x : methods) allow += (allow.empty() ? "" : ", ") + std::string(x);
  r.headers.emplace_back("Allow", allow);
  *refusal = std::move(r);
  return false;
}

// The node's own pages: / (the dashboard), /ping, /status and /metrics. nullopt when
// `seg` names none of them.
std::optional<Reply> page(const Message& m, const std::vector<std::string>& seg,
                          std::string_view path, const Hooks& hooks) {
  const bool node_page =
      seg.size() == 1 && (seg[0] == "ping" || seg[0] == "status" || seg[0] == "metrics");
  if (!seg.empty() && !node_page) return std::nullopt;
  if (Reply refusal; !allowed(m, path, {"GET"}, &refusal)) return refusal;
  if (hooks.allow_page && (seg.empty() || seg[0] != "ping")) {
    const Status s = hooks.allow_page(seg.empty() ? "dashboard" : seg[0]);
    if (!s.is_ok()) return error_reply(s);
  }
  if (seg.empty()) {
    return text_reply(hooks.dashboard ? hooks.dashboard() : "", "text/html; charset=utf-8");
  }
  if (seg[0] == "ping") {
    // A load balancer's health check: 503 while the store is failing (the node repairs
    // or reopens it by itself, docs/operations.md), so traffic goes elsewhere.
    const Status health = hooks.health ? hooks.health() : Status::ok();
    const std::string node = hooks.node_id ? hooks.node_id() : "";
    if (!health.is_ok()) {
      return json_reply(503, json::dump({{"status", "store_failing"},
                                         {"node", json::bytes(node)},
                                         {"error", json::bytes(health.to_string())}}));
    }
    return json_reply(200, json::dump({{"status", "ok"}, {"node", json::bytes(node)}}));
  }
  if (seg[0] == "status") return json_reply(200, hooks.status_json ? hooks.status_json() : "{}");
  return text_reply(hooks.metrics_text ? hooks.metrics_text() : "",
                    "text/plain; version=0.0.4; charset=utf-8");
}

// The Idempotency-Key header: an operation id, on updates only.
Status op_id_from(const Message& m, Request* r) {
  auto it = m.headers.find("idempotency-key");
  if (it == m.headers.end()) return Status::ok();
  if (m.method == "GET") {
    return Status::invalid_argument(
        "header Idempotency-Key: an operation id applies to updates (PUT, POST, DELETE), "
        "not GET");
  }
  if (it->second.empty() || it->second.size() > core::kMaxOpIdBytes) {
    return Status::invalid_argument("header Idempotency-Key: " + std::to_string(it->second.size()) +
                                    " bytes; an operation id is 1.." +
                                    std::to_string(core::kMaxOpIdBytes) + " bytes");
  }
  r->op_id = it->second;
  return Status::ok();
}

// ?cursor= and ?count= on GET of a set: one page (SSCAN's cursors: "0" starts).
Status page_from(const Message& m, const std::vector<std::string>& seg,
                 const std::map<std::string, std::string>& params, Request* r) {
  auto cursor = params.find("cursor");
  auto count = params.find("count");
  if (cursor == params.end() && count == params.end()) return Status::ok();
  if (seg[2] != "sets" || m.method != "GET") {
    return Status::invalid_argument("cursor= and count= are for GET on sets");
  }
  if (cursor != params.end() && !resp::decode_cursor(cursor->second, &r->after)) {
    return Status::invalid_argument("cursor=: not a cursor this node gave (\"0\" starts)");
  }
  r->count = kDefaultPageMembers;
  if (count == params.end()) return Status::ok();
  uint64_t n = 0;
  const auto [end, ec] =
      std::from_chars(count->second.data(), count->second.data() + count->second.size(), n);
  if (ec != std::errc() || end != count->second.data() + count->second.size() || n < 1 ||
      n > core::kMaxPageMembers) {
    return Status::invalid_argument("count=: 1.." + std::to_string(core::kMaxPageMembers));
  }
  r->count = static_cast<uint32_t>(n);
  return Status::ok();
}

// What every data route takes from the URL and headers: bucket and key, the options
// and type= from the query, member=, the context and the operation id.
Status common_fields(const Message& m, const std::vector<std::string>& seg, std::string_view query,
                     Request* r) {
  r->bucket = seg[1];
  r->key = seg[3];
  std::string type;
  const std::map<std::string, std::string> params = parse_query(query);
  SHOAL_RETURN_IF_ERROR(options_from(params, &r->options, &type));
  if (auto it = params.find("member"); it != params.end()) {
    if (seg[2] != "sets" || m.method != "GET") {
      return Status::invalid_argument("member= is for GET on sets");
    }
    r->elements = {it->second};  // a membership test: reads only that member
  }
  SHOAL_RETURN_IF_ERROR(page_from(m, seg, params, r));
  if (auto it = m.headers.find("x-shoal-context"); it != m.headers.end()) {
    std::optional<std::string> ctx = text::base64_decode(it->second);
    if (!ctx) return Status::invalid_argument("X-Shoal-Context is not base64");
    r->context = std::move(ctx);  // kept only by the operations that take one (data_request())
  }
  SHOAL_RETURN_IF_ERROR(op_id_from(m, r));
  if ((m.method == "GET" || m.method == "DELETE") && !m.body.empty()) {
    return Status::invalid_argument(m.method + " takes no body");
  }
  if (!type.empty()) {
    if (seg[2] != "keys") return Status::invalid_argument("type= is for keys");
    Result<core::DataType> t = core::parse_type(type);
    if (!t) return t.status();
    r->type = *t;
  }
  return Status::ok();
}

// A POST body for counters or sets: a JSON object with only the fields the kind takes.
Result<Json> json_body(const std::string& kind, const std::string& text) {
  Result<Json> body = json::parse(text);
  if (!body) return body.status();
  if (!body->is_object()) {
    return Status::invalid_argument(kind == "counters"
                                        ? "the body must be a JSON object: {\"delta\": integer}"
                                        : "the body must be a JSON object: {\"add\": [...]} or "
                                          "{\"remove\": [...]}");
  }
  // Every field is named: a misspelt one is refused, never left to a default.
  const std::set<std::string> known = kind == "counters"
                                          ? std::set<std::string>{"delta"}
                                          : std::set<std::string>{"add", "remove", "context"};
  for (const auto& [name, value] : body->items()) {
    if (!known.count(name)) {
      return Status::invalid_argument("field \"" + name + "\": unknown field (" +
                                      (kind == "counters"
                                           ? "expected {\"delta\": integer}"
                                           : "expected {\"add\": [...]} or {\"remove\": [...], "
                                             "\"context\": ...}") +
                                      ")");
    }
  }
  return body;
}

// POST /buckets/{b}/counters/{k}: {"delta": n}.
Status counter_request(const Json& body, Request* r) {
  auto d = body.find("delta");
  if (d == body.end()) {
    return Status::invalid_argument("field \"delta\": missing (expected {\"delta\": integer})");
  }
  std::optional<int64_t> delta = json::int64_of(*d);
  if (!delta) return Status::invalid_argument("field \"delta\": expected a signed 64-bit integer");
  r->op = Op::kCounterAdd;
  r->delta = *delta;
  return Status::ok();
}

// POST /buckets/{b}/sets/{k}: {"add": [...]} or {"remove": [...], "context": ...}; a
// remove's context comes from the body or the header, and both must agree.
Status set_request(const Json& body, std::optional<std::string> header_context, Request* r) {
  const Json* add = body.contains("add") ? &body["add"] : nullptr;
  const Json* rm = body.contains("remove") ? &body["remove"] : nullptr;
  if ((add == nullptr) == (rm == nullptr)) {
    return Status::invalid_argument(
        "expected {\"add\": [...]} or {\"remove\": [...]}: exactly one of field \"add\" "
        "and field \"remove\"");
  }
  r->op = add ? Op::kSetAdd : Op::kSetRemove;
  if (Status s = elements_from(add ? *add : *rm, &r->elements); !s.is_ok()) {
    return Status::invalid_argument("field \"" + std::string(add ? "add" : "remove") +
                                    "\": " + s.message());
  }
  if (auto ctx = body.find("context"); ctx != body.end()) {
    if (add) return Status::invalid_argument("field \"context\": applies to remove only");
    std::optional<std::string> bytes =
        ctx->is_string() ? text::base64_decode(ctx->get<std::string>()) : std::nullopt;
    if (!bytes) {
      return Status::invalid_argument(
          "field \"context\": expected a base64 string (a context from a read)");
    }
    if (header_context && *header_context != *bytes) {
      return Status::invalid_argument(
          "field \"context\" and X-Shoal-Context differ: give one context");
    }
    header_context = std::move(bytes);
  }
  if (rm) r->context = std::move(header_context);
  return Status::ok();
}

// The operation a data route names, from the method and kind ("keys", "counters",
// "sets"), with its fields from the body: a value, or JSON for counters and sets.
Status data_request(const Message& m, const std::string& kind, Request* r) {
  std::optional<std::string> header_context = std::move(r->context);
  r->context.reset();
  if (kind == "keys") {
    r->op = m.method == "GET" ? Op::kGet : m.method == "PUT" ? Op::kPut : Op::kDelete;
    if (r->op == Op::kPut) {
      // An absent body is not an empty value: say so rather than store "" (send
      // Content-Length: 0 for an empty value).
      if (!m.body_declared) {
        return Status::invalid_argument(
            "PUT needs the value as its body (Content-Length: 0 for an empty value)");
      }
      r->value = m.body;
    }
    if (r->op != Op::kGet) r->context = std::move(header_context);
    return Status::ok();
  }
  if (m.method == "GET") {
    r->op = kind == "counters" ? Op::kCounterGet : Op::kSetGet;
    return Status::ok();
  }
  Result<Json> body = json_body(kind, m.body);
  if (!body) return body.status();
  if (kind == "counters") return counter_request(*body, r);
  return set_request(*body, std::move(header_context), r);
}

// The answer to a data request `op`, in HTTP.
Reply answer_reply(Op op, const Response& a, bool paged) {
  Reply out;
  if (a.context) out.headers.emplace_back("X-Shoal-Context", text::base64_encode(*a.context));
  if (a.duplicate) out.headers.emplace_back("Idempotent-Replayed", "true");
  if (!a.status.is_ok()) {
    Reply e = error_reply(a.status);
    // A deleted register's context (for a fresh put) joins the error's own headers (401's
    // WWW-Authenticate).
    e.headers.insert(e.headers.end(), out.headers.begin(), out.headers.end());
    return e;
  }
  if (op == Op::kPut || op == Op::kDelete) {
    out.status = 204;
    return out;
  }
  const core::DataType type = a.type.value_or(core::DataType::kRegister);
  const bool value_kind = type != core::DataType::kCounter && type != core::DataType::kSet;
  if (value_kind && a.values.size() == 1) {  // a register (or lww) without siblings
    out.content_type = "application/octet-stream";
    out.body = a.values[0];
    return out;
  }
  Json body;
  if (type == core::DataType::kCounter) {
    body = {{"type", "counter"}, {"value", a.counter}};
  } else if (type == core::DataType::kSet) {
    // A write answers with the elements it named that are members now (not the whole
    // set: that would make every add O(set size)); a read with the members.
    const bool write = op == Op::kSetAdd || op == Op::kSetRemove;
    body = {{"type", "set"}, {write ? "present" : "members", json::bytes_array(a.elements)}};
    if (a.added) body["added"] = *a.added;        // an add: how many were new (as SADD answers)
    if (a.removed) body["removed"] = *a.removed;  // a remove without a context (as SREM)
    if (paged) body["cursor"] = a.next ? resp::encode_cursor(*a.next) : "0";
  } else {
    out.status = 300;
    body = {{"type", "register"}, {"siblings", json::bytes_array(a.values)}};
  }
  if (a.context && type != core::DataType::kCounter) {
    body["context"] = text::base64_encode(*a.context);
  }
  out.body = json::dump(body);
  return out;
}

}  // namespace

void route(const Message& m, const Hooks& hooks, std::function<void(Reply)> reply) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(m.url.data(), m.url.size(), 0, &u) != 0 ||
      !(u.field_set & (1 << UF_PATH))) {
    return reply(error_reply(Status::invalid_argument("malformed URL")));
  }
  const std::string_view path(m.url.data() + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  const std::string_view query =
      (u.field_set & (1 << UF_QUERY))
          ? std::string_view(m.url.data() + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
          : std::string_view();
  const std::vector<std::string> seg = split_path(path);
  if (std::optional<Reply> p = page(m, seg, path, hooks)) return reply(std::move(*p));
  if (seg.size() != 4 || seg[0] != "buckets" ||
      (seg[2] != "keys" && seg[2] != "counters" && seg[2] != "sets")) {
    return reply(error_reply(Status::not_found("no route for " + std::string(path))));
  }
  Reply refusal;
  if (seg[2] == "keys" && !allowed(m, path, {"GET", "PUT", "DELETE"}, &refusal)) {
    return reply(std::move(refusal));
  }
  if (seg[2] != "keys" && !allowed(m, path, {"GET", "POST"}, &refusal)) {
    return reply(std::move(refusal));
  }
  Request r;
  if (Status s = common_fields(m, seg, query, &r); !s.is_ok()) return reply(error_reply(s));
  if (Status s = data_request(m, seg[2], &r); !s.is_ok()) return reply(error_reply(s));
  if (Status s = check_request(r); !s.is_ok()) return reply(error_reply(s));
  const Op op = r.op;
  const bool paged = r.count != 0;
  hooks.submit(std::move(r), [op, paged, reply](Response a) { reply(answer_reply(op, a, paged)); });
}

}  // namespace shoal::api::http
