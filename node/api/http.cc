#include "node/api/http.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstring>
#include <set>

#include "node/api/json.h"
#include "node/api/text.h"

namespace shoal::api::http {

namespace {

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 300:
      return "Multiple Choices";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

std::string encode(const Reply& r, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  return out + r.body;
}

Reply json_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

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

// Per-request options from the query: a preset first (consistency=), then the fields.
Status options_from(const std::map<std::string, std::string>& q, core::RequestOptions* o,
                    std::string* type) {
  if (auto it = q.find("consistency"); it != q.end()) {
    Result<core::RequestOptions> p = core::preset(it->second);
    if (!p) return p.status();
    *o = *p;
  }
  for (const auto& [k, v] : q) {
    if (k == "consistency" || k == "member") continue;  // member: handled by the caller
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
          "\" (r w pr pw n timeout_ms durable sloppy consistency type member)");
    }
  }
  return core::resolve(*o).status();
}

// Elements in JSON: strings, or {"base64": "..."} for bytes that are not UTF-8.
Status elements_from(const json::Value& v, std::vector<std::string>* out) {
  if (v.type != json::Value::Type::kArray) return Status::invalid_argument("expected an array");
  for (const json::Value& e : v.array) {
    if (e.type == json::Value::Type::kString) {
      out->push_back(e.string);
      continue;
    }
    const json::Value* b =
        e.type == json::Value::Type::kObject && e.object.size() == 1 ? e.get("base64") : nullptr;
    std::optional<std::string> bytes =
        b && b->type == json::Value::Type::kString ? text::base64_decode(b->string) : std::nullopt;
    if (!bytes) return Status::invalid_argument("an element is a string or {\"base64\": ...}");
    out->push_back(std::move(*bytes));
  }
  return Status::ok();
}

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + text::json_bytes(items[i]);
  return out + "]";
}

}  // namespace

int status_for(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kNotFound:
      return 404;
    case Code::kInvalidArgument:
      return 400;
    case Code::kTypeMismatch:
      return 409;
    case Code::kUnavailable:
      return 503;
    case Code::kTimeout:
      return 504;
    case Code::kTooLarge:
      return 413;
    case Code::kOverloaded:
      return 429;
    case Code::kUnauthorized:
      return 401;
    default:
      return 500;
  }
}

Reply error_reply(const Status& s) {
  return json_reply(status_for(s.code()),
                    "{\"code\":" + text::json_string(std::string(code_name(s.code()))) +
                        ",\"message\":" + text::json_bytes(s.message()) + "}");
}

// ---- parsing ----

std::shared_ptr<Session> Session::make(Hooks hooks) {
  return std::shared_ptr<Session>(new Session(std::move(hooks)));
}

Session::Session(Hooks hooks) : hooks_(std::move(hooks)) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
}

int Session::on_url(http_parser* p, const char* at, size_t n) {
  auto* s = static_cast<Session*>(p->data);
  s->cur_.url.append(at, n);
  return s->cur_.url.size() > kMaxUrlBytes ? 1 : 0;
}

int Session::on_header_field(http_parser* p, const char* at, size_t n) {
  auto* s = static_cast<Session*>(p->data);
  if (s->in_value_) s->field_.clear();
  s->in_value_ = false;
  for (size_t i = 0; i < n; ++i) s->field_.push_back(static_cast<char>(std::tolower(at[i])));
  s->header_bytes_ += n;
  return s->header_bytes_ > kMaxHeaderBytes ? 1 : 0;
}

int Session::on_header_value(http_parser* p, const char* at, size_t n) {
  auto* s = static_cast<Session*>(p->data);
  s->in_value_ = true;
  s->cur_.headers[s->field_].append(at, n);
  s->header_bytes_ += n;
  return s->header_bytes_ > kMaxHeaderBytes ? 1 : 0;
}

int Session::on_headers_complete(http_parser* p) {
  auto* s = static_cast<Session*>(p->data);
  s->cur_.body_declared = p->content_length != ULLONG_MAX || (p->flags & F_CHUNKED) != 0;
  if (p->content_length != ULLONG_MAX && p->content_length > kMaxBodyBytes) {
    s->too_large_ = true;
    http_parser_pause(p, 1);
  }
  return 0;
}

