// shoal-fuzz-seeds DIR: writes the seed corpora (DIR/<target>/seed-N) from Shoal's own
// encoders, so each target starts from valid encodings and mutates outward from them.
// The corpora in tests/fuzz/corpus/ were written by it; rerun it when a format changes.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crdt/counter.h"
#include "crdt/dvv_set.h"
#include "crdt/lww_register.h"
#include "crdt/orset.h"
#include "node/api/client_request.h"
#include "node/api/client_response.h"
#include "node/api/frames.h"
#include "node/api/peer_codec.h"
#include "node/core/membership.h"
#include "node/core/object.h"

namespace {

using namespace shoal;
using Seeds = std::vector<std::string>;

void write(const std::filesystem::path& dir, const std::string& target, const Seeds& seeds) {
  std::filesystem::create_directories(dir / target);
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream(dir / target / ("seed-" + std::to_string(i)), std::ios::binary) << seeds[i];
  }
}

crdt::DotContext context() {
  crdt::DotContext c;
  c.add({1, 1});
  c.add({1, 2});
  c.add({2, 5});
  return c;
}

template <typename T>
T joined(T a, const T& b) {
  a.join(b);
  return a;
}

crdt::ORSet a_set() { return joined(crdt::ORSet().add(1, "red"), crdt::ORSet().add(2, "blue")); }

Seeds requests() {
  Seeds out;
  api::Request r;
  r.id = 1;
  r.bucket = "users";
  r.key = "alice";
  out.push_back(api::encode_request(r));  // get
  r.op = api::Op::kPut;
  r.value = "alice@example.com";
  r.context = context().encode();
  r.op_id = "op-1";
  out.push_back(api::encode_request(r));
  api::Request c{.id = 2, .op = api::Op::kCounterAdd, .bucket = "stats", .key = "visits"};
  c.delta = -5;
  out.push_back(api::encode_request(c));
  api::Request s{.id = 3, .op = api::Op::kSetAdd, .bucket = "tags", .key = "post-1"};
  s.elements = {"red", "green"};
  out.push_back(api::encode_request(s));
  api::Request g{.id = 4, .op = api::Op::kSetGet, .bucket = "tags", .key = "post-1"};
  g.after = "green";
  g.count = 10;
  out.push_back(api::encode_request(g));
  api::Request chaos{.id = 5, .op = api::Op::kChaos};
  chaos.rule = "drop 10% to n2";
  out.push_back(api::encode_request(chaos));
  out.push_back(api::encode_request({.id = 6, .op = api::Op::kPing}));
  return out;
}

Seeds responses() {
  Seeds out;
  api::Response r{.id = 1};
  r.type = core::DataType::kRegister;
  r.values = {"apple", "banana"};
  r.context = context().encode();
  out.push_back(api::encode_response(r));
  api::Response s{.id = 2, .status = Status::unavailable("1 of 2 replicas answered")};
  out.push_back(api::encode_response(s));
  api::Response set{.id = 3};
  set.type = core::DataType::kSet;
  set.elements = {"a", "b"};
  set.next = "b";
  set.added = 1;
  out.push_back(api::encode_response(set));
  set.added.reset();
  set.removed = 2;  // a counting remove's answer
  out.push_back(api::encode_response(set));
  api::Response status{.id = 4};
  status.members.push_back({.id = "n1", .status = "up", .peer_address = "127.0.0.1:7101"});
  status.stats = {{"gossip_rounds", 12}, {"hints_held", 0}};
  status.peers = {"n2"};
  out.push_back(api::encode_response(status));
  return out;
}

core::GossipBody gossip() {
  core::GossipBody b;
  b.digests.push_back({"n1", 3, 7});
  core::MemberState st = core::MemberState::of("n2", 1, 4);
  st.peer_address = "127.0.0.1:7102";
  st.client_address = "127.0.0.1:7002";
  b.states.push_back(st);
  return b;
}

