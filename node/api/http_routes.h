// The routes of the HTTP API (docs/http.md): one parsed HTTP request becomes a Reply,
// either at once (pages, refusals) or when the native request it turns into is answered.
// Owns the URL layout, which methods each route allows, the headers and JSON bodies
// data routes take, and how answers look in HTTP.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "node/api/client_request.h"
#include "node/api/client_response.h"
#include "node/api/http_reply.h"

namespace shoal::api::http {

// One request as the HTTP parser delivered it.
struct Message {
  std::string method, url, body;
  std::map<std::string, std::string> headers;  // lower-cased names
  bool keep_alive = true;
  bool body_declared = false;  // Content-Length or chunked: a body was sent (maybe empty)
};

using Done = std::function<void(Response)>;
// What a route reaches beyond the message. Any hook may be empty but submit.
struct Hooks {
  std::function<void(Request&&, Done)> submit;  // the request is the callee's to move from
  std::function<void()> on_output;
  std::function<std::string()> node_id;
  std::function<std::string()> status_json;   // GET /status
  std::function<std::string()> metrics_text;  // GET /metrics
  std::function<std::string()> dashboard;     // GET /
  // Asked after each request is dispatched: false holds the rest of the input back
  // (Session::parse_held) until the client read its answers. Absent: always true.
  std::function<bool()> may_continue;
  // GET /ping: ok, or why the node cannot serve (its store is failing). Absent: ok.
  std::function<Status()> health;
  // Who sent each request, from its Authorization header (nullopt: none), before it is
  // routed: `then` runs once, now or later, with ok or the refusal to answer (401). Absent:
  // nobody authenticates.
  std::function<void(const std::optional<std::string>& authorization,
                     std::function<void(Status)> then)>
      identify;
  // Whether the sender may see the page "dashboard", "status" or "metrics" (/ping is
  // open): ok or unauthorized. Absent: ok. Data requests are checked by submit.
  std::function<Status(std::string_view page)> allow_page;
};

// Answers `m` through `reply`: once, now or from the Done of hooks.submit. Every
// refusal (bad URL 400, no route 404, method 405, bad parameter, header or body 400, a
// request check_request refuses) is error_reply of the reason. hooks is used only
// during the call.
void route(const Message& m, const Hooks& hooks, std::function<void(Reply)> reply);

}  // namespace shoal::api::http
