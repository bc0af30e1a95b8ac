// HTTP replies (docs/http.md): what a route answers, the error table from Status codes
// to HTTP statuses with its JSON error body, and a reply's bytes on the wire.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "crdt/status.h"

namespace shoal::api::http {

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The HTTP status for an error code (not_found 404, invalid_argument 400, type_mismatch
// 409, unavailable 503, timeout 504, too_large 413, overloaded 429, unauthorized 401,
// corruption and internal 500) and its JSON body. error_reply answers an unauthorized
// that is not api::is_unauthenticated (a user without the grant) 403, and a 401 carries
// WWW-Authenticate: Basic.
int status_for(Code code);
Reply error_reply(const Status& s);
// A JSON reply with `status` and `body` (REQUIRES: body is JSON).
Reply json_reply(int status, std::string body);

// The reply as HTTP/1.1 bytes: status line, Content-Type, Content-Length, then
// "Connection: close" unless keep_alive, then r.headers, then the body.
std::string encode_reply(const Reply& r, bool keep_alive);

}  // namespace shoal::api::http