Seeds messages() {
  using K = core::Message::Kind;
  Seeds out;
  out.push_back(api::encode_message(core::Message::make(K::kRead, 1, "users", "alice")));
  core::Message mint = core::Message::make(K::kMint, 2, "tags", "post-1");
  mint.update = core::Update{.kind = core::Update::Kind::kSetAdd, .elements = {"red"}};
  out.push_back(api::encode_message(mint));
  core::Message merge = core::Message::make(K::kMerge, 3, "tags", "post-1");
  merge.object = std::make_shared<const core::Object>(a_set());
  merge.elements = {"red", "blue"};
  merge.acks_batched = true;
  out.push_back(api::encode_message(merge));
  core::Message syn = core::Message::make(K::kGossipSyn);
  syn.body = core::encode_gossip(gossip());
  out.push_back(api::encode_message(syn));
  core::Message ack = core::Message::make(K::kMergeAck, 3);
  ack.status = Status::type_mismatch("the key holds a set");
  out.push_back(api::encode_message(ack));
  core::Message acks = core::Message::make(K::kMergeAcks);
  acks.acks = {{3, Status::ok(), 0, std::string("\x01\x00", 2)},
               {4, Status::unavailable("missed earlier updates"), 17, ""}};
  out.push_back(api::encode_message(acks));
  return out;
}

Seeds handshakes() {
  return {api::encode_hello({.node = "n1", .peer_address = "127.0.0.1:7101", .nonce = "0123"}),
          api::encode_hello({.version = 1, .node = "n2", .secret = "s3cret"}),
          api::encode_challenge({.node = "n2", .nonce = "4567", .proof = "proof"}),
          api::encode_proof("proof"),
          api::encode_welcome(Status::ok(), "n2"),
          api::encode_welcome(Status::unauthorized("bad proof"), "n2")};
}

std::string tagged(char selector, const std::string& bytes) { return selector + bytes; }

Seeds crdts() {
  crdt::VersionVector vv;
  vv.set(1, 3);
  vv.set(7, 1);
  crdt::GCounter g;
  (void)g.increment(1, 5);
  (void)g.increment(4, 2);
  const auto pn = joined(crdt::PNCounter::single(1, 5), crdt::PNCounter::single(2, -3));
  const auto reg = joined(crdt::DvvSet().put(1, {}, "apple"), crdt::DvvSet().put(2, {}, "banana"));
  return {tagged(0, crdt::Dot{1, 2}.encode()),
          tagged(1, vv.encode()),
          tagged(2, context().encode()),
          tagged(3, g.encode()),
          tagged(4, pn.encode()),
          tagged(5, crdt::LWWRegister().set(1, 1000, "v").encode()),
          tagged(6, reg.encode()),
          tagged(7, a_set().encode()),
          tagged(8, crdt::ORSet::encode_dots({{1, 1}, {2, 4}}))};
}

Seeds objects() {
  core::Object counter(crdt::PNCounter::single(1, 5));
  core::Mint mint{.id = {1, 5}, .fingerprint = 42, .delta = 5};
  counter.ops().add(core::op_key("op-1"), 1000, mint);
  core::Object set(a_set());
  core::OpRecord record{.first_ms = 1000, .mints = {{mint.id, mint}}};
  return {tagged(0, counter.encode()),
          tagged(0, set.encode()),
          tagged(1, counter.encode_stored()),
          tagged(1, set.encode_stored()),
          tagged(1, core::Object(crdt::LWWRegister().set(1, 9, "x")).encode_stored(true)),
          tagged(2, core::OpLog::encode_record(record))};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = argv[1];
  const Seeds reqs = requests();
  Seeds frames;
  for (const std::string& r : reqs) api::append_frame(&frames.emplace_back(), r);
  frames.push_back(frames[0] + frames[1] + frames[2]);
  write(dir, "frames", frames);
  write(dir, "client_request", reqs);
  write(dir, "client_response", responses());
  write(dir, "peer_message", messages());
  write(dir, "peer_handshake", handshakes());
  write(dir, "gossip", {core::encode_gossip(gossip())});
  write(dir, "crdt", crdts());
  write(dir, "object", objects());
  // Every encoding above is msgpack and together they span its forms; the first byte
  // picks the nesting limit (7: 8 deep, what peer frames get; 10: 11, a stored object's).
  Seeds msgpack;
  for (const std::string& m : messages()) msgpack.push_back('\x07' + m);
  for (const std::string& o : objects()) msgpack.push_back('\x0a' + o);
  for (const std::string& c : crdts()) msgpack.push_back('\x07' + c.substr(1));
  write(dir, "msgpack", msgpack);
  return 0;
}
