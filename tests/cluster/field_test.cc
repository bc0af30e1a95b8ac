// Issue #12 in the field, with real shoald processes: a data directory restored from a
// backup, two devices flashed from one image, a retried update whose first coordinator
// died after forwarding it, and `unavailable` answers during a partition. Every start of
// shoald takes a fresh actor, operation ids make a retry count once through any
// coordinator, and an update that may have reached a replica is answered `timeout`, never
// `unavailable` (docs/storage.md "Identity" and "Operation records", docs/semantics.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>
#include <string_view>
#include <thread>

#include "harness.h"

namespace shoal::test {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kNodes{"n1", "n2", "n3"};

// Repair quick enough for seconds-long tests, heartbeats slow enough that a loaded
// machine (ASan, 2 cores) does not convict a live peer.
std::vector<std::string> steady_args() {
  return {"--heartbeat-interval-ms=200", "--gossip-interval-ms=200", "--ae-interval-ms=20"};
}

// Calls `fn` every poll_ms until it returns true or timeout_ms of wall time passed
// (harness.h's eventually() counts its own sleeps only; these polls are slow).
template <typename Fn>
bool within(uint32_t timeout_ms, uint32_t poll_ms, Fn fn) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!fn()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  return true;
}

std::string describe(const Result<api::Response>& r) {
  return r ? r->status.to_string() : "no answer: " + r.status().to_string();
}

// ---- what was acknowledged, and what every replica holds ----

struct Expected {
  std::map<std::string, int64_t> counters;            // bucket "c": sum of acked adds
  std::map<std::string, std::set<std::string>> sets;  // bucket "s": acked elements
};

struct Replica {
  std::map<std::string, int64_t> counters;
  std::map<std::string, std::set<std::string>> sets;
  std::string error;  // a read that failed (other than not_found)
  bool operator==(const Replica& o) const {
    return counters == o.counters && sets == o.sets && error.empty() && o.error.empty();
  }
};

