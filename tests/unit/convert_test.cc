// api::to_core and api::to_response (node/api/convert.h): the rvalue to_core moves the
// payload out and builds the same core request as the copying one; to_response from the
// small Asked a shell keeps answers as it does from the whole request.
#include "node/api/convert.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace shoal::api {
namespace {

Request request(Op op) {
  Request r;
  r.id = 9;
  r.op = op;
  r.bucket = "a-bucket-longer-than-sso";
  r.key = "a-key-longer-than-the-inline-bytes";
  r.op_id = "an-operation-id-of-some-length";
  return r;
}

void check_same(const core::ClientRequest& a, const core::ClientRequest& b) {
  CHECK(a.op == b.op);
  CHECK(a.bucket == b.bucket);
  CHECK(a.key == b.key);
  CHECK(a.elements == b.elements);
  CHECK(a.page.has_value() == b.page.has_value());
  if (a.page && b.page) {
    CHECK(a.page->after == b.page->after);
    CHECK(a.page->count == b.page->count);
  }
  CHECK(a.update.kind == b.update.kind);
  CHECK(a.update.type == b.update.type);
  CHECK(a.update.value == b.update.value);
  CHECK(a.update.elements == b.update.elements);
  CHECK(a.update.op_id == b.update.op_id);
  CHECK(a.update.counting == b.update.counting);
  CHECK(a.update.delta == b.update.delta);
}

TEST_CASE("to_core of an rvalue builds what the copy builds, and takes the payload", "[convert]") {
  std::vector<Request> all;
  Request put = request(Op::kPut);
  put.type = core::DataType::kLww;
  put.value = std::string(100, 'v');
  put.counting = true;
  all.push_back(put);
  Request add = request(Op::kSetAdd);
  add.elements = {"one-member-longer-than-sso", "two"};
  all.push_back(add);
  Request page = request(Op::kSetGet);
  page.op_id.clear();
  page.after = "after-this-member-of-some-length";
  page.count = 10;
  all.push_back(page);
  Request incr = request(Op::kCounterAdd);
  incr.delta = -3;
  all.push_back(incr);
  for (Request& r : all) {
    INFO(static_cast<int>(r.op));
    const Result<core::ClientRequest> copied = to_core(std::as_const(r));
    REQUIRE(copied.is_ok());
    const char* key_bytes = r.key.data();  // on the heap: a move hands this buffer over
    const Result<core::ClientRequest> moved = to_core(std::move(r));
    REQUIRE(moved.is_ok());
    check_same(*copied, *moved);
    CHECK(moved->key.data() == key_bytes);
    CHECK(copied->key.data() != key_bytes);
  }
}

TEST_CASE("to_response from Asked names a deleted GET's key, and only a GET keeps it",
          "[convert]") {
  core::ClientResponse deleted;
  deleted.status = Status::ok();
  deleted.object = std::make_shared<core::Object>(crdt::LWWRegister().remove(crdt::Actor{7}, 100));
  const Response from_asked = to_response(Asked::of(request(Op::kGet)), deleted);
  CHECK(from_asked.status.code() == Code::kNotFound);
  CHECK(from_asked.status.message() ==
        "a-bucket-longer-than-sso/a-key-longer-than-the-inline-bytes (deleted)");
  CHECK(from_asked.id == 9);
  // Only a GET keeps the bucket and key: other answers do not name them.
  const Asked put = Asked::of(request(Op::kPut));
  CHECK(put.key.empty());
  CHECK(put.bucket.empty());
  CHECK(put.op == Op::kPut);
}

}  // namespace
}  // namespace shoal::api
