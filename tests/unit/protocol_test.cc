// The native protocol codecs: frames split at any boundary, requests/responses/peer
// messages round-trip, and every decoder survives random and mutated payloads (run
// under ASan/UBSan) with a Status, never a throw or crash.
#include "node/api/protocol.h"

#include <catch2/catch.hpp>
#include <functional>
#include <msgpack.hpp>

#include "crdt/prng.h"
#include "node/api/convert.h"
#include "tests/request_fields.h"

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
  if (is_update(r.op) && rng.chance(1, 2)) {
    r.op_id = std::string(1 + rng.below(core::kMaxOpIdBytes), static_cast<char>(rng.next()));
  }
  return r;
}

bool same(const Request& a, const Request& b) {
  return a.id == b.id && a.op == b.op && a.bucket == b.bucket && a.key == b.key &&
         a.value == b.value && a.context == b.context && a.delta == b.delta &&
         a.elements == b.elements && a.type == b.type && a.options == b.options &&
         a.op_id == b.op_id;
}

using namespace test::fields;  // str, bin, num, map_of (tests/request_fields.h)

// decode_request must refuse with invalid_argument, and the message must contain `want`.
void refused(const std::vector<F>& fields, const std::string& want, uint64_t want_id = 7) {
  uint64_t id = 99;
  Result<Request> r = decode_request(map_of(fields), &id);
  INFO("want: " << want);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::Contains(want));
  CHECK(id == want_id);
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

TEST_CASE("required fields missing are refused, never defaulted", "[protocol][strict]") {
  const F id = num("id", 7), b = str("b", "users"), k = str("k", "alice");
  // A put without "v" would store an empty value; a misspelt "value" likewise.
  refused({id, str("op", "put"), b, k}, "field \"v\": missing");
  refused({id, str("op", "put"), b, k, str("value", "x"), bin("ctx", "c")},
          "field \"value\": unknown field");
  refused({id, str("op", "counter_add"), b, k}, "field \"delta\": missing");
  refused({id, str("op", "set_add"), b, k}, "field \"elems\": missing");
  refused({id, str("op", "set_rm"), b, k}, "field \"elems\": missing");
  refused({id, str("op", "get"), k}, "field \"b\": missing");
  refused({id, str("op", "del"), b}, "field \"k\": missing");
  refused({id, str("op", "remove")}, "field \"node\": missing");
  refused({id, str("op", "chaos")}, "field \"rule\": missing");
  // Admin operations take typed fields, not the key: an old client is told where to go.
  refused({id, str("op", "remove"), str("k", "n7"), str("node", "n7")},
          "field \"k\": remove names its node in field \"node\"");
  refused({id, str("op", "remove"), str("k", "n7")},
          "field \"k\": remove names its node in field \"node\", not k");
  refused({id, str("op", "chaos"), str("k", "drop n2 5%")},
          "field \"k\": chaos takes its rule in field \"rule\", not k");
  refused({id, str("op", "chaos"), str("rule", "drop 200%")},
          "field \"rule\": chaos rule: percent must be a whole number from 0 to 100");
  refused({id, str("op", "get"), b, k, str("node", "n1")}, "field \"node\": does not apply to get");
  refused({id, b, k}, "field \"op\": missing");
  // No id: answered with id 0, and the message says so exactly.
  uint64_t got = 99;
  Result<Request> no_id = decode_request(map_of({str("op", "get"), b, k}), &got);
  REQUIRE_FALSE(no_id.is_ok());
  CHECK(no_id.status().code() == Code::kInvalidArgument);
  CHECK(no_id.status().message() == "field \"id\": missing");
  CHECK(got == 0);
  // The complete forms decode.
  uint64_t ok_id = 0;
  CHECK(decode_request(map_of({id, str("op", "put"), b, k, bin("v", "")}), &ok_id).is_ok());
  CHECK(decode_request(map_of({id, str("op", "counter_add"), b, k, num("delta", -3)}), &ok_id)
            .is_ok());
  CHECK(decode_request(map_of({id, str("op", "ping")}), &ok_id).is_ok());
}

