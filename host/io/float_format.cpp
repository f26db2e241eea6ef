// Shortest round-trip decimal forms of floats, laid out as Python's repr() and json.dumps()
// lay them out, so that a file written here looks like one pandas wrote.
//
// Floats, the CSV writer's hot path, get their digits from a float-specific Schubfach
// search (R. Giulietti, "The Schubfach way to render doubles", 2020): three 64 x 64-bit
// products locate the rounding interval of the value scaled by a power of ten, and the
// result is the decimal with the fewest digits inside it, the closest to the value among
// those (ties to an even last digit): exactly what std::to_chars returns. Doubles go
// through std::to_chars. tests/cpu/test_float_format.cpp compares the two paths for floats.

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "io/float_format.hpp"
#include "playaug/io.hpp"

namespace playaug {

namespace {

// ---------------------------------------------------------------------------------------
// Layout

/// Python's float repr of the decimal 0.d1d2...dn x 10^(x+1): the digits `digits[0..nd)`
/// (no trailing zero unless nd == 1), leading digit at decimal exponent x. Fixed notation
/// when -4 <= x < 16 ("0.0001", "100000.0", "1.0"), otherwise scientific with at least two
/// exponent digits ("1e-05", "1.5e+16").
char* layout(char* o, bool negative, const char* digits, int nd, int x) noexcept {
  if (negative) *o++ = '-';
  if (x >= 16 || x < -4) {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      std::memcpy(o, digits + 1, static_cast<std::size_t>(nd - 1));
      o += nd - 1;
    }
    *o++ = 'e';
    *o++ = x < 0 ? '-' : '+';
    const int ax = x < 0 ? -x : x;
    if (ax >= 100) *o++ = static_cast<char>('0' + ax / 100);
    *o++ = static_cast<char>('0' + ax / 10 % 10);
    *o++ = static_cast<char>('0' + ax % 10);
  } else if (x >= 0) {
    const int int_digits = x + 1;
    if (nd <= int_digits) {
      std::memcpy(o, digits, static_cast<std::size_t>(nd));
      o += nd;
      for (int i = nd; i < int_digits; ++i) *o++ = '0';
      *o++ = '.';
      *o++ = '0';
    } else {
      std::memcpy(o, digits, static_cast<std::size_t>(int_digits));
      o += int_digits;
      *o++ = '.';
      std::memcpy(o, digits + int_digits, static_cast<std::size_t>(nd - int_digits));
      o += nd - int_digits;
    }
  } else {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -x - 1; ++i) *o++ = '0';
    std::memcpy(o, digits, static_cast<std::size_t>(nd));
    o += nd;
  }
  return o;
}

/// NaN, Infinity, -Infinity as Python's json writes them; nullptr for a finite value.
template <typename T>
char* write_non_finite(char* o, T v) noexcept {
  if (std::isnan(v)) {
    std::memcpy(o, "NaN", 3);
    return o + 3;
  }
  if (std::isinf(v)) {
    if (v < 0) *o++ = '-';
    std::memcpy(o, "Infinity", 8);
    return o + 8;
  }
  return nullptr;
}

/// The digits of std::to_chars' shortest scientific form ([-]d[.ddd]e(+|-)xx), laid out.
template <typename T>
char* write_with_to_chars(char* o, T v) noexcept {
  if (char* end = write_non_finite(o, v)) return end;
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const char* p = buf;
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
  for (; p < res.ptr; ++p) x = x * 10 + (*p - '0');
  return layout(o, negative, digits, nd, exp_negative ? -x : x);
}

// ---------------------------------------------------------------------------------------
// Shortest digits of a float (Schubfach)

/// A little-endian 256-bit unsigned integer, enough for 2^212 and 10^45: the table of
/// powers of ten below is computed with it at compile time.
struct wide {
  std::uint32_t w[8] = {};

