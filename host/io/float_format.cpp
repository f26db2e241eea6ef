// Shortest round-trip decimal forms of floats, laid out as Python's repr() and json.dumps()
// lay them out, so that a file written here looks like one pandas wrote.

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "io/float_format.hpp"
#include "playaug/io.hpp"

namespace playaug {

namespace {

/// Python's float repr: the shortest digits that read back as the same value, in fixed
/// notation when the decimal exponent x satisfies -4 <= x < 16 ("0.0001", "100000.0",
/// "1.0"), otherwise in scientific notation with at least two exponent digits ("1e-05",
/// "1.5e+16"). Non-finite values as Python's json writes them: NaN, Infinity, -Infinity.
template <typename T>
char* write_shortest(char* o, T v) noexcept {
  if (std::isnan(v)) {
    std::memcpy(o, "NaN", 3);
    return o + 3;
  }
  if (std::isinf(v)) {
    if (v < 0) *o++ = '-';
    std::memcpy(o, "Infinity", 8);
    return o + 8;
  }
  // to_chars in scientific form gives the shortest round-trip digits: [-]d[.ddd]e(+|-)xx
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const char* p = buf;
  const char* const end = res.ptr;
  char digits[32];
  int nd = 0;
  const bool negative = *p == '-';
  if (negative) ++p;
  digits[nd++] = *p++;
  if (*p == '.') {
    for (++p; *p != 'e'; ++p) digits[nd++] = *p;
  }
  ++p;  // 'e'
  const bool exp_negative = *p == '-';
  ++p;  // sign
  int x = 0;
  for (; p < end; ++p) x = x * 10 + (*p - '0');
  if (exp_negative) x = -x;

  if (negative) *o++ = '-';
  if (x >= 16 || x < -4) {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      for (int i = 1; i < nd; ++i) *o++ = digits[i];
    }
    *o++ = 'e';
    *o++ = exp_negative ? '-' : '+';
    const int ax = x < 0 ? -x : x;
    if (ax < 10) *o++ = '0';
    if (ax >= 100) *o++ = static_cast<char>('0' + ax / 100);
    if (ax >= 10) *o++ = static_cast<char>('0' + ax / 10 % 10);
    *o++ = static_cast<char>('0' + ax % 10);
  } else if (x >= 0) {
    const int int_digits = x + 1;
    for (int i = 0; i < int_digits; ++i) *o++ = i < nd ? digits[i] : '0';
    *o++ = '.';
    if (nd <= int_digits) {
      *o++ = '0';
    } else {
      for (int i = int_digits; i < nd; ++i) *o++ = digits[i];
    }
  } else {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -x - 1; ++i) *o++ = '0';
    for (int i = 0; i < nd; ++i) *o++ = digits[i];
  }
  return o;
}

}  // namespace

namespace io_detail {

char* write_float(char* out, float v) noexcept { return write_shortest(out, v); }
char* write_double(char* out, double v) noexcept { return write_shortest(out, v); }

}  // namespace io_detail

void append_float(std::string& out, float v) {
  char text[io_detail::max_float_chars];
  out.append(text, static_cast<std::size_t>(io_detail::write_float(text, v) - text));
}

void append_double(std::string& out, double v) {
  char text[io_detail::max_float_chars];
  out.append(text, static_cast<std::size_t>(io_detail::write_double(text, v) - text));
}

}  // namespace playaug