TEST_CASE("unknown, repeated and misplaced fields are refused by name", "[protocol][strict]") {
  const F id = num("id", 7), b = str("b", "users"), k = str("k", "alice");
  refused({id, str("op", "get"), b, k, num("colour", 1)}, "field \"colour\": unknown field");
  refused({id, str("op", "get"), b, k, num("k", 1)}, "field \"k\"");
  refused({id, str("op", "get"), b, k, str("k", "again")}, "field \"k\": given twice");
  refused({id, str("op", "put"), b, k, bin("v", "x"), num("delta", 1)},
          "field \"delta\": does not apply to put");
  refused({id, str("op", "counter_add"), b, k, num("delta", 1), bin("ctx", "c")},
          "field \"ctx\": does not apply to counter_add");
  // Inside "opt": a misspelt option must not leave the default in force.
  F opt{"opt", [](Pk& pk) {
          pk.pack_map(1);
          pk.pack(std::string("timeout"));
          pk.pack(50);
        }};
  refused({id, str("op", "get"), b, k, opt}, "field \"opt.timeout\": unknown option");
  F bad_r{"opt", [](Pk& pk) {
            pk.pack_map(1);
            pk.pack(std::string("r"));
            pk.pack(true);
          }};
  refused({id, str("op", "get"), b, k, bad_r}, "field \"opt.r\"");
}

TEST_CASE("op_id: a byte string of 1..64 bytes, on updates only", "[protocol][strict][op_id]") {
  const F id = num("id", 7), b = str("b", "users"), k = str("k", "alice");
  const F add = str("op", "counter_add"), delta = num("delta", 5);
  refused({id, add, b, k, delta, num("op_id", 12)}, "field \"op_id\": expected a byte string");
  refused({id, add, b, k, delta, str("op_id", "")}, "field \"op_id\": empty");
  refused({id, add, b, k, delta, str("op_id", std::string(65, 'x'))}, "field \"op_id\": 65 bytes");
  refused({id, str("op", "get"), b, k, str("op_id", "a1")}, "op_id applies to updates only");
  refused({id, str("op", "set_get"), b, k, str("op_id", "a1")}, "op_id applies to updates only");
  refused({id, str("op", "ping"), str("op_id", "a1")}, "op_id applies to updates only");

  // 64 bytes as str, or bin, reach the core's Update.
  uint64_t got = 0;
  const std::string longest(64, 'z');
  Result<Request> r = decode_request(map_of({id, add, b, k, delta, str("op_id", longest)}), &got);
  REQUIRE(r.is_ok());
  CHECK(r->op_id == longest);
  Result<core::ClientRequest> c = to_core(*r);
  REQUIRE(c.is_ok());
  CHECK(c->op == core::ClientRequest::Op::kUpdate);
  CHECK(c->update.op_id == longest);
  CHECK(c->update.delta == 5);
  const std::string raw("\0\xff\x01", 3);
  Result<Request> rb = decode_request(map_of({id, str("op", "set_rm"), b, k,
                                              F{"elems",
                                                [](Pk& pk) {
                                                  pk.pack_array(1);
                                                  pk.pack(std::string("e"));
                                                }},
                                              bin("op_id", raw)}),
                                      &got);
  REQUIRE(rb.is_ok());
  CHECK(to_core(*rb)->update.op_id == raw);

  // Every update kind carries it through encode, decode and to_core.
  for (Op op : {Op::kPut, Op::kDelete, Op::kCounterAdd, Op::kSetAdd, Op::kSetRemove}) {
    Request q;
    q.id = 3;
    q.op = op;
    q.bucket = "b";
    q.key = "k";
    if (op == Op::kSetAdd || op == Op::kSetRemove) q.elements = {"e"};
    q.op_id = "retry-me-" + std::string(op_name(op));
    Result<Request> back = decode_request(encode_request(q), &got);
    REQUIRE(back.is_ok());
    CHECK(back->op_id == q.op_id);
    CHECK(to_core(*back)->update.op_id == q.op_id);
  }
  // The checks every API runs before submitting refuse the same things.
  Request read;
  read.op = Op::kGet;
  read.bucket = "b";
  read.key = "k";
  read.op_id = "x";
  CHECK(check_request(read).code() == Code::kInvalidArgument);
  CHECK_FALSE(to_core(read).is_ok());
  Request big;
  big.op = Op::kCounterAdd;
  big.bucket = "b";
  big.key = "k";
  big.op_id = std::string(65, 'x');
  CHECK_THAT(check_request(big).message(), Catch::Contains("op_id"));
}

