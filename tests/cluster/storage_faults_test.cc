// Cluster tests: a replica's disk damaged under it (issue #14, case 1). Real shoald
// processes on loopback, real LevelDB files with bytes flipped on disk.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "harness.h"

namespace shoal::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> fast_ae_args() {
  return {"--heartbeat-interval-ms=200", "--gossip-interval-ms=200", "--ae-interval-ms=20"};
}

// Incompressible bytes (LevelDB stores such blocks raw, not snappy-compressed, so only
// the block checksum can tell flipped bytes from data).
std::string value_of(int i) {
  std::string v = "value-" + std::to_string(i) + "-";
  uint64_t x = 0x9E3779B97F4A7C15;
  x *= static_cast<uint64_t>(i) + 1;
  while (v.size() < 2'000) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v.push_back(static_cast<char>(x & 0xff));
  }
  return v;
}

// The largest table of a stopped node's directory.
fs::path largest_table(const std::string& dir) {
  fs::path best;
  uintmax_t best_size = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".ldb" || e.file_size() <= best_size) continue;
    best = e.path();
    best_size = e.file_size();
  }
  return best;
}

// Flips 32 bytes at 25%, 50% and 75% of the file: data blocks, not the footer.
void flip_bytes(const fs::path& file) {
  const auto size = static_cast<std::streamoff>(fs::file_size(file));
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  for (std::streamoff at : {size / 4, size / 2, size * 3 / 4}) {
    char buf[32];
    f.seekg(at);
    f.read(buf, sizeof buf);
    for (char& c : buf) c = static_cast<char>(~c);
    f.seekp(at);
    f.write(buf, sizeof buf);
  }
  REQUIRE(f.good());
}

struct Reads {
  int ok = 0, corruption = 0, not_found = 0, other = 0, wrong = 0;
};

// Every key read on `node` with `preset`: a value is either the one written or an
// error; never other bytes answered ok.
Reads read_all(TestCluster& tc, const std::string& node, const char* preset, int keys) {
  Reads r;
  auto c = tc.connect(node);
  for (int i = 0; i < keys; ++i) {
    auto got = c->get("disk", "k" + std::to_string(i), opts(preset));
    REQUIRE(got.is_ok());
    const Status& s = got->status;
    if (s.is_ok()) {
      const bool right = got->values.size() == 1 && got->values[0] == value_of(i);
      if (!right) {
        ++r.wrong;
        UNSCOPED_INFO("k" << i << " answered ok with other bytes on " << node << " " << preset);
      }
      ++r.ok;
    } else if (s.code() == Code::kCorruption) {
      ++r.corruption;
    } else if (s.code() == Code::kNotFound) {
      ++r.not_found;
    } else {
      ++r.other;
    }
  }
  std::printf("%s %s: ok %d (wrong %d), corruption %d, not_found %d, other %d\n", node.c_str(),
              preset, r.ok, r.wrong, r.corruption, r.not_found, r.other);
  return r;
}

template <typename Fn>
bool within_ms(uint32_t timeout_ms, Fn fn) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!fn()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    usleep(100'000);
  }
  return true;
}

Status read_local(TestCluster& tc, const std::string& node, const std::string& key) {
  auto c = tc.connect(node);
  auto got = c->get("full", key, opts("LOCAL"));
  REQUIRE(got.is_ok());
  return got->status;
}

// Writes k0..k(keys-1) at ALL through n1.
void write_all(TestCluster& tc, int keys) {
  auto c = tc.connect("n1");
  for (int i = 0; i < keys; ++i) {
    auto put = c->put("disk", "k" + std::to_string(i), value_of(i), std::nullopt, opts("ALL"));
    REQUIRE(put.is_ok());
    REQUIRE(put->status.is_ok());
  }
}

// Reads every key LOCAL on `node` until all are right (anti-entropy restored them), a
// wrong value shows, or 60 s pass; what the last read found.
Reads healed(TestCluster& tc, const std::string& node, int keys) {
  Reads r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    r = read_all(tc, node, "LOCAL", keys);
  } while (r.ok < keys && r.wrong == 0 && std::chrono::steady_clock::now() < deadline);
  return r;
}

int64_t stat(TestCluster& tc, const std::string& node, const std::string& name) {
  auto c = tc.connect(node);
  auto st = c->cluster_status();
  REQUIRE(st.is_ok());
  for (const auto& [key, value] : st->stats) {
    if (key == name) return value;
  }
  return -1;
}

}  // namespace