int Session::on_body(http_parser* p, const char* at, size_t n) {
  auto* s = static_cast<Session*>(p->data);
  if (s->cur_.body.size() + n > kMaxBodyBytes) {
    s->too_large_ = true;
    http_parser_pause(p, 1);
    return 0;
  }
  s->cur_.body.append(at, n);
  return 0;
}

int Session::on_message_complete(http_parser* p) {
  auto* s = static_cast<Session*>(p->data);
  s->cur_.method = http_method_str(static_cast<http_method>(p->method));
  s->cur_.keep_alive = http_should_keep_alive(p) != 0;
  Message m = std::move(s->cur_);
  s->cur_ = Message();
  s->field_.clear();
  s->in_value_ = false;
  s->header_bytes_ = 0;
  s->handle(std::move(m));
  return 0;
}

bool Session::feed(const char* data, size_t n) {
  if (close_after_output_) return false;
  const size_t parsed = http_parser_execute(&parser_, &settings_, data, n);
  if (too_large_) {
    finish(output_.reserve(),
           error_reply(
               Status::too_large("request body over " + std::to_string(kMaxBodyBytes) + " bytes")),
           false);
    close_after_output_ = true;
    return false;
  }
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK || parsed != n) {
    const auto err = HTTP_PARSER_ERRNO(&parser_);
    finish(output_.reserve(),
           error_reply(Status::invalid_argument(std::string("malformed HTTP request: ") +
                                                http_errno_description(err))),
           false);
    close_after_output_ = true;
    return false;
  }
  return true;
}

std::string Session::take_output() { return output_.take(); }

void Session::finish(uint64_t seq, Reply reply, bool keep_alive) {
  if (!keep_alive) close_after_output_ = true;
  if (output_.complete(seq, encode(reply, keep_alive)) && hooks_.on_output) hooks_.on_output();
}

// ---- routing ----

void Session::handle(Message m) {
  const uint64_t seq = output_.reserve();
  std::weak_ptr<Session> weak = weak_from_this();
  const bool keep_alive = m.keep_alive;
  route(m, [weak, seq, keep_alive](Reply r) {
    if (auto s = weak.lock()) s->finish(seq, std::move(r), keep_alive);
  });
}

