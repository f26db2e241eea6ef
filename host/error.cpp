#include "playaug/error.hpp"

namespace playaug {

namespace detail {

namespace {

/// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms,
/// no surrogates, nothing above U+10FFFF), with its code point; 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
    cp = b & 0x1Fu;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    cp = b & 0x0Fu;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    cp = b & 0x07u;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned char c = byte(i + k);
    if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return 0;
    cp = (cp << 6) | (c & 0x3Fu);
  }
  return len;
}

/// Code points that are valid but must not reach a terminal as they are: C1 controls and
/// the invisible marks that reorder or split what follows them.
bool hidden_code_point(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

const char hex_digits[] = "0123456789ABCDEF";

void append_byte_escape(std::string& out, unsigned char b) {
  switch (b) {
    case 0x1B: out += "\\e"; return;
    case '\t': out += "\\t"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    default:
      out += "\\x";
      out += hex_digits[b >> 4];
      out += hex_digits[b & 15];
  }
}

void append_code_point_escape(std::string& out, char32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += hex_digits[(cp >> shift) & 15];
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_chars) {
  std::string out;
  out.reserve(text.size() < 256 ? text.size() : 256);
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (chars == max_chars) {
      out += "... (" + std::to_string(text.size()) + " bytes)";
      return out;
    }
    const unsigned char b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      if (b < 0x20 || b == 0x7F) {
        append_byte_escape(out, b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
    } else {
      char32_t cp = 0;
      const std::size_t len = utf8_sequence(text, i, cp);
      if (len == 0) {
        append_byte_escape(out, b);
        ++i;
      } else {
        if (hidden_code_point(cp)) {
          append_code_point_escape(out, cp);
        } else {
          out.append(text.substr(i, len));
        }
        i += len;
      }
    }
    ++chars;
  }
  return out;
}

}  // namespace detail

namespace {
std::string format_data_error(const std::string& file, std::uint64_t line, const std::string& message,
                              const std::string& playlist) {
  std::string s = detail::printable(file, detail::printable_no_limit);
  if (line != 0) s += ":" + std::to_string(line);
  s += ": " + detail::printable(message, detail::printable_no_limit);
  if (!playlist.empty()) s += " (playlist '" + detail::printable(playlist) + "')";
  return s;
}
}  // namespace

data_error::data_error(std::string file, std::uint64_t line, std::string message, std::string playlist)
    : error(format_data_error(file, line, message, playlist)),
      file_(std::move(file)),
      line_(line),
      message_(std::move(message)),
      playlist_(std::move(playlist)) {}

cuda_unavailable::cuda_unavailable(reason_t why, const std::string& detail)
    : error(why == reason_t::not_built
                ? "CUDA requested, but this playaug was built without CUDA" +
                      (detail.empty() ? std::string() : " (" + detail + ")")
                : "CUDA requested, but no usable CUDA device was found" +
                      (detail.empty() ? std::string() : " (" + detail + ")")),
      why_(why) {}

}  // namespace playaug
