// shoal-pathbench: what each stage of one replicated write costs, so a regression in
// tools/dev bench-peers shows where it came from.
//
//   build/release/bin/shoal-pathbench [--ops 200000] [--batch 64] [--keys 100000]
//                                     [--command set|incr|sadd|srem]
//
// The commands are redis-benchmark's: SET key:N xxx, INCR counter:N, SADD myset element:N
// (one set, growing), and SREM myset element:N of a set first filled by as many SADDs
// (not timed), N random below --keys.
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
// Figures are ns per client operation (a stage that runs on two replicas counts both).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
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

namespace {

using namespace shoal;
using Steady = std::chrono::steady_clock;

struct Stages {
  double decode_resp = 0, coordinate = 0, encode_peer = 0, decode_peer = 0, apply = 0, tally = 0,
         commit = 0, reply = 0;
};

struct Envelope {
  std::string from, to, frame;
};

// A node with its own store and a transport that queues encoded frames.
class BenchNode final : public core::Clock, public core::Transport, public core::Timers {
 public:
  BenchNode(const std::string& id, const std::string& dir, std::deque<Envelope>* wire,
            double* encode_ns)
      : id_(id), wire_(wire), encode_ns_(encode_ns), rng_(std::hash<std::string>{}(id)) {
    auto opened = store::LevelDbStore::open(dir);
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
    const auto t0 = Steady::now();
    std::string frame = api::encode_message(m);
    *encode_ns_ += std::chrono::duration<double, std::nano>(Steady::now() - t0).count();
    wire_->push_back(Envelope{id_, to, std::move(frame)});
  }
  void schedule(uint64_t, uint64_t) override {}
  void cancel(uint64_t) override {}

 private:
  std::string id_;
  std::deque<Envelope>* wire_;
  double* encode_ns_;
  core::SeededRng rng_;
  uint64_t now_ms_ = 1000;
  std::unique_ptr<store::LevelDbStore> store_;
  std::unique_ptr<core::Node> node_;
};

double since(Steady::time_point t0) {
  return std::chrono::duration<double, std::nano>(Steady::now() - t0).count();
}

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
  bool prefetch = true;  // Node::prefetch before each batch of peer messages (0: off)
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
    } else if (!std::strcmp(argv[i], "--prefetch")) {
      o.prefetch = v != 0;
    } else {
      std::fprintf(stderr,
                   "usage: shoal-pathbench [--ops N] [--batch N] [--keys N] "
                   "[--command set|incr|sadd|srem] [--prefetch 0|1]\n");
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
      nodes_[id] = std::make_unique<BenchNode>(id, dir + "/" + id, &wire_, &encode_ns_);
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
    auto t0 = Steady::now();
    api::resp::Parser parser;
    parser.feed(stream.data(), stream.size());
    std::vector<std::vector<std::string>> commands(o_.batch);
    std::string error;
    for (auto& args : commands) parser.next(&args, &error);
    s_.decode_resp += since(t0);
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
    std::printf("%llu replicated %s (N=3, QUORUM), %llu per turn, %llu keys: ns per op\n",
                (unsigned long long)(sent_ - measured_from_), o_.command.c_str(),
                (unsigned long long)o_.batch, (unsigned long long)o_.keys);
    const std::pair<const char*, double> rows[] = {
        {"decode: RESP parse", s_.decode_resp},
        {"coordinate: targets, quorum, mint on n1", s_.coordinate},
        {"encode: peer messages (merges and acks)", s_.encode_peer},
        {"decode: peer messages", s_.decode_peer},
        {"apply: merge on n2 and n3", s_.apply},
        {"tally: acks counted on n1", s_.tally},
        {"commit: end_turn, LevelDB WriteBatch on 3 nodes", s_.commit},
        {"reply: RESP answer + native response encoding", s_.reply}};
    double total = 0;
    for (const auto& [what, ns] : rows) {
      std::printf("  %-50s %8.0f\n", what, ns / n);
      total += ns;
    }
    std::printf("  %-50s %8.0f\n", "total (all three nodes)", total / n);
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
    const double enc = encode_ns_;
    auto t0 = Steady::now();
    nodes_["n1"]->node().on_client_request(std::move(r), [this, id](core::ClientResponse a) {
      if (!a.status.is_ok()) {
        std::fprintf(stderr, "a write failed: %s\n", a.status.to_string().c_str());
        std::exit(1);
      }
      auto t1 = Steady::now();
      api::Response out;
      out.id = id;
      out.status = a.status;
      sink_ += api::encode_response(out).size();
      sink_ += a.status.is_ok() ? std::strlen("+OK\r\n") : 0;
      ++answered_;
      reply_ns_ += since(t1);
    });
    s_.coordinate += since(t0) - (encode_ns_ - enc);
  }

  void end_turn(const std::string& id) {
    const double enc = encode_ns_, rep = reply_ns_;
    auto t0 = Steady::now();
    nodes_[id]->node().end_turn();
    const double took = since(t0);
    s_.encode_peer += encode_ns_ - enc;
    s_.reply += reply_ns_ - rep;
    s_.commit += took - (encode_ns_ - enc) - (reply_ns_ - rep);
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
        auto t0 = Steady::now();
        Result<core::Message> m = api::decode_message(now[j].frame);
        s_.decode_peer += since(t0);
        if (!m) {
          std::fprintf(stderr, "undecodable frame: %s\n", m.status().to_string().c_str());
          std::exit(1);
        }
        batch.push_back(std::move(m).value());
      }
      core::Node& to = nodes_[now[i].to]->node();
      auto t0 = Steady::now();
      if (prefetch_) to.prefetch(batch.data(), batch.size());
      s_.apply += since(t0);
      for (const core::Message& m : batch) {
        const bool ack =
            m.kind == core::Message::Kind::kMergeAck || m.kind == core::Message::Kind::kMergeAcks;
        const double enc = encode_ns_;
        t0 = Steady::now();
        to.on_message(now[i].from, m);
        (ack ? s_.tally : s_.apply) += since(t0) - (encode_ns_ - enc);
      }
    }
  }

  Options o_;
  bool prefetch_;
  std::deque<Envelope> wire_;
  double encode_ns_ = 0, reply_ns_ = 0;
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
    for (uint64_t done = 0; done < o.ops; done += o.batch) bench.batch(rng, o.command);
    bench.print();
  }
  std::filesystem::remove_all(dir);
  return 0;
}
