// Set pages (SSCAN, ?cursor=, the native "after"/"count"): the cursor text, the native
// and peer wire forms, and what a node answers page by page (issue #14: a full read of a
// big set timed out).
#include <catch2/catch.hpp>

#include "node/api/protocol.h"
#include "node/api/resp_codec.h"

namespace shoal::api {
namespace {

TEST_CASE("SSCAN cursors are integers that name any member, and only those decode",
          "[resp][page]") {
  for (const std::string& m : {std::string(), std::string("a"), std::string("\0\xff z", 4)}) {
    const std::string c = resp::encode_cursor(m);
    REQUIRE(c.find_first_not_of("0123456789") == std::string::npos);
    std::optional<std::string> back;
    REQUIRE(resp::decode_cursor(c, &back));
    REQUIRE(back == m);
  }
  std::optional<std::string> after = "x";
  REQUIRE(resp::decode_cursor("0", &after));
  REQUIRE_FALSE(after.has_value());
  for (const char* bad : {"", "2", "10", "1256", "1a00", "-1", "01"}) {
    INFO(bad);
    REQUIRE_FALSE(resp::decode_cursor(bad, &after));
  }
}

TEST_CASE("set_get pages round-trip and are refused where they do not apply", "[protocol][page]") {
  Request r;
  r.id = 4;
  r.op = Op::kSetGet;
  r.bucket = "b";
  r.key = "k";
  r.after = std::string("m\0", 2);
  r.count = 500;
  uint64_t id = 0;
  Result<Request> back = decode_request(encode_request(r), &id);
  REQUIRE(back.is_ok());
  REQUIRE(back->after == r.after);
  REQUIRE(back->count == 500);

  Request wrong = r;
  wrong.op = Op::kGet;
  REQUIRE(check_request(wrong).message().find("set_get only") != std::string::npos);
  wrong = r;
  wrong.count = 0;
  REQUIRE(check_request(wrong).message().find("needs \"count\"") != std::string::npos);
  wrong = r;
  wrong.elements = {"x"};
  REQUIRE(check_request(wrong).message().find("not named ones") != std::string::npos);
  wrong = r;
  wrong.count = core::kMaxPageMembers + 1;
  REQUIRE(check_request(wrong).code() == Code::kInvalidArgument);

  Response a;
  a.id = 4;
  a.type = core::DataType::kSet;
  a.elements = {"a", "b"};
  a.next = "b";
  Result<Response> ab = decode_response(encode_response(a));
  REQUIRE(ab.is_ok());
  REQUIRE(ab->next == a.next);
  a.next.reset();
  REQUIRE_FALSE(decode_response(encode_response(a))->next.has_value());
}

TEST_CASE("peer reads carry a page, and the forms without one still decode", "[protocol][page]") {
  core::Message read = core::Message::make(core::Message::Kind::kRead, 7, "b", "k");
  for (const std::optional<std::string>& after :
       {std::optional<std::string>(), std::optional<std::string>("")}) {
    for (const std::optional<std::string>& until :
         {std::optional<std::string>(), std::optional<std::string>("m9")}) {
      read.page = core::SetPage{after, 25, until};  // a repair's region bounds its pages
      auto back = decode_message(encode_message(read));
      REQUIRE(back.is_ok());
      REQUIRE(back->page == read.page);
    }
  }
  // A repair's span digests travel in the common fields (set_spans.h).
  core::Message spans = core::Message::make(core::Message::Kind::kSetSpansReply, 9, "b", "k");
  spans.elements = {"m1", "m7"};
  spans.body = std::string(24, '\x5a');
  auto spans_back = decode_message(encode_message(spans));
  REQUIRE(spans_back.is_ok());
  CHECK(spans_back->kind == core::Message::Kind::kSetSpansReply);
  CHECK(spans_back->elements == spans.elements);
  CHECK(spans_back->body == spans.body);
  read.page.reset();
  auto plain = decode_message(encode_message(read));
  REQUIRE(plain.is_ok());
  REQUIRE_FALSE(plain->page.has_value());
}

}  // namespace
}  // namespace shoal::api
