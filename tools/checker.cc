#include "tools/checker.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace shoal::check {

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
    for (const auto& [key, reads] : client_reads_) {
      for (const Event* r : reads) check_client_read(key, *r);
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
        (e.op == 0 ? reads_ : client_reads_)[e.key].push_back(&e);
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

  // A client's read during the run: only what no attempt that may have applied wrote is
  // wrong (a phantom), or what only definitely failed attempts wrote.
  void check_client_read(const std::string& key, const Event& r) {
    ++v_.summary.client_reads;
    const std::vector<Op>& ops = by_key_[key];
    const std::string where =
        r.f + " " + key + " read through " + r.node + " at " + std::to_string(r.time_ms) + " ms";
    int64_t lo = 0, hi = 0;
    for (const Op& op : ops) {
      if (!op.failed()) (op.first().delta < 0 ? lo : hi) += op.first().delta;
    }
    if (r.f == "counter" && (r.counter < lo || r.counter > hi)) {
      ++v_.summary.phantoms;
      violation(where + " returned " + std::to_string(r.counter) + ", outside " + range(lo, hi) +
                ": counts nobody made");
    }
    for (const std::string& value : r.values) {
      const Op* written = nullptr;
      bool applied = false;
      for (const Op& op : ops) {
        const std::string& f = op.first().f;
        if (op.first().element != value || (f != "set_add" && f != "put")) continue;
        written = &op;
        applied = applied || !op.failed();
      }
      if (!written) {
        ++v_.summary.phantoms;
        violation(where + " returned " + value + ", which nobody wrote");
      } else if (!applied) {
        ++v_.summary.failed_applied;
        violation(where + " returned " + value + ", written only by " + written->name + " (" +
                  written->errors() + ")" + tag(kFailedButApplied));
      }
    }
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
  // possibly observed it (its read came later), and none certainly did. A remove without
  // a context reads the replicas while it runs (a counting remove's follow-up,
  // node/core/set_remove.cc): until its last answer, or forever when an attempt has none.
  static bool possibly_observed(const Op& rm, const Op& op, const Attempt& add) {
    if (add.dot() && rm.first().ctx) return rm.first().ctx->contains(*add.dot());
    if (!rm.first().ctx) return observes_until_ms(rm) >= op.effect_since_ms(add);
    return rm.first().time_ms >= op.effect_since_ms(add);
  }
  static uint64_t observes_until_ms(const Op& rm) {
    uint64_t until_ms = 0;
    for (const Attempt& a : rm.attempts) {
      if (!a.done) return UINT64_MAX;
      until_ms = std::max(until_ms, a.done->time_ms);
    }
    return until_ms;
  }
  static bool certainly_observed(const Op& rm, const Attempt& add) {
    return add.dot() && rm.first().ctx && rm.first().ctx->contains(*add.dot());
  }

  // What the adds of one element allow, judged attempt by attempt against the removes of
  // that element. must: an acknowledged attempt no remove (but a failed one) may have
  // observed; must_strict: not even a failed one. may: an attempt that was not a definite
  // failure no acknowledged remove certainly observed; may_failed: the same among
  // definitely failed attempts. failed_rm and failed_add name examples for the messages.
  struct AddVerdict {
    bool must = false, must_strict = false, may = false, may_failed = false;
    std::string failed_rm, failed_add;
  };

  static AddVerdict judge_adds(const std::vector<const Op*>& adds,
                               const std::vector<const Op*>& removes) {
    AddVerdict j;
    for (const Op* a : adds) {
      for (const Attempt& at : a->attempts) {
        bool seen_by_any = false, seen_by_failed = false, seen_by_acked = false;
        for (const Op* rm : removes) {
          if (!possibly_observed(*rm, *a, at)) continue;
          if (rm->failed()) {
            seen_by_failed = true;
            j.failed_rm = rm->name + " (" + rm->errors() + ")";
          } else {
            seen_by_any = true;
          }
          seen_by_acked = seen_by_acked || (rm->ok() && certainly_observed(*rm, at));
        }
        if (at.failed()) {
          if (!seen_by_acked) {
            j.may_failed = true;
            j.failed_add = a->name + " (" + a->errors() + ")";
          }
          continue;
        }
        if (at.outcome() == EventType::kOk && !seen_by_any) {
          j.must = true;
          j.must_strict = j.must_strict || !seen_by_failed;
        }
        if (!seen_by_acked) j.may = true;
      }
    }
    return j;
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
      const AddVerdict j = judge_adds(list, removes[elem]);
      if (j.must && !present.count(elem)) {
        if (j.must_strict) {
          ++v_.summary.lost;
          violation(where + " lost acknowledged add of " + elem + tag(kLostAckedWrite));
        } else {
          ++v_.summary.failed_applied;
          violation(where + " lost acknowledged add of " + elem + ": only a remove answered as " +
                    "failed observed it, " + j.failed_rm + tag(kFailedButApplied));
        }
      }
      if (!j.may && present.count(elem)) {
        if (j.may_failed) {
          ++v_.summary.failed_applied;
          violation(where + " holds " + elem + ", added only by " + j.failed_add +
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
  std::map<std::string, std::vector<const Event*>> reads_, client_reads_;
  std::map<std::string, std::vector<Op>> by_key_;
  std::set<std::string> counter_keys_, set_keys_, register_keys_;
};

}  // namespace

Verdict check_history(const std::vector<Event>& history) { return Checker(history).run(); }

std::string summary_table(const Verdict& v) {
  const Summary& s = v.summary;
  auto n = [](uint64_t x) { return static_cast<unsigned long long>(x); };
  const std::string client_reads =
      s.client_reads ? "   client reads during the run " + std::to_string(s.client_reads) : "";
  char buf[1536];
  std::snprintf(buf, sizeof buf,
                "  operations         %8llu   ok %llu, failed %llu, indeterminate %llu\n"
                "  attempts           %8llu   retried operations %llu\n"
                "  keys               %8llu   counters %llu, sets %llu, registers %llu\n"
                "  final reads        %8llu%s\n"
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
                n(s.register_keys), n(s.reads), client_reads.c_str(), n(s.acked_set_adds),
                n(s.lost), n(s.double_counted), n(s.failed_applied), n(s.phantoms),
                n(s.out_of_bounds), n(s.diverged_keys), n(s.nemesis_events),
                v.valid ? "VALID" : "INVALID");
  std::string out = buf;
  for (const std::string& p : v.violations) out += "  ! " + p + "\n";
  return out;
}

}  // namespace shoal::check
