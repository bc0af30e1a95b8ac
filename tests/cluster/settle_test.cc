// `shoal cluster settle` against real shoald processes: keys of every type are written
// while a partition is in force, while a node is killed -9, and after a replica's data
// directory was wiped; settle refuses (exit 1) while the partition is in force and while a
// fallback holds hints, then exits 0, and at that moment LOCAL reads of every owner of
// every key agree, hold every acknowledged write, and non-owners hold nothing.
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "harness.h"
#include "ring/ring.h"

namespace shoal::test {
namespace {

constexpr uint32_t kVnodes = 64;  // TestCluster's

std::vector<std::string> fast_args() {
  return {"--heartbeat-interval-ms=100", "--gossip-interval-ms=100", "--ae-interval-ms=10"};
}

struct Cli {
  int rc = -1;
  std::string out;
};

// Runs the shoal CLI next to this test binary; exit code and stdout+stderr.
Cli shoal_cli(const std::string& args) {
  std::error_code ec;
  const std::string exe =
      (std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "shoal").string();
  Cli r;
  FILE* p = popen((exe + " " + args + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) r.out.append(buf, n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// What was written, to check the final state against: acknowledged writes must be there,
// nothing that was never attempted may be.
struct Written {
  struct Counter {
    int64_t acked = 0, unknown = 0;  // deltas are positive: value in [acked, acked+unknown]
  };
  struct Values {
    std::set<std::string> acked, attempted;
  };
  std::mutex mu;
  std::map<std::string, Counter> counters;  // bucket "c"
  std::map<std::string, Values> sets;       // bucket "s"
  std::map<std::string, Values> registers;  // bucket "r"
};

// One round of writes through `via`: a counter add, a set add and a register put (no
// context: a sibling) on each of `keys`. A definite failure counts as not applied; a
// timeout or a broken connection as unknown.
void write_round(client::Client& c, const std::vector<std::string>& keys, const std::string& tag,
                 const core::RequestOptions& o, Written& w) {
  auto definite_failure = [](const Result<api::Response>& r) {
    if (!r) return false;  // the connection broke: unknown
    const Code code = r->status.code();
    return code != Code::kOk && code != Code::kTimeout;
  };
  for (const std::string& k : keys) {
    const std::string elem = tag + "@" + k;
    auto a = c.counter_add("c", k, 1, o);
    auto s = c.set_add("s", k, {elem}, o);
    auto p = c.put("r", k, elem, std::nullopt, o);
    std::lock_guard<std::mutex> lock(w.mu);
    Written::Counter& ctr = w.counters[k];
    if (a && a->status.is_ok()) {
      ++ctr.acked;
    } else if (!definite_failure(a)) {
      ++ctr.unknown;
    }
    w.sets[k].attempted.insert(elem);
    if (s && s->status.is_ok()) w.sets[k].acked.insert(elem);
    w.registers[k].attempted.insert(elem);
    if (p && p->status.is_ok()) w.registers[k].acked.insert(elem);
  }
}

std::vector<std::string> names(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

int64_t stat(const api::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.stats) {
    if (k == name) return v;
  }
  return -1;
}

// A LOCAL read as a comparable string: status, type, siblings, members, counter, context.
std::string local_state(client::Client& c, const std::string& bucket, const std::string& key) {
  auto r = c.get(bucket, key, opts("LOCAL"));
  REQUIRE(r.is_ok());
  if (r->status.code() == Code::kNotFound) return "not_found";
  REQUIRE(r->status.is_ok());
  std::vector<std::string> values = r->values;
  std::sort(values.begin(), values.end());
  std::string out = "type " + std::to_string(r->type ? static_cast<int>(*r->type) : -1);
  for (const std::string& v : values) out += " v=" + v;
  for (const std::string& e : r->elements) out += " e=" + e;
  out += " counter=" + std::to_string(r->counter);
  out += " ctx=" + std::to_string(r->context ? std::hash<std::string>{}(*r->context) : 0);
  return out;
}

TEST_CASE(
    "shoal cluster settle exits 0 only once LOCAL reads of every replica agree: after a "
    "partition, a kill -9 and a wiped replica",
    "[cluster][settle]") {
  TestCluster tc(4, "test-secret", true, fast_args());
  const std::string dir = "--dir " + tc.dir();
  const std::vector<std::string> ring_nodes = {"n1", "n2", "n3", "n4"};
  Written w;
  auto one = opts("ONE");
  one.timeout_ms = 2'000;
  auto quorum = opts("QUORUM");
  quorum.timeout_ms = 2'000;

  // 1. A partition: both sides take writes (ONE, and LOCAL); settle refuses while it holds.
  Cli part = shoal_cli("chaos partition 'n1,n2|n3,n4' " + dir);
  INFO(part.out);
  REQUIRE(part.rc == 0);
  REQUIRE(eventually(
      [&] {
        auto r = tc.connect("n1")->cluster_status();
        if (!r || !r->status.is_ok()) return false;
        size_t down = 0;
        for (const auto& m : r->members) down += m.down;
        return down == 2;
      },
      20'000));
  const std::vector<std::string> pkeys = names("part-", 12);
  {
    auto n1 = tc.connect("n1");
    auto n3 = tc.connect("n3");
    write_round(*n1, pkeys, "n1-one", one, w);
    write_round(*n3, pkeys, "n3-one", one, w);
    write_round(*n3, pkeys, "n3-local", opts("LOCAL"), w);
  }
  Cli refused = shoal_cli("cluster settle --timeout-s 3 " + dir);
  INFO(refused.out);
  CHECK(refused.rc == 1);
  CHECK(refused.out.find("not settled after 3 s") != std::string::npos);
  CHECK(refused.out.find("down") != std::string::npos);
  REQUIRE(shoal_cli("chaos heal " + dir).rc == 0);

  // 2. kill -9 of n4 in the middle of writes (QUORUM, sloppy: fallbacks keep hints for it).
  const std::vector<std::string> kkeys = names("kill-", 12);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto n1 = tc.connect("n1");
    auto n2 = tc.connect("n2");
    for (int round = 0; !stop; ++round) {
      write_round(round % 2 ? *n1 : *n2, kkeys, "kill-r" + std::to_string(round), quorum, w);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  tc.kill9("n4");
  std::this_thread::sleep_for(std::chrono::milliseconds(3'000));  // convicted, hints taken
  stop = true;
  writer.join();
  int64_t hints = 0;
  for (const char* id : {"n1", "n2", "n3"}) {
    auto r = tc.connect(id)->cluster_status();
    REQUIRE(r.is_ok());
    hints += std::max<int64_t>(0, stat(*r, "hints_held"));
  }
  REQUIRE(hints > 0);
  Cli held = shoal_cli("cluster settle --timeout-s 3 " + dir);
  INFO(held.out);
  CHECK(held.rc == 1);
  CHECK(held.out.find("hints held") != std::string::npos);
  tc.start_node("n4");

  // 3. n2's data directory wiped: it restarts empty (a new actor) and takes writes at once.
  tc.kill9("n2");
  std::filesystem::remove_all(tc.cluster().find("n2")->data_dir);
  tc.start_node("n2");
  const std::vector<std::string> wkeys = names("wiped-", 8);
  {
    auto n2 = tc.connect("n2");
    write_round(*n2, wkeys, "n2-after-wipe", quorum, w);
  }

  // settle: 0, and then every owner's LOCAL read of every key is the same.
  Cli settled = shoal_cli("cluster settle --timeout-s 60 " + dir);
  INFO(settled.out);
  REQUIRE(settled.rc == 0);
  CHECK(settled.out.find("settled: every node") != std::string::npos);

  std::map<std::string, std::unique_ptr<client::Client>> conns;
  for (const std::string& id : ring_nodes) conns[id] = tc.connect(id);
  const ring::Ring ring(ring_nodes, kVnodes);
  size_t compared = 0;
  std::vector<std::string> all_keys = pkeys;
  all_keys.insert(all_keys.end(), kkeys.begin(), kkeys.end());
  all_keys.insert(all_keys.end(), wkeys.begin(), wkeys.end());
  for (const char* bucket : {"c", "s", "r"}) {
    for (const std::string& key : all_keys) {
      const std::vector<std::string> owners = ring.preference_list(ring::key_hash(bucket, key), 3);
      std::map<std::string, std::string> states;
      for (const std::string& id : ring_nodes) states[id] = local_state(*conns[id], bucket, key);
      const std::string& first = states[owners[0]];
      INFO(bucket << "/" << key << " owners " << owners[0] << "," << owners[1] << "," << owners[2]
                  << "; " << owners[0] << ": " << first);
      CHECK(first != "not_found");
      for (const std::string& id : ring_nodes) {
        const bool owner = std::find(owners.begin(), owners.end(), id) != owners.end();
        INFO(id << (owner ? " (owner)" : " (not an owner)") << ": " << states[id]);
        CHECK(states[id] == (owner ? first : std::string("not_found")));
      }
      ++compared;
    }
  }
  REQUIRE(compared == 3 * all_keys.size());

  // ... and what they agree on holds every acknowledged write and nothing never attempted.
  auto n1 = tc.connect("n1");
  for (const std::string& key : all_keys) {
    INFO(key);
    const Written::Counter& ctr = w.counters[key];
    auto c = n1->counter_get("c", key, opts("ALL"));
    REQUIRE(c.is_ok());
    REQUIRE(c->status.is_ok());
    CHECK(c->counter >= ctr.acked);
    CHECK(c->counter <= ctr.acked + ctr.unknown);
    auto s = n1->set_get("s", key, opts("ALL"));
    REQUIRE(s.is_ok());
    REQUIRE(s->status.is_ok());
    const std::set<std::string> members(s->elements.begin(), s->elements.end());
    for (const std::string& e : w.sets[key].acked) CHECK(members.count(e) == 1);
    for (const std::string& e : members) CHECK(w.sets[key].attempted.count(e) == 1);
    auto r = n1->get("r", key, opts("ALL"));
    REQUIRE(r.is_ok());
    REQUIRE(r->status.is_ok());
    const std::set<std::string> siblings(r->values.begin(), r->values.end());
    for (const std::string& v : w.registers[key].acked) CHECK(siblings.count(v) == 1);
    for (const std::string& v : siblings) CHECK(w.registers[key].attempted.count(v) == 1);
  }
}

TEST_CASE("shoal cluster settle: bad usage exits 2", "[cluster][settle]") {
  CHECK(shoal_cli("cluster settle --dir /nonexistent/shoal-dir").rc == 2);
  CHECK(shoal_cli("cluster settle --nodes n1=127.0.0.1").rc == 2);
  CHECK(shoal_cli("cluster settle --timeout-s 0 --nodes n1=127.0.0.1:1").rc == 2);
  CHECK(shoal_cli("cluster settle --timeout-s soon").rc == 2);
  // Nothing answers: not settled (1), within the timeout.
  Cli none = shoal_cli("cluster settle --timeout-s 1 --nodes n1=127.0.0.1:1");
  INFO(none.out);
  CHECK(none.rc == 1);
  CHECK(none.out.find("n1: not answering") != std::string::npos);
}

}  // namespace
}  // namespace shoal::test
