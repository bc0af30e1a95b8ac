#include "node/api/resp_codec.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "node/api/users.h"

namespace shoal::api::resp {

// ---- parser ----

void Parser::feed(const char* data, size_t n) {
  if (off_ == buf_.size()) {
    buf_.clear();
    off_ = scan_ = 0;
  } else if (off_ > (64u << 10) && off_ * 2 > buf_.size()) {
    // Only once the consumed prefix outweighs the rest: each byte moved is paid for by a
    // consumed byte dropped, so compaction stays linear (per feed it would be quadratic).
    bytes_scanned_ += buf_.size() - off_;
    buf_.erase(0, off_);
    scan_ = scan_ > off_ ? scan_ - off_ : 0;
    off_ = 0;
  }
  buf_.append(data, n);
  bytes_scanned_ += n;
}

size_t Parser::find_from_scan(char c) {
  const size_t from = std::max(scan_, off_);
  const size_t at = buf_.find(c, from);
  scan_ = at == std::string::npos ? buf_.size() : at;
  bytes_scanned_ += scan_ - from + (at == std::string::npos ? 0 : 1);
  return at;
}

// A length line is at most 33 bytes (no integer is longer), whether or not its end has
// arrived: otherwise a zero-padded length would be taken when its bytes came in one read
// and refused when the stream was cut before its end (found by tests/fuzz/resp_fuzz.cc).
Parser::Step Parser::read_line_int(char prefix, int64_t* value, std::string* error) {
  constexpr size_t kMaxLineBytes = 33;
  const size_t cr = find_from_scan('\r');
  if ((cr == std::string::npos ? buf_.size() : cr) - off_ > kMaxLineBytes) {
    *error = std::string("Protocol error: no line end after '") + prefix + "'";
    return Step::kError;
  }
  if (cr == std::string::npos || cr + 1 >= buf_.size()) return Step::kNeedMore;
  auto [end, ec] = std::from_chars(buf_.data() + off_ + 1, buf_.data() + cr, *value);
  if (ec != std::errc() || end != buf_.data() + cr || buf_[cr + 1] != '\n') {
    *error = std::string("Protocol error: invalid ") + (prefix == '*' ? "multibulk" : "bulk") +
             " length";
    return Step::kError;
  }
  off_ = cr + 2;
  return Step::kProgress;
}

Parser::Step Parser::start_multibulk(std::string* error) {
  const size_t start = off_;
  int64_t count = 0;
  const Step step = read_line_int('*', &count, error);
  if (step != Step::kProgress) return step;
  if (count < 0 || count > static_cast<int64_t>(kMaxArgs)) {
    *error = "Protocol error: invalid multibulk length";
    return Step::kError;
  }
  argc_ = static_cast<size_t>(count);
  command_bytes_ = off_ - start;
  args_.clear();
  // Room for the arguments at once, not grown one by one (three allocations for a SET);
  // at most 16 ahead of the data, so a declared count alone reserves little.
  args_.reserve(std::min<size_t>(argc_, 16));
  if (argc_ > 0) state_ = State::kArgHeader;  // "*0": an empty command, skipped as Redis does
  return Step::kProgress;
}

Parser::Step Parser::arg_header(std::string* error) {
  if (buf_[off_] != '$') {
    *error = std::string("Protocol error: expected '$', got '") + buf_[off_] + "'";
    return Step::kError;
  }
  const size_t start = off_;
  int64_t len = 0;
  const Step step = read_line_int('$', &len, error);
  if (step != Step::kProgress) return step;
  if (len < 0 || len > static_cast<int64_t>(kMaxBulkBytes)) {
    *error = "Protocol error: invalid bulk length";
    return Step::kError;
  }
  // Refused on the declared length, so the bytes of an oversized command are never held.
  command_bytes_ += off_ - start + static_cast<size_t>(len) + 2;
  if (command_bytes_ > kMaxCommandBytes) {
    *error = "Protocol error: command larger than " + std::to_string(kMaxCommandBytes) + " bytes";
    return Step::kError;
  }
  args_.emplace_back();
  bulk_left_ = static_cast<size_t>(len);
  state_ = State::kArgData;
  return Step::kProgress;
}

namespace {

// Makes room in `arg` for `take` more of its `declared` bytes; returns the bytes it moved.
// Doubling keeps the moves linear; once it gets within half of the declared length it goes
// straight there, so an argument never holds more than it will use, nor is moved again for
// its last few bytes. A fresh string: reserve() on `arg` itself may round up to twice its
// capacity, past the declared length.
size_t grow(std::string* arg, size_t take, size_t declared) {
  if (arg->capacity() >= arg->size() + take) return 0;
  size_t want = std::max(2 * arg->capacity(), arg->size() + take);
  if (want >= declared / 2) want = declared;
  std::string grown;
  grown.reserve(want);
  grown.append(*arg);
  arg->swap(grown);
  return grown.size();
}

}  // namespace

// Data goes into the argument as it arrives (not once it is all there), so a big argument
// is copied once and the buffer holds little more than one read.
Parser::Step Parser::arg_data(std::string* error) {
  const size_t take = std::min(bulk_left_, buf_.size() - off_);
  std::string& arg = args_.back();
  bytes_scanned_ += grow(&arg, take, arg.size() + bulk_left_);
  arg.append(buf_, off_, take);
  bytes_scanned_ += take;
  off_ += take;
  bulk_left_ -= take;
  if (bulk_left_ > 0 || buf_.size() - off_ < 2) return Step::kNeedMore;
  if (buf_[off_] != '\r' || buf_[off_ + 1] != '\n') {
    *error = "Protocol error: bulk string not followed by CRLF";
    return Step::kError;
  }
  off_ += 2;
  if (args_.size() < argc_) {
    state_ = State::kArgHeader;
    return Step::kProgress;
  }
  state_ = State::kStart;
  return Step::kCommand;
}

Parser::Step Parser::inline_command(std::vector<std::string>* args, std::string* error) {
  const size_t nl = find_from_scan('\n');
  if (nl == std::string::npos ? buf_.size() - off_ > kMaxInlineBytes
                              : nl - off_ > kMaxInlineBytes) {
    *error = "Protocol error: too big inline request";
    return Step::kError;
  }
  if (nl == std::string::npos) return Step::kNeedMore;
  std::string_view line(buf_.data() + off_, nl - off_);
  off_ = nl + 1;
  bytes_scanned_ += line.size();
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
    return Step::kError;
  }
  return args->empty() ? Step::kProgress : Step::kCommand;  // an empty line is skipped
}

