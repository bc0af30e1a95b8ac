// Storage faults in the simulator (issue #14; disk_faults.h): the fault-injecting disk
// itself, a damaged table never served as data, a full disk, a slow disk, and the
// checker's judgement of client reads. The swarm draws the same faults (swarm.h).
#include <leveldb/env.h>

#include <catch2/catch.hpp>

#include "disk_faults.h"
#include "requests.h"
#include "ring/ring.h"
#include "sim.h"
#include "tools/checker.h"

namespace shoal::sim {
namespace {

std::string read_all(leveldb::Env& env, const std::string& path) {
  leveldb::RandomAccessFile* f = nullptr;
  REQUIRE(env.NewRandomAccessFile(path, &f).ok());
  std::unique_ptr<leveldb::RandomAccessFile> owned(f);
  uint64_t size = 0;
  REQUIRE(env.GetFileSize(path, &size).ok());
  std::string scratch(size, '\0');
  leveldb::Slice got;
  REQUIRE(f->Read(0, size, &got, scratch.data()).ok());
  return got.ToString();
}

void write_file(leveldb::Env& env, const std::string& path, const std::string& data) {
  leveldb::WritableFile* f = nullptr;
  REQUIRE(env.NewWritableFile(path, &f).ok());
  std::unique_ptr<leveldb::WritableFile> owned(f);
  REQUIRE(f->Append(data).ok());
  REQUIRE(f->Close().ok());
}

TEST_CASE(
    "storage: damage follows its file until a repair moves it away, a full disk "
    "refuses writes after its last bytes",
    "[sim][storage]") {
  DiskFaults disk;
  write_file(disk, "/sim/n1/000005.ldb", "abcdefgh");
  leveldb::RandomAccessFile* open_before = nullptr;
  REQUIRE(disk.NewRandomAccessFile("/sim/n1/000005.ldb", &open_before).ok());
  std::unique_ptr<leveldb::RandomAccessFile> before(open_before);
  disk.damage("/sim/n1/000005.ldb", 2, 2, 0x01);
  CHECK(read_all(disk, "/sim/n1/000005.ldb") == "abbeefgh");  // c^1, d^1
  char scratch[8];
  leveldb::Slice got;
  REQUIRE(before->Read(0, 8, &got, scratch).ok());  // a handle opened before sees it too
  CHECK(got.ToString() == "abbeefgh");
  // RepairDB: the damaged table goes to lost/, a rewritten one takes its name.
  REQUIRE(disk.RenameFile("/sim/n1/000005.ldb", "/sim/n1/lost/000005.ldb").ok());
  write_file(disk, "/sim/n1/000009.ldb", "ABCDEFGH");
  REQUIRE(disk.RenameFile("/sim/n1/000009.ldb", "/sim/n1/000005.ldb").ok());
  CHECK(read_all(disk, "/sim/n1/000005.ldb") == "ABCDEFGH");
  CHECK(read_all(disk, "/sim/n1/lost/000005.ldb") == "abbeefgh");
  CHECK(disk.damaged_files_gone() == 1);

  leveldb::WritableFile* out = nullptr;
  REQUIRE(disk.NewWritableFile("/sim/n2/000003.log", &out).ok());
  std::unique_ptr<leveldb::WritableFile> log(out);
  REQUIRE(log->Append("1234").ok());
  disk.set_full("/sim/n2", true);
  CHECK(disk.full("/sim/n2"));
  CHECK_FALSE(disk.full("/sim/n1"));
  CHECK(log->Append("5678").IsIOError());  // the last free bytes: "56" is written
  CHECK(log->Append("9999").IsIOError());  // nothing
  CHECK(log->Sync().IsIOError());
  leveldb::WritableFile* other = nullptr;
  REQUIRE(disk.NewWritableFile("/sim/n1/000004.log", &other).ok());
  std::unique_ptr<leveldb::WritableFile> unaffected(other);
  CHECK(unaffected->Append("ok").ok());  // another node's disk
  disk.set_full("/sim/n2", false);
  CHECK(log->Append("ab").ok());
  CHECK(read_all(disk, "/sim/n2/000003.log") == "123456ab");
}

core::RequestOptions all() {
  core::RequestOptions o = core::preset("ALL").value();
  o.timeout_ms = 1'000;
  return o;
}

SimOptions three(uint64_t seed) {
  SimOptions o = small_cluster(seed, 3, 20);
  o.cluster.tick_ms = 20;
  return o;
}

constexpr int kRegisters = 300;

std::string value_of(const core::ClientResponse& r) {
  const auto* reg = r.object ? r.object->as<crdt::DvvSet>() : nullptr;
  if (!reg || reg->values().size() != 1) return "?";
  return reg->values().front();
}

TEST_CASE(
    "storage: a damaged table is never served, the store is repaired and anti-entropy "
    "restores its rows",
    "[sim][storage]") {
  for (uint64_t seed : scenario_seeds(3)) {
    INFO("seed " << seed);
    Sim sim(three(seed));
    sim.run_until(1'000);
    for (int k = 0; k < kRegisters; ++k) {
      const std::string key = "k" + std::to_string(k);
      auto w = call(sim, "n2", put(key, "v" + std::to_string(k), std::nullopt, all()));
      REQUIRE((w && w->status.is_ok()));
    }
    sim.kill("n1");
    sim.restart("n1");  // its log becomes a table; its block cache is empty
    std::string damaged;
    for (int i = 0; i < 8; ++i) damaged += sim.corrupt("n1") + "; ";
    INFO("damaged: " << damaged);
    // Every LOCAL read of n1 answers the value written or an error, never anything else.
    int errors = 0;
    for (int k = 0; k < kRegisters; ++k) {
      auto r = call(sim, "n1", read("r", "k" + std::to_string(k), local()));
      REQUIRE(r);
      if (!r->status.is_ok()) {
        ++errors;
        continue;
      }
      REQUIRE(value_of(*r) == "v" + std::to_string(k));
    }
    CHECK(errors > 0);
    CHECK(sim.store_stats().repairs > 0);
    CHECK(sim.disk().damaged_files_gone() > 0);
    const uint64_t start = sim.now_ms();
    while (sim.now_ms() < start + 30'000 && !sim.node("n1").in_sync()) {
      sim.run_until(sim.now_ms() + 100);
    }
    REQUIRE(sim.node("n1").in_sync());
    for (int k = 0; k < kRegisters; ++k) {
      auto r = call(sim, "n1", read("r", "k" + std::to_string(k), local()));
      REQUIRE((r && r->status.is_ok()));
      REQUIRE(value_of(*r) == "v" + std::to_string(k));
    }
    CHECK(sim.store_health("n1").is_ok());
  }
}

TEST_CASE(
    "storage: a full disk refuses writes, and when space returns the node reopens its "
    "store and catches up",
    "[sim][storage]") {
  for (uint64_t seed : scenario_seeds(3)) {
    INFO("seed " << seed);
    Sim sim(three(seed));
    sim.run_until(1'000);
    sim.disk_full("n1", true);
    core::RequestOptions quorum = core::preset("QUORUM").value();
    quorum.timeout_ms = 1'000;
    int ok_elsewhere = 0;
    for (int i = 0; i < 40; ++i) {
      // n1 holds a replica of every key (3 nodes): through it nothing is acknowledged.
      auto via_n1 = call(sim, "n1", counter_add("c" + std::to_string(i % 5), 1, quorum));
      REQUIRE(via_n1);
      CHECK_FALSE(via_n1->status.is_ok());
      auto via_n2 = call(sim, "n2", counter_add("c" + std::to_string(i % 5), 1, quorum));
      ok_elsewhere += via_n2 && via_n2->status.is_ok();
    }
    CHECK(ok_elsewhere == 40);  // n2 and n3 make the quorum
    CHECK_FALSE(sim.store_health("n1").is_ok());
    sim.disk_full("n1", false);
    const uint64_t start = sim.now_ms();
    while (sim.now_ms() < start + 30'000 &&
           !(sim.store_health("n1").is_ok() && sim.node("n1").in_sync())) {
      sim.run_until(sim.now_ms() + 100);
    }
    REQUIRE(sim.store_health("n1").is_ok());
    REQUIRE(sim.node("n1").in_sync());
    CHECK(sim.store_stats().reopens > 0);
    for (int k = 0; k < 5; ++k) {
      const std::string key = "c" + std::to_string(k);
      const std::optional<int64_t> n1 = local_counter(sim, "n1", key);
      REQUIRE(n1);
      CHECK(*n1 >= 8);  // the acknowledged adds through n2; maybe some of n1's timeouts
      CHECK(n1 == local_counter(sim, "n2", key));
    }
  }
}

// Found by the swarm (seeds 7, 26, 108, 145 before the fix): after a write failed for
// want of space, the node kept writing into the same LevelDB once space returned, before
// the doctor's reopen (anti-entropy merges did not ask Store::health). LevelDB's log
// writer had counted the refused record, so the records after it sit out of step with
// the log's 32 KiB blocks, behind the torn record the disk took when it filled: the
// reopen found the log damaged ("bad record length") and the store needed a repair that
// dropped them. Nothing was damaged, so nothing may need a repair.
TEST_CASE("storage: writes after a full disk do not damage the log", "[sim][storage]") {
  for (uint64_t seed : scenario_seeds(3)) {
    INFO("seed " << seed);
    Sim sim(three(seed));
    sim.run_until(1'000);
    core::RequestOptions one = core::preset("ONE").value();
    sim.disk_full("n1", true);
    (void)call(sim, "n1", counter_add("c", 1, one));  // its commit fails: a torn log record
    CHECK_FALSE(sim.store_health("n1").is_ok());
    sim.disk_full("n1", false);
    for (int i = 0; i < 300; ++i) {  // anti-entropy carries these to n1 before its reopen
      sim.client(
          "n2",
          set_add("s" + std::to_string(i % 7), std::string(1'000, 'x') + std::to_string(i), one),
          [](core::ClientResponse) {});
      sim.run_until(sim.now_ms() + 1);
    }
    sim.run_until(sim.now_ms() + 5'000);
    CHECK(sim.store_health("n1").is_ok());
    CHECK(sim.store_stats().reopens == 1);
    CHECK(sim.store_stats().repairs == 0);  // found the log damaged, repaired, lost rows
  }
}

TEST_CASE("storage: a slow disk holds a node's answers until its fsync is done", "[sim][storage]") {
  Sim sim(three(1));
  sim.run_until(1'000);
  core::RequestOptions durable = core::preset("ONE").value();
  durable.durable = true;
  auto timed = [&](const std::string& at, const std::string& key) {
    const uint64_t t0 = sim.now_ms();
    auto r = call(sim, at, counter_add(key, 1, durable));
    REQUIRE((r && r->status.is_ok()));
    return sim.now_ms() - t0;
  };
  const uint64_t fast = timed("n1", "a");
  sim.slow_disk("n1", 300);
  const uint64_t slow = timed("n1", "b");
  sim.slow_disk("n1", 0);
  const uint64_t again = timed("n1", "c");
  INFO("fast " << fast << " ms, slow " << slow << " ms, again " << again << " ms");
  CHECK(fast < 100);
  CHECK(slow >= 300);
  CHECK(again < 100);
}

check::Event op_event(check::EventType type, uint64_t op, const std::string& f,
                      const std::string& key, const std::string& element) {
  check::Event e;
  e.type = type;
  e.op = op;
  e.op_id = "o" + std::to_string(op);
  e.f = f;
  e.key = key;
  e.element = element;
  return e;
}

check::Event read_event(uint64_t op, const std::string& f, const std::string& key,
                        std::vector<std::string> values, int64_t counter = 0) {
  check::Event e;
  e.type = check::EventType::kRead;
  e.op = op;  // 0: a final read; else a client's read during the run
  e.f = f;
  e.key = key;
  e.node = "n1";
  e.found = true;
  e.values = std::move(values);
  e.counter = counter;
  return e;
}

TEST_CASE("storage: the checker names a value a client read that nobody wrote", "[sim][storage]") {
  using check::EventType;
  std::vector<check::Event> h = {
      op_event(EventType::kInvoke, 1, "put", "r0", "v1"),
      op_event(EventType::kOk, 1, "put", "r0", "v1"),
      op_event(EventType::kInvoke, 2, "set_add", "s0", "e2"),
      op_event(EventType::kFail, 2, "set_add", "s0", "e2"),
      op_event(EventType::kInvoke, 3, "counter_add", "c0", ""),
      op_event(EventType::kOk, 3, "counter_add", "c0", ""),
      read_event(0, "register", "r0", {"v1"}),
      read_event(0, "set", "s0", {}),
      read_event(0, "counter", "c0", {}, 0),
  };
  h[4].delta = h[5].delta = 2;
  h.back().counter = 2;
  // Without client reads, and with ones that saw only what was written: valid.
  CHECK(check::check_history(h).valid);
  h.push_back(read_event(7, "register", "r0", {"v1"}));
  h.push_back(read_event(8, "counter", "c0", {}, 1));  // stale: fine for a client read
  const check::Verdict fine = check::check_history(h);
  CHECK(fine.valid);
  CHECK(fine.summary.client_reads == 2);
  // A damaged value served as ok: a sibling, an element and a count nobody wrote.
  h.push_back(read_event(9, "register", "r0", {"v\x31\x80"}));
  h.push_back(read_event(10, "set", "s0", {"e2"}));  // only a definitely failed add wrote it
  h.push_back(read_event(11, "counter", "c0", {}, 1'000'000));
  const check::Verdict bad = check::check_history(h);
  INFO(check::summary_table(bad));
  CHECK_FALSE(bad.valid);
  CHECK(bad.summary.phantoms == 2);
  CHECK(bad.summary.failed_applied == 1);
  REQUIRE(bad.violations.size() == 3);
  CHECK(bad.violations[0].find("counts nobody made") != std::string::npos);      // c0
  CHECK(bad.violations[1].find("which nobody wrote") != std::string::npos);      // r0
  CHECK(bad.violations[2].find(check::kFailedButApplied) != std::string::npos);  // s0
}

// A key whose only primary (n = 1) is `owner`.
std::string key_owned_by(Sim& sim, const std::string& owner) {
  for (int i = 0;; ++i) {
    const std::string key = "k" + std::to_string(i);
    if (sim.node("n1").ring().preference_list(ring::key_hash("c", key), 1).front() == owner) {
      return key;
    }
  }
}

// A replica that refused a mint for want of space told its coordinator (and so the
// client) `unavailable`: nothing applied. A late copy of that mint arriving once the disk
// has room again must be refused too, or the write the client was told never happened
// appears (a retry with an op id would then count twice).
TEST_CASE("storage: a mint refused on a full disk stays refused when a late copy arrives",
          "[sim][storage]") {
  for (uint64_t seed : scenario_seeds(3)) {
    INFO("seed " << seed);
    Sim sim(three(seed));
    sim.run_until(1'000);
    const std::string key = key_owned_by(sim, "n2");
    core::RequestOptions one = core::preset("ONE").value();
    one.n = 1;
    one.sloppy = false;
    one.timeout_ms = 1'000;
    std::optional<core::Message> mint;
    sim.tap([&](const std::string& from, const std::string& to, const core::Message& m) {
      if (from == "n1" && to == "n2" && m.kind == core::Message::Kind::kMint) mint = m;
    });
    sim.disk_full("n2", true);
    // The first write finds the disk full at its commit (`timeout`: it may have been
    // applied); from then on n2 refuses mints before applying them (`unavailable`).
    std::optional<core::ClientResponse> refused;
    for (int i = 0; i < 5 && !(refused && refused->status.code() == Code::kUnavailable); ++i) {
      refused = call(sim, "n1", counter_add(key, 7, one));
      sim.run_until(sim.now_ms() + 200);
    }
    REQUIRE(refused);
    REQUIRE(refused->status.code() == Code::kUnavailable);
    REQUIRE(mint);  // the last one: the mint of the answer `unavailable`
    sim.tap(nullptr);
    sim.disk_full("n2", false);
    const uint64_t start = sim.now_ms();
    while (sim.now_ms() < start + 30'000 && !sim.store_health("n2").is_ok()) {
      sim.run_until(sim.now_ms() + 100);
    }
    REQUIRE(sim.store_health("n2").is_ok());
    sim.resend("n1", "n2", *mint);
    sim.run_until(sim.now_ms() + 1'000);
    CHECK(local_counter(sim, "n2", key).value_or(0) == 0);
    auto added = call(sim, "n1", counter_add(key, 1, one));  // the node takes writes again
    REQUIRE((added && added->status.is_ok()));
    CHECK(local_counter(sim, "n2", key) == 1);
  }
}

}  // namespace
}  // namespace shoal::sim
