#include "node/api/resp_codec.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace shoal::api::resp {

// ---- parser ----

void Parser::feed(const char* data, size_t n) {
  if (off_ == buf_.size()) {
    buf_.clear();
    off_ = 0;
  } else if (off_ > (64u << 10) && off_ * 2 > buf_.size()) {
    buf_.erase(0, off_);
    off_ = 0;
  }
  buf_.append(data, n);
}

bool Parser::read_line_int(char prefix, int64_t* value, size_t* at, std::string* error, bool* bad) {
  const size_t start = *at + 1;
  const size_t cr = buf_.find('\r', start);
  if (cr == std::string::npos || cr + 1 >= buf_.size()) {
    if (buf_.size() - start > 32) {
      *error = std::string("Protocol error: no line end after '") + prefix + "'";
      *bad = true;
    }
    return false;
  }
  const char* first = buf_.data() + start;
  auto [end, ec] = std::from_chars(first, buf_.data() + cr, *value);
  if (ec != std::errc() || end != buf_.data() + cr || buf_[cr + 1] != '\n') {
    *error = std::string("Protocol error: invalid ") + (prefix == '*' ? "multibulk" : "bulk") +
             " length";
    *bad = true;
    return false;
  }
  *at = cr + 2;
  return true;
}

Parser::Next Parser::inline_command(std::vector<std::string>* args, std::string* error) {
  const size_t nl = buf_.find('\n', off_);
  if (nl == std::string::npos) {
    if (buf_.size() - off_ > kMaxInlineBytes) {
      *error = "Protocol error: too big inline request";
      return Next::kError;
    }
    return Next::kNeedMore;
  }
  if (nl - off_ > kMaxInlineBytes) {
    *error = "Protocol error: too big inline request";
    return Next::kError;
  }
  std::string_view line(buf_.data() + off_, nl - off_);
  off_ = nl + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  args->clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) args->emplace_back(line.substr(i, j - i));
    i = j;
  }
  if (args->size() > kMaxArgs) {
    *error = "Protocol error: too many arguments";
    return Next::kError;
  }
  return args->empty() ? next(args, error) : Next::kCommand;
}

Parser::Next Parser::next(std::vector<std::string>* args, std::string* error) {
  while (off_ < buf_.size()) {
    if (buf_[off_] != '*') return inline_command(args, error);
    size_t at = off_;
    int64_t count = 0;
    bool bad = false;
    if (!read_line_int('*', &count, &at, error, &bad)) return bad ? Next::kError : Next::kNeedMore;
    if (count < 0 || count > static_cast<int64_t>(kMaxArgs)) {
      *error = "Protocol error: invalid multibulk length";
      return Next::kError;
    }
    args->clear();
    for (int64_t i = 0; i < count; ++i) {
      if (at >= buf_.size()) return Next::kNeedMore;
      if (buf_[at] != '$') {
        *error = std::string("Protocol error: expected '$', got '") + buf_[at] + "'";
        return Next::kError;
      }
      int64_t len = 0;
      if (!read_line_int('$', &len, &at, error, &bad)) return bad ? Next::kError : Next::kNeedMore;
      if (len < 0 || len > static_cast<int64_t>(kMaxBulkBytes)) {
        *error = "Protocol error: invalid bulk length";
        return Next::kError;
      }
      const auto n = static_cast<size_t>(len);
      if (buf_.size() - at < n + 2) return Next::kNeedMore;
      if (buf_[at + n] != '\r' || buf_[at + n + 1] != '\n') {
        *error = "Protocol error: bulk string not followed by CRLF";
        return Next::kError;
      }
      args->emplace_back(buf_, at, n);
      at += n + 2;
    }
    off_ = at;
    if (!args->empty()) return Next::kCommand;
  }
  return Next::kNeedMore;
}

// ---- replies ----

std::string simple(std::string_view s) { return std::string("+").append(s).append("\r\n"); }
std::string error(std::string_view s) {
  std::string out("-");
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out.append("\r\n");
}
// The headers are appended, not `":" + std::to_string(...)`: in this file GCC 12 warns
// on that (-Wrestrict, a false positive, PR 105329).
std::string integer(int64_t v) { return std::string(":").append(std::to_string(v)).append("\r\n"); }
std::string bulk(std::string_view s) {
  std::string out = std::string("$").append(std::to_string(s.size()));
  return out.append("\r\n").append(s).append("\r\n");
}
std::string null_bulk() { return "$-1\r\n"; }
std::string array(const std::vector<std::string>& bulks) {
  std::string out = std::string("*").append(std::to_string(bulks.size())).append("\r\n");
  for (const std::string& b : bulks) out += bulk(b);
  return out;
}

std::string error_for(const Status& s) {
  switch (s.code()) {
    case Code::kTypeMismatch:
      return error("WRONGTYPE Operation against a key holding the wrong kind of value (" +
                   s.message() + ")");
    case Code::kInvalidArgument:
    case Code::kTooLarge:
      return error("ERR " + s.to_string());
    default: {
      std::string code(code_name(s.code()));
      std::transform(code.begin(), code.end(), code.begin(), ::toupper);
      return error(code + " " + s.message());
    }
  }
}

}  // namespace shoal::api::resp