  constexpr void mul_small(std::uint32_t m) {
    std::uint64_t carry = 0;
    for (auto& x : w) {
      const std::uint64_t t = std::uint64_t{x} * m + carry;
      x = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
  }
  constexpr void div_small(std::uint32_t d) {
    std::uint64_t rem = 0;
    for (int i = 7; i >= 0; --i) {
      const std::uint64_t t = (rem << 32) | w[i];
      w[i] = static_cast<std::uint32_t>(t / d);
      rem = t % d;
    }
  }
  constexpr int bit_length() const {
    for (int i = 7; i >= 0; --i) {
      if (w[i] != 0) {
        int b = 32;
        while ((w[i] >> (b - 1)) == 0) --b;
        return 32 * i + b;
      }
    }
    return 0;
  }
  /// floor(this / 2^shift) for a result below 2^64.
  constexpr std::uint64_t shifted_down(int shift) const {
    std::uint64_t r = 0;
    for (int bit = 63; bit >= 0; --bit) {
      const int src = bit + shift;
      if (src >= 0 && src < 256 && ((w[src / 32] >> (src % 32)) & 1u) != 0) r |= std::uint64_t{1} << bit;
    }
    return r;
  }
};

constexpr int kMinPow10 = -31;  // -k for the largest float exponent
constexpr int kMaxPow10 = 45;   // -k for the smallest subnormal

/// g(p) = floor(10^p * 2^(62 - floor(log2 10^p))) + 1, in [2^62, 2^63]: 10^p with 63
/// significant bits, rounded up, for p in [kMinPow10, kMaxPow10].
constexpr std::array<std::uint64_t, kMaxPow10 - kMinPow10 + 1> make_pow10_table() {
  std::array<std::uint64_t, kMaxPow10 - kMinPow10 + 1> table{};
  for (int p = kMinPow10; p <= kMaxPow10; ++p) {
    const int m = p < 0 ? -p : p;
    wide ten_m;  // 10^|p|
    ten_m.w[0] = 1;
    for (int i = 0; i < m; ++i) ten_m.mul_small(10);
    const int log2_ten_m = ten_m.bit_length() - 1;  // floor(log2 10^|p|)
    std::uint64_t g = 0;
    if (p >= 0) {
      // floor(10^p / 2^(log2_ten_m - 62))
      if (log2_ten_m >= 62) {
        g = ten_m.shifted_down(log2_ten_m - 62);
      } else {
        g = ten_m.shifted_down(0) << (62 - log2_ten_m);
      }
    } else {
      // floor(log2 10^p) = -(log2_ten_m + 1) as 10^p is not a power of two, so
      // g = floor(2^(63 + log2_ten_m) / 10^|p|), one exact division by 10 at a time.
      wide num;
      const int e = 63 + log2_ten_m;
      num.w[e / 32] = std::uint32_t{1} << (e % 32);
      for (int i = 0; i < m; ++i) num.div_small(10);
      g = num.shifted_down(0);
    }
    table[static_cast<std::size_t>(p - kMinPow10)] = g + 1;
  }
  return table;
}

constexpr auto kPow10 = make_pow10_table();

// floor(log10 2^q), floor(log10 (3/4 * 2^q)) and floor(log2 10^k) by multiply and shift,
// exact over the float exponents (and far beyond).
constexpr int floor_log10_pow2(int q) noexcept { return (q * 315653) >> 20; }
constexpr int floor_log10_three_quarters_pow2(int q) noexcept { return (q * 315653 - 131237) >> 20; }
constexpr int floor_log2_pow10(int k) noexcept { return (k * 1741647) >> 19; }

/// The high 64 bits of a * b.
inline std::uint64_t mul_high(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
  __extension__ using u128 = unsigned __int128;
  return static_cast<std::uint64_t>((static_cast<u128>(a) * b) >> 64);
#else
  const std::uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
  const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const std::uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

/// floor(g * cp / 2^95), with the lowest bit set when the quotient is inexact: the scaled
/// boundary rounded to odd, which compares with even integers as the exact value does.
inline std::uint64_t round_to_odd(std::uint64_t g, std::uint64_t cp) noexcept {
  const std::uint64_t x1 = mul_high(g, cp);
  return (x1 >> 31) | (((x1 & 0xFFFFFFFFu) + 0xFFFFFFFFu) >> 32);
}

/// A decimal digits x 10^exponent.
struct decimal {
  std::uint32_t digits;
  int exponent;
};

/// The shortest decimal that reads back as c * 2^q (c > 0, c < 2^24, q in [-149, 104]),
/// the closest one among several, ties to an even last digit.
inline decimal shortest(std::uint32_t c, int q) noexcept {
  // The rounding interval, in units of 2^(q-2): [cbl, cbr] around cb = 4c, closed when c
  // is even (ties round to even). Its lower half is half as wide at a power of two.
  const bool closer_below = c == (std::uint32_t{1} << 23) && q > -149;
  const std::uint64_t cb = std::uint64_t{c} << 2;
  const std::uint64_t cbr = cb + 2;
  const std::uint64_t cbl = closer_below ? cb - 1 : cb - 2;
  const std::uint64_t open = c & 1u;
  // k: the interval scaled by 10^-k is at least 1 and less than 10 wide, so it holds one
  // integer or more and at most one multiple of ten.
  const int k = closer_below ? floor_log10_three_quarters_pow2(q) : floor_log10_pow2(q);
  const int h = q + floor_log2_pow10(-k) + 33;  // 33..36
  const std::uint64_t g = kPow10[static_cast<std::size_t>(-k - kMinPow10)];
  const std::uint64_t vb = round_to_odd(g, cb << h);  // 4 * v * 10^-k, rounded to odd
  const std::uint64_t vbl = round_to_odd(g, cbl << h);
  const std::uint64_t vbr = round_to_odd(g, cbr << h);

  const std::uint64_t s = vb >> 2;
  if (s >= 10) {
    // One digit fewer: the multiples of ten around s.
    const std::uint64_t sp10 = s / 10 * 10;
    const std::uint64_t tp10 = sp10 + 10;
    const bool sp_in = vbl + open <= 4 * sp10;
    const bool tp_in = 4 * tp10 + open <= vbr;
    if (sp_in != tp_in) return {static_cast<std::uint32_t>(sp_in ? sp10 : tp10), k};
  }
  const std::uint64_t t = s + 1;
  const bool s_in = vbl + open <= 4 * s;
  const bool t_in = 4 * t + open <= vbr;
  if (s_in != t_in) return {static_cast<std::uint32_t>(s_in ? s : t), k};
  // Both inside: the closer one, ties to even.
  const std::uint64_t mid = 2 * (s + t);
  const bool take_s = vb < mid || (vb == mid && (s & 1u) == 0);
  return {static_cast<std::uint32_t>(take_s ? s : t), k};
}

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/// Decimal digits of d, 1 <= d < 10^9.
inline int decimal_length(std::uint32_t d) noexcept {
  static constexpr std::uint32_t kPowers[] = {1,      10,      100,      1000,      10000,
                                              100000, 1000000, 10000000, 100000000, 1000000000};
  const int bits = 32 - __builtin_clz(d);
  const int t = (bits * 1233) >> 12;  // floor(log10 2^bits): d has t or t + 1 digits
  return t + (d >= kPowers[t] ? 1 : 0);
}

/// Two digit characters of r < 100, the first in the low byte.
inline std::uint64_t digit_pair(std::uint32_t r) noexcept {
  std::uint16_t pair;
  std::memcpy(&pair, kDigitPairs + 2 * r, 2);
  return pair;
}

}  // namespace

namespace io_detail {

#if defined(__SIZEOF_INT128__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__

char* write_float(char* out, float v) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const bool negative = (bits >> 31) != 0;
  const std::uint32_t fraction = bits & 0x7FFFFFu;
  const std::uint32_t biased = (bits >> 23) & 0xFFu;
  if (biased == 0xFFu) return write_non_finite(out, v);
  if (biased == 0 && fraction == 0) {
    if (negative) *out++ = '-';
    std::memcpy(out, "0.0", 3);
    return out + 3;
  }
  const std::uint32_t c = biased != 0 ? fraction | (std::uint32_t{1} << 23) : fraction;
  const int q = biased != 0 ? static_cast<int>(biased) - 150 : -149;

