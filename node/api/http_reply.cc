#include "node/api/http_reply.h"

#include "node/api/json.h"
#include "node/api/text.h"
#include "node/api/users.h"

namespace shoal::api::http {

namespace {

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 300:
      return "Multiple Choices";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

}  // namespace

int status_for(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kNotFound:
      return 404;
    case Code::kInvalidArgument:
      return 400;
    case Code::kTypeMismatch:
      return 409;
    case Code::kUnavailable:
      return 503;
    case Code::kTimeout:
      return 504;
    case Code::kTooLarge:
      return 413;
    case Code::kOverloaded:
      return 429;
    case Code::kUnauthorized:
      return 401;
    default:
      return 500;
  }
}

Reply error_reply(const Status& s) {
  // unauthorized: 401 (and a challenge, so a browser asks) without valid credentials; 403
  // for a known user without the grant.
  const bool forbidden = s.code() == Code::kUnauthorized && !is_unauthenticated(s);
  Reply r = json_reply(forbidden ? 403 : status_for(s.code()),
                       json::dump({{"code", std::string(code_name(s.code()))},
                                   {"message", json::bytes(s.message())}}));
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"shoal\"");
  return r;
}

Reply json_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string encode_reply(const Reply& r, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  return out + r.body;
}

}  // namespace shoal::api::http
