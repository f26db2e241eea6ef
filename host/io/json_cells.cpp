#include "io/json_cells.hpp"

#include "io/utf8.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <system_error>

namespace playaug::io_detail {

namespace {

inline bool is_ws(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

inline const char* skip_ws(const char* p, const char* e) noexcept {
  while (p < e && is_ws(*p)) ++p;
  return p;
}

/// Reads one cell; every error names the offset from the start of the cell.
class cursor {
 public:
  explicit cursor(std::string_view cell) : b_(cell.data()), p_(cell.data()), e_(cell.data() + cell.size()) {}

  [[noreturn]] void fail_at(const char* at, std::string msg) const {
    throw cell_error(static_cast<std::size_t>(at - b_), std::move(msg));
  }
  [[noreturn]] void fail(std::string msg) const { fail_at(p_, std::move(msg)); }

  /// "'x'" for the character under the cursor, "the end of the cell" at the end.
  std::string found() const {
    if (p_ == e_) return "the end of the cell";
    const unsigned char c = static_cast<unsigned char>(*p_);
    if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
    static const char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
  }

  void ws() noexcept { p_ = skip_ws(p_, e_); }
  bool at_end() const noexcept { return p_ == e_; }
  bool peek(char c) const noexcept { return p_ < e_ && *p_ == c; }
  void advance() noexcept { ++p_; }
  void expect(char c, const char* what) {
    if (!peek(c)) fail_expected(what);
    ++p_;
  }
  [[noreturn]] [[gnu::cold]] [[gnu::noinline]] void fail_expected(const char* what) const {
    fail(std::string("expected ") + what + ", found " + found());
  }
  /// Consume the literal `null` when it is next.
  bool take_null() {
    if (!peek('n')) return false;
    if (e_ - p_ < 4 || std::memcmp(p_, "null", 4) != 0) fail("expected null, found " + found());
    p_ += 4;
    return true;
  }
  /// After a list element: at ',' consume it (and the space after it) and return true; at
  /// ']' consume it and return false; anything else fails with "expected ',' or ']' after
  /// <what()>". `what` builds its text only on failure.
  template <typename What>
  bool next_element(What&& what) {
    ws();
    if (peek(',')) {
      ++p_;
      ws();
      return true;
    }
    if (peek(']')) {
      ++p_;
      return false;
    }
    fail_separator(what());
  }
  [[noreturn]] [[gnu::cold]] [[gnu::noinline]] void fail_separator(const std::string& after) const {
    fail("expected ',' or ']' after " + after + ", found " + found());
  }
  /// The cell must end here (JSON whitespace aside).
  void finish() {
    ws();
    if (p_ != e_) fail("unexpected " + found() + " after the end of the list");
  }

  /// Scan one JSON number (RFC 8259 grammar) and return its end.
  const char* scan_number(const char* what) {
    const char* p = p_;
    if (p < e_ && *p == '-') ++p;
    if (p == e_ || !is_digit(*p)) {
      if (p == p_) fail(std::string("expected ") + what + ", found " + found());
      fail_at(p, "expected a digit after '-'");
    }
    if (*p == '0') {
      ++p;
      if (p < e_ && is_digit(*p)) fail_at(p_, "invalid number: leading zero");
    } else {
      while (p < e_ && is_digit(*p)) ++p;
    }
    if (p < e_ && *p == '.') {
      ++p;
      if (p == e_ || !is_digit(*p)) fail_at(p, "invalid number: expected a digit after '.'");
      while (p < e_ && is_digit(*p)) ++p;
    }
    if (p < e_ && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p < e_ && (*p == '+' || *p == '-')) ++p;
      if (p == e_ || !is_digit(*p)) fail_at(p, "invalid number: expected a digit in the exponent");
      while (p < e_ && is_digit(*p)) ++p;
    }
    return p;
  }

  /// A float32 number. `where` describes it for range errors ("song 2, feature 5").
  ///
  /// Fast path (Clinger): when the decimal significand w fits in 24 bits and the decimal
  /// exponent k in [-10, 10], both w and 10^|k| are exact floats, so one IEEE division or
  /// multiplication gives the correctly rounded result, as from_chars would. Everything
  /// else, and every malformed number, takes the general path.
  template <typename Where>
  float number(Where&& where) {
    static constexpr float pow10[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
    const char* p = p_;
    const bool negative = p < e_ && *p == '-';
    if (negative) ++p;
    std::uint32_t w = 0;
    int digits = 0;  // significant digits in w
    int exp10 = 0;
    if (p < e_ && *p >= '1' && *p <= '9') {
      do {
        w = w * 10 + static_cast<std::uint32_t>(*p - '0');
        ++p;
        if (++digits > 8) return number_general(where);
      } while (p < e_ && is_digit(*p));
    } else if (p < e_ && *p == '0' && !(p + 1 < e_ && is_digit(p[1]))) {
      ++p;
    } else {
      return number_general(where);
    }
    if (p < e_ && *p == '.') {
      ++p;
      if (p == e_ || !is_digit(*p)) return number_general(where);
      do {
        w = w * 10 + static_cast<std::uint32_t>(*p - '0');
        ++p;
        --exp10;
        if (w != 0 && ++digits > 8) return number_general(where);
      } while (p < e_ && is_digit(*p));
    }
    if (p < e_ && (*p == 'e' || *p == 'E')) {
      ++p;
      bool exp_negative = false;
      if (p < e_ && (*p == '+' || *p == '-')) exp_negative = *p++ == '-';
      if (p == e_ || !is_digit(*p)) return number_general(where);
      int x = 0;
      do {
        x = x * 10 + (*p - '0');
        ++p;
        if (x > 100) return number_general(where);
      } while (p < e_ && is_digit(*p));
      exp10 += exp_negative ? -x : x;
    }
    if (w > (std::uint32_t{1} << 24) || exp10 < -10 || exp10 > 10) return number_general(where);
    float v = static_cast<float>(w);
    v = exp10 < 0 ? v / pow10[-exp10] : v * pow10[exp10];
    p_ = p;
    return negative ? -v : v;
  }

  /// Any JSON number, through std::from_chars; reports malformed and out-of-range ones.
  template <typename Where>
  [[gnu::noinline]] float number_general(Where&& where) {
    const char* s = p_;
    const char* t = scan_number("a number");
    float v = 0.0f;
    const auto r = std::from_chars(s, t, v);
    if (r.ec == std::errc::result_out_of_range) {
      if (exceeds_float(s, t)) {
        throw cell_error(static_cast<std::size_t>(s - b_),
                         "number " + token_text(s, t) + " is out of float32 range (" + where() + ")", false);
      }
      v = *s == '-' ? -0.0f : 0.0f;  // too small for float32: rounds to zero
    } else if (r.ec != std::errc() || r.ptr != t) {
      fail_at(s, "invalid number " + token_text(s, t));
    }
    p_ = t;
    return v;
  }

  template <typename Where>
  std::int32_t integer(Where&& where) {
    const char* s = p_;
    const char* t = scan_number("an integer");
    for (const char* q = s; q < t; ++q) {
      if (*q == '.' || *q == 'e' || *q == 'E') fail_at(s, "expected an integer, found " + token_text(s, t));
    }
    std::int32_t v = 0;
    const auto r = std::from_chars(s, t, v);
    if (r.ec == std::errc::result_out_of_range) {
      throw cell_error(static_cast<std::size_t>(s - b_),
                       "integer " + token_text(s, t) + " is out of int32 range (" + where() + ")", false);
    }
    if (r.ec != std::errc() || r.ptr != t) fail_at(s, "invalid integer " + token_text(s, t));
    p_ = t;
    return v;
  }

  /// One JSON string literal, decoded to UTF-8 and appended to `out`.
  void string(std::string& out) {
    expect('"', "a string");
    for (;;) {
      const char* q = p_;
      while (q < e_ && *q != '"' && *q != '\\' && static_cast<unsigned char>(*q) >= 0x20) ++q;
      // A multi-byte sequence never holds a quote, a backslash or a control byte, so each
      // run between them is valid UTF-8 on its own.
      const std::size_t bad = invalid_utf8(std::string_view(p_, static_cast<std::size_t>(q - p_)));
      if (bad != std::string_view::npos) {
        fail_at(p_ + bad, invalid_utf8_byte(p_[bad]) + " inside a string (strings must be UTF-8)");
      }
      out.append(p_, q);
      p_ = q;
      if (p_ == e_) fail("unterminated string");
      const char c = *p_;
      if (c == '"') {
        ++p_;
        return;
      }
      if (c != '\\') fail("control character " + found() + " inside a string (escape it)");
      ++p_;
      if (p_ == e_) fail("unterminated string");
      switch (*p_++) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': unicode_escape(out); break;
        default: fail_at(p_ - 2, "invalid escape sequence in a string");
      }
    }
  }

  const char* pos() const noexcept { return p_; }

 private:
  static std::string token_text(const char* s, const char* t) {
    constexpr std::ptrdiff_t max = 40;
    if (t - s <= max) return std::string(s, t);
    return std::string(s, s + max) + "...";
  }

  /// True when the decimal number [s, t) is larger in magnitude than any float (as
  /// opposed to smaller than the least subnormal): from_chars reports both as out of range.
  static bool exceeds_float(const char* s, const char* t) {
    const char* p = s;
    if (*p == '-') ++p;
    // Decimal exponent of the leading significant digit: value ~ 10^(lead + exp).
    long lead = 0;
    bool seen = false;
    long int_digits = 0;
    for (; p < t && is_digit(*p); ++p) {
      if (*p != '0' || seen) {
        seen = true;
        ++int_digits;
      }
    }
    if (seen) {
      lead = int_digits - 1;
    } else if (p < t && *p == '.') {
      long zeros = 0;
      for (++p; p < t && *p == '0'; ++p) ++zeros;
      lead = -zeros - 1;
    }
    while (p < t && *p != 'e' && *p != 'E') ++p;
    long exp = 0;
    if (p < t) {
      ++p;
      bool neg = false;
      if (*p == '+' || *p == '-') neg = *p++ == '-';
      for (; p < t; ++p) {
        if (exp < 100000000) exp = exp * 10 + (*p - '0');
      }
      if (neg) exp = -exp;
    }
    return lead + exp > 0;
  }

  unsigned hex4() {
    if (e_ - p_ < 4) fail("incomplete \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else fail_at(p_ - 1, "invalid hex digit in a \\u escape");
    }
    return v;
  }

  void unicode_escape(std::string& out) {
    const char* start = p_ - 2;
    unsigned cp = hex4();
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (e_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') fail_at(start, "unpaired surrogate in a \\u escape");
      p_ += 2;
      const unsigned lo = hex4();
      if (lo < 0xDC00 || lo > 0xDFFF) fail_at(start, "unpaired surrogate in a \\u escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      fail_at(start, "unpaired surrogate in a \\u escape");
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  const char* b_;
  const char* p_;
  const char* e_;
};

}  // namespace

features_cell parse_features_cell(std::string_view cell, std::size_t& dim, buffer<float>& out) {
  cursor c(cell);
  features_cell res;
  c.ws();
  if (c.at_end()) c.fail("empty cell, expected a list of songs such as [[0.5, 0.1]] or [null]");
  c.expect('[', "'[' starting the list of songs");
  c.ws();
  if (c.peek(']')) {
    c.advance();
    c.finish();
    return res;
  }
  if (c.take_null()) {
    c.ws();
    if (!c.peek(']')) c.fail("[null] must be the whole cell; found " + c.found() + " after null");
    c.advance();
    c.finish();
    res.is_null = true;
    return res;
  }
  for (;;) {
    const std::size_t song = res.songs + 1;
    const char* song_start = c.pos();
    if (c.peek('n')) c.fail("null is only valid as the whole cell [null] (song " + std::to_string(song) + ")");
    if (!c.peek('[')) c.fail("expected '[' starting song " + std::to_string(song) + ", found " + c.found());
    c.advance();
    c.ws();
    if (c.peek(']')) {
      throw cell_error(static_cast<std::size_t>(song_start - cell.data()),
                       "song " + std::to_string(song) + " has no features", false);
    }
    std::size_t n = 0;
    for (;;) {
      const float v = c.number([&] {
        return "song " + std::to_string(song) + ", feature " + std::to_string(n + 1);
      });
      out.push_back(v);
      ++n;
      if (!c.next_element([&] { return "feature " + std::to_string(n) + " of song " + std::to_string(song); })) break;
    }
    if (dim == 0) {
      dim = n;
    } else if (n != dim) {
      throw cell_error(static_cast<std::size_t>(song_start - cell.data()),
                       "song " + std::to_string(song) + " has " + std::to_string(n) + " features, expected " +
                           std::to_string(dim),
                       false);
    }
    ++res.songs;
    if (!c.next_element([&] { return "song " + std::to_string(song); })) break;
  }
  c.finish();
  return res;
}

std::size_t parse_moods_cell(std::string_view cell, std::vector<std::int32_t>& moods,
                             std::vector<std::uint64_t>& mood_offsets) {
  cursor c(cell);
  c.ws();
  if (c.at_end()) c.fail("empty cell, expected a list of mood segments such as [[22], [20]]");
  c.expect('[', "'[' starting the list of segments");
  c.ws();
  std::size_t segments = 0;
  if (c.peek(']')) {
    c.advance();
    c.finish();
    return 0;
  }
  for (;;) {
    const std::size_t seg = segments + 1;
    if (!c.peek('[')) c.fail("expected '[' starting segment " + std::to_string(seg) + ", found " + c.found());
    c.advance();
    c.ws();
    std::size_t n = 0;
    if (c.peek(']')) {
      c.advance();
    } else {
      for (;;) {
        moods.push_back(c.integer([&] {
          return "segment " + std::to_string(seg) + ", mood " + std::to_string(n + 1);
        }));
        ++n;
        if (!c.next_element([&] { return "mood " + std::to_string(n) + " of segment " + std::to_string(seg); })) {
          break;
        }
      }
    }
    mood_offsets.push_back(moods.size());
    ++segments;
    if (!c.next_element([&] { return "segment " + std::to_string(seg); })) break;
  }
  c.finish();
  return segments;
}

std::size_t parse_string_list_cell(std::string_view cell, std::vector<std::string>& out, bool& is_null) {
  cursor c(cell);
  is_null = false;
  c.ws();
  if (c.at_end()) c.fail("empty cell, expected a list of strings such as [\"id1\", \"id2\"]");
  c.expect('[', "'[' starting a list of strings");
  c.ws();
  if (c.peek(']')) {
    c.advance();
    c.finish();
    return 0;
  }
  if (c.take_null()) {
    c.ws();
    if (!c.peek(']')) c.fail("[null] must be the whole cell; found " + c.found() + " after null");
    c.advance();
    c.finish();
    is_null = true;
    return 0;
  }
  std::size_t n = 0;
  for (;;) {
    out.emplace_back();
    c.string(out.back());
    ++n;
    if (!c.next_element([&] { return "string " + std::to_string(n); })) break;
  }
  c.finish();
  return n;
}

void append_json_string(std::string& out, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace playaug::io_detail
