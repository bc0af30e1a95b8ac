#include "node/api/http.h"

#include <cctype>
#include <climits>
#include <string>

namespace shoal::api::http {

std::shared_ptr<Session> Session::make(Hooks hooks) {
  return std::shared_ptr<Session>(new Session(std::move(hooks)));
}

Session::Session(Hooks hooks) : hooks_(std::move(hooks)) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
}

int Session::on_url(http_parser* p, const char* at, size_t n) {
  auto* s = static_cast<Session*>(p->data);
  s->cur_.url.append(at, n);
  return s->cur_.url.size() > kMaxUrlBytes ? 1 : 0;
}

int Session::on_header_field(http_parser* p, const char* at, size_t n) {
  auto* s = static_cast<Session*>(p->data);
  if (s->in_value_) s->field_.clear();
  s->in_value_ = false;
  for (size_t i = 0; i < n; ++i) s->field_.push_back(static_cast<char>(std::tolower(at[i])));
  s->header_bytes_ += n;
  return s->header_bytes_ > kMaxHeaderBytes ? 1 : 0;
}

int Session::on_header_value(http_parser* p, const char* at, size_t n) {
  auto* s = static_cast<Session*>(p->data);
  s->in_value_ = true;
  s->cur_.headers[s->field_].append(at, n);
  s->header_bytes_ += n;
  return s->header_bytes_ > kMaxHeaderBytes ? 1 : 0;
}

int Session::on_headers_complete(http_parser* p) {
  auto* s = static_cast<Session*>(p->data);
  s->cur_.body_declared = p->content_length != ULLONG_MAX || (p->flags & F_CHUNKED) != 0;
  if (p->content_length != ULLONG_MAX && p->content_length > kMaxBodyBytes) {
    s->too_large_ = true;
    http_parser_pause(p, 1);
  }
  return 0;
}

int Session::on_body(http_parser* p, const char* at, size_t n) {
  auto* s = static_cast<Session*>(p->data);
  if (s->cur_.body.size() + n > kMaxBodyBytes) {
    s->too_large_ = true;
    http_parser_pause(p, 1);
    return 0;
  }
  s->cur_.body.append(at, n);
  return 0;
}

int Session::on_message_complete(http_parser* p) {
  auto* s = static_cast<Session*>(p->data);
  s->cur_.method = http_method_str(static_cast<http_method>(p->method));
  s->cur_.keep_alive = http_should_keep_alive(p) != 0;
  Message m = std::move(s->cur_);
  s->cur_ = Message();
  s->field_.clear();
  s->in_value_ = false;
  s->header_bytes_ = 0;
  s->last_seen_ = !m.keep_alive;  // what a client pipelines after "close" is not served
  s->handle(std::move(m));
  if (s->last_seen_ || (s->hooks_.may_continue && !s->hooks_.may_continue())) {
    http_parser_pause(p, 1);
  }
  return 0;
}

bool Session::feed(const char* data, size_t n) {
  if (close_after_output_) return false;
  if (holding_) {  // behind what is held, in order, until parse_held()
    held_.append(data, n);
    return true;
  }
  return execute(data, n);
}

bool Session::parse_held() {
  if (closing()) return false;
  std::string input = std::move(held_);
  held_.clear();
  holding_ = false;
  return execute(input.data(), input.size());
}

bool Session::execute(const char* data, size_t n) {
  const size_t parsed = http_parser_execute(&parser_, &settings_, data, n);
  // Paused by on_message_complete: may_continue() said no, or the request was the last.
  // (An upgrade request stops the parser early: refused below, as without a pause.)
  if (!too_large_ && !parser_.upgrade && HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED) {
    http_parser_pause(&parser_, 0);
    held_.assign(data + parsed, n - parsed);  // maybe nothing: the pause hit the last byte
    holding_ = true;
    return true;
  }
  if (too_large_) {
    finish(output_.reserve(),
           error_reply(
               Status::too_large("request body over " + std::to_string(kMaxBodyBytes) + " bytes")),
           false);
    close_after_output_ = true;
    return false;
  }
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK || parsed != n) {
    const auto err = HTTP_PARSER_ERRNO(&parser_);
    finish(output_.reserve(),
           error_reply(Status::invalid_argument(std::string("malformed HTTP request: ") +
                                                http_errno_description(err))),
           false);
    close_after_output_ = true;
    return false;
  }
  return true;
}

std::string Session::take_output() { return output_.take(); }

void Session::finish(uint64_t seq, Reply reply, bool keep_alive) {
  if (!keep_alive) close_after_output_ = true;
  if (output_.complete(seq, encode_reply(reply, keep_alive)) && hooks_.on_output)
    hooks_.on_output();
}

void Session::handle(Message m) {
  const uint64_t seq = output_.reserve();
  std::weak_ptr<Session> weak = weak_from_this();
  const bool keep_alive = m.keep_alive;
  auto reply = [weak, seq, keep_alive](Reply r) {
    if (auto s = weak.lock()) s->finish(seq, std::move(r), keep_alive);
  };
  if (!hooks_.identify) return route(m, hooks_, reply);
  std::optional<std::string> authorization;
  if (auto it = m.headers.find("authorization"); it != m.headers.end()) {
    authorization = std::move(it->second);
    m.headers.erase(it);  // the credentials go no further than identify
  }
  // identify may answer later (a password check): the shell holds this connection's
  // later requests meanwhile (may_continue), so requests are routed in order.
  hooks_.identify(authorization, [weak, m = std::move(m), reply](Status s) {
    auto self = weak.lock();
    if (!self) return;
    if (!s.is_ok()) return reply(error_reply(s));
    route(m, self->hooks_, reply);
  });
}

}  // namespace shoal::api::http
