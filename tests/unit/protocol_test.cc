// The native protocol codecs: frames split at any boundary, requests/responses/peer
// messages round-trip, and every decoder survives random and mutated payloads (run
// under ASan/UBSan) with a Status, never a throw or crash.
#include "node/api/protocol.h"

#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include "crdt/prng.h"
#include "node/api/convert.h"

namespace shoal::api {
namespace {

Request sample_request(Prng& rng) {
  Request r;
  r.id = rng.next();
  r.op = static_cast<Op>(1 + rng.below(8));
  r.bucket = "b" + std::to_string(rng.below(100));
  r.key = "k" + std::to_string(rng.below(1000));
  if (r.op == Op::kPut) r.value = std::string(rng.below(64), 'v');
  if (r.op == Op::kCounterAdd) r.delta = static_cast<int64_t>(rng.next());
  if (r.op == Op::kSetAdd || r.op == Op::kSetRemove) r.elements = {"x", std::string(3, '\0')};
  if (r.op == Op::kPut || r.op == Op::kDelete) {
    r.type = rng.chance(1, 2) ? core::DataType::kLww : core::DataType::kRegister;
  }
  if (rng.chance(1, 2) && (r.op == Op::kPut || r.op == Op::kSetRemove)) {
    crdt::DotContext ctx;
    ctx.add({rng.below(5) + 1, rng.below(9) + 1});
    r.context = ctx.encode();
  }
  r.options.n = 1 + static_cast<uint32_t>(rng.below(5));
  r.options.r = rng.chance(1, 2) ? core::QuorumSpec::all() : core::QuorumSpec::of(1);
  r.options.durable = rng.chance(1, 2);
  r.options.local = rng.chance(1, 4);
  r.options.timeout_ms = 1 + static_cast<uint32_t>(rng.below(10000));
  return r;
}

bool same(const Request& a, const Request& b) {
  return a.id == b.id && a.op == b.op && a.bucket == b.bucket && a.key == b.key &&
         a.value == b.value && a.context == b.context && a.delta == b.delta &&
         a.elements == b.elements && a.type == b.type && a.options == b.options;
}

TEST_CASE("frames split at every boundary reassemble", "[protocol]") {
  std::string stream;
  for (int i = 0; i < 20; ++i)
    append_frame(&stream, std::string(static_cast<size_t>(i) * 7, 'a' + i));
  for (size_t chunk : {1u, 3u, 4u, 5u, 64u, 10000u}) {
    FrameReader reader(1 << 20);
    int frames = 0;
    for (size_t off = 0; off < stream.size(); off += chunk) {
      reader.feed(stream.data() + off, std::min(chunk, stream.size() - off));
      std::string_view p;
      while (reader.next(&p) == FrameReader::Next::kFrame) {
        CHECK(p == std::string(static_cast<size_t>(frames) * 7, 'a' + frames));
        ++frames;
      }
    }
    CHECK(frames == 20);
    CHECK(reader.buffered() == 0);
  }
}

TEST_CASE("a frame over the limit is reported before its payload arrives", "[protocol]") {
  FrameReader reader(100);
  std::string f;
  append_frame(&f, std::string(101, 'x'));
  reader.feed(f.data(), 4);
  std::string_view p;
  size_t claimed = 0;
  CHECK(reader.next(&p, &claimed) == FrameReader::Next::kTooLarge);
  CHECK(claimed == 101);
}

TEST_CASE("requests round-trip", "[protocol]") {
  Prng rng(7);
  for (int i = 0; i < 2000; ++i) {
    Request r = sample_request(rng);
    uint64_t id = 0;
    Result<Request> back = decode_request(encode_request(r), &id);
    INFO(back.status().to_string());
    REQUIRE(back.is_ok());
    CHECK(same(r, *back));
  }
}

TEST_CASE("requests name the bad field", "[protocol]") {
  uint64_t id = 0;
  // {"id": 3, "op": "get", "b": 5, "k": "x"}
  auto r = decode_request(
      "\x84\xa2id\x03\xa2op\xa3get\xa1"
      "b\x05\xa1k\xa1x",
      &id);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::Contains("\"b\""));
  CHECK(id == 3);
  // {"id": 4, "op": "get", "b": "x", "k": "x", "opt": {"consistency": "most"}}
  auto o = decode_request(
      "\x85\xa2id\x04\xa2op\xa3get\xa1"
      "b\xa1x\xa1k\xa1x\xa3opt\x81\xab"
      "consistency\xa4most",
      &id);
  REQUIRE_FALSE(o.is_ok());
  CHECK_THAT(o.status().message(), Catch::Contains("opt.consistency"));
}

TEST_CASE("responses round-trip", "[protocol]") {
  Response r;
  r.id = 99;
  r.status = Status::ok();
  r.type = core::DataType::kRegister;
  r.values = {"a", std::string("\0\1", 2)};
  r.context = std::string("ctx");
  auto back = decode_response(encode_response(r));
  REQUIRE(back.is_ok());
  CHECK(back->id == 99);
  CHECK(back->values == r.values);
  CHECK(back->context == r.context);
  Response e;
  e.id = 5;
  e.status = Status::type_mismatch("key holds a set");
  auto eb = decode_response(encode_response(e));
  REQUIRE(eb.is_ok());
  CHECK(eb->status == e.status);
}

TEST_CASE("peer messages round-trip", "[protocol]") {
  core::Message m;
  m.kind = core::Message::Kind::kMint;
  m.req_id = 12;
  m.bucket = "b";
  m.key = "k";
  m.status = Status::timeout("slow");
  crdt::PNCounter c;
  m.object = std::make_shared<const core::Object>(*c.add(7, 3));
  core::Update u;
  u.kind = core::Update::Kind::kSetRemove;
  u.type = core::DataType::kSet;
  u.elements = {"x"};
  crdt::DotContext ctx;
  ctx.add({7, 1});
  u.context = ctx;
  m.update = u;
  m.durable = true;
  m.hint_for = "n3";
  m.body = std::string("\0gossip\xff", 8);
  auto back = decode_message(encode_message(m));
  REQUIRE(back.is_ok());
  CHECK(back->hint_for == "n3");
  CHECK(back->body == m.body);
  CHECK(back->kind == m.kind);
  CHECK(back->status == m.status);
  CHECK(*back->object == *m.object);
  CHECK(back->update->elements == u.elements);
  CHECK(back->update->context == u.context);
  CHECK(back->durable);
}

TEST_CASE("the hello carries the dialler's peer address and the 4-field form still decodes",
          "[protocol]") {
  auto h = decode_hello(encode_hello({kProtocolVersion, "n4", "s3cret", "127.0.0.1:7104"}));
  REQUIRE(h.is_ok());
  CHECK(h->node == "n4");
  CHECK(h->peer_address == "127.0.0.1:7104");
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(std::string("hello"));
  pk.pack(1);
  pk.pack(std::string("n5"));
  pk.pack(std::string("s"));
  auto old = decode_hello(std::string_view(buf.data(), buf.size()));
  REQUIRE(old.is_ok());
  CHECK(old->node == "n5");
  CHECK(old->peer_address.empty());
}

TEST_CASE("admin requests and the cluster status answer round-trip", "[protocol]") {
  Request rm;
  rm.id = 3;
  rm.op = Op::kRemove;
  rm.key = "n7";
  CHECK(check_request(rm).is_ok());
  uint64_t id = 0;
  auto back = decode_request(encode_request(rm), &id);
  REQUIRE(back.is_ok());
  CHECK(back->op == Op::kRemove);
  CHECK(back->key == "n7");
  rm.key.clear();
  CHECK(check_request(rm).code() == Code::kInvalidArgument);  // remove names a node
  Request st;
  st.op = Op::kClusterStatus;
  CHECK(check_request(st).is_ok());  // no bucket or key needed

  Response r;
  r.id = 4;
  r.node = "n1";
  MemberInfo m{"n2", "up", "127.0.0.1:7102", "127.0.0.1:7002", 17, true, 9.5, 0.75, 3, 4, 5};
  r.members = {m};
  r.stats = {{"hints_held", 12}, {"ring_size", 3}};
  auto rb = decode_response(encode_response(r));
  REQUIRE(rb.is_ok());
  REQUIRE(rb->members.size() == 1);
  CHECK(rb->members[0] == m);
  CHECK(rb->stats == r.stats);
}

TEST_CASE("protocol decoders survive 50k random and mutated payloads", "[protocol][fuzz]") {
  Prng rng(11);
  std::vector<std::string> valid;
  for (int i = 0; i < 50; ++i) valid.push_back(encode_request(sample_request(rng)));
  core::Message m;
  m.kind = core::Message::Kind::kMerge;
  m.object = std::make_shared<const core::Object>(core::DataType::kSet);
  valid.push_back(encode_message(m));
  valid.push_back(encode_hello({kProtocolVersion, "n1", "s", "127.0.0.1:7101"}));
  valid.push_back(encode_welcome(Status::ok(), "n1"));
  Response status;
  status.members = {MemberInfo{"n2", "up", "a", "b", 1, false, 0.5, 0.3, 1, 2, 3}};
  status.stats = {{"x", 1}};
  valid.push_back(encode_response(status));
  int accepted = 0;
  for (int i = 0; i < 50'000; ++i) {
    std::string p;
    if (rng.chance(1, 4)) {
      for (uint64_t n = rng.below(64); n > 0; --n) p += static_cast<char>(rng.next());
    } else {
      p = valid[rng.below(valid.size())];
      for (uint64_t n = rng.below(4) + 1; n > 0; --n) {
        if (p.empty()) break;
        const uint64_t at = rng.below(p.size());
        switch (rng.below(3)) {
          case 0:
            p[at] = static_cast<char>(rng.next());
            break;
          case 1:
            p.erase(at, 1);
            break;
          default:
            p.resize(at);
            break;
        }
      }
    }
    uint64_t id = 0;
    auto r = decode_request(p, &id);
    if (r) {
      ++accepted;
      Result<core::ClientRequest> c =
          r->op == Op::kPing || is_admin(r->op) ? Status::invalid_argument("admin") : to_core(*r);
      (void)c;
    }
    (void)decode_response(p);
    if (auto msg = decode_message(p)) (void)encode_message(*msg);
    (void)decode_hello(p);
    (void)decode_welcome(p);
  }
  CHECK(accepted > 0);  // the mutations are not all fatal: accepted paths are exercised
}

}  // namespace
}  // namespace shoal::api
