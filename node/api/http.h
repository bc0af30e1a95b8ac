// The HTTP API (docs/http.md): a thin adapter over the native requests, parsed with
// libhttp-parser (no hand-written HTTP parser). Pure: the shell feeds bytes in and takes
// responses out; requests go through a submit function to the same core operations and
// error table as every other API.
//
//   GET|PUT|DELETE /buckets/{b}/keys/{k}     registers (siblings: 300 + JSON), lww with ?type=lww
//   GET|POST       /buckets/{b}/counters/{k} {"delta": n}
//   GET|POST       /buckets/{b}/sets/{k}     {"add": [...]} or {"remove": [...]}
//   GET /ping, /status (JSON), /metrics (Prometheus text), / (the dashboard)
//
// Options are query parameters (r w pr pw n timeout_ms durable sloppy consistency); the
// causal context travels base64 in the X-Shoal-Context header. An update may carry an
// operation id in Idempotency-Key (1..64 bytes); an answer from an earlier attempt of
// it has Idempotent-Replayed: true. Requests are strict: a PUT without a body, a JSON
// body lacking its field or with an unknown one, a bad header, an unknown parameter are
// 400 naming what is wrong. Errors are JSON {"code", "message"} with the matching
// status. Responses leave in request order (pipelining); keep-alive as HTTP/1.1 says.
#pragma once

#include <http_parser.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/api/ordered_output.h"
#include "node/api/protocol.h"

namespace shoal::api::http {

constexpr size_t kMaxBodyBytes = 2u << 20;  // request bodies (values are <= 1 MiB)
constexpr size_t kMaxUrlBytes = 16u << 10;
constexpr size_t kMaxHeaderBytes = 64u << 10;

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The HTTP status for an error code (not_found 404, invalid_argument 400, type_mismatch
// 409, unavailable 503, timeout 504, too_large 413, overloaded 429, unauthorized 401,
// corruption and internal 500) and its JSON body.
int status_for(Code code);
Reply error_reply(const Status& s);

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Done = std::function<void(Response)>;
  struct Hooks {
    std::function<void(Request, Done)> submit;
    std::function<void()> on_output;
    std::function<std::string()> node_id;
    std::function<std::string()> status_json;   // GET /status
    std::function<std::string()> metrics_text;  // GET /metrics
    std::function<std::string()> dashboard;     // GET /
  };
  static std::shared_ptr<Session> make(Hooks hooks);
  Session(const Session&) = delete;

  // Parses what arrived; false when the stream is unusable (a 400 or 413 was queued and
  // the connection closes once it is written).
  bool feed(const char* data, size_t n);
  std::string take_output();
  size_t pending() const { return output_.pending(); }
  bool wants_close() const { return close_after_output_ && pending() == 0; }

 private:
  explicit Session(Hooks hooks);
  static int on_url(http_parser* p, const char* at, size_t n);
  static int on_header_field(http_parser* p, const char* at, size_t n);
  static int on_header_value(http_parser* p, const char* at, size_t n);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, size_t n);
  static int on_message_complete(http_parser* p);

  struct Message {
    std::string method, url, body;
    std::map<std::string, std::string> headers;  // lower-cased names
    bool keep_alive = true;
    bool body_declared = false;  // Content-Length or chunked: a body was sent (maybe empty)
  };
  void handle(Message m);
  void route(const Message& m, std::function<void(Reply)> reply);
  void data(const Message& m, const std::string& kind, Request r, std::function<void(Reply)> reply);
  void finish(uint64_t seq, Reply reply, bool keep_alive);

  Hooks hooks_;
  http_parser parser_{};
  http_parser_settings settings_{};
  Message cur_;
  std::string field_;
  bool in_value_ = false;
  size_t header_bytes_ = 0;
  bool too_large_ = false;
  OrderedOutput output_;
  bool close_after_output_ = false;
};

}  // namespace shoal::api::http