  std::uint32_t digits;
  int exponent;
  if (biased != 0 && q <= 0 && q > -24 && ((c >> -q) << -q) == c) {
    // An integer below 2^24: its own digits are the shortest (its neighbours are at most
    // one apart, so no other decimal with as few digits is within half of that).
    digits = c >> -q;
    exponent = 0;
  } else {
    const decimal dec = shortest(c, q);
    digits = dec.digits;
    exponent = dec.exponent;
  }

  // The digit characters are assembled in registers and only stored into `out`: bytes
  // stored piecewise and loaded back whole would stall the store-to-load forwarding.
  // `low8`: the last eight of nine digits (leading zeros included), first in the low byte.
  __extension__ using u128 = unsigned __int128;
  const std::uint32_t top = digits / 100000000;
  const std::uint32_t rest = digits - top * 100000000;
  const std::uint32_t hi = rest / 10000;
  const std::uint32_t lo = rest - hi * 10000;
  const std::uint64_t low8 = digit_pair(hi / 100) | digit_pair(hi % 100) << 16 | digit_pair(lo / 100) << 32 |
                             digit_pair(lo % 100) << 48;
  const int length = decimal_length(digits);
  // Trailing '0' characters, from the top byte down (never the first digit, not a zero).
  const std::uint64_t zero_mask = low8 ^ 0x3030303030303030u;
  const int zeros = zero_mask == 0 ? 8 : __builtin_clzll(zero_mask) / 8;
  const int nd = length - zeros;
  const int x = exponent + length - 1;  // decimal exponent of the first digit
  // The significant digits (then the dropped zeros, then zero bytes) from byte 0.
  const u128 nine = static_cast<u128>('0' + top) | static_cast<u128>(low8) << 8;
  const u128 text = nine >> (8 * (9 - length));

