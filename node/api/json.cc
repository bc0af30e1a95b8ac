#include "node/api/json.h"

#include <cmath>
#include <limits>

#include "node/api/text.h"

namespace shoal::json {

namespace {
struct TooDeep {};
}  // namespace

Result<Json> parse(std::string_view text) {
  // The callback sees each value's depth as the parser enters it: past the limit the
  // parse stops at once rather than build the rest.
  auto bounded = [](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxDepth) throw TooDeep{};
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), bounded);
  } catch (const Json::parse_error& e) {
    // e.what(): "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    const std::string what = e.what();
    const size_t colon = what.find(": ");
    const std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    return Status::invalid_argument("malformed JSON at byte " + std::to_string(e.byte) + ": " +
                                    detail);
  } catch (const TooDeep&) {
    return Status::invalid_argument("malformed JSON: nested deeper than " +
                                    std::to_string(kMaxDepth) + " levels");
  } catch (const Json::exception& e) {
    return Status::invalid_argument(std::string("malformed JSON: ") + e.what());
  }
}

std::string dump(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json bytes(std::string_view b) {
  if (text::valid_utf8(b)) return std::string(b);
  return Json{{"base64", text::base64_encode(b)}};
}

double rounded(double x, int places) {
  const double scale = std::pow(10.0, places);
  return std::isfinite(x) ? std::round(x * scale) / scale : x;  // (not finite: dumped as null)
}

Json bytes_array(const std::vector<std::string>& items) {
  Json out = Json::array();
  for (const std::string& i : items) out.push_back(bytes(i));
  return out;
}

std::optional<std::string> bytes_of(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_object() || v.size() != 1) return std::nullopt;
  auto b = v.find("base64");
  if (b == v.end() || !b->is_string()) return std::nullopt;
  return text::base64_decode(b->get<std::string>());
}

std::optional<int64_t> int64_of(const Json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

std::optional<uint64_t> uint64_of(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  return std::nullopt;
}

}  // namespace shoal::json
