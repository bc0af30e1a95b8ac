#include "node/api/json.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <tuple>

namespace shoal::json {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  Status value(Value* out, int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    skip();
    if (i_ >= s_.size()) return fail("unexpected end");
    const char c = s_[i_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out->type = Value::Type::kString;
      return string(&out->string);
    }
    if (c == 't' || c == 'f' || c == 'n') return literal(out);
    return number(out);
  }

  Status end() {
    skip();
    return i_ == s_.size() ? Status::ok() : fail("trailing characters");
  }

 private:
  Status fail(const std::string& what) const {
    return Status::invalid_argument("malformed JSON at byte " + std::to_string(i_) + ": " + what);
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  Status object(Value* out, int depth) {
    out->type = Value::Type::kObject;
    ++i_;
    if (eat('}')) return Status::ok();
    do {
      skip();
      std::string key;
      if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a key");
      SHOAL_RETURN_IF_ERROR(string(&key));
      if (!eat(':')) return fail("expected ':'");
      SHOAL_RETURN_IF_ERROR(value(&out->object[key], depth + 1));
    } while (eat(','));
    return eat('}') ? Status::ok() : fail("expected '}'");
  }

  Status array(Value* out, int depth) {
    out->type = Value::Type::kArray;
    ++i_;
    if (eat(']')) return Status::ok();
    do {
      out->array.emplace_back();
      SHOAL_RETURN_IF_ERROR(value(&out->array.back(), depth + 1));
    } while (eat(','));
    return eat(']') ? Status::ok() : fail("expected ']'");
  }

  Status literal(Value* out) {
    for (auto [word, type, b] : {std::tuple{"true", Value::Type::kBool, true},
                                 std::tuple{"false", Value::Type::kBool, false},
                                 std::tuple{"null", Value::Type::kNull, false}}) {
      const std::string_view w(word);
      if (s_.substr(i_, w.size()) == w) {
        i_ += w.size();
        out->type = type;
        out->boolean = b;
        return Status::ok();
      }
    }
    return fail("unknown literal");
  }

  Status number(Value* out) {
    const size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    bool integral = true;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' ||
                              s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-')) {
      if (!std::isdigit(static_cast<unsigned char>(s_[i_]))) integral = false;
      ++i_;
    }
    const std::string text(s_.substr(start, i_ - start));
    if (text.empty() || text == "-") return fail("expected a value");
    char* end = nullptr;
    errno = 0;
    out->number = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) return fail("bad number");
    out->type = Value::Type::kNumber;
    if (integral) {
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out->integer);
      out->integral = ec == std::errc() && p == text.data() + text.size();
    }
    return Status::ok();
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  void utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  Status unicode(std::string* out) {
    auto read4 = [&](uint32_t* cp) {
      if (s_.size() - i_ < 4) return false;
      *cp = 0;
      for (int k = 0; k < 4; ++k) {
        const int h = hex(s_[i_ + k]);
        if (h < 0) return false;
        *cp = *cp * 16 + static_cast<uint32_t>(h);
      }
      i_ += 4;
      return true;
    };
    uint32_t cp = 0;
    if (!read4(&cp)) return fail("bad \\u escape");
    if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
      uint32_t low = 0;
      if (s_.substr(i_, 2) != "\\u") return fail("lone surrogate");
      i_ += 2;
      if (!read4(&low) || low < 0xDC00 || low > 0xDFFF) return fail("bad surrogate pair");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp < 0xE000) {
      return fail("lone surrogate");
    }
    utf8(cp, out);
    return Status::ok();
  }

  Status string(std::string* out) {
    ++i_;  // the opening quote
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return Status::ok();
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) break;
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u':
          SHOAL_RETURN_IF_ERROR(unicode(out));
          break;
        default:
          return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<Value> parse(std::string_view text) {
  Reader r(text);
  Value v;
  SHOAL_RETURN_IF_ERROR(r.value(&v, 0));
  SHOAL_RETURN_IF_ERROR(r.end());
  return v;
}

}  // namespace shoal::json