TEST_CASE(
    "a table damaged on one replica's disk is never served: reads answer the written value "
    "or an error, the node repairs its store, and anti-entropy restores every key",
    "[cluster][storage]") {
  // 3 MB of values: one table after a restart, and no compaction due that would find
  // the damage before the reads do.
  constexpr int kKeys = 1'500;
  TestCluster tc(3, "test-secret", true, fast_ae_args());
  write_all(tc, kKeys);
  // Two restarts leave every row in a table (a reopened log is written out as one).
  tc.stop("n3");
  tc.start_node("n3");
  tc.stop("n3");
  const std::string dir = tc.cluster().find("n3")->data_dir;
  const fs::path table = largest_table(dir);
  REQUIRE(!table.empty());
  std::printf("flipping 3 x 32 bytes of %s (%ju bytes)\n", table.c_str(),
              static_cast<uintmax_t>(fs::file_size(table)));
  flip_bytes(table);
  tc.start_node("n3");
  tc.wait_connected();

  // What n3 holds, read alone: the value written, an error, or (once repaired and not yet
  // restored) nothing. Never other bytes.
  const Reads local = read_all(tc, "n3", "LOCAL", kKeys);
  CHECK(local.wrong == 0);
  CHECK(local.ok + local.corruption + local.not_found == kKeys);
  // Whether these reads see the damage races anti-entropy (at 20 ms it may find the block,
  // repair the store and restore its keys first: CI saw ok 1500 once); that the damage
  // was found is the store_repairs and log checks below.
  // Coordinated by n3, QUORUM has two healthy replicas to answer from.
  const Reads quorum = read_all(tc, "n3", "QUORUM", kKeys);
  CHECK(quorum.wrong == 0);
  CHECK(quorum.ok == kKeys);

  CHECK(stat(tc, "n3", "store_repairs") >= 1);
  CHECK(stat(tc, "n3", "store_healthy") == 1);
  CHECK(fs::exists(fs::path(dir) / "lost"));
  const std::string log = tc.log("n3");
  CHECK(log.find("store fault: corruption") != std::string::npos);
  CHECK(log.find("store repaired in") != std::string::npos);

  // Anti-entropy brings back what the damaged blocks held.
  const Reads restored = healed(tc, "n3", kKeys);
  CHECK(restored.wrong == 0);
  CHECK(restored.ok == kKeys);
}

}  // namespace shoal::test

namespace shoal::test {

namespace {

constexpr int kMembers = 4'000;

std::string member(int i) {
  std::string m = "member-" + std::to_string(i) + "-";
  m.resize(48, 'x');
  return m;
}

struct SetReads {
  int whole = 0, absent = 0, corruption = 0, partial = 0, other = 0;
};

// One LOCAL read of the big set on `node`, classified: every member, none (erased, not
// yet restored), an error, or some members only (what a partial repair serves).
void read_set(TestCluster& tc, const std::string& node, SetReads* r) {
  auto c = tc.connect(node);
  auto got = c->set_get("disk", "big", opts("LOCAL"));
  REQUIRE(got.is_ok());
  const Status& s = got->status;
  const size_t n = got->elements.size();
  if (s.code() == Code::kCorruption) {
    ++r->corruption;
  } else if (s.code() == Code::kNotFound || (s.is_ok() && n == 0)) {
    ++r->absent;
  } else if (s.is_ok() && n == kMembers) {
    ++r->whole;
  } else if (s.is_ok()) {
    ++r->partial;
    UNSCOPED_INFO(node << " LOCAL answered " << n << " of " << kMembers << " members");
  } else {
    ++r->other;
    UNSCOPED_INFO(node << " LOCAL: " << s.to_string());
  }
}

}  // namespace

TEST_CASE(
    "a damaged block of a big set's member rows: the repair erases the set whole on that "
    "replica, never serves part of it, and anti-entropy restores every member everywhere",
    "[cluster][storage]") {
  TestCluster tc(3, "test-secret", true, fast_ae_args());
  {
    auto c = tc.connect("n1");
    for (int from = 0; from < kMembers; from += 200) {
      std::vector<std::string> batch;
      for (int i = from; i < from + 200; ++i) batch.push_back(member(i));
      auto added = c->set_add("disk", "big", batch, opts("ALL"));
      REQUIRE(added.is_ok());
      REQUIRE(added->status.is_ok());
    }
  }
  tc.stop("n3");
  tc.start_node("n3");  // the log becomes a table
  tc.stop("n3");
  const std::string dir = tc.cluster().find("n3")->data_dir;
  const fs::path table = largest_table(dir);
  REQUIRE(!table.empty());
  flip_bytes(table);  // member rows: they are most of the table
  tc.start_node("n3");
  tc.wait_connected();

  SetReads r;
  const bool restored = within_ms(60'000, [&] {
    read_set(tc, "n3", &r);
    return r.whole > 0;
  });
  std::printf("n3 LOCAL reads: whole %d, absent %d, corruption %d, partial %d, other %d\n", r.whole,
              r.absent, r.corruption, r.partial, r.other);
  CHECK(restored);
  CHECK(r.partial == 0);
  CHECK(r.other == 0);
  // Whether a read sees the damage before anti-entropy restores the set races it (as in
  // the test above); the log shows the damage was found.
  const std::string log = tc.log("n3");
  CHECK(log.find("store repaired in") != std::string::npos);
  CHECK(log.find("object(s)") != std::string::npos);
  for (const std::string node : {"n1", "n2", "n3"}) {  // no removal spread
    SetReads after;
    read_set(tc, node, &after);
    CHECK(after.whole == 1);
  }
}

