#include "tools/checker.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "node/api/json.h"
#include "node/api/text.h"

namespace shoal::check {

namespace {

constexpr std::string_view kTypeNames[] = {"invoke", "ok", "fail", "info", "read", "nemesis"};

std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + text::json_bytes(v[i]);
  return out + "]";
}

Status bytes_of(const json::Value& v, std::string* out) {
  if (v.type == json::Value::Type::kString) {
    *out = v.string;
    return Status::ok();
  }
  const json::Value* b = v.get("base64");
  if (v.type == json::Value::Type::kObject && b && b->type == json::Value::Type::kString) {
    std::optional<std::string> d = text::base64_decode(b->string);
    if (d) {
      *out = std::move(*d);
      return Status::ok();
    }
  }
  return Status::invalid_argument("expected a string or {\"base64\": ...}");
}

Status int_of(const json::Value& v, int64_t* out) {
  if (v.type != json::Value::Type::kNumber || !v.integral) {
    return Status::invalid_argument("expected an integer");
  }
  *out = v.integer;
  return Status::ok();
}

Status event_field(const std::string& k, const json::Value& v, Event* e) {
  int64_t n = 0;
  if (k == "type") {
    for (size_t i = 0; i < std::size(kTypeNames); ++i) {
      if (v.type == json::Value::Type::kString && v.string == kTypeNames[i]) {
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
  if (k == "detail") return bytes_of(v, &e->detail);
  if (k == "found") {
    if (v.type != json::Value::Type::kBool) return Status::invalid_argument("expected a bool");
    e->found = v.boolean;
    return Status::ok();
  }
  if (k == "dot") {
    int64_t a = 0, c = 0;
    if (v.type != json::Value::Type::kArray || v.array.size() != 2 ||
        !int_of(v.array[0], &a).is_ok() || !int_of(v.array[1], &c).is_ok() || c <= 0) {
      return Status::invalid_argument("expected [actor, counter]");
    }
    e->dot = crdt::Dot{static_cast<uint64_t>(a), static_cast<uint64_t>(c)};
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
    if (v.type != json::Value::Type::kArray) return Status::invalid_argument("expected an array");
    for (const json::Value& x : v.array) {
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
  std::string out = "{\"type\":\"" + std::string(event_type_name(e.type)) +
                    "\",\"t\":" + std::to_string(e.time_ms) +
                    ",\"process\":" + std::to_string(e.process) +
                    ",\"op\":" + std::to_string(e.op) + ",\"f\":" + text::json_bytes(e.f);
  if (!e.key.empty()) out += ",\"key\":" + text::json_bytes(e.key);
  if (e.f == "counter_add") out += ",\"delta\":" + std::to_string(e.delta);
  if (!e.element.empty()) out += ",\"element\":" + text::json_bytes(e.element);
  if (e.dot) {
    out += ",\"dot\":[" + std::to_string(e.dot->actor) + "," + std::to_string(e.dot->counter) + "]";
  }
  if (e.ctx) out += ",\"ctx\":" + text::json_string(text::base64_encode(e.ctx->encode()));
  if (!e.node.empty()) out += ",\"node\":" + text::json_bytes(e.node);
  if (!e.detail.empty()) out += ",\"detail\":" + text::json_bytes(e.detail);
  if (e.type == EventType::kRead) {
    out += std::string(",\"found\":") + (e.found ? "true" : "false");
    if (e.f == "counter") out += ",\"counter\":" + std::to_string(e.counter);
    if (e.f != "counter") out += ",\"values\":" + json_list(e.values);
  }
  return out + "}";
}

Result<Event> parse_json_line(std::string_view line) {
  Result<json::Value> v = json::parse(line);
  if (!v) return v.status();
  if (v->type != json::Value::Type::kObject) return Status::invalid_argument("not an object");
  Event e;
  for (const auto& [k, x] : v->object) {
    Status s = event_field(k, x, &e);
    if (!s.is_ok()) return Status::invalid_argument("field \"" + k + "\": " + s.message());
  }
  if (!v->get("type") || !v->get("f")) return Status::invalid_argument("needs type and f");
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

// ---- checking ----

namespace {

struct Op {
  const Event* invoke = nullptr;
  const Event* done = nullptr;
  EventType outcome() const { return done ? done->type : EventType::kInfo; }
};

class Checker {
 public:
  explicit Checker(const std::vector<Event>& h) : history_(h) {}

  Verdict run() {
    pair_ops();
    for (const auto& [key, reads] : reads_) {
      check_convergence(key, reads);
      for (const Event* r : reads) check_read(key, *r);
    }
    if (reads_.empty()) violation("the history has no final reads: nothing was checked");
    v_.valid = v_.violations.empty() && total_violations_ == 0;
    return v_;
  }

 private:
  void violation(const std::string& what) {
    ++total_violations_;
    if (v_.violations.size() < kMaxViolations) v_.violations.push_back(what);
  }

  void pair_ops() {
    std::map<uint64_t, Op> ops;
    for (const Event& e : history_) {
      if (e.type == EventType::kNemesis) ++v_.summary.nemesis_events;
      if (e.type == EventType::kRead) {
        reads_[e.key].push_back(&e);
        continue;
      }
      if (e.type == EventType::kNemesis) continue;
      Op& op = ops[e.op];
      if (e.type == EventType::kInvoke) {
        if (op.invoke) violation("op " + std::to_string(e.op) + " invoked twice");
        op.invoke = &e;
      } else {
        if (op.done) violation("op " + std::to_string(e.op) + " completed twice");
        op.done = &e;
      }
    }
    for (auto& [id, op] : ops) {
      if (!op.invoke) {
        violation("op " + std::to_string(id) + " completed but never invoked");
        continue;
      }
      ++v_.summary.ops;
      const EventType out = op.outcome();
      v_.summary.ok += out == EventType::kOk;
      v_.summary.failed += out == EventType::kFail;
      v_.summary.indeterminate += out == EventType::kInfo;
      if (out != EventType::kFail) by_key_[op.invoke->key].push_back(op);
    }
  }

  void check_convergence(const std::string& key, const std::vector<const Event*>& reads) {
    for (const Event* r : reads) {
      const Event& a = *reads.front();
      if (r->found != a.found || r->counter != a.counter || r->values != a.values) {
        ++v_.summary.diverged_keys;
        violation("key " + key + " diverged: " + describe(a) + " but " + describe(*r));
        return;
      }
    }
  }

  static std::string describe(const Event& r) {
    std::string out = r.node + " read ";
    if (!r.found) return out + "nothing";
    if (r.f == "counter") return out + std::to_string(r.counter);
    out += std::to_string(r.values.size()) + " values";
    return out;
  }

  void check_read(const std::string& key, const Event& r) {
    ++v_.summary.reads;
    const std::vector<Op>& ops = by_key_[key];
    if (r.f == "counter") return check_counter(key, r, ops);
    if (r.f == "set") return check_set(key, r, ops);
    if (r.f == "register") return check_register(key, r, ops);
    violation("read of " + key + " has unknown kind " + r.f);
  }

  void count_key(std::set<std::string>& seen, const std::string& key, uint64_t& n) {
    if (seen.insert(key).second) ++n;
  }

  void check_counter(const std::string& key, const Event& r, const std::vector<Op>& ops) {
    count_key(counter_keys_, key, v_.summary.counter_keys);
    int64_t lo = 0, hi = 0;
    for (const Op& op : ops) {
      const int64_t d = op.invoke->delta;
      if (op.outcome() == EventType::kOk) {
        lo += d;
        hi += d;
      } else {
        (d < 0 ? lo : hi) += d;
      }
    }
    const int64_t got = r.found ? r.counter : 0;
    if (got < lo || got > hi) {
      ++v_.summary.out_of_bounds;
      violation("counter " + key + " at " + r.node + " is " + std::to_string(got) + ", outside [" +
                std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
  }

  // Whether remove `rm` observed add `add`: exactly when the add's dot is known (the
  // remove's context holds it or not); without it, a remove invoked after the add
  // possibly observed it, and none certainly did.
  static bool possibly_observed(const Op& rm, const Op& add) {
    if (add.done && add.done->dot && rm.invoke->ctx)
      return rm.invoke->ctx->contains(*add.done->dot);
    return rm.invoke->time_ms >= add.invoke->time_ms;
  }
  static bool certainly_observed(const Op& rm, const Op& add) {
    return add.done && add.done->dot && rm.invoke->ctx && rm.invoke->ctx->contains(*add.done->dot);
  }

  void check_set(const std::string& key, const Event& r, const std::vector<Op>& ops) {
    count_key(set_keys_, key, v_.summary.set_keys);
    std::map<std::string, std::vector<const Op*>> adds, removes;
    for (const Op& op : ops) {
      if (op.invoke->f == "set_add") adds[op.invoke->element].push_back(&op);
      if (op.invoke->f == "set_remove") removes[op.invoke->element].push_back(&op);
    }
    const std::set<std::string> present(r.values.begin(), r.values.end());
    for (const auto& [elem, list] : adds) {
      bool must = false, may = false;
      for (const Op* a : list) {
        bool seen_by_any = false, seen_by_acked = false;
        for (const Op* rm : removes[elem]) {
          seen_by_any = seen_by_any || possibly_observed(*rm, *a);
          seen_by_acked =
              seen_by_acked || (rm->outcome() == EventType::kOk && certainly_observed(*rm, *a));
        }
        const bool acked = a->outcome() == EventType::kOk;
        if (acked && !seen_by_any) must = true;
        if (!acked || !seen_by_acked) may = true;
      }
      if (must && !present.count(elem)) {
        ++v_.summary.lost;
        violation("set " + key + " at " + r.node + " lost acknowledged add of " + elem);
      }
      if (!may && present.count(elem)) {
        ++v_.summary.phantoms;
        violation("set " + key + " at " + r.node + " holds " + elem +
                  ", which acknowledged removes took out");
      }
    }
    for (const std::string& elem : present) {
      if (!adds.count(elem)) {
        ++v_.summary.phantoms;
        violation("set " + key + " at " + r.node + " holds " + elem + ", which nobody added");
      }
    }
    if (r.node == reads_[key].front()->node) {
      for (const Op& op : ops) {
        v_.summary.acked_set_adds += op.invoke->f == "set_add" && op.outcome() == EventType::kOk;
      }
    }
  }

  void check_register(const std::string& key, const Event& r, const std::vector<Op>& ops) {
    count_key(register_keys_, key, v_.summary.register_keys);
    const std::set<std::string> siblings(r.values.begin(), r.values.end());
    std::set<std::string> written;
    for (const Op& w : ops) written.insert(w.invoke->element);
    for (const std::string& s : siblings) {
      if (!written.count(s)) {
        ++v_.summary.phantoms;
        violation("register " + key + " at " + r.node + " has sibling " + s + ", never written");
      }
    }
    for (const Op& w : ops) {
      if (w.outcome() != EventType::kOk || siblings.count(w.invoke->element)) continue;
      bool superseded = false;
      for (const Op& q : ops) {
        if (&q == &w || !q.invoke->ctx) continue;
        if (w.done->dot ? q.invoke->ctx->contains(*w.done->dot)
                        : q.invoke->time_ms >= w.done->time_ms) {
          superseded = true;
          break;
        }
      }
      if (!superseded) {
        ++v_.summary.lost;
        violation("register " + key + " at " + r.node + " lost acknowledged write " +
                  w.invoke->element);
      }
    }
  }

  const std::vector<Event>& history_;
  Verdict v_;
  uint64_t total_violations_ = 0;
  std::map<std::string, std::vector<const Event*>> reads_;
  std::map<std::string, std::vector<Op>> by_key_;
  std::set<std::string> counter_keys_, set_keys_, register_keys_;
};

}  // namespace

Verdict check_history(const std::vector<Event>& history) { return Checker(history).run(); }

std::string summary_table(const Verdict& v) {
  const Summary& s = v.summary;
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "  operations      %8llu   ok %llu, failed %llu, indeterminate %llu\n"
                "  keys            %8llu   counters %llu, sets %llu, registers %llu\n"
                "  final reads     %8llu\n"
                "  acked set adds  %8llu   lost %llu\n"
                "  phantoms        %8llu\n"
                "  out of bounds   %8llu   (counters)\n"
                "  diverged keys   %8llu\n"
                "  faults          %8llu\n"
                "  verdict         %s\n",
                (unsigned long long)s.ops, (unsigned long long)s.ok, (unsigned long long)s.failed,
                (unsigned long long)s.indeterminate,
                (unsigned long long)(s.counter_keys + s.set_keys + s.register_keys),
                (unsigned long long)s.counter_keys, (unsigned long long)s.set_keys,
                (unsigned long long)s.register_keys, (unsigned long long)s.reads,
                (unsigned long long)s.acked_set_adds, (unsigned long long)s.lost,
                (unsigned long long)s.phantoms, (unsigned long long)s.out_of_bounds,
                (unsigned long long)s.diverged_keys, (unsigned long long)s.nemesis_events,
                v.valid ? "VALID" : "INVALID");
  std::string out = buf;
  for (const std::string& p : v.violations) out += "  ! " + p + "\n";
  return out;
}

}  // namespace shoal::check
