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
  if (k == "op_id") return bytes_of(v, &e->op_id);
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
  if (!e.op_id.empty()) out += ",\"op_id\":" + text::json_bytes(e.op_id);
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

// ---- checking ----

namespace {

// One attempt: an invoke and its completion (none recorded: indeterminate).
struct Attempt {
  const Event* invoke = nullptr;
  const Event* done = nullptr;
  EventType outcome() const { return done ? done->type : EventType::kInfo; }
  bool failed() const { return outcome() == EventType::kFail; }
  // The dot it minted, when its answer told.
  const crdt::Dot* dot() const { return done && done->dot ? &*done->dot : nullptr; }
  std::string error() const { return done && !done->detail.empty() ? done->detail : "no answer"; }
  // Answered from an earlier attempt of its operation id: it minted nothing itself.
  bool duplicate() const { return done && done->type == EventType::kOk && done->detail == kDup; }
  static constexpr std::string_view kDup = "duplicate";
};

// One logical operation: the attempts that share an operation id (or one attempt
// without an id), in the order they were invoked.
struct Op {
  std::string name;
  std::vector<Attempt> attempts;
  const Event& first() const { return *attempts.front().invoke; }
  // Since when attempt `a` may have taken effect: its invoke, or for an answer from an
  // earlier attempt (a duplicate) the first attempt's, since any attempt may have applied.
  uint64_t effect_since_ms(const Attempt& a) const {
    return a.duplicate() ? first().time_ms : a.invoke->time_ms;
  }
  EventType outcome() const {
    bool all_failed = true;
    for (const Attempt& a : attempts) {
      if (a.outcome() == EventType::kOk) return EventType::kOk;
      all_failed = all_failed && a.failed();
    }
    return all_failed ? EventType::kFail : EventType::kInfo;
  }
  bool ok() const { return outcome() == EventType::kOk; }
  bool failed() const { return outcome() == EventType::kFail; }
  size_t count(bool failed) const {
    return static_cast<size_t>(std::count_if(
        attempts.begin(), attempts.end(), [&](const Attempt& a) { return a.failed() == failed; }));
  }
  // The answers of its failed attempts ("unavailable: ...; overloaded: ...").
  std::string errors() const {
    std::string out;
    for (const Attempt& a : attempts) {
      if (a.failed()) out += (out.empty() ? "" : "; ") + a.error();
    }
    return out;
  }
};

std::string tag(std::string_view promise) { return " [" + std::string(promise) + "]"; }

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
    std::map<uint64_t, Attempt> attempts;
    for (const Event& e : history_) {
      if (e.type == EventType::kNemesis) ++v_.summary.nemesis_events;
      if (e.type == EventType::kRead) {
        reads_[e.key].push_back(&e);
        continue;
      }
      if (e.type == EventType::kNemesis) continue;
      Attempt& a = attempts[e.op];
      if (e.type == EventType::kInvoke) {
        if (a.invoke) violation("op " + std::to_string(e.op) + " invoked twice");
        a.invoke = &e;
      } else {
        if (a.done) violation("op " + std::to_string(e.op) + " completed twice");
        a.done = &e;
      }
    }
    // Attempts in op order (the order they were invoked), grouped by operation id.
    std::map<std::string, Op> logical;
    std::vector<std::string> order;
    for (auto& [id, a] : attempts) {
      if (!a.invoke) {
        violation("op " + std::to_string(id) + " completed but never invoked");
        continue;
      }
      ++v_.summary.attempts;
      const std::string name =
          a.invoke->op_id.empty() ? "op " + std::to_string(id) : "operation " + a.invoke->op_id;
      auto [it, fresh] = logical.try_emplace(a.invoke->op_id.empty() ? "#" + std::to_string(id)
                                                                     : "=" + a.invoke->op_id);
      if (fresh) {
        it->second.name = name;
        order.push_back(it->first);
      } else {
        const Event& f = it->second.first();
        const Event& g = *a.invoke;
        if (f.f != g.f || f.key != g.key || f.delta != g.delta || f.element != g.element) {
          violation(name + " names different operations (op " + std::to_string(f.op) + " and op " +
                    std::to_string(g.op) + ")");
        }
      }
      it->second.attempts.push_back(a);
    }
    for (const std::string& k : order) {
      Op& op = logical.at(k);
      ++v_.summary.ops;
      v_.summary.retried += op.attempts.size() > 1;
      const EventType out = op.outcome();
      v_.summary.ok += out == EventType::kOk;
      v_.summary.failed += out == EventType::kFail;
      v_.summary.indeterminate += out == EventType::kInfo;
      by_key_[op.first().key].push_back(std::move(op));
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

  static std::string range(int64_t lo, int64_t hi) {
    return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  }

  // The bounds count each logical operation once. When a value falls outside them, two
  // wider bounds tell which broken promise explains it: every attempt that was not a
  // definite failure counted (a retry applied twice), or every definitely failed attempt
  // counted (answered unavailable, applied all the same).
  void check_counter(const std::string& key, const Event& r, const std::vector<Op>& ops) {
    count_key(counter_keys_, key, v_.summary.counter_keys);
    int64_t lo = 0, hi = 0, retry_lo = 0, retry_hi = 0, fail_lo = 0, fail_hi = 0;
    for (const Op& op : ops) {
      const int64_t d = op.first().delta;
      const EventType out = op.outcome();
      if (out == EventType::kOk) {
        lo += d;
        hi += d;
      } else if (out == EventType::kInfo) {
        (d < 0 ? lo : hi) += d;
      }
      const auto tried = static_cast<int64_t>(op.count(false));
      if (tried > 1) (d < 0 ? retry_lo : retry_hi) += (tried - 1) * d;
      (d < 0 ? fail_lo : fail_hi) += static_cast<int64_t>(op.count(true)) * d;
    }
    const int64_t got = r.found ? r.counter : 0;
    if (got >= lo && got <= hi) return;
    ++v_.summary.out_of_bounds;
    std::string what = "counter " + key + " at " + r.node + " is " + std::to_string(got) +
                       ", outside " + range(lo, hi) + " (each operation once)";
    const bool by_retry = got >= lo + retry_lo && got <= hi + retry_hi;
    const bool by_fail = got >= lo + fail_lo && got <= hi + fail_hi;
    const std::string retry_bound = "every retried attempt counted gives " +
                                    range(lo + retry_lo, hi + retry_hi) + tag(kDoubleCountedRetry);
    const std::string fail_bound = "every failed attempt counted gives " +
                                   range(lo + fail_lo, hi + fail_hi) + tag(kFailedButApplied);
    if (got < lo) {
      // Short: acknowledged adds lost, unless a negative retry or failure explains it too.
      ++v_.summary.lost;
      what += tag(kLostAckedWrite);
      if (by_retry) ++v_.summary.double_counted, what += ", or " + retry_bound;
      if (by_fail) ++v_.summary.failed_applied, what += ", or " + fail_bound;
    } else if (by_retry || by_fail) {
      if (by_retry) ++v_.summary.double_counted, what += ": " + retry_bound;
      if (by_fail)
        ++v_.summary.failed_applied, what += std::string(by_retry ? ", or " : ": ") + fail_bound;
    } else if (got <= hi + retry_hi + fail_hi) {
      ++v_.summary.double_counted;
      ++v_.summary.failed_applied;
      what += ": only retries counted twice and failed attempts applied together reach it" +
              tag(kDoubleCountedRetry) + tag(kFailedButApplied);
    } else {
      ++v_.summary.phantoms;
      what += ": counts nobody made";
    }
    violation(what);
  }

  // Whether remove `rm` observed attempt `add`: exactly when the add's dot is known (the
  // remove's context holds it or not); without it, a remove invoked after the attempt
  // possibly observed it (its read came later), and none certainly did.
  static bool possibly_observed(const Op& rm, const Op& op, const Attempt& add) {
    if (add.dot() && rm.first().ctx) return rm.first().ctx->contains(*add.dot());
    return rm.first().time_ms >= op.effect_since_ms(add);
  }
  static bool certainly_observed(const Op& rm, const Attempt& add) {
    return add.dot() && rm.first().ctx && rm.first().ctx->contains(*add.dot());
  }

  void check_set(const std::string& key, const Event& r, const std::vector<Op>& ops) {
    count_key(set_keys_, key, v_.summary.set_keys);
    std::map<std::string, std::vector<const Op*>> adds, removes;
    for (const Op& op : ops) {
      if (op.first().f == "set_add") adds[op.first().element].push_back(&op);
      if (op.first().f == "set_remove") removes[op.first().element].push_back(&op);
    }
    const std::set<std::string> present(r.values.begin(), r.values.end());
    const std::string where = "set " + key + " at " + r.node;
    for (const auto& [elem, list] : adds) {
      // must: an acknowledged attempt no remove (but a failed one) may have observed;
      // must_strict: not even a failed one. may: an attempt that was not a definite
      // failure no acknowledged remove certainly observed; may_failed: the same among
      // definitely failed attempts.
      bool must = false, must_strict = false, may = false, may_failed = false;
      std::string failed_rm, failed_add;
      for (const Op* a : list) {
        for (const Attempt& at : a->attempts) {
          bool seen_by_any = false, seen_by_failed = false, seen_by_acked = false;
          for (const Op* rm : removes[elem]) {
            if (!possibly_observed(*rm, *a, at)) continue;
            if (rm->failed()) {
              seen_by_failed = true;
              failed_rm = rm->name + " (" + rm->errors() + ")";
            } else {
              seen_by_any = true;
            }
            seen_by_acked = seen_by_acked || (rm->ok() && certainly_observed(*rm, at));
          }
          if (at.failed()) {
            if (!seen_by_acked) {
              may_failed = true;
              failed_add = a->name + " (" + a->errors() + ")";
            }
            continue;
          }
          if (at.outcome() == EventType::kOk && !seen_by_any) {
            must = true;
            must_strict = must_strict || !seen_by_failed;
          }
          if (!seen_by_acked) may = true;
        }
      }
      if (must && !present.count(elem)) {
        if (must_strict) {
          ++v_.summary.lost;
          violation(where + " lost acknowledged add of " + elem + tag(kLostAckedWrite));
        } else {
          ++v_.summary.failed_applied;
          violation(where + " lost acknowledged add of " + elem + ": only a remove answered as " +
                    "failed observed it, " + failed_rm + tag(kFailedButApplied));
        }
      }
      if (!may && present.count(elem)) {
        if (may_failed) {
          ++v_.summary.failed_applied;
          violation(where + " holds " + elem + ", added only by " + failed_add +
                    " (or taken out by acknowledged removes)" + tag(kFailedButApplied));
        } else {
          // The element is back (or never went): an acknowledged remove was lost.
          ++v_.summary.lost;
          violation(where + " holds " + elem + ", which acknowledged removes took out" +
                    tag(kLostAckedWrite));
        }
      }
    }
    for (const std::string& elem : present) {
      if (!adds.count(elem)) {
        ++v_.summary.phantoms;
        violation(where + " holds " + elem + ", which nobody added");
      }
    }
    if (r.node == reads_[key].front()->node) {
      for (const Op& op : ops) v_.summary.acked_set_adds += op.first().f == "set_add" && op.ok();
    }
  }

  // Whether write `q` (its context) may have superseded attempt `a` of another write.
  static bool supersedes(const Op& q, const Op& w, const Attempt& a) {
    if (!q.first().ctx) return false;
    if (a.dot()) return q.first().ctx->contains(*a.dot());
    return q.first().time_ms >= w.effect_since_ms(a);
  }

  void check_register(const std::string& key, const Event& r, const std::vector<Op>& ops) {
    count_key(register_keys_, key, v_.summary.register_keys);
    const std::string where = "register " + key + " at " + r.node;
    std::map<std::string, int> siblings;
    for (const std::string& s : r.values) ++siblings[s];
    std::map<std::string, const Op*> written, failed;
    for (const Op& w : ops) (w.failed() ? failed : written)[w.first().element] = &w;
    for (const auto& [s, n] : siblings) {
      if (written.count(s)) {
        if (n > 1) {
          ++v_.summary.double_counted;
          violation(where + " holds " + s + " " + std::to_string(n) + " times: " +
                    written.at(s)->name + " took effect more than once" + tag(kDoubleCountedRetry));
        }
      } else if (failed.count(s)) {
        ++v_.summary.failed_applied;
        violation(where + " has sibling " + s + ", written only by " + failed.at(s)->name + " (" +
                  failed.at(s)->errors() + ")" + tag(kFailedButApplied));
      } else {
        ++v_.summary.phantoms;
        violation(where + " has sibling " + s + ", never written");
      }
    }
    for (const Op& w : ops) {
      if (!w.ok() || siblings.count(w.first().element)) continue;
      bool superseded = false, by_failed = false;
      for (const Op& q : ops) {
        if (&q == &w) continue;
        for (const Attempt& a : w.attempts) {
          if (a.failed() || !supersedes(q, w, a)) continue;
          (q.failed() ? by_failed : superseded) = true;
        }
      }
      if (superseded) continue;
      if (by_failed) {
        ++v_.summary.failed_applied;
        violation(where + " lost acknowledged write " + w.first().element +
                  ": only a write answered as failed covered it" + tag(kFailedButApplied));
      } else {
        ++v_.summary.lost;
        violation(where + " lost acknowledged write " + w.first().element + tag(kLostAckedWrite));
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
  auto n = [](uint64_t x) { return static_cast<unsigned long long>(x); };
  char buf[1536];
  std::snprintf(buf, sizeof buf,
                "  operations         %8llu   ok %llu, failed %llu, indeterminate %llu\n"
                "  attempts           %8llu   retried operations %llu\n"
                "  keys               %8llu   counters %llu, sets %llu, registers %llu\n"
                "  final reads        %8llu\n"
                "  acked set adds     %8llu\n"
                "  lost acked writes  %8llu\n"
                "  double counts      %8llu   (retries that took effect twice)\n"
                "  failed but applied %8llu   (unavailable and other definite failures)\n"
                "  phantoms           %8llu\n"
                "  out of bounds      %8llu   (counters)\n"
                "  diverged keys      %8llu\n"
                "  faults             %8llu\n"
                "  verdict            %s\n",
                n(s.ops), n(s.ok), n(s.failed), n(s.indeterminate), n(s.attempts), n(s.retried),
                n(s.counter_keys + s.set_keys + s.register_keys), n(s.counter_keys), n(s.set_keys),
                n(s.register_keys), n(s.reads), n(s.acked_set_adds), n(s.lost), n(s.double_counted),
                n(s.failed_applied), n(s.phantoms), n(s.out_of_bounds), n(s.diverged_keys),
                n(s.nemesis_events), v.valid ? "VALID" : "INVALID");
  std::string out = buf;
  for (const std::string& p : v.violations) out += "  ! " + p + "\n";
  return out;
}

}  // namespace shoal::check