TEST_CASE(
    "a damaged write-ahead log stops the node with a message naming --repair, shoald "
    "--repair fixes the directory and anti-entropy restores what it lost",
    "[cluster][storage]") {
  constexpr int kKeys = 300;
  TestCluster tc(3, "test-secret", true, fast_ae_args());
  write_all(tc, kKeys);
  tc.stop("n3");
  const std::string dir = tc.cluster().find("n3")->data_dir;
  fs::path wal;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && e.file_size() > 100'000) wal = e.path();
  }
  REQUIRE(!wal.empty());
  flip_bytes(wal);

  Status started = client::start_node(tc.cluster(), "n3", 20'000);
  CHECK(!started.is_ok());
  const std::string log = tc.log("n3");
  CHECK(log.find("is damaged") != std::string::npos);
  CHECK(log.find("shoald --repair --data-dir " + dir) != std::string::npos);
  CHECK(log.find("another shoald") == std::string::npos);

  const std::string shoald = fs::read_symlink("/proc/self/exe").parent_path() / "shoald";
  const std::string cmd =
      shoald + " --repair --data-dir " + dir + " > " + tc.dir() + "/repair.log 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  tc.start_node("n3");
  tc.wait_connected();
  const Reads restored = healed(tc, "n3", kKeys);
  CHECK(restored.wrong == 0);
  CHECK(restored.ok == kKeys);
}

}  // namespace shoal::test

// ---- a full disk (issue #14, case 2) ----

