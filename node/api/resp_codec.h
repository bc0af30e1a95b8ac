// RESP on the wire (the Redis serialization protocol, docs/resp.md): splitting a byte
// stream into commands, and encoding replies. What a command does is resp.h.
//
// Errors: the parser never throws; a stream it cannot read is kError with a Redis-style
// "Protocol error: ..." message, after which the connection must close.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace shoal::api::resp {

constexpr size_t kMaxArgs = 4096;              // per command
constexpr size_t kMaxBulkBytes = 4u << 20;     // per argument (values are <= 1 MiB)
constexpr size_t kMaxInlineBytes = 64u << 10;  // an inline command line

// Splits a byte stream into commands (multibulk arrays, or inline lines).
class Parser {
 public:
  enum class Next { kNeedMore, kCommand, kError };
  void feed(const char* data, size_t n);
  // kCommand: *args holds the next command. kError: *error says what is wrong; the
  // stream cannot be trusted after it (the connection is closed, as Redis does).
  Next next(std::vector<std::string>* args, std::string* error);

 private:
  Next inline_command(std::vector<std::string>* args, std::string* error);
  // Reads "<prefix><int>\r\n" at off_; false when incomplete.
  bool read_line_int(char prefix, int64_t* value, size_t* at, std::string* error, bool* bad);
  std::string buf_;
  size_t off_ = 0;
};

// Reply encodings.
std::string simple(std::string_view s);
std::string error(std::string_view s);  // s starts with the code: "ERR ...", "WRONGTYPE ..."
std::string integer(int64_t v);
std::string bulk(std::string_view s);
std::string null_bulk();
std::string array(const std::vector<std::string>& bulks);
// The RESP error for a Status: type_mismatch -> WRONGTYPE, invalid_argument and
// too_large -> ERR, any other code upper-cased (UNAVAILABLE, TIMEOUT, OVERLOADED, ...).
std::string error_for(const Status& s);

}  // namespace shoal::api::resp
