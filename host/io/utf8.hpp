#pragma once
// UTF-8 validation (RFC 3629): the identifiers of a dataset must be valid UTF-8, because
// they are written into JSON (model files) and read back by pandas (docs/data-format.md).

#include <cstddef>
#include <string>
#include <string_view>

namespace playaug::io_detail {

/// Offset of the first byte of `s` that does not start (or continue) a well-formed UTF-8
/// sequence: overlong forms, surrogates (U+D800..U+DFFF), code points above U+10FFFF and
/// truncated sequences are ill-formed. npos when `s` is valid.
inline std::size_t invalid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

/// "invalid UTF-8 byte 0xff" for byte `c`.
inline std::string invalid_utf8_byte(char c) {
  static const char hex[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  return std::string("invalid UTF-8 byte 0x") + hex[u >> 4] + hex[u & 15];
}

/// "invalid UTF-8 byte 0xff at byte 3" for the first problem of `s` (see invalid_utf8),
/// or an empty string when `s` is valid.
inline std::string utf8_problem(std::string_view s) {
  const std::size_t at = invalid_utf8(s);
  if (at == std::string_view::npos) return {};
  return invalid_utf8_byte(s[at]) + " at byte " + std::to_string(at + 1);
}

}  // namespace playaug::io_detail
