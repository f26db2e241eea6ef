// Shortest round-trip decimal forms of floats, laid out as Python's repr() and json.dumps()
// lay them out, so that a file written here looks like one pandas wrote.

#include <charconv>
#include <cmath>
#include <string>

#include "playaug/io.hpp"

namespace playaug {

namespace {

/// Python's float repr: the shortest digits that read back as the same value, in fixed
/// notation when the decimal exponent x satisfies -4 <= x < 16 ("0.0001", "100000.0",
/// "1.0"), otherwise in scientific notation with at least two exponent digits ("1e-05",
/// "1.5e+16"). Non-finite values as Python's json writes them: NaN, Infinity, -Infinity.
template <typename T>
void append_shortest(std::string& out, T v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-Infinity" : "Infinity";
    return;
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

  if (negative) out += '-';
  if (x >= 16 || x < -4) {
    out += digits[0];
    if (nd > 1) {
      out += '.';
      out.append(digits + 1, digits + nd);
    }
    out += 'e';
    out += exp_negative ? '-' : '+';
    if (x < 0) x = -x;
    if (x < 10) out += '0';
    char eb[8];
    const auto er = std::to_chars(eb, eb + sizeof eb, x);
    out.append(eb, er.ptr);
  } else if (x >= 0) {
    const int int_digits = x + 1;
    if (nd <= int_digits) {
      out.append(digits, digits + nd);
      out.append(static_cast<std::size_t>(int_digits - nd), '0');
      out += ".0";
    } else {
      out.append(digits, digits + int_digits);
      out += '.';
      out.append(digits + int_digits, digits + nd);
    }
  } else {
    out += "0.";
    out.append(static_cast<std::size_t>(-x - 1), '0');
    out.append(digits, digits + nd);
  }
}

}  // namespace

void append_float(std::string& out, float v) { append_shortest(out, v); }
void append_double(std::string& out, double v) { append_shortest(out, v); }

}  // namespace playaug
