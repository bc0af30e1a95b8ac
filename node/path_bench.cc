// shoal-pathbench: what each stage of one replicated write costs, so a regression in
// tools/dev bench-peers shows where it came from.
//
//   build/release/bin/shoal-pathbench [--ops 200000] [--batch 64] [--keys 100000]
//                                     [--command set|incr|sadd|srem] [--warm N]
//                                     [--prefetch 0|1] [--write-buffer-mb 4]
//
// The commands are redis-benchmark's: SET key:N xxx, INCR counter:N, SADD myset element:N
// (one set, growing), and SREM myset element:N of a set first filled by as many SADDs
// (not timed), N random below --keys. --warm N runs N operations of the command first,
// not timed: `--command sadd --warm 300000` measures adds to a set that holds nearly every
// member already, as bench-peers' later rounds do (for srem, the warm SREMs take members
// out of the filled set before the timed ones).
//
// Three real core::Node instances (N=3, QUORUM), each over its own LevelDB in a fresh
// temporary directory, wired in-process: messages are encoded and decoded with the peer
// codec and handed over directly, no sockets and no libuv. A batch of `batch` SETs (one
// loop turn of a pipelined client) goes through, stage by stage, each stage timed over
// the whole run:
//   decode     RESP parse of the client's commands (api/resp_codec.h)
//   coordinate n1: on_client_request (targets, quorum, the mint on n1's replica)
//   encode     the peer codec: every merge n1 sends, and every ack back
//   decode     the peer codec at the receiver
//   apply      n2, n3: the merge joined into the cached object, the write staged
//   tally      n1: the acks counted, the answer made
//   commit     every node's end_turn: one LevelDB WriteBatch per node per batch
//   reply      the RESP answer and the native response encoding
// Figures are ns and heap allocations (operator new calls of every unaligned form on the
// bench's thread; LevelDB's compaction thread is not counted) per client operation; a
// stage that runs on two replicas counts both. Allocations repeat from run to run, so
// they show a change that this VM's timing noise (+-15%) hides.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <tuple>
#include <vector>

#include "crdt/prng.h"
#include "node/api/client_response.h"
#include "node/api/peer_codec.h"
#include "node/api/resp_codec.h"
#include "node/core/identity.h"
#include "node/core/node.h"
#include "node/store/leveldb_store.h"

// Heap allocations made by this thread. Replacing the global operator new is the only
// hook that sees them all; each thread counts its own, so LevelDB's compaction thread
// does not blur the stages. Every plain, array and nothrow form is replaced, all through
// malloc and free, so no pair mixes this allocator with the linked one (jemalloc, or
// ASan's); the aligned forms (alignof > 16) stay the library's and are not counted.
// Not inlined, so GCC does not take free() for a mismatch with new
// (-Wmismatched-new-delete).
thread_local uint64_t t_allocations = 0;