  // Python's repr layout (see layout()); `out` has max_float_chars bytes of room, so the
  // 16-byte stores may run past the text.
  char* o = out;
  if (negative) *o++ = '-';
  if (x >= 16 || x < -4) {
    o[0] = static_cast<char>(text);
    if (nd > 1) {
      o[1] = '.';
      const u128 tail = text >> 8;
      std::memcpy(o + 2, &tail, 16);
      o += nd + 1;
    } else {
      o += 1;
    }
    o[0] = 'e';
    o[1] = x < 0 ? '-' : '+';
    std::memcpy(o + 2, kDigitPairs + 2 * (x < 0 ? -x : x), 2);  // 05..45
    return o + 4;
  }
  if (x >= 0) {
    const int int_digits = x + 1;
    std::memcpy(o, &text, 16);
    if (nd <= int_digits) {
      std::memset(o + nd, '0', 16);
      o += int_digits;
      o[0] = '.';
      o[1] = '0';
      return o + 2;
    }
    o[int_digits] = '.';
    const u128 tail = text >> (8 * int_digits);
    std::memcpy(o + int_digits + 1, &tail, 16);
    return o + nd + 1;
  }
  std::memcpy(o, "0.0000", 6);
  o += 1 - x;  // "0." and -x - 1 zeros
  std::memcpy(o, &text, 16);
  return o + nd;
}

#else

char* write_float(char* out, float v) noexcept { return write_with_to_chars(out, v); }

#endif

char* write_double(char* out, double v) noexcept { return write_with_to_chars(out, v); }

char* write_float_with_to_chars(char* out, float v) noexcept { return write_with_to_chars(out, v); }

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