TEST_CASE("the duplicate flag travels as \"dup\" and comes from the core's answer",
          "[protocol][op_id]") {
  Response r;
  r.id = 8;
  r.type = core::DataType::kCounter;
  r.counter = 12;
  r.duplicate = true;
  auto back = decode_response(encode_response(r));
  REQUIRE(back.is_ok());
  CHECK(back->duplicate);
  CHECK(back->counter == 12);
  r.duplicate = false;
  const std::string plain = encode_response(r);
  CHECK(plain.find("dup") == std::string::npos);  // absent unless true
  CHECK_FALSE(decode_response(plain)->duplicate);

  Request add;
  add.id = 4;
  add.op = Op::kCounterAdd;
  add.bucket = "b";
  add.key = "k";
  core::ClientResponse answer;
  crdt::PNCounter c;
  answer.object = std::make_shared<const core::Object>(*c.add(7, 3));
  answer.duplicate = true;
  Response out = to_response(add, answer);
  CHECK(out.duplicate);
  CHECK(out.counter == 3);
  answer.duplicate = false;
  CHECK_FALSE(to_response(add, answer).duplicate);
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
  CHECK(back->update->op_id.empty());
  CHECK_FALSE(back->duplicate);
}

TEST_CASE("peer messages carry a counter delta's base, a gap refusal and a full read",
          "[protocol][op_id]") {
  core::Message merge = core::Message::make(core::Message::Kind::kMerge, 7, "b", "k");
  crdt::PNCounter c;
  merge.object = std::make_shared<const core::Object>(*c.add(3, 9));
  merge.base = 41;
  auto back = decode_message(encode_message(merge));
  REQUIRE(back.is_ok());
  CHECK(back->base == 41);
  CHECK_FALSE(back->full);
  CHECK_FALSE(back->duplicate);

  core::Message read = core::Message::make(core::Message::Kind::kRead, 7, "b", "k");
  read.full = true;
  auto rb = decode_message(encode_message(read));
  REQUIRE(rb.is_ok());
  CHECK(rb->full);
  CHECK(rb->base == 0);
}

