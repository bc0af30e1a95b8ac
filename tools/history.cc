#include "tools/history.h"

#include <iterator>

#include "node/api/json.h"
#include "node/api/text.h"

namespace shoal::check {

namespace {

constexpr std::string_view kTypeNames[] = {"invoke", "ok", "fail", "info", "read", "nemesis"};

using json::Json;

Status bytes_of(const Json& v, std::string* out) {
  std::optional<std::string> b = json::bytes_of(v);
  if (!b) return Status::invalid_argument("expected a string or {\"base64\": ...}");
  *out = std::move(*b);
  return Status::ok();
}

Status int_of(const Json& v, int64_t* out) {
  std::optional<int64_t> n = json::int64_of(v);
  if (!n) return Status::invalid_argument("expected an integer");
  *out = *n;
  return Status::ok();
}

Status event_field(const std::string& k, const Json& v, Event* e) {
  int64_t n = 0;
  if (k == "type") {
    for (size_t i = 0; i < std::size(kTypeNames); ++i) {
      if (v.is_string() && v.get<std::string>() == kTypeNames[i]) {
        e->type = static_cast<EventType>(i);
        return Status::ok();
      }
    }
    return Status::invalid_argument("unknown event type");
  }
  if (k == "t" || k == "process" || k == "op" || k == "delta" || k == "counter") {
    SHOAL_RETURN_IF_ERROR(int_of(v, &n));
    if (k != "delta" && k != "counter" && n < 0) return Status::invalid_argument(k + " < 0");
    if (k == "t") e->time_ms = static_cast<uint64_t>(n);
    if (k == "process") e->process = static_cast<uint32_t>(n);
    if (k == "op") e->op = static_cast<uint64_t>(n);
    if (k == "delta") e->delta = n;
    if (k == "counter") e->counter = n;
    return Status::ok();
  }
  if (k == "f") return bytes_of(v, &e->f);
  if (k == "key") return bytes_of(v, &e->key);
  if (k == "element") return bytes_of(v, &e->element);
  if (k == "node") return bytes_of(v, &e->node);
  if (k == "op_id") return bytes_of(v, &e->op_id);
  if (k == "detail") return bytes_of(v, &e->detail);
  if (k == "found") {
    if (!v.is_boolean()) return Status::invalid_argument("expected a bool");
    e->found = v.get<bool>();
    return Status::ok();
  }
  if (k == "dot") {
    // Actors use all 64 bits: not int_of.
    std::optional<uint64_t> a, c;
    if (v.is_array() && v.size() == 2) a = json::uint64_of(v[0]), c = json::uint64_of(v[1]);
    if (!a || !c || *c == 0) return Status::invalid_argument("expected [actor, counter]");
    e->dot = crdt::Dot{*a, *c};
    return Status::ok();
  }
  if (k == "ctx") {
    std::string b64;
    SHOAL_RETURN_IF_ERROR(bytes_of(v, &b64));
    std::optional<std::string> raw = text::base64_decode(b64);
    if (!raw) return Status::invalid_argument("ctx is not base64");
    Result<crdt::DotContext> c = crdt::DotContext::decode(*raw);
    if (!c) return c.status();
    e->ctx = std::move(c).value();
    return Status::ok();
  }
  if (k == "values") {
    if (!v.is_array()) return Status::invalid_argument("expected an array");
    for (const Json& x : v) {
      e->values.emplace_back();
      SHOAL_RETURN_IF_ERROR(bytes_of(x, &e->values.back()));
    }
    return Status::ok();
  }
  return Status::ok();  // unknown fields are ignored (newer writers)
}

}  // namespace

std::string_view event_type_name(EventType t) { return kTypeNames[static_cast<size_t>(t)]; }

std::string to_json_line(const Event& e) {
  Json out = {{"type", std::string(event_type_name(e.type))},
              {"t", e.time_ms},
              {"process", e.process},
              {"op", e.op},
              {"f", json::bytes(e.f)}};
  if (!e.op_id.empty()) out["op_id"] = json::bytes(e.op_id);
  if (!e.key.empty()) out["key"] = json::bytes(e.key);
  if (e.f == "counter_add") out["delta"] = e.delta;
  if (!e.element.empty()) out["element"] = json::bytes(e.element);
  if (e.dot) out["dot"] = {e.dot->actor, e.dot->counter};
  if (e.ctx) out["ctx"] = text::base64_encode(e.ctx->encode());
  if (!e.node.empty()) out["node"] = json::bytes(e.node);
  if (!e.detail.empty()) out["detail"] = json::bytes(e.detail);
  if (e.type == EventType::kRead) {
    out["found"] = e.found;
    if (e.f == "counter") out["counter"] = e.counter;
    if (e.f != "counter") out["values"] = json::bytes_array(e.values);
  }
  return json::dump(out);
}

Result<Event> parse_json_line(std::string_view line) {
  Result<Json> v = json::parse(line);
  if (!v) return v.status();
  if (!v->is_object()) return Status::invalid_argument("not an object");
  Event e;
  for (const auto& [k, x] : v->items()) {
    Status s = event_field(k, x, &e);
    if (!s.is_ok()) return Status::invalid_argument("field \"" + k + "\": " + s.message());
  }
  if (!v->contains("type") || !v->contains("f"))
    return Status::invalid_argument("needs type and f");
  return e;
}

Result<std::vector<Event>> parse_history(std::string_view text) {
  std::vector<Event> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Result<Event> e = parse_json_line(line);
    if (!e) {
      return Status::invalid_argument("history line " + std::to_string(line_no) + ": " +
                                      e.status().message());
    }
    out.push_back(std::move(e).value());
  }
  return out;
}

// ---- classification ----

EventType classify(const Status& answer) {
  switch (answer.code()) {
    case Code::kOk:
      return EventType::kOk;
    // docs/semantics.md, "Errors": these mean nothing was applied anywhere. overloaded
    // is refused before the request is tried (the in-flight or connection limit); a node
    // that took a write and then could not finish it answers timeout, never a definite
    // error (DESIGN.md §3: "If a write may have reached any replica, the answer is
    // timeout, whatever the cause").
    case Code::kInvalidArgument:
    case Code::kTypeMismatch:
    case Code::kUnavailable:
    case Code::kTooLarge:
    case Code::kOverloaded:
    case Code::kUnauthorized:
      return EventType::kFail;
    // timeout is indeterminate by definition; internal (a failed disk write) and
    // corruption (an answer that did not decode) promise nothing about the replicas;
    // not_found has no meaning for an update.
    case Code::kTimeout:
    case Code::kInternal:
    case Code::kCorruption:
    case Code::kNotFound:
      break;
  }
  return EventType::kInfo;
}

bool worth_retrying(EventType outcome, Code code) {
  if (outcome == EventType::kInfo) return true;
  return outcome == EventType::kFail && (code == Code::kUnavailable || code == Code::kOverloaded);
}

}  // namespace shoal::check
