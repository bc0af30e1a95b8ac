// The RESP front-end (node/api/resp_codec.h, resp.h), fed raw bytes as a connection is:
// the parser splits any stream into the same commands however it is cut (it keeps its
// place between feeds), never throws or crashes, and every command it yields runs
// through the session against a stub node.
#include <string>
#include <vector>

#include "fuzz.h"
#include "node/api/resp.h"
#include "stub_node.h"

namespace {

namespace resp = shoal::api::resp;

struct Parsed {
  std::vector<std::vector<std::string>> commands;
  std::string error;  // the protocol error that ended the stream ("": none)
};

Parsed parse(std::string_view s, size_t chunk) {
  resp::Parser parser;
  Parsed out;
  for (size_t off = 0; off < s.size() && out.error.empty(); off += chunk) {
    const std::string_view piece = s.substr(off, chunk);
    parser.feed(piece.data(), piece.size());
    std::vector<std::string> args;
    for (;;) {
      const resp::Parser::Next next = parser.next(&args, &out.error);
      if (next == resp::Parser::Next::kNeedMore) break;
      if (next == resp::Parser::Next::kError) {
        FUZZ_CHECK(!out.error.empty());
        break;
      }
      out.commands.push_back(args);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = shoal::fuzz::view(data, size);
  const Parsed whole = parse(s, s.size() + 1);
  const Parsed cut = parse(s, shoal::fuzz::chunk_of(s));
  FUZZ_CHECK(whole.commands == cut.commands);
  FUZZ_CHECK(whole.error.empty() == cut.error.empty());

  shoal::fuzz::StubNode node;
  auto session = resp::Session::make(
      {.submit = [&node](shoal::api::Request r, resp::Session::Done done) { done(node.answer(r)); },
       .on_output = [] {},
       .info = [] { return std::string("# Server\r\nshoal_version:fuzz\r\n"); }});
  for (const auto& command : whole.commands) {
    if (session->wants_close()) break;
    session->command(command);
  }
  (void)session->take_output();
  FUZZ_CHECK(session->pending() == 0);  // the stub answers at once
  return 0;
}
