// The float formatter's own shortest-digit search against std::to_chars: both are laid out
// the same way (Python's repr), so the texts must be equal for every float. A few million
// chosen and random floats run always; all 2^32 bit patterns run when the environment sets
// PLAYAUG_EXHAUSTIVE_FLOAT=1 (a few minutes on two cores).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "io/float_format.hpp"
#include "playaug/io.hpp"

namespace {

using playaug::io_detail::max_float_chars;
using playaug::io_detail::write_float;
using playaug::io_detail::write_float_with_to_chars;

float from_bits(std::uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

/// Compares the two formatters on `bits`; on a mismatch returns a description.
std::string mismatch(std::uint32_t bits) {
  const float v = from_bits(bits);
  char fast[max_float_chars];
  char ref[max_float_chars];
  const std::string a(fast, write_float(fast, v));
  const std::string b(ref, write_float_with_to_chars(ref, v));
  if (a == b) return {};
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", bits);
  return std::string("bits ") + hex + ": " + a + " vs to_chars " + b;
}

/// Compares the formatters on every bit pattern of `all`; reports the first few mismatches.
template <typename Bits>
void expect_same(const Bits& all, const char* what) {
  int failures = 0;
  for (const std::uint32_t bits : all) {
    const std::string m = mismatch(bits);
    if (!m.empty()) {
      ADD_FAILURE() << what << ": " << m;
      if (++failures == 10) return;
    }
  }
}

TEST(IoFloatFormat, ShortestDigitsMatchToCharsOnDenseRanges) {
  std::vector<std::uint32_t> bits;
  // Every float in [0.5, 0.5625), a window of plain short decimals, and every 31st
  // subnormal (the widest relative rounding intervals).
  for (std::uint32_t b = 0x3F000000u; b < 0x3F100000u; ++b) bits.push_back(b);
  for (std::uint32_t b = 1; b < 0x00800000u; b += 31) bits.push_back(b);
  for (std::uint32_t b = 0x00800000u - 1000; b < 0x00800000u + 1000; ++b) bits.push_back(b);  // subnormal edge
  expect_same(bits, "dense");
}

TEST(IoFloatFormat, ShortestDigitsMatchToCharsAtEveryExponent) {
  std::mt19937 rng(17);
  std::vector<std::uint32_t> bits;
  for (std::uint32_t e = 0; e < 255; ++e) {
    // Powers of two (the narrower interval below), their neighbours, the last mantissa,
    // and random mantissas, both signs.
    for (std::uint32_t m : {0u, 1u, 2u, 3u, 0x7FFFFEu, 0x7FFFFFu, 0x400000u}) {
      bits.push_back(e << 23 | m);
      bits.push_back(0x80000000u | e << 23 | m);
    }
    for (int i = 0; i < 200; ++i) bits.push_back((rng() & 0x80000000u) | e << 23 | (rng() & 0x7FFFFFu));
  }
  expect_same(bits, "exponents");
}

TEST(IoFloatFormat, ShortestDigitsMatchToCharsOnShortDecimals) {
  // What data files hold: numbers with few significant digits at every scale, the floats
  // nearest to them and their neighbours.
  std::vector<std::uint32_t> bits;
  auto add = [&bits](float v) {
    std::uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    bits.push_back(b);
    bits.push_back(b + 1);
    if (b != 0) bits.push_back(b - 1);
  };
  for (int i = 0; i <= 1000000; i += 1) add(static_cast<float>(i / 1000.0));
  std::mt19937 rng(5);
  for (int i = 0; i < 200000; ++i) {
    const int digits = 1 + static_cast<int>(rng() % 9);
    std::uint32_t d = rng() % 1000000000u;
    for (int k = digits; k < 9; ++k) d /= 10;
    const int e = static_cast<int>(rng() % 90) - 50;
    add(std::strtof((std::to_string(d) + "e" + std::to_string(e)).c_str(), nullptr));
  }
  expect_same(bits, "short decimals");
}

TEST(IoFloatFormat, ShortestDigitsMatchToCharsOnRandomBits) {
  std::mt19937 rng(2024);
  std::vector<std::uint32_t> bits(1000000);
  for (auto& b : bits) b = rng();
  expect_same(bits, "random");
}

TEST(IoFloatFormat, StaysInsideItsRoom) {
  // write_float may store up to max_float_chars bytes; the text itself is at most 19
  // ("-1234567800000000.0"). Canaries after the room must survive the longest forms.
  const float values[] = {-1.2345678e15f, -9.9999994e15f, -1.2345678e-5f, -0.00012345678f, -1.2345678e-38f,
                          -1.17549435e-38f, -3.4028235e38f, -1e-45f, -123456.79f, -0.0f, 16777215.0f};
  for (const float v : values) {
    char buf[max_float_chars + 8];
    std::memset(buf, '#', sizeof buf);
    char* end = write_float(buf, v);
    EXPECT_LE(end - buf, 19) << v;
    for (std::size_t i = max_float_chars; i < sizeof buf; ++i) EXPECT_EQ(buf[i], '#') << v;
    char ref[max_float_chars];
    EXPECT_EQ(std::string(buf, end), std::string(ref, write_float_with_to_chars(ref, v)));
  }
}

TEST(IoFloatFormat, ExhaustiveAgainstToChars) {
  const char* env = std::getenv("PLAYAUG_EXHAUSTIVE_FLOAT");
  if (env == nullptr || std::string(env) != "1") {
    GTEST_SKIP() << "set PLAYAUG_EXHAUSTIVE_FLOAT=1 to compare all 2^32 floats with std::to_chars";
  }
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint32_t> first_bad{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::uint64_t b = t; b <= 0xFFFFFFFFu; b += threads) {
        const float v = from_bits(static_cast<std::uint32_t>(b));
        char fast[max_float_chars];
        char ref[max_float_chars];
        char* a = write_float(fast, v);
        char* r = write_float_with_to_chars(ref, v);
        if (a - fast != r - ref || std::memcmp(fast, ref, static_cast<std::size_t>(a - fast)) != 0) {
          if (failures.fetch_add(1) == 0) first_bad = static_cast<std::uint32_t>(b);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(failures.load(), 0u) << mismatch(first_bad.load());
}

}  // namespace