void Session::route(const Message& m, std::function<void(Reply)> reply) {
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
  auto only = [&](std::initializer_list<const char*> methods) {
    for (const char* x : methods) {
      if (m.method == x) return true;
    }
    Reply r =
        error_reply(Status::invalid_argument(m.method + " is not allowed on " + std::string(path)));
    r.status = 405;
    std::string allow;
    for (const char* x : methods) allow += (allow.empty() ? "" : ", ") + std::string(x);
    r.headers.emplace_back("Allow", allow);
    reply(r);
    return false;
  };
  auto text_reply = [](std::string body, const char* type) {
    Reply r;
    r.content_type = type;
    r.body = std::move(body);
    return r;
  };
  if (seg.empty()) {
    if (!only({"GET"})) return;
    return reply(
        text_reply(hooks_.dashboard ? hooks_.dashboard() : "", "text/html; charset=utf-8"));
  }
  if (seg.size() == 1 && (seg[0] == "ping" || seg[0] == "status" || seg[0] == "metrics")) {
    if (!only({"GET"})) return;
    if (seg[0] == "ping") {
      return reply(json_reply(200, "{\"status\":\"ok\",\"node\":" +
                                       text::json_string(hooks_.node_id ? hooks_.node_id() : "") +
                                       "}"));
    }
    if (seg[0] == "status")
      return reply(json_reply(200, hooks_.status_json ? hooks_.status_json() : "{}"));
    return reply(text_reply(hooks_.metrics_text ? hooks_.metrics_text() : "",
                            "text/plain; version=0.0.4; charset=utf-8"));
  }
  if (seg.size() != 4 || seg[0] != "buckets" ||
      (seg[2] != "keys" && seg[2] != "counters" && seg[2] != "sets")) {
    return reply(error_reply(Status::not_found("no route for " + std::string(path))));
  }
  if (seg[2] == "keys" && !only({"GET", "PUT", "DELETE"})) return;
  if (seg[2] != "keys" && !only({"GET", "POST"})) return;
  Request r;
  r.bucket = seg[1];
  r.key = seg[3];
  std::string type;
  const std::map<std::string, std::string> params = parse_query(query);
  if (Status s = options_from(params, &r.options, &type); !s.is_ok()) {
    return reply(error_reply(s));
  }
  if (auto it = params.find("member"); it != params.end()) {
    if (seg[2] != "sets" || m.method != "GET") {
      return reply(error_reply(Status::invalid_argument("member= is for GET on sets")));
    }
    r.elements = {it->second};  // a membership test: reads only that member
  }
  if (auto it = m.headers.find("x-shoal-context"); it != m.headers.end()) {
    std::optional<std::string> ctx = text::base64_decode(it->second);
    if (!ctx) return reply(error_reply(Status::invalid_argument("X-Shoal-Context is not base64")));
    r.context = std::move(ctx);  // kept only by the operations that take one (data())
  }
  if (auto it = m.headers.find("idempotency-key"); it != m.headers.end()) {
    if (m.method == "GET") {
      return reply(error_reply(Status::invalid_argument(
          "header Idempotency-Key: an operation id applies to updates (PUT, POST, DELETE), "
          "not GET")));
    }
    if (it->second.empty() || it->second.size() > core::kMaxOpIdBytes) {
      return reply(error_reply(Status::invalid_argument(
          "header Idempotency-Key: " + std::to_string(it->second.size()) +
          " bytes; an operation id is 1.." + std::to_string(core::kMaxOpIdBytes) + " bytes")));
    }
    r.op_id = it->second;
  }
  if ((m.method == "GET" || m.method == "DELETE") && !m.body.empty()) {
    return reply(error_reply(Status::invalid_argument(m.method + " takes no body")));
  }
  if (!type.empty()) {
    if (seg[2] != "keys") return reply(error_reply(Status::invalid_argument("type= is for keys")));
    Result<core::DataType> t = core::parse_type(type);
    if (!t) return reply(error_reply(t.status()));
    r.type = *t;
  }
  data(m, seg[2], std::move(r), std::move(reply));
}