TEST_CASE("peer messages carry the op id of a mint and the duplicate flag of its reply",
          "[protocol][op_id]") {
  core::Message mint;
  mint.kind = core::Message::Kind::kMint;
  mint.req_id = 5;
  mint.bucket = "b";
  mint.key = "k";
  core::Update u;
  u.kind = core::Update::Kind::kCounterAdd;
  u.type = core::DataType::kCounter;
  u.delta = 9;
  u.op_id = std::string("op-\0-1", 6);
  mint.update = u;
  auto back = decode_message(encode_message(mint));
  REQUIRE(back.is_ok());
  REQUIRE(back->update);
  CHECK(back->update->op_id == u.op_id);
  CHECK(back->update->delta == 9);

  core::Message reply;
  reply.kind = core::Message::Kind::kMintReply;
  reply.req_id = 5;
  reply.duplicate = true;
  crdt::PNCounter c;
  reply.state = std::make_shared<const core::Object>(*c.add(3, 9));
  auto rb = decode_message(encode_message(reply));
  REQUIRE(rb.is_ok());
  CHECK(rb->duplicate);
  CHECK(*rb->state == *reply.state);

  // Without an op id or the flag, the frames keep the form older nodes send and accept
  // (13 fields, a 7-field update), and that form decodes.
  u.op_id.clear();
  mint.update = u;
  const std::string old_form = encode_message(mint);
  CHECK(static_cast<unsigned char>(old_form[0]) == 0x90 + 13);
  auto ob = decode_message(old_form);
  REQUIRE(ob.is_ok());
  CHECK(ob->update->op_id.empty());
  CHECK_FALSE(ob->duplicate);

  // An op id over the limit in a peer frame does not decode.
  msgpack::sbuffer buf;
  Pk pk(buf);
  pk.pack_array(8);
  pk.pack(2);  // kCounterAdd
  pk.pack(3);  // counter
  pk.pack(std::string());
  pk.pack_nil();
  pk.pack(1);
  pk.pack_array(0);
  pk.pack(0);
  pk.pack(std::string(65, 'x'));
  const std::string update(buf.data(), buf.size());
  // Replace the update (the 9th field) by the bad one: re-encode the message by hand.
  msgpack::sbuffer mb;
  Pk mp(mb);
  mp.pack_array(13);
  mp.pack(3);  // kMint
  mp.pack(1);
  mp.pack(std::string("b"));
  mp.pack(std::string("k"));
  mp.pack(0);
  mp.pack(std::string());
  mp.pack_nil();
  mp.pack_nil();
  mb.write(update.data(), update.size());
  mp.pack(false);
  mp.pack(std::string());
  mp.pack(std::string());
  mp.pack_array(0);
  auto bad = decode_message(std::string_view(mb.data(), mb.size()));
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == Code::kCorruption);
  CHECK_THAT(bad.status().message(), Catch::Contains("op_id"));
  // The same frame with a 64-byte op id decodes (the frame shape above is right).
  msgpack::sbuffer gb;
  Pk gp(gb);
  gp.pack_array(13);
  gp.pack(3);
  gp.pack(1);
  gp.pack(std::string("b"));
  gp.pack(std::string("k"));
  gp.pack(0);
  gp.pack(std::string());
  gp.pack_nil();
  gp.pack_nil();
  gp.pack_array(8);
  gp.pack(2);
  gp.pack(3);
  gp.pack(std::string());
  gp.pack_nil();
  gp.pack(1);
  gp.pack_array(0);
  gp.pack(0);
  gp.pack(std::string(64, 'x'));
  gp.pack(false);
  gp.pack(std::string());
  gp.pack(std::string());
  gp.pack_array(0);
  auto good = decode_message(std::string_view(gb.data(), gb.size()));
  INFO(good.status().to_string());
  REQUIRE(good.is_ok());
  CHECK(good->update->op_id == std::string(64, 'x'));
}

