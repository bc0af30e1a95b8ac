// json::parse (node/api/json.h), the one entry for untrusted JSON (HTTP bodies): never
// throws or crashes, bounds nesting, and what it accepts dumps to text it parses back
// equal; bytes_of and the integer readers take any value it yields.
#include "fuzz.h"
#include "node/api/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace json = shoal::json;
  auto v = json::parse(shoal::fuzz::view(data, size));
  if (!v) return 0;
  (void)json::bytes_of(*v);
  (void)json::int64_of(*v);
  (void)json::uint64_of(*v);
  if (v->is_object()) {
    for (const auto& [name, field] : v->items()) {
      (void)name;
      (void)json::bytes_of(field);
      (void)json::int64_of(field);
    }
  }
  const std::string text = json::dump(*v);
  auto again = json::parse(text);
  FUZZ_CHECK(again.is_ok());
  // Compared as text, what a client reads (the same value, written the same way).
  FUZZ_CHECK(json::dump(*again) == text);
  if (auto b = json::bytes_of(*v)) {
    auto back = json::bytes_of(json::bytes(*b));
    FUZZ_CHECK(back && *back == *b);
  }
  return 0;
}