Parser::Next Parser::next(std::vector<std::string>* args, std::string* error) {
  while (off_ < buf_.size()) {
    Step step = Step::kError;
    switch (state_) {
      case State::kStart:
        step = buf_[off_] == '*' ? start_multibulk(error) : inline_command(args, error);
        break;
      case State::kArgHeader:
        step = arg_header(error);
        break;
      case State::kArgData:
        step = arg_data(error);
        if (step == Step::kCommand) {  // an inline command is already in *args
          args->swap(args_);
          args_.clear();
        }
        break;
    }
    if (step == Step::kNeedMore) return Next::kNeedMore;
    if (step == Step::kError) return Next::kError;
    if (step == Step::kCommand) return Next::kCommand;
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
    case Code::kUnauthorized:  // as Redis says it: no credentials, or no grant
      return error(is_unauthenticated(s) ? std::string("NOAUTH Authentication required.")
                                         : "NOPERM " + s.message());
    default: {
      std::string code(code_name(s.code()));
      std::transform(code.begin(), code.end(), code.begin(), ::toupper);
      return error(code + " " + s.message());
    }
  }
}

std::string encode_cursor(std::string_view member) {
  std::string out = "1";
  out.reserve(1 + 3 * member.size());
  for (const char ch : member) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(static_cast<char>('0' + c / 100));
    out.push_back(static_cast<char>('0' + c / 10 % 10));
    out.push_back(static_cast<char>('0' + c % 10));
  }
  return out;
}

bool decode_cursor(std::string_view cursor, std::optional<std::string>* after) {
  if (cursor == "0") {
    after->reset();
    return true;
  }
  if (cursor.empty() || cursor[0] != '1' || (cursor.size() - 1) % 3 != 0) return false;
  std::string member;
  for (size_t i = 1; i < cursor.size(); i += 3) {
    int v = 0;
    for (size_t j = i; j < i + 3; ++j) {
      if (cursor[j] < '0' || cursor[j] > '9') return false;
      v = v * 10 + (cursor[j] - '0');
    }
    if (v > 255) return false;
    member.push_back(static_cast<char>(v));
  }
  *after = std::move(member);
  return true;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

bool parse_int(const std::string& s, int64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace shoal::api::resp