// LOCAL reads of `id`: exactly what that replica holds (not_found reads as 0 / empty).
Replica read_local(TestCluster& tc, const std::string& id,
                   const std::vector<std::string>& counter_keys,
                   const std::vector<std::string>& set_keys, const std::string& cb = "c",
                   const std::string& sb = "s") {
  Replica out;
  auto c = client::Client::connect("127.0.0.1", tc.client_port(id), 5'000);
  if (!c) {
    out.error = id + ": " + c.status().to_string();
    return out;
  }
  for (const std::string& k : counter_keys) {
    auto r = (*c)->counter_get(cb, k, opts("LOCAL"));
    if (r && r->status.is_ok()) {
      out.counters[k] = r->counter;
    } else if (r && r->status.code() == Code::kNotFound) {
      out.counters[k] = 0;
    } else {
      out.error += id + " " + k + ": " + describe(r) + "; ";
    }
  }
  for (const std::string& k : set_keys) {
    auto r = (*c)->set_get(sb, k, opts("LOCAL"));
    if (r && r->status.is_ok()) {
      out.sets[k] = std::set<std::string>(r->elements.begin(), r->elements.end());
    } else if (r && r->status.code() == Code::kNotFound) {
      out.sets[k] = {};
    } else {
      out.error += id + " " + k + ": " + describe(r) + "; ";
    }
  }
  return out;
}

std::string summary(const Replica& r) {
  std::string s;
  for (const auto& [k, v] : r.counters) s += k + "=" + std::to_string(v) + " ";
  for (const auto& [k, v] : r.sets) s += k + ":" + std::to_string(v.size()) + " ";
  return s + r.error;
}

// Polls LOCAL reads of every node until all of them equal `want` (bounded); then checks
// each node key by key, so a failure names the node, the key and the numbers.
void converge_and_check(TestCluster& tc, const Expected& want, uint32_t timeout_ms = 60'000) {
  std::vector<std::string> ckeys, skeys;
  for (const auto& [k, v] : want.counters) ckeys.push_back(k);
  for (const auto& [k, v] : want.sets) skeys.push_back(k);
  Replica wanted{want.counters, want.sets, ""};
  std::map<std::string, Replica> seen;
  const auto t0 = std::chrono::steady_clock::now();
  const bool agreed = within(timeout_ms, 200, [&] {
    bool all = true;
    for (const std::string& id : kNodes) {
      seen[id] = read_local(tc, id, ckeys, skeys);
      all = all && seen[id] == wanted;
    }
    return all;
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  converged: %s after %.1f s (%zu counters, %zu sets)\n", agreed ? "yes" : "NO",
              secs, ckeys.size(), skeys.size());
  for (const std::string& id : kNodes) {
    Replica r = seen[id];
    INFO(id << " holds " << summary(r));
    CHECK(r.error.empty());
    for (const auto& [k, v] : want.counters) {
      INFO(id << " counter " << k << ": holds " << r.counters[k] << ", acknowledged adds " << v);
      CHECK(r.counters[k] == v);
    }
    for (const auto& [k, v] : want.sets) {
      std::vector<std::string> missing, extra;
      const std::set<std::string>& held = r.sets[k];
      std::set_difference(v.begin(), v.end(), held.begin(), held.end(),
                          std::back_inserter(missing));
      std::set_difference(held.begin(), held.end(), v.begin(), v.end(), std::back_inserter(extra));
      INFO(id << " set " << k << ": " << held.size() << " held, " << v.size() << " acknowledged, "
              << missing.size() << " missing (first: " << (missing.empty() ? "-" : missing[0])
              << "), " << extra.size() << " extra");
      CHECK(missing.empty());
      CHECK(extra.empty());
    }
  }
  if (!agreed) {
    for (const std::string& id : kNodes) WARN(id << " log:\n" << tc.log(id));
  }
}

// One round of acknowledged writes through each of `via`, QUORUM then LOCAL: a counter
// add (a distinct delta per write, so a lost or doubled one shows) to every counter key
// and a unique element added to every set key. Every answer must be ok: no fault is in
// force, so anything else fails the test.
int write_round(TestCluster& tc, const std::vector<std::string>& via, const std::string& tag,
                Expected& want, int ckeys = 4, int skeys = 4) {
  static int64_t next_delta = 1;
  int writes = 0;
  for (const std::string& id : via) {
    auto c = tc.connect(id);
    for (const char* preset : {"QUORUM", "LOCAL"}) {
      for (int i = 0; i < ckeys; ++i) {
        const std::string k = "ctr" + std::to_string(i);
        const int64_t delta = next_delta++;
        auto r = c->counter_add("c", k, delta, opts(preset));
        INFO(tag << ": counter_add " << k << " " << delta << " " << preset << " through " << id
                 << ": " << describe(r));
        REQUIRE(r);
        REQUIRE(r->status.is_ok());
        want.counters[k] += delta;
        ++writes;
      }
      for (int i = 0; i < skeys; ++i) {
        const std::string k = "set" + std::to_string(i);
        const std::string e = tag + "-" + id + "-" + preset + "-" + std::to_string(i);
        auto r = c->set_add("s", k, {e}, opts(preset));
        INFO(tag << ": set_add " << k << " " << e << " through " << id << ": " << describe(r));
        REQUIRE(r);
        REQUIRE(r->status.is_ok());
        want.sets[k].insert(e);
        ++writes;
      }
    }
  }
  return writes;
}

void replace_dir(const std::string& target, const std::string& source) {
  std::error_code ec;
  fs::remove_all(target, ec);
  REQUIRE(!ec);
  fs::copy(source, target, fs::copy_options::recursive, ec);
  INFO("copy " << source << " -> " << target << ": " << ec.message());
  REQUIRE(!ec);
}

// The actor of every start in a node's log ("node n3 actor 0123456789abcdef, ...").
std::vector<std::string> actors_in_log(const std::string& log) {
  std::vector<std::string> out;
  static constexpr std::string_view kTag = " actor ";
  constexpr size_t kHexDigits = 16;
  for (size_t at = log.find(kTag); at != std::string::npos; at = log.find(kTag, at + 1)) {
    const size_t begin = at + kTag.size();
    if (begin + kHexDigits >= log.size() || log[begin + kHexDigits] != ',') continue;
    const std::string hex = log.substr(begin, kHexDigits);
    if (hex.find_first_not_of("0123456789abcdef") == std::string::npos) out.push_back(hex);
  }
  return out;
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- 1. a data directory restored from a backup ----

TEST_CASE(
    "a node restored from a backup of its data directory loses no acknowledged counter "
    "add or set add, before or after the restore",
    "[cluster][field]") {
  const auto t0 = std::chrono::steady_clock::now();
  TestCluster tc(3, "test-secret", true, steady_args());
  Expected want;
  int writes = write_round(tc, kNodes, "before-backup", want);

  // The backup: n3 stopped cleanly, its directory copied aside.
  tc.stop("n3");
  const std::string n3_dir = tc.cluster().find("n3")->data_dir;
  const std::string backup = tc.dir() + "/n3-backup";
  fs::copy(n3_dir, backup, fs::copy_options::recursive);
  tc.start_node("n3");
  tc.wait_connected();
  writes += write_round(tc, kNodes, "after-backup", want);
  writes += write_round(tc, {"n3"}, "after-backup-n3", want);  // n3 mints more under its actor
  // Its LOCAL writes reach the others first: a write held by one disk only is lost with
  // that disk, whatever the store (docs/operations.md, "Restoring a backup").
  converge_and_check(tc, want);

  // n3 goes down again; the survivors keep taking QUORUM writes it never sees.
  tc.stop("n3");
  writes += write_round(tc, {"n1", "n2"}, "n3-down", want);

  // The restore: n3's directory rolled back to the backup.
  replace_dir(n3_dir, backup);
  tc.start_node("n3");
  tc.wait_connected();
  writes += write_round(tc, {"n3", "n1", "n2"}, "after-restore", want);
  writes += write_round(tc, {"n3"}, "after-restore-n3", want);

  std::printf("restore: %d acknowledged writes (%zu counters, %zu sets)\n", writes,
              want.counters.size(), want.sets.size());
  converge_and_check(tc, want);
  // Three starts of n3, three actors: none taken over from the directory.
  const std::vector<std::string> actors = actors_in_log(tc.log("n3"));
  std::printf("restore: n3's actors:");
  for (const std::string& a : actors) std::printf(" %s", a.c_str());
  std::printf("\n");
  CHECK(actors.size() == 3);
  CHECK(std::set<std::string>(actors.begin(), actors.end()).size() == actors.size());
  std::printf("restore: %.1f s\n", since(t0));
}

// ---- 2. two devices flashed from one image ----

TEST_CASE(
    "two nodes flashed from one node's data directory (one image, three devices) lose "
    "no acknowledged counter add or set add",
    "[cluster][field]") {
  const auto t0 = std::chrono::steady_clock::now();
  TestCluster tc(3, "test-secret", true, steady_args());
  Expected want;
  int writes = write_round(tc, kNodes, "provisioning", want);
  // The image must hold everything acknowledged so far: converge first.
  converge_and_check(tc, want);

  for (const std::string& id : kNodes) tc.stop(id);
  const std::string image = tc.dir() + "/image";
  fs::copy(tc.cluster().find("n1")->data_dir, image, fs::copy_options::recursive);
  replace_dir(tc.cluster().find("n2")->data_dir, image);
  replace_dir(tc.cluster().find("n3")->data_dir, image);
  for (const std::string& id : kNodes) tc.start_node(id);
  tc.wait_connected();

  writes += write_round(tc, kNodes, "flashed-1", want);
  writes += write_round(tc, {"n3", "n2", "n1"}, "flashed-2", want);
  std::printf("image: %d acknowledged writes (%zu counters, %zu sets)\n", writes,
              want.counters.size(), want.sets.size());
  converge_and_check(tc, want);
  std::printf("image: %.1f s\n", since(t0));
}

// ---- 3. a retry after the coordinator died ----

api::Request counter_add_request(const std::string& key, int64_t delta, const std::string& op_id) {
  api::Request r;
  r.op = api::Op::kCounterAdd;
  r.bucket = "retry";
  r.key = key;
  r.delta = delta;
  r.op_id = op_id;
  r.options = opts("QUORUM");
  return r;
}

int64_t local_counter(TestCluster& tc, const std::string& id, const std::string& key) {
  auto c = client::Client::connect("127.0.0.1", tc.client_port(id), 5'000);
  if (!c) return -1;
  auto r = (*c)->counter_get("retry", key, opts("LOCAL"));
  if (!r) return -1;
  if (r->status.code() == Code::kNotFound) return 0;
  return r->status.is_ok() ? r->counter : -1;
}

struct RetryShape {
  const char* name;
  std::vector<std::string> n1_rules;  // chaos rules on n1 for the first attempt
  std::vector<std::string> holders;   // nodes that must hold the first attempt before the kill
  std::vector<std::string> lacking;   // nodes that must not hold it
  bool dup_via_n2, dup_via_n3;        // the retries must be answered `duplicate`
};

TEST_CASE(
    "a counter add retried with its operation id through other nodes after its first "
    "coordinator died counts once",
    "[cluster][field]") {
  const auto t0 = std::chrono::steady_clock::now();
  TestCluster tc(3, "test-secret", true, steady_args());
  const std::vector<RetryShape> shapes{
      // n1 applies and forwards; the acks never come back; n1 dies. The replicas hold the
      // first attempt: both retries find it.
      {"forwarded to both", {"block-in n2,n3"}, {"n1", "n2", "n3"}, {}, true, true},
      // n1 applies, forwards to n2 only, dies (n3 learns of it from n2: anti-entropy, or
      // the retry through n2).
      {"forwarded to n2 only", {"block-in n2,n3", "drop 100 to n3"}, {"n1", "n2"}, {}, true, true},
      // n1 applies, forwards nothing, dies: n2 mints the retry anew (a second mint of one
      // operation), n3 finds n2's. When n1 comes back its mint meets n2's and one is
      // cancelled.
      {"forwarded to none", {"block-in n2,n3", "drop 100"}, {"n1"}, {"n2", "n3"}, false, true},
  };
  constexpr int kKeysPerShape = 7;
  std::map<std::string, int64_t> want;
  int retries = 0, duplicates = 0, round = 0;
  for (const RetryShape& shape : shapes) {
    INFO("shape: " << shape.name);
    ++round;
    {
      auto n1 = tc.connect("n1");
      for (const std::string& rule : shape.n1_rules) {
        auto r = n1->chaos(rule);
        INFO(rule << ": " << describe(r));
        REQUIRE(r);
        REQUIRE(r->status.is_ok());
      }
    }
    std::vector<api::Request> requests;
    for (int i = 0; i < kKeysPerShape; ++i) {
      const std::string key = "r" + std::to_string(round) + "-" + std::to_string(i);
      const int64_t delta = 1000 * round + 10 * i + 7;
      requests.push_back(counter_add_request(
          key, delta, "field-op-" + std::to_string(round) + "-" + std::to_string(i)));
      want[key] = delta;
    }
    // First attempts through n1, pipelined; their answers never come (the acks are
    // dropped, n1 dies).
    auto n1 = tc.connect("n1");
    for (const api::Request& r : requests) REQUIRE(n1->send(r).is_ok());
    REQUIRE(n1->flush().is_ok());
    for (const api::Request& r : requests) {
      for (const std::string& id : shape.holders) {
        INFO(r.key << " on " << id << " before the kill");
        REQUIRE(within(10'000, 20, [&] { return local_counter(tc, id, r.key) == r.delta; }));
      }
    }
    for (const api::Request& r : requests) {
      for (const std::string& id : shape.lacking) {
        INFO(r.key << " must not have reached " << id);
        CHECK(local_counter(tc, id, r.key) == 0);
      }
    }
    tc.kill9("n1");
    n1.reset();

    // The client retries: the same request, same op id, through n2, then through n3.
    for (const std::string via : {"n2", "n3"}) {
      auto c = tc.connect(via);
      for (const api::Request& r : requests) {
        auto a = c->call(r);
        INFO("retry of " << r.key << " (" << r.op_id << ") through " << via << ": " << describe(a));
        REQUIRE(a);
        CHECK(a->status.is_ok());
        ++retries;
        if (a->duplicate) ++duplicates;
        CHECK(a->duplicate == (via == std::string("n2") ? shape.dup_via_n2 : shape.dup_via_n3));
      }
    }
    tc.start_node("n1");  // a restart clears its chaos rules
    tc.wait_connected();
  }
  std::printf("retry: %zu keys, %d retries, %d answered duplicate\n", want.size(), retries,
              duplicates);

  std::vector<std::string> keys;
  for (const auto& [k, v] : want) keys.push_back(k);
  std::map<std::string, Replica> seen;
  const bool converged = within(60'000, 200, [&] {
    bool all = true;
    for (const std::string& id : kNodes) {
      seen[id] = read_local(tc, id, keys, {}, "retry");
      all = all && seen[id].error.empty() && seen[id].counters == want;
    }
    return all;
  });
  std::printf("retry: converged %s\n", converged ? "yes" : "NO");
  for (const std::string& id : kNodes) {
    CHECK(seen[id].error.empty());
    for (const auto& [k, v] : want) {
      INFO(id << " " << k << ": holds " << seen[id].counters[k] << ", the add was " << v);
      CHECK(seen[id].counters[k] == v);
    }
  }
  if (!converged) {
    for (const std::string& id : kNodes) WARN(id << " log:\n" << tc.log(id));
  }
  std::printf("retry: %.1f s\n", since(t0));
}

// ---- 4. `unavailable` leaves no trace ----

enum class Kind { kOk, kUnavailable, kTimeout, kOther, kNoAnswer };

struct Tally {
  int ok = 0, unavailable = 0, timeout = 0, other = 0, none = 0;
  void add(Kind k) {
    switch (k) {
      case Kind::kOk:
        ++ok;
        break;
      case Kind::kUnavailable:
        ++unavailable;
        break;
      case Kind::kTimeout:
        ++timeout;
        break;
      case Kind::kOther:
        ++other;
        break;
      case Kind::kNoAnswer:
        ++none;
        break;
    }
  }
  int total() const { return ok + unavailable + timeout + other + none; }
  std::string str() const {
    return std::to_string(total()) + " attempts: ok " + std::to_string(ok) + ", unavailable " +
           std::to_string(unavailable) + ", timeout " + std::to_string(timeout) + ", other " +
           std::to_string(other) + ", no answer " + std::to_string(none);
  }
};

Kind kind_of(Code c) {
  switch (c) {
    case Code::kOk:
      return Kind::kOk;
    case Code::kUnavailable:
      return Kind::kUnavailable;
    case Code::kTimeout:
      return Kind::kTimeout;
    default:
      return Kind::kOther;
  }
}

struct Attempt {
  api::Request request;
  std::string via;
  Kind kind = Kind::kNoAnswer;
  std::string other;  // the answer, when other
};

// Sends `batch` pipelined through `c` and records each answer (none: no answer in time).
void run_batch(client::Client& c, std::vector<Attempt*> batch, uint32_t wait_ms) {
  std::map<uint64_t, Attempt*> sent;
  for (Attempt* a : batch) {
    auto id = c.send(a->request);
    REQUIRE(id);
    sent[*id] = a;
  }
  REQUIRE(c.flush().is_ok());
  for (size_t n = 0; n < batch.size(); ++n) {
    auto r = c.recv(wait_ms);
    if (!r) break;  // the rest stay "no answer" (indeterminate)
    auto it = sent.find(r->id);
    REQUIRE(it != sent.end());
    it->second->kind = kind_of(r->status.code());
    if (it->second->kind == Kind::kOther) it->second->other = r->status.to_string();
  }
}

TEST_CASE(
    "during a partition, QUORUM updates answered unavailable were applied nowhere, ok "
    "ones everywhere, and timeouts bound the counters",
    "[cluster][field]") {
  const auto t0 = std::chrono::steady_clock::now();
  TestCluster tc(3, "test-secret", true,
                 {"--heartbeat-interval-ms=100", "--gossip-interval-ms=100", "--ae-interval-ms=20",
                  "--phi-threshold=5"});
  constexpr int kCounterKeys = 4, kSetKeys = 8;
  constexpr int kRoundsN1 = 40, kPerRoundN1 = 25, kPerRoundN2 = 5;  // of each kind
  std::vector<std::string> ckeys, skeys;
  for (int i = 0; i < kCounterKeys; ++i) ckeys.push_back("pc" + std::to_string(i));
  for (int i = 0; i < kSetKeys; ++i) skeys.push_back("ps" + std::to_string(i));

  // n1 on one side, n2 and n3 on the other, cut on the receiving side of both.
  const std::map<std::string, std::string> cut{
      {"n1", "block-in n2,n3"}, {"n2", "block-in n1"}, {"n3", "block-in n1"}};
  for (const auto& [id, rule] : cut) {
    auto r = tc.connect(id)->chaos(rule);
    INFO(id << " " << rule << ": " << describe(r));
    REQUIRE(r);
    REQUIRE(r->status.is_ok());
  }

  auto o = opts("QUORUM");
  o.timeout_ms = 1'500;
  std::vector<Attempt> counter_attempts, set_attempts;
  counter_attempts.reserve(kRoundsN1 * (kPerRoundN1 + kPerRoundN2));
  set_attempts.reserve(kRoundsN1 * (kPerRoundN1 + kPerRoundN2));
  auto n1 = tc.connect("n1");
  auto n2 = tc.connect("n2");
  int seq = 0;
  double first_unavailable_s = -1;
  const auto cut_t0 = std::chrono::steady_clock::now();
  for (int round = 0; round < kRoundsN1; ++round) {
    for (const std::string via : {"n1", "n2"}) {
      const int per = via == std::string("n1") ? kPerRoundN1 : kPerRoundN2;
      std::vector<Attempt*> batch;
      for (int i = 0; i < per; ++i, ++seq) {
        Attempt& ca = counter_attempts.emplace_back();
        ca.via = via;
        ca.request.op = api::Op::kCounterAdd;
        ca.request.bucket = "c";
        ca.request.key = ckeys[static_cast<size_t>(seq) % ckeys.size()];
        ca.request.delta = 1;
        ca.request.options = o;
        batch.push_back(&ca);
        Attempt& sa = set_attempts.emplace_back();
        sa.via = via;
        sa.request.op = api::Op::kSetAdd;
        sa.request.bucket = "s";
        sa.request.key = skeys[static_cast<size_t>(seq) % skeys.size()];
        sa.request.elements = {"e-" + via + "-" + std::to_string(seq)};
        sa.request.options = o;
        batch.push_back(&sa);
      }
      run_batch(via == std::string("n1") ? *n1 : *n2, batch, 10'000);
      if (first_unavailable_s < 0) {
        for (Attempt* a : batch) {
          if (a->kind == Kind::kUnavailable) first_unavailable_s = since(cut_t0);
        }
      }
    }
  }

  std::map<std::string, Tally> tally;  // "counter via n1", ...
  for (const Attempt& a : counter_attempts) tally["counter_add via " + a.via].add(a.kind);
  for (const Attempt& a : set_attempts) tally["set_add via " + a.via].add(a.kind);
  std::printf("partition: first unavailable %.1f s after the cut\n", first_unavailable_s);
  for (const auto& [what, t] : tally) std::printf("  %-18s %s\n", what.c_str(), t.str().c_str());
  for (const Attempt& a : counter_attempts) {
    if (a.kind == Kind::kOther) WARN("counter_add via " << a.via << ": " << a.other);
  }
  for (const Attempt& a : set_attempts) {
    if (a.kind == Kind::kOther) WARN("set_add via " << a.via << ": " << a.other);
  }
  // The promises are exercised only if both kinds of n1 answer happened.
  CHECK(tally["set_add via n1"].total() >= 1000);
  CHECK(tally["set_add via n1"].unavailable > 0);
  CHECK(tally["counter_add via n1"].unavailable > 0);
  CHECK(tally["set_add via n1"].timeout + tally["counter_add via n1"].timeout > 0);
  CHECK(tally["set_add via n1"].ok == 0);  // n1 alone cannot reach W=2
  CHECK(tally["set_add via n2"].ok == tally["set_add via n2"].total());
  CHECK(tally["counter_add via n2"].ok == tally["counter_add via n2"].total());
  for (const auto& [what, t] : tally) {
    INFO(what);
    CHECK(t.other == 0);
  }

  // Heal, then wait until two rounds of LOCAL reads of every node agree.
  for (const std::string& id : kNodes) {
    auto r = tc.connect(id)->chaos("heal");
    REQUIRE(r);
    REQUIRE(r->status.is_ok());
  }
  std::map<std::string, Replica> seen, previous;
  const auto heal_t0 = std::chrono::steady_clock::now();
  // (Two rounds 300 ms apart: one agreeing read could catch anti-entropy half way.)
  const bool converged = within(60'000, 300, [&] {
    previous = seen;
    for (const std::string& id : kNodes) seen[id] = read_local(tc, id, ckeys, skeys);
    const bool agree = seen["n1"] == seen["n2"] && seen["n2"] == seen["n3"];
    return agree && previous == seen;
  });
  std::printf("partition: converged %s %.1f s after the heal\n", converged ? "yes" : "NO",
              since(heal_t0));
  CHECK(converged);

  // Sets: unavailable adds nowhere, ok adds everywhere.
  int unavailable_but_applied = 0, ok_but_missing = 0, timeouts_landed = 0, timeouts = 0;
  for (const Attempt& a : set_attempts) {
    const std::string& e = a.request.elements[0];
    int present = 0;
    for (const std::string& id : kNodes) present += seen[id].sets[a.request.key].count(e) ? 1 : 0;
    if (a.kind == Kind::kUnavailable && present > 0) {
      if (unavailable_but_applied++ < 10) {
        WARN("answered unavailable but applied on " << present << " node(s): " << a.request.key
                                                    << " " << e << " via " << a.via);
      }
    }
    if (a.kind == Kind::kOk && present < 3) {
      if (ok_but_missing++ < 10) {
        WARN("acknowledged but missing on " << 3 - present << " node(s): " << a.request.key << " "
                                            << e << " via " << a.via);
      }
    }
    if (a.kind == Kind::kTimeout || a.kind == Kind::kNoAnswer) {
      ++timeouts;
      if (present > 0) ++timeouts_landed;
    }
  }
  std::printf("partition: set adds answered timeout or not at all: %d, of which %d applied\n",
              timeouts, timeouts_landed);
  CHECK(unavailable_but_applied == 0);
  CHECK(ok_but_missing == 0);

  // Counters: within [ok, ok + indeterminate] on every node.
  std::map<std::string, std::pair<int64_t, int64_t>> bounds;
  for (const Attempt& a : counter_attempts) {
    auto& [lo, hi] = bounds[a.request.key];
    if (a.kind == Kind::kOk) ++lo, ++hi;
    if (a.kind == Kind::kTimeout || a.kind == Kind::kNoAnswer || a.kind == Kind::kOther) ++hi;
  }
  for (const auto& [k, b] : bounds) {
    for (const std::string& id : kNodes) {
      const int64_t v = seen[id].counters[k];
      std::printf("  counter %s on %s: %lld in [%lld, %lld]\n", k.c_str(), id.c_str(),
                  static_cast<long long>(v), static_cast<long long>(b.first),
                  static_cast<long long>(b.second));
      INFO("counter " << k << " on " << id << ": " << v << " not in [" << b.first << ", "
                      << b.second << "]");
      CHECK(v >= b.first);
      CHECK(v <= b.second);
    }
  }
  if (!converged || unavailable_but_applied > 0 || ok_but_missing > 0) {
    for (const std::string& id : kNodes) WARN(id << " log:\n" << tc.log(id));
  }
  std::printf("partition: %.1f s\n", since(t0));
}

}  // namespace
}  // namespace shoal::test
