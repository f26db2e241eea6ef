// Philox4x32-10 against the Random123 known-answer vectors, and the cuRAND word layout.

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "playaug/random.hpp"
#include "test_support.hpp"

namespace {

using playaug::u32x4;

struct kat {
  u32x4 ctr;
  std::uint32_t k0, k1;
  u32x4 expected;
};

std::vector<kat> read_kats(const std::string& path, int rounds) {
  std::ifstream in(path);
  std::vector<kat> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string name;
    int r = 0;
    if (!(ss >> name >> r) || name != "philox4x32" || r != rounds) continue;
    std::uint32_t v[10];
    bool ok = true;
    for (auto& x : v) {
      std::string tok;
      if (!(ss >> tok)) { ok = false; break; }
      x = static_cast<std::uint32_t>(std::stoul(tok, nullptr, 16));
    }
    if (ok) out.push_back({{v[0], v[1], v[2], v[3]}, v[4], v[5], {v[6], v[7], v[8], v[9]}});
  }
  return out;
}

void expect_block(const u32x4& got, const u32x4& want) {
  EXPECT_EQ(got.x, want.x);
  EXPECT_EQ(got.y, want.y);
  EXPECT_EQ(got.z, want.z);
  EXPECT_EQ(got.w, want.w);
}

TEST(Philox, KnownAnswersFromSharedData) {
  for (const char* file : {"philox-kat/kat_vectors.txt", "philox-kat/old_kat_vectors.txt"}) {
    const auto kats = read_kats(playaug::test::shared_data(file), 10);
    ASSERT_FALSE(kats.empty()) << "no philox4x32 10 vectors in " << file;
    for (const auto& k : kats) {
      SCOPED_TRACE(::testing::Message() << file << " ctr " << std::hex << k.ctr.x);
      expect_block(playaug::philox4x32(k.ctr, k.k0, k.k1, 10), k.expected);
    }
  }
}

TEST(Philox, SevenRoundVariantMatchesKnownAnswers) {
  const auto kats = read_kats(playaug::test::shared_data("philox-kat/kat_vectors.txt"), 7);
  ASSERT_FALSE(kats.empty());
  for (const auto& k : kats) expect_block(playaug::philox4x32(k.ctr, k.k0, k.k1, 7), k.expected);
}

TEST(Philox, CurandLayoutOfSeedSubsequenceOffset) {
  // curand_init(seed, subsequence, offset): key = seed, counter = (offset/4, subsequence),
  // first word = word offset%4 of that block.
  const std::uint64_t seed = 0x0123456789abcdefULL, subseq = 0xfedcba9876543210ULL;
  for (std::uint64_t offset : {0ULL, 1ULL, 2ULL, 3ULL, 4ULL, 5ULL, 1ULL << 33, (1ULL << 40) + 7}) {
    const std::uint64_t blk = offset / 4;
    const u32x4 b = playaug::philox4x32(
        {static_cast<std::uint32_t>(blk), static_cast<std::uint32_t>(blk >> 32),
         static_cast<std::uint32_t>(subseq), static_cast<std::uint32_t>(subseq >> 32)},
        static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
    EXPECT_EQ(playaug::philox_word(seed, subseq, offset), playaug::word_of(b, offset % 4));
  }
}

TEST(Philox, StreamReadsConsecutiveWordsAcrossBlocks) {
  playaug::philox_stream s(42, 7, 2);
  for (std::uint64_t off = 2; off < 40; ++off) EXPECT_EQ(s.next(), playaug::philox_word(42, 7, off));
}

TEST(Philox, UniformIsCurandUniform) {
  // curand_uniform: x * 2^-32 + 2^-33, in (0, 1].
  EXPECT_EQ(playaug::uniform01(0), 0x1p-33f);
  EXPECT_EQ(playaug::uniform01(0xFFFFFFFFu), 1.0f);
  EXPECT_GT(playaug::uniform01(0), 0.0f);
  for (std::uint32_t x : {1u, 12345u, 0x80000000u, 0xDEADBEEFu}) {
    const double exact = static_cast<double>(static_cast<float>(x)) * 0x1p-32 + 0x1p-33;
    EXPECT_EQ(playaug::uniform01(x), static_cast<float>(exact));
  }
}

TEST(Philox, SubsequenceLayout) {
  const auto s = playaug::stream_subsequence(playaug::purpose::protuberance, 3, 0xABCDEF01u);
  EXPECT_EQ(s >> 56, 2u);
  EXPECT_EQ((s >> 32) & 0xFFFFFFu, 3u);
  EXPECT_EQ(s & 0xFFFFFFFFu, 0xABCDEF01u);
}

}  // namespace
