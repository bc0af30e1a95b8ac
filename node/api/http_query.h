// The URL side of an HTTP request (docs/http.md): path segments, query parameters, and
// the request options those parameters carry. Pure string work, no HTTP parser.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"
#include "node/core/options.h"

namespace shoal::api::http {

// %XX decoded (a malformed escape is kept as it is); '+' is a space when plus_is_space
// (query strings) and itself otherwise (paths).
std::string percent_decode(std::string_view s, bool plus_is_space);
// The non-empty segments of a URL path, each percent-decoded ("/a//b%2F" -> "a", "b/").
std::vector<std::string> split_path(std::string_view path);
// name=value pairs of a query string, decoded; a name given twice keeps the last value.
std::map<std::string, std::string> parse_query(std::string_view q);

// Per-request options from the query: a preset first (consistency=), then the fields
// (r w pr pw n timeout_ms durable sloppy); *type gets type= as given. "member" is left to
// the caller. An unknown parameter, a bad value, or options that do not resolve are
// refused with the reason.
Status options_from(const std::map<std::string, std::string>& q, core::RequestOptions* o,
                    std::string* type);

}  // namespace shoal::api::http
