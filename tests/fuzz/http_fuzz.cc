// The HTTP front-end (node/api/http.h and its routes), fed raw bytes as a connection is,
// whole and then in small pieces: never throws or crashes, and every request a stub node
// answers at once is answered (nothing stays pending).
#include <string>

#include "fuzz.h"
#include "node/api/http.h"
#include "stub_node.h"

namespace {

namespace http = shoal::api::http;

void serve(std::string_view s, size_t chunk) {
  shoal::fuzz::StubNode node;
  http::Hooks hooks;
  hooks.submit = [&node](shoal::api::Request r, http::Done done) { done(node.answer(r)); };
  hooks.on_output = [] {};
  hooks.node_id = [] { return std::string("n1"); };
  hooks.status_json = [] { return std::string("{}"); };
  hooks.metrics_text = [] { return std::string("# metrics\n"); };
  hooks.dashboard = [] { return std::string("<html></html>"); };
  auto session = http::Session::make(hooks);
  for (size_t off = 0; off < s.size(); off += chunk) {
    const std::string_view piece = s.substr(off, chunk);
    if (!session->feed(piece.data(), piece.size())) break;
    (void)session->take_output();
    if (session->closing()) break;
  }
  (void)session->take_output();
  FUZZ_CHECK(session->pending() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = shoal::fuzz::view(data, size);
  serve(s, s.size() + 1);
  serve(s, shoal::fuzz::chunk_of(s));
  return 0;
}
