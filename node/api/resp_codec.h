// RESP on the wire (the Redis serialization protocol, docs/resp.md): splitting a byte
// stream into commands, and encoding replies. What a command does is resp.h.
//
// Errors: the parser never throws; a stream it cannot read is kError with a Redis-style
// "Protocol error: ..." message, after which the connection must close.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace shoal::api::resp {

constexpr size_t kMaxArgs = 4096;              // per command
constexpr size_t kMaxBulkBytes = 4u << 20;     // per argument (values are <= 1 MiB)
constexpr size_t kMaxInlineBytes = 64u << 10;  // an inline command line
// One multibulk command as sent, headers included: kMaxArgs x kMaxBulkBytes alone would let
// one connection make the node hold 16 GiB. 32 MiB still takes a SADD of 31 one-MiB members,
// and keeps the largest set_add delta well inside a peer frame (kMaxPeerFrameBytes, 64 MiB).
// It is checked on the declared lengths, before the bytes arrive.
constexpr size_t kMaxCommandBytes = 32u << 20;

// Splits a byte stream into commands (multibulk arrays, or inline lines). It keeps its place
// between calls (the arguments read so far, the one being filled), so however the stream is
// cut, each byte is looked at a bounded number of times: work is linear in the input.
class Parser {
 public:
  enum class Next { kNeedMore, kCommand, kError };
  void feed(const char* data, size_t n);
  // kCommand: *args holds the next command. kError: *error says what is wrong; the
  // stream cannot be trusted after it (the connection is closed, as Redis does).
  Next next(std::vector<std::string>* args, std::string* error);
  // Bytes appended, searched, copied into arguments, or moved (compaction, an argument's
  // growth) so far: what the tests bound to show the work is linear, without timing it.
  uint64_t bytes_scanned() const { return bytes_scanned_; }
  // Whether part of a command has arrived and not all of it (the shell's slow-loris deadline).
  bool partial() const { return off_ < buf_.size() || state_ != State::kStart; }

 private:
  enum class State { kStart, kArgHeader, kArgData };  // between commands, at "$<len>", in data
  enum class Step { kProgress, kNeedMore, kCommand, kError };
  Step start_multibulk(std::string* error);
  Step arg_header(std::string* error);
  Step arg_data(std::string* error);
  Step inline_command(std::vector<std::string>* args, std::string* error);
  // The next `c` at or after off_ (npos if none yet); resumes where the last look ended.
  size_t find_from_scan(char c);
  // Reads "<prefix><int>\r\n" at off_ and moves past it.
  Step read_line_int(char prefix, int64_t* value, std::string* error);

  std::string buf_;
  size_t off_ = 0;   // the first byte not consumed
  size_t scan_ = 0;  // [off_, scan_) holds no line end: the element at off_ is unfinished
  State state_ = State::kStart;
  size_t argc_ = 0;                // the multibulk in progress declared this many arguments
  std::vector<std::string> args_;  // its finished arguments, then the one being filled
  size_t bulk_left_ = 0;           // bytes of args_.back() still to come (kArgData)
  size_t command_bytes_ = 0;       // its size as declared so far (headers, data, CRLFs)
  uint64_t bytes_scanned_ = 0;
};

// Reply encodings.
std::string simple(std::string_view s);
std::string error(std::string_view s);  // s starts with the code: "ERR ...", "WRONGTYPE ..."
std::string integer(int64_t v);
std::string bulk(std::string_view s);
std::string null_bulk();
std::string array(const std::vector<std::string>& bulks);
// SSCAN cursors: "0" starts (and, answered, ends) a scan; any other cursor names the last
// member a page covered, as "1" followed by three decimal digits per byte, so it is an
// integer as Redis clients expect (redis-py parses it with int()). decode_cursor: false
// for anything else; *after is none for "0".
std::string encode_cursor(std::string_view member);
bool decode_cursor(std::string_view cursor, std::optional<std::string>* after);

// Arguments: a command name upper-cased (ASCII); a whole argument as a signed integer.
std::string upper(std::string s);
bool parse_int(const std::string& s, int64_t* out);

// The RESP error for a Status: type_mismatch -> WRONGTYPE, invalid_argument and
// too_large -> ERR, any other code upper-cased (UNAVAILABLE, TIMEOUT, OVERLOADED, ...).
std::string error_for(const Status& s);

}  // namespace shoal::api::resp