TEST_CASE("the hello carries the dialler's peer address and the 4-field form still decodes",
          "[protocol]") {
  auto h = decode_hello(
      encode_hello({kProtocolVersion, "n4", "", "127.0.0.1:7104", std::string(32, 'n')}));
  REQUIRE(h.is_ok());
  CHECK(h->version == kProtocolVersion);
  CHECK(h->node == "n4");
  CHECK(h->secret.empty());
  CHECK(h->peer_address == "127.0.0.1:7104");
  CHECK(h->nonce == std::string(32, 'n'));
  auto clear = decode_hello(encode_hello({kClearSecretVersion, "n4", "s3cret", "a:1", ""}));
  REQUIRE(clear.is_ok());
  CHECK(clear->secret == "s3cret");
  CHECK(clear->nonce.empty());
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

TEST_CASE("the handshake's challenge and proof round-trip and refuse other frames", "[protocol]") {
  auto ch = decode_challenge(encode_challenge({"n2", std::string(32, 'a'), std::string(32, 'p')}));
  REQUIRE(ch.is_ok());
  CHECK(ch->node == "n2");
  CHECK(ch->nonce == std::string(32, 'a'));
  CHECK(ch->proof == std::string(32, 'p'));
  auto proof = decode_proof(encode_proof(std::string(32, 'q')));
  REQUIRE(proof.is_ok());
  CHECK(*proof == std::string(32, 'q'));
  // Each refuses the other frames of the handshake, and oversized fields.
  CHECK(decode_challenge(encode_proof("x")).status().code() == Code::kCorruption);
  CHECK(decode_proof(encode_welcome(Status::ok(), "n1")).status().code() == Code::kCorruption);
  CHECK(decode_welcome(encode_challenge({"n2", "a", "p"})).status().code() == Code::kCorruption);
  CHECK(!decode_challenge(encode_challenge({"n2", std::string(257, 'a'), "p"})).is_ok());
  CHECK(!decode_proof(encode_proof(std::string(257, 'q'))).is_ok());
  CHECK(!decode_hello(encode_hello({kProtocolVersion, "n4", "", "", std::string(257, 'n')})));
}

TEST_CASE("admin requests and the cluster status answer round-trip", "[protocol]") {
  Request rm;
  rm.id = 3;
  rm.op = Op::kRemove;
  rm.node = "n7";
  CHECK(check_request(rm).is_ok());
  uint64_t id = 0;
  auto back = decode_request(encode_request(rm), &id);
  REQUIRE(back.is_ok());
  CHECK(back->op == Op::kRemove);
  CHECK(back->node == "n7");
  CHECK(back->key.empty());
  rm.node.clear();
  CHECK(check_request(rm).code() == Code::kInvalidArgument);  // remove names a node
  Request ch;
  ch.op = Op::kChaos;
  ch.rule = "delay 200ms 50 to n2,n3";
  back = decode_request(encode_request(ch), &id);
  REQUIRE(back.is_ok());
  CHECK(back->rule == ch.rule);
  ch.rule = "delay 200ms 50 to";
  CHECK(check_request(ch).code() == Code::kInvalidArgument);
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

// Found by fuzz_client_response (tests/fuzz/corpus/client_response/regress-negative-whole):
// msgpack-c packs a double holding a whole number as an integer, so a negative whole phi
// or share went out as a negative integer that the decoder refused.
TEST_CASE("a member's phi and share that are whole numbers, negative too, round-trip",
          "[protocol]") {
  // 2^64: msgpack-c's pack_double converts it to uint64_t (undefined; fuzz_client_response).
  for (double v : {-15977162.0, -1.0, 0.0, 2.0, 0.5, 0x1p64, 0x1p63, 0x1p65}) {
    INFO("value " << v);
    Response r;
    r.id = 9;
    MemberInfo m{"n2", "up", "a", "b", 1, false, v, v, 1, 2, 3};
    r.members = {m};
    auto rb = decode_response(encode_response(r));
    REQUIRE(rb.is_ok());
    REQUIRE(rb->members.size() == 1);
    CHECK(rb->members[0] == m);
  }
  // 2^64 goes as the largest uint64 (no conversion out of range), read back the same.
  Response r;
  r.members = {MemberInfo{"n2", "up", "a", "b", 1, false, 0x1p64, 0.5, 1, 2, 3}};
  const std::string bytes = encode_response(r);
  CHECK(bytes.find(std::string("\xcf") + std::string(8, '\xff')) != std::string::npos);
}

TEST_CASE("protocol decoders survive 50k random and mutated payloads", "[protocol][fuzz]") {
  Prng rng(11);
  std::vector<std::string> valid;
  for (int i = 0; i < 50; ++i) valid.push_back(encode_request(sample_request(rng)));
  core::Message m;
  m.kind = core::Message::Kind::kMerge;
  m.object = std::make_shared<const core::Object>(core::DataType::kSet);
  valid.push_back(encode_message(m));
  core::Message acks = core::Message::make(core::Message::Kind::kMergeAcks);
  acks.acks = {{1, Status::ok(), 0, "\x01"}, {2, Status::unavailable("gap"), 3, ""}};
  valid.push_back(encode_message(acks));
  valid.push_back(encode_hello({kProtocolVersion, "n1", "", "127.0.0.1:7101", "nonce"}));
  valid.push_back(encode_hello({kClearSecretVersion, "n1", "s", "127.0.0.1:7101", ""}));
  valid.push_back(encode_challenge({"n1", "nonce", "proof"}));
  valid.push_back(encode_proof("proof"));
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
    (void)decode_challenge(p);
    (void)decode_proof(p);
  }
  CHECK(accepted > 0);  // the mutations are not all fatal: accepted paths are exercised
}

TEST_CASE("a set add's count of new members travels as \"added\"", "[protocol]") {
  Response r;
  r.id = 9;
  r.type = core::DataType::kSet;
  r.elements = {"a", "b"};
  CHECK(encode_response(r).find("added") == std::string::npos);  // absent unless known
  CHECK_FALSE(decode_response(encode_response(r))->added.has_value());
  r.added = 1;
  auto back = decode_response(encode_response(r));
  REQUIRE(back.is_ok());
  CHECK(back->added == std::optional<uint32_t>(1));
  CHECK(back->elements == r.elements);

  Request add;
  add.op = Op::kSetAdd;
  core::ClientResponse answer;
  answer.added = 2;
  CHECK(to_response(add, answer).added == std::optional<uint32_t>(2));

  // RESP's SADD reads the count alone: nothing is copied out of the state for it.
  crdt::ORSet set;
  set.add(7, "a");
  set.add(7, "b");
  answer.object = std::make_shared<const core::Object>(set);
  const Response whole = to_response(add, answer);
  CHECK(whole.elements == std::vector<std::string>{"a", "b"});
  CHECK(whole.context.has_value());
  add.status_only = true;
  const Response counted = to_response(add, answer);
  CHECK(counted.status.is_ok());
  CHECK(counted.added == std::optional<uint32_t>(2));
  CHECK(counted.elements.empty());
  CHECK_FALSE(counted.context.has_value());
}

TEST_CASE("a counting remove's count travels as \"removed\"", "[protocol]") {
  Response r;
  r.id = 9;
  r.type = core::DataType::kSet;
  CHECK(encode_response(r).find("removed") == std::string::npos);  // absent unless known
  CHECK_FALSE(decode_response(encode_response(r))->removed.has_value());
  r.removed = 3;
  auto back = decode_response(encode_response(r));
  REQUIRE(back.is_ok());
  CHECK(back->removed == std::optional<uint32_t>(3));
  CHECK_FALSE(back->added.has_value());

  Request rm;
  rm.op = Op::kSetRemove;
  core::ClientResponse answer;
  answer.removed = 2;
  CHECK(to_response(rm, answer).removed == std::optional<uint32_t>(2));
}

TEST_CASE("the auth op round-trips its user and password and is not an admin op",
          "[protocol][auth]") {
  Request a;
  a.id = 9;
  a.op = Op::kAuth;
  a.user = "alice@example.com";
  a.password = std::string("pw\0\xff", 4);
  CHECK(check_request(a).is_ok());
  uint64_t id = 0;
  Result<Request> back = decode_request(encode_request(a), &id);
  REQUIRE(back.is_ok());
  CHECK(id == 9);
  CHECK(back->op == Op::kAuth);
  CHECK(back->user == a.user);
  CHECK(back->password == a.password);
  CHECK_FALSE(back->for_update);
  a.password.clear();  // an empty password is a password (it will not match)
  back = decode_request(encode_request(a), &id);
  REQUIRE(back.is_ok());
  CHECK(back->password.empty());
  CHECK(op_name(Op::kAuth) == "auth");
  CHECK(parse_op("auth") == std::optional<Op>(Op::kAuth));
  CHECK_FALSE(is_admin(Op::kAuth));
  CHECK_FALSE(is_update(Op::kAuth));
  CHECK_FALSE(takes_context(Op::kAuth));
  CHECK(is_admin(Op::kChaos));  // the admin range still ends at chaos
  // A DEL's read needs the write grant, but for_update is not on the wire.
  Request del_read;
  del_read.op = Op::kGet;
  del_read.bucket = "b";
  del_read.key = "k";
  del_read.for_update = true;
  back = decode_request(encode_request(del_read), &id);
  REQUIRE(back.is_ok());
  CHECK_FALSE(back->for_update);
}

TEST_CASE("an auth without its fields, or with one too long, and a user on a get are refused",
          "[protocol][strict][auth]") {
  const F id = num("id", 7), auth = str("op", "auth"), b = str("b", "users"), k = str("k", "a");
  const F pw = str("password", "pw"), alice = str("user", "alice");
  refused({id, auth, alice}, "field \"password\": missing (auth needs it)");
  refused({id, auth, pw}, "field \"user\": missing (auth needs it)");
  refused({id, auth, str("user", ""), pw}, "field \"user\": a user name is 1..64 bytes");
  refused({id, auth, str("user", std::string(65, 'u')), pw},
          "field \"user\": a user name is 1..64 bytes");
  refused({id, auth, alice, str("password", std::string(1025, 'p'))},
          "field \"password\": at most 1024 bytes");
  refused({id, auth, num("user", 5), pw}, "field \"user\"");
  refused({id, auth, alice, pw, str("password", "again")}, "field \"password\": given twice");
  refused({id, str("op", "get"), b, k, alice}, "field \"user\": does not apply to get");
  refused({id, str("op", "put"), b, k, bin("v", "x"), pw},
          "field \"password\": does not apply to put");
  refused({id, str("op", "ping"), alice, pw}, "field \"user\": does not apply to ping");
  // At the limits: decoded.
  uint64_t got = 0;
  CHECK(decode_request(map_of({id, auth, str("user", std::string(64, 'u')),
                               str("password", std::string(1024, 'p'))}),
                       &got)
            .is_ok());
  CHECK(decode_request(map_of({id, auth, alice, bin("password", std::string(3, '\0'))}), &got)
            .is_ok());
}

TEST_CASE("a batch of merge acks round-trips, and a merge asks for it in its 14th field",
          "[protocol][acks]") {
  core::Message batch = core::Message::make(core::Message::Kind::kMergeAcks);
  batch.acks.push_back({7, Status::ok(), 0, std::string("\x01\x00\x01", 3)});
  batch.acks.push_back({8, Status::unavailable("missed earlier updates"), 41, ""});
  batch.acks.push_back({~0ULL, Status::timeout("t"), 0, ""});
  const std::string frame = encode_message(batch);
  auto back = decode_message(frame);
  REQUIRE(back.is_ok());
  CHECK(back->kind == core::Message::Kind::kMergeAcks);
  CHECK(back->acks == batch.acks);

  // Every cut of the frame fails cleanly (none decodes to fewer acks).
  for (size_t n = 0; n < frame.size(); ++n) CHECK_FALSE(decode_message(frame.substr(0, n)));

  // The limits: no empty batch, at most kMaxBatchAcks, five fields per ack, known codes.
  auto acks_frame = [](size_t count, int fields, int code) {
    msgpack::sbuffer buf;
    Pk pk(buf);
    pk.pack_array(2);
    pk.pack(static_cast<int>(core::Message::Kind::kMergeAcks));
    pk.pack_array(static_cast<uint32_t>(count));
    for (size_t i = 0; i < count; ++i) {
      pk.pack_array(static_cast<uint32_t>(fields));
      pk.pack(i + 1);
      pk.pack(code);
      pk.pack(std::string());
      pk.pack(0);
      for (int f = 4; f < fields; ++f) pk.pack(std::string());
    }
    return std::string(buf.data(), buf.size());
  };
  CHECK(decode_message(acks_frame(1, 5, 0)).is_ok());
  CHECK(decode_message(acks_frame(core::kMaxBatchAcks, 5, 0))->acks.size() == core::kMaxBatchAcks);
  CHECK_FALSE(decode_message(acks_frame(0, 5, 0)));
  CHECK_FALSE(decode_message(acks_frame(core::kMaxBatchAcks + 1, 5, 0)));
  CHECK_FALSE(decode_message(acks_frame(1, 4, 0)));
  CHECK_FALSE(decode_message(acks_frame(1, 6, 0)));
  CHECK_FALSE(decode_message(acks_frame(1, 5, 99)));

  // A merge that asks for batched acks: the 14-field form; without, the old 13 fields.
  core::Message merge = core::Message::make(core::Message::Kind::kMerge, 7, "b", "k");
  merge.object = std::make_shared<const core::Object>(core::DataType::kSet);
  CHECK(static_cast<unsigned char>(encode_message(merge)[0]) == 0x90 + 13);
  merge.acks_batched = true;
  const std::string asks = encode_message(merge);
  CHECK(static_cast<unsigned char>(asks[0]) == 0x90 + 14);
  auto mb = decode_message(asks);
  REQUIRE(mb.is_ok());
  CHECK(mb->acks_batched);
  CHECK_FALSE(mb->duplicate);
  merge.base = 9;  // with the gap fields the flag stays in its place
  auto gb = decode_message(encode_message(merge));
  REQUIRE(gb.is_ok());
  CHECK(gb->acks_batched);
  CHECK(gb->base == 9);
  // A mint reply's 14th field stays its duplicate flag.
  core::Message reply = core::Message::make(core::Message::Kind::kMintReply, 7);
  reply.duplicate = true;
  auto rb = decode_message(encode_message(reply));
  REQUIRE(rb.is_ok());
  CHECK(rb->duplicate);
  CHECK_FALSE(rb->acks_batched);
}

}  // namespace
}  // namespace shoal::api
