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
//
// This file owns the connection: feeding bytes to the parser, its limits, and putting
// replies out in order. http_routes.h owns what each request means, http_query.h the
// URL, http_reply.h the replies and the error table.
#pragma once

#include <http_parser.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "node/api/http_reply.h"
#include "node/api/http_routes.h"
#include "node/api/ordered_output.h"

namespace shoal::api::http {

constexpr size_t kMaxBodyBytes = 2u << 20;  // request bodies (values are <= 1 MiB)
constexpr size_t kMaxUrlBytes = 16u << 10;
constexpr size_t kMaxHeaderBytes = 64u << 10;

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Done = http::Done;
  using Hooks = http::Hooks;
  static std::shared_ptr<Session> make(Hooks hooks);
  Session(const Session&) = delete;

  // Parses what arrived; false when the stream is unusable (a 400 or 413 was queued and
  // the connection closes once it is written). Once hooks.may_continue() says no, the
  // rest of the input, and what is fed while some is held, is held instead of parsed: a
  // pipelining client that does not read its answers cannot queue unbounded work (the
  // caller stops reading while holds_input(), which bounds what is held).
  bool feed(const char* data, size_t n);
  // Parses input held back earlier, until may_continue() says no again. False as feed.
  bool parse_held();
  bool holds_input() const { return holding_; }
  // The last request arrived (Connection: close), or the stream was refused: nothing
  // more is parsed.
  bool closing() const { return close_after_output_ || last_seen_; }
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

  bool execute(const char* data, size_t n);  // feed's parse; keeps what a pause left
  void handle(Message m);
  void finish(uint64_t seq, Reply reply, bool keep_alive);

  Hooks hooks_;
  http_parser parser_{};
  http_parser_settings settings_{};
  Message cur_;
  std::string field_;
  bool in_value_ = false;
  size_t header_bytes_ = 0;
  bool too_large_ = false;
  std::string held_;        // input not parsed yet: may_continue() said no
  bool holding_ = false;    // since then (held_ may still be empty)
  bool last_seen_ = false;  // a request without keep-alive was dispatched
  OrderedOutput output_;
  bool close_after_output_ = false;
};

}  // namespace shoal::api::http