namespace {
[[gnu::noinline]] void* counted_malloc(size_t bytes) noexcept {
  ++t_allocations;
  return std::malloc(bytes == 0 ? 1 : bytes);
}
[[gnu::noinline]] void* counted_or_throw(size_t bytes) {
  if (void* p = counted_malloc(bytes)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(size_t bytes) { return counted_or_throw(bytes); }
void* operator new[](size_t bytes) { return counted_or_throw(bytes); }
void* operator new(size_t bytes, const std::nothrow_t&) noexcept { return counted_malloc(bytes); }
void* operator new[](size_t bytes, const std::nothrow_t&) noexcept { return counted_malloc(bytes); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace shoal;
using Steady = std::chrono::steady_clock;

// What a stretch of the run cost: wall time and heap allocations.
struct Cost {
  double ns = 0;
  double allocations = 0;
  Cost& operator+=(const Cost& o) {
    ns += o.ns;
    allocations += o.allocations;
    return *this;
  }
  Cost operator-(const Cost& o) const { return {ns - o.ns, allocations - o.allocations}; }
};

// Started at construction; since() is what was spent from then on.
class Meter {
 public:
  Meter() : t0_(Steady::now()), allocations0_(t_allocations) {}
  Cost since() const {
    return {std::chrono::duration<double, std::nano>(Steady::now() - t0_).count(),
            static_cast<double>(t_allocations - allocations0_)};
  }

 private:
  Steady::time_point t0_;
  uint64_t allocations0_;
};

struct Stages {
  Cost decode_resp, coordinate, encode_peer, decode_peer, apply, tally, commit, reply;
};

struct Envelope {
  std::string from, to, frame;
};

// A node with its own store and a transport that queues encoded frames.
class BenchNode final : public core::Clock, public core::Transport, public core::Timers {
 public:
  BenchNode(const std::string& id, const std::string& dir, const store::Tuning& tuning,
            std::deque<Envelope>* wire, Cost* encode)
      : id_(id), wire_(wire), encode_(encode), rng_(std::hash<std::string>{}(id)) {
    auto opened = store::LevelDbStore::open(dir, nullptr, tuning);
    if (!opened) {
      std::fprintf(stderr, "cannot open %s: %s\n", dir.c_str(),
                   opened.status().to_string().c_str());
      std::exit(1);
    }
    store_ = std::move(opened).value();
    Result<crdt::Actor> actor = core::new_incarnation(*store_, rng_);
    core::NodeConfig config;
    config.self = id;
    config.members = {"n1", "n2", "n3"};
    node_ = std::make_unique<core::Node>(config, core::NodeEnv{*this, *this, *this, *store_, rng_},
                                         *actor);
  }
  core::Node& node() { return *node_; }
  uint64_t now_ms() override { return now_ms_; }
  uint64_t wall_ms() override { return 1'800'000'000'000 + now_ms_; }
  void send(const std::string& to, const core::Message& m) override {
    const Meter meter;
    std::string frame = api::encode_message(m);
    *encode_ += meter.since();
    wire_->push_back(Envelope{id_, to, std::move(frame)});
  }
  void schedule(uint64_t, uint64_t) override {}
  void cancel(uint64_t) override {}

 private:
  std::string id_;
  std::deque<Envelope>* wire_;
  Cost* encode_;
  core::SeededRng rng_;
  uint64_t now_ms_ = 1000;
  std::unique_ptr<store::LevelDbStore> store_;
  std::unique_ptr<core::Node> node_;
};

std::string resp_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

}  // namespace

namespace {

struct Options {
  uint64_t ops = 200'000;
  uint64_t batch = 64;
  uint64_t keys = 100'000;
  std::string command = "set";
  bool prefetch = true;   // Node::prefetch before each batch of peer messages (0: off)
  uint64_t warm_ops = 0;  // operations run before the measured ones, not timed
  store::Tuning tuning;   // shoald's defaults; --write-buffer-mb sets the memtable's size
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--command")) {
      o.command = argv[i + 1];
    } else if (!std::strcmp(argv[i], "--ops")) {
      o.ops = v;
    } else if (!std::strcmp(argv[i], "--batch")) {
      o.batch = v;
    } else if (!std::strcmp(argv[i], "--keys")) {
      o.keys = v;
    } else if (!std::strcmp(argv[i], "--warm")) {
      o.warm_ops = v;
    } else if (!std::strcmp(argv[i], "--prefetch")) {
      o.prefetch = v != 0;
    } else if (!std::strcmp(argv[i], "--write-buffer-mb") && v >= 1 && v <= 1024) {
      o.tuning.write_buffer_bytes = v << 20;
    } else {
      std::fprintf(stderr,
                   "usage: shoal-pathbench [--ops N] [--batch N] [--keys N] "
                   "[--command set|incr|sadd|srem] [--prefetch 0|1] [--warm N] "
                   "[--write-buffer-mb 1-1024]\n");
      std::exit(2);
    }
  }
  if (o.command != "set" && o.command != "incr" && o.command != "sadd" && o.command != "srem") {
    std::fprintf(stderr, "--command is set, incr, sadd or srem\n");
    std::exit(2);
  }
  if (o.ops == 0 || o.batch == 0 || o.keys == 0) {
    std::fprintf(stderr, "--ops, --batch and --keys are at least 1\n");
    std::exit(2);
  }
  return o;
}

class Bench {
 public:
  Bench(const Options& o, const std::string& dir) : o_(o), prefetch_(o.prefetch) {
    for (const char* id : {"n1", "n2", "n3"}) {
      nodes_[id] = std::make_unique<BenchNode>(id, dir + "/" + id, o.tuning, &wire_, &encode_);
    }
  }

  // One loop turn's worth of commands through n1, to the end: every ack in, every answer
  // out.
  void batch(Prng& rng, const std::string& command) {
    std::string stream;
    for (uint64_t i = 0; i < o_.batch; ++i) {
      const std::string n = std::to_string(rng.below(o_.keys));
      if (command == "set") stream += resp_command({"SET", "key:" + n, "xxx"});
      if (command == "incr") stream += resp_command({"INCR", "counter:" + n});
      if (command == "sadd") stream += resp_command({"SADD", "myset", "element:" + n});
      if (command == "srem") stream += resp_command({"SREM", "myset", "element:" + n});
    }
    const Meter meter;
    api::resp::Parser parser;
    parser.feed(stream.data(), stream.size());
    std::vector<std::vector<std::string>> commands(o_.batch);
    std::string error;
    for (auto& args : commands) parser.next(&args, &error);
    s_.decode_resp += meter.since();
    for (auto& args : commands) submit(args);
    end_turn("n1");
    deliver();  // the merges
    end_turn("n2");
    end_turn("n3");
    deliver();  // the acks
    end_turn("n1");
    if (answered_ != sent_) {
      std::fprintf(stderr, "%llu of %llu writes answered\n", (unsigned long long)answered_,
                   (unsigned long long)sent_);
      std::exit(1);
    }
  }

  // Forgets the figures so far (a fill that is not measured).
  void reset() {
    s_ = Stages{};
    measured_from_ = sent_;
  }

  void print() const {
    const double n = static_cast<double>(sent_ - measured_from_);
    std::printf("%llu replicated %s (N=3, QUORUM), %llu per turn, %llu keys: per op\n",
                (unsigned long long)(sent_ - measured_from_), o_.command.c_str(),
                (unsigned long long)o_.batch, (unsigned long long)o_.keys);
    const std::pair<const char*, Cost> rows[] = {
        {"decode: RESP parse", s_.decode_resp},
        {"coordinate: targets, quorum, mint on n1", s_.coordinate},
        {"encode: peer messages (merges and acks)", s_.encode_peer},
        {"decode: peer messages", s_.decode_peer},
        {"apply: merge on n2 and n3", s_.apply},
        {"tally: acks counted on n1", s_.tally},
        {"commit: end_turn, LevelDB WriteBatch on 3 nodes", s_.commit},
        {"reply: RESP answer + native response encoding", s_.reply}};
    std::printf("  %-50s %8s %12s\n", "stage", "ns", "allocations");
    Cost total;
    for (const auto& [what, cost] : rows) {
      std::printf("  %-50s %8.0f %12.2f\n", what, cost.ns / n, cost.allocations / n);
      total += cost;
    }
    std::printf("  %-50s %8.0f %12.2f\n", "total (all three nodes)", total.ns / n,
                total.allocations / n);
  }

 private:
  // The core request RESP makes of `args` (node/api/resp*.cc).
  static core::ClientRequest request_of(std::vector<std::string>& args) {
    core::ClientRequest r;
    r.op = core::ClientRequest::Op::kUpdate;
    r.bucket = "default";
    r.key = std::move(args[1]);
    if (args[0] == "SET") {
      r.update.kind = core::Update::Kind::kPut;
      r.update.type = core::DataType::kLww;
      r.update.value = std::move(args[2]);
    } else if (args[0] == "INCR") {
      r.update.kind = core::Update::Kind::kCounterAdd;
      r.update.type = core::DataType::kCounter;
      r.update.delta = 1;
    } else {
      r.update.kind =
          args[0] == "SADD" ? core::Update::Kind::kSetAdd : core::Update::Kind::kSetRemove;
      r.update.type = core::DataType::kSet;
      r.update.elements = {std::move(args[2])};
    }
    return r;
  }

  void submit(std::vector<std::string>& args) {
    core::ClientRequest r = request_of(args);
    ++sent_;
    const uint64_t id = sent_;
    const Cost enc = encode_;
    const Meter meter;
    nodes_["n1"]->node().on_client_request(std::move(r), [this, id](core::ClientResponse a) {
      if (!a.status.is_ok()) {
        std::fprintf(stderr, "a write failed: %s\n", a.status.to_string().c_str());
        std::exit(1);
      }
      const Meter reply;
      api::Response out;
      out.id = id;
      out.status = a.status;
      sink_ += api::encode_response(out).size();
      sink_ += a.status.is_ok() ? std::strlen("+OK\r\n") : 0;
      ++answered_;
      reply_ += reply.since();
    });
    s_.coordinate += meter.since() - (encode_ - enc);
  }

  void end_turn(const std::string& id) {
    const Cost enc = encode_, rep = reply_;
    const Meter meter;
    nodes_[id]->node().end_turn();
    const Cost took = meter.since();
    s_.encode_peer += encode_ - enc;
    s_.reply += reply_ - rep;
    s_.commit += took - (encode_ - enc) - (reply_ - rep);
  }

  // As the shell does (connections.cc): one link's frames decoded a batch at a time, the
  // batch's keys prefetched (timed with apply), then each message handled.
  void deliver() {
    std::deque<Envelope> now;
    now.swap(wire_);
    // Each link's frames together, in their order (a link is one connection in the shell).
    std::stable_sort(now.begin(), now.end(), [](const Envelope& a, const Envelope& b) {
      return std::tie(a.from, a.to) < std::tie(b.from, b.to);
    });
    std::vector<core::Message> batch;
    for (size_t i = 0, j = 0; i < now.size(); i = j) {
      batch.clear();
      for (j = i;
           j < now.size() && j - i < 64 && now[j].to == now[i].to && now[j].from == now[i].from;
           ++j) {
        const Meter meter;
        Result<core::Message> m = api::decode_message(now[j].frame);
        s_.decode_peer += meter.since();
        if (!m) {
          std::fprintf(stderr, "undecodable frame: %s\n", m.status().to_string().c_str());
          std::exit(1);
        }
        batch.push_back(std::move(m).value());
      }
      core::Node& to = nodes_[now[i].to]->node();
      const Meter prefetch;
      if (prefetch_) to.prefetch(batch.data(), batch.size());
      s_.apply += prefetch.since();
      for (const core::Message& m : batch) {
        const bool ack =
            m.kind == core::Message::Kind::kMergeAck || m.kind == core::Message::Kind::kMergeAcks;
        const Cost enc = encode_;
        const Meter meter;
        to.on_message(now[i].from, m);
        (ack ? s_.tally : s_.apply) += meter.since() - (encode_ - enc);
      }
    }
  }

  Options o_;
  bool prefetch_;
  std::deque<Envelope> wire_;
  Cost encode_, reply_;
  std::map<std::string, std::unique_ptr<BenchNode>> nodes_;
  Stages s_;
  uint64_t sent_ = 0, answered_ = 0, sink_ = 0, measured_from_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("shoal-pathbench-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  {
    Bench bench(o, dir);
    Prng rng(42);
    if (o.command == "srem") {  // the set it empties, not measured
      for (uint64_t done = 0; done < o.ops; done += o.batch) bench.batch(rng, "sadd");
      bench.reset();
    }
    if (o.warm_ops > 0) {
      for (uint64_t done = 0; done < o.warm_ops; done += o.batch) bench.batch(rng, o.command);
      bench.reset();
    }
    for (uint64_t done = 0; done < o.ops; done += o.batch) bench.batch(rng, o.command);
    bench.print();
  }
  std::filesystem::remove_all(dir);
  return 0;
}