void Session::data(const Message& m, const std::string& kind, Request r,
                   std::function<void(Reply)> reply) {
  std::optional<std::string> header_context = std::move(r.context);
  r.context.reset();
  if (kind == "keys") {
    r.op = m.method == "GET" ? Op::kGet : m.method == "PUT" ? Op::kPut : Op::kDelete;
    if (r.op == Op::kPut) {
      // An absent body is not an empty value: say so rather than store "" (send
      // Content-Length: 0 for an empty value).
      if (!m.body_declared) {
        return reply(error_reply(Status::invalid_argument(
            "PUT needs the value as its body (Content-Length: 0 for an empty value)")));
      }
      r.value = m.body;
    }
    if (r.op != Op::kGet) r.context = std::move(header_context);
  } else if (m.method == "GET") {
    r.op = kind == "counters" ? Op::kCounterGet : Op::kSetGet;
  } else {
    Result<json::Value> body = json::parse(m.body);
    if (!body) return reply(error_reply(body.status()));
    if (body->type != json::Value::Type::kObject) {
      return reply(error_reply(Status::invalid_argument(
          kind == "counters" ? "the body must be a JSON object: {\"delta\": integer}"
                             : "the body must be a JSON object: {\"add\": [...]} or "
                               "{\"remove\": [...]}")));
    }
    // Every field is named: a misspelt one is refused, never left to a default.
    const std::set<std::string> known = kind == "counters"
                                            ? std::set<std::string>{"delta"}
                                            : std::set<std::string>{"add", "remove", "context"};
    for (const auto& [name, value] : body->object) {
      if (!known.count(name)) {
        return reply(error_reply(Status::invalid_argument(
            "field \"" + name + "\": unknown field (" +
            (kind == "counters" ? "expected {\"delta\": integer}"
                                : "expected {\"add\": [...]} or {\"remove\": [...], "
                                  "\"context\": ...}") +
            ")")));
      }
    }
    if (kind == "counters") {
      const json::Value* d = body->get("delta");
      if (!d) {
        return reply(error_reply(
            Status::invalid_argument("field \"delta\": missing (expected {\"delta\": integer})")));
      }
      if (d->type != json::Value::Type::kNumber || !d->integral) {
        return reply(error_reply(
            Status::invalid_argument("field \"delta\": expected a signed 64-bit integer")));
      }
      r.op = Op::kCounterAdd;
      r.delta = d->integer;
    } else {
      const json::Value* add = body->get("add");
      const json::Value* rm = body->get("remove");
      if ((add == nullptr) == (rm == nullptr)) {
        return reply(error_reply(Status::invalid_argument(
            "expected {\"add\": [...]} or {\"remove\": [...]}: exactly one of field \"add\" "
            "and field \"remove\"")));
      }
      r.op = add ? Op::kSetAdd : Op::kSetRemove;
      if (Status s = elements_from(add ? *add : *rm, &r.elements); !s.is_ok()) {
        return reply(error_reply(Status::invalid_argument(
            "field \"" + std::string(add ? "add" : "remove") + "\": " + s.message())));
      }
      if (const json::Value* ctx = body->get("context")) {
        if (add) {
          return reply(
              error_reply(Status::invalid_argument("field \"context\": applies to remove only")));
        }
        std::optional<std::string> bytes = ctx->type == json::Value::Type::kString
                                               ? text::base64_decode(ctx->string)
                                               : std::nullopt;
        if (!bytes) {
          return reply(error_reply(Status::invalid_argument(
              "field \"context\": expected a base64 string (a context from a read)")));
        }
        if (header_context && *header_context != *bytes) {
          return reply(error_reply(Status::invalid_argument(
              "field \"context\" and X-Shoal-Context differ: give one context")));
        }
        header_context = std::move(bytes);
      }
      if (rm) r.context = std::move(header_context);
    }
  }
  if (Status s = check_request(r); !s.is_ok()) return reply(error_reply(s));
  const Op op = r.op;
  hooks_.submit(std::move(r), [op, reply](Response a) {
    Reply out;
    if (a.context) out.headers.emplace_back("X-Shoal-Context", text::base64_encode(*a.context));
    if (a.duplicate) out.headers.emplace_back("Idempotent-Replayed", "true");
    if (!a.status.is_ok()) {
      Reply e = error_reply(a.status);
      e.headers = out.headers;  // a deleted register's context, for a fresh put
      return reply(e);
    }
    const std::string ctx =
        a.context ? ",\"context\":" + text::json_string(text::base64_encode(*a.context)) : "";
    if (op == Op::kPut || op == Op::kDelete) {
      out.status = 204;
      return reply(out);
    }
    const core::DataType type = a.type.value_or(core::DataType::kRegister);
    if (type == core::DataType::kCounter) {
      out.body = "{\"type\":\"counter\",\"value\":" + std::to_string(a.counter) + "}";
    } else if (type == core::DataType::kSet) {
      // A write answers with the elements it named that are members now (not the whole
      // set: that would make every add O(set size)); a read with the members.
      const bool write = op == Op::kSetAdd || op == Op::kSetRemove;
      out.body = std::string("{\"type\":\"set\",\"") + (write ? "present" : "members") +
                 "\":" + json_list(a.elements) + ctx + "}";
    } else if (a.values.size() == 1) {
      out.content_type = "application/octet-stream";
      out.body = a.values[0];
    } else {
      out.status = 300;
      out.body = "{\"type\":\"register\",\"siblings\":" + json_list(a.values) + ctx + "}";
    }
    reply(out);
  });
}

}  // namespace shoal::api::http