namespace shoal::test {
namespace {

// A small tmpfs mounted over a stopped node's data directory (its files copied in), so
// the node's disk can be filled for real. Unmounted (lazily: the node may still hold its
// files) when the test ends.
struct SmallDisk {
  SmallDisk(const std::string& dir, int size_mb) : dir_(dir) {
    const std::string aside = dir + ".aside";
    fs::rename(dir, aside);
    fs::create_directories(dir);
    const std::string cmd =
        "mount -t tmpfs -o size=" + std::to_string(size_mb) + "m shoal-test " + dir;
    mounted_ = std::system(cmd.c_str()) == 0;
    REQUIRE(mounted_);  // root and CAP_SYS_ADMIN: the CI runs as root
    fs::copy(aside, dir, fs::copy_options::recursive);
    fs::remove_all(aside);
  }
  ~SmallDisk() {
    if (mounted_) (void)std::system(("umount -l " + dir_).c_str());
  }
  // Writes a filler file until the disk has about `leave_mb` free (0: full).
  void fill(uintmax_t leave_mb) {
    std::ofstream out(dir_ + "/filler", std::ios::binary);
    const std::string chunk(1 << 20, 'f');
    const uintmax_t leave = leave_mb << 20;
    for (;;) {
      const uintmax_t available = fs::space(dir_).available;
      if (available <= leave) break;
      const uintmax_t n =
          std::max<uintmax_t>(std::min<uintmax_t>(chunk.size(), available - leave), 4096);
      out.write(chunk.data(), static_cast<std::streamsize>(n));
      out.flush();
      if (!out) break;  // full
    }
  }
  void free_space() { fs::remove(dir_ + "/filler"); }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// A write through `node` at `preset`; the status it got.
Status write_via(TestCluster& tc, const std::string& node, const char* preset,
                 const std::string& key) {
  auto c = tc.connect(node);
  auto put = c->put("full", key, std::string(10'000, 'v'), std::nullopt, opts(preset));
  REQUIRE(put.is_ok());
  return put->status;
}

// GET /ping on the node's HTTP listener: "<status code> <body>".
std::string ping_http(TestCluster& tc, const std::string& node) {
  const std::string cmd = "curl -s -m 5 -w ' %{http_code}' http://127.0.0.1:" +
                          std::to_string(tc.cluster().find(node)->http_port()) + "/ping";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

bool writes_accepted(TestCluster& tc, const std::string& node, int attempt) {
  return write_via(tc, node, "LOCAL", "again-" + std::to_string(attempt)).is_ok();
}

}  // namespace

TEST_CASE(
    "a full disk refuses writes with unavailable while reads go on, keeps nothing it "
    "refused, and takes writes again by itself when space returns",
    "[cluster][storage]") {
  std::vector<std::string> args = fast_ae_args();
  args.push_back("--min-free-mb=16");
  TestCluster tc(3, "test-secret", true, args);
  for (int i = 0; i < 50; ++i) REQUIRE(write_via(tc, "n1", "ALL", "k" + std::to_string(i)).is_ok());
  tc.stop("n3");
  SmallDisk disk(tc.cluster().find("n3")->data_dir, 48);
  tc.start_node("n3");
  tc.wait_connected();

  // 1. Below the floor: refused before LevelDB fails, nothing applied.
  disk.fill(8);
  CHECK(within_ms(5'000, [&] { return stat(tc, "n3", "store_healthy") == 0; }));
  Status refused = write_via(tc, "n3", "QUORUM", "below-floor");
  CHECK(refused.code() == Code::kUnavailable);
  CHECK(refused.message().find("disk full") != std::string::npos);
  CHECK(read_local(tc, "n3", "k7").is_ok());
  CHECK(tc.log("n3").find("below the floor") != std::string::npos);
  const std::string ping = ping_http(tc, "n3");
  INFO(ping);
  CHECK(ping.find("store_failing") != std::string::npos);
  CHECK(ping.substr(ping.size() - 3) == "503");
  CHECK(ping_http(tc, "n1").find("\"ok\"") != std::string::npos);
  disk.free_space();
  int attempt = 0;
  CHECK(within_ms(5'000, [&] { return writes_accepted(tc, "n3", ++attempt); }));

  // 2. No floor, and the disk truly full: LevelDB fails, the node drops what it refused
  // (its memory stays flat), refuses further writes, and reopens its database once the
  // disk takes writes again.
  tc.stop("n3");
  tc.cluster().extra_args.back() = "--min-free-mb=0";
  // Under ASan freed memory sits in a 256 MiB quarantine and inflates RSS: keep it small.
  const std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
  setenv("ASAN_OPTIONS", (asan + ":quarantine_size_mb=8").c_str(), 1);
  tc.start_node("n3");
  setenv("ASAN_OPTIONS", asan.c_str(), 1);
  tc.wait_connected();
  disk.fill(0);
  const pid_t pid = tc.cluster().find("n3")->pid;
  const long rss_before = rss_kib(pid) / 1024;
  int timeouts = 0, unavailable = 0, other = 0;
  for (int i = 0; i < 1'000; ++i) {  // 10 MB of refused values
    const Status s = write_via(tc, "n3", "LOCAL", "refused-" + std::to_string(i));
    if (s.code() == Code::kTimeout) ++timeouts;
    if (s.code() == Code::kUnavailable) ++unavailable;
    if (s.code() != Code::kTimeout && s.code() != Code::kUnavailable) ++other;
  }
  const long rss_after = rss_kib(pid) / 1024;
  std::printf("full disk: %d timeout, %d unavailable, %d other; RSS %ld -> %ld MiB\n", timeouts,
              unavailable, other, rss_before, rss_after);
  CHECK(other == 0);
  CHECK(unavailable > 900);
  CHECK(rss_after - rss_before < 32);
  CHECK(read_local(tc, "n3", "k7").is_ok());
  CHECK(stat(tc, "n3", "store_healthy") == 0);
  disk.free_space();
  CHECK(within_ms(20'000, [&] { return writes_accepted(tc, "n3", ++attempt); }));
  CHECK(stat(tc, "n3", "store_reopens") >= 1);
  for (int i = 0; i < 1'000; i += 97) {  // refused writes were not kept to be applied later
    CHECK(read_local(tc, "n3", "refused-" + std::to_string(i)).code() == Code::kNotFound);
  }
  for (int i = 0; i < 50; ++i) CHECK(read_local(tc, "n3", "k" + std::to_string(i)).is_ok());
  tc.stop("n3");  // before the tmpfs goes
}

}  // namespace shoal::test
