// The random-number layout on a real GPU: cuRAND's device API (curand_init + curand,
// curand4, curand_uniform, and the Philox block function the protuberance kernel calls)
// yields exactly playaug's host Philox words (random.hpp), for several seeds,
// subsequences (up to 2^64 - 1) and offsets (multiples of 4 and not).

#include <gtest/gtest.h>

#include <curand_kernel.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "playaug/random.hpp"
#include "test_support.hpp"

namespace {

struct words_case {
  std::uint64_t seed, subsequence, offset;
};

constexpr int kWords = 12;

__global__ void curand_words_kernel(const words_case* cases, int count, std::uint32_t* words, float* uniforms,
                                    uint4* blocks, uint4* direct) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const words_case c = cases[i];
  curandStatePhilox4_32_10_t st;
  curand_init(c.seed, c.subsequence, c.offset, &st);
  for (int k = 0; k < kWords; ++k) words[i * kWords + k] = curand(&st);
  curand_init(c.seed, c.subsequence, c.offset, &st);
  for (int k = 0; k < kWords; ++k) uniforms[i * kWords + k] = curand_uniform(&st);
  curand_init(c.seed, c.subsequence, c.offset & ~std::uint64_t{3}, &st);
  blocks[i] = curand4(&st);
  const std::uint64_t blk = c.offset >> 2;
  direct[i] = curand_Philox4x32_10(
      make_uint4(static_cast<unsigned>(blk), static_cast<unsigned>(blk >> 32), static_cast<unsigned>(c.subsequence),
                 static_cast<unsigned>(c.subsequence >> 32)),
      make_uint2(static_cast<unsigned>(c.seed), static_cast<unsigned>(c.seed >> 32)));
}

template <typename T>
struct dev {
  T* p = nullptr;
  explicit dev(std::size_t n) { EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)), cudaSuccess); }
  ~dev() { cudaFree(p); }
};

TEST(CurandWords, DeviceApiMatchesHostPhilox) {
  PLAYAUG_REQUIRE_GPU();
  std::vector<words_case> cases;
  const std::uint64_t seeds[] = {0, 1, 42, 0xDEADBEEFCAFEBABEull, ~0ull};
  const std::uint64_t subs[] = {0,
                                1,
                                0xFFFFFFFFull,
                                playaug::stream_subsequence(playaug::purpose::protuberance, 7, 123456),
                                playaug::stream_subsequence(playaug::purpose::reverse, 0xFFFFFF, 0xFFFFFFFFu),
                                ~0ull};
  const std::uint64_t offs[] = {0, 1, 2, 3, 4, 5, 7, 11, 1000000003ull, (1ull << 34) + 2, (1ull << 40) + 1};
  for (auto s : seeds) {
    for (auto q : subs) {
      for (auto o : offs) cases.push_back({s, q, o});
    }
  }
  const int n = static_cast<int>(cases.size());
  dev<words_case> dc(cases.size());
  dev<std::uint32_t> dw(cases.size() * kWords);
  dev<float> du(cases.size() * kWords);
  dev<uint4> db(cases.size()), dd(cases.size());
  ASSERT_EQ(cudaMemcpy(dc.p, cases.data(), cases.size() * sizeof(words_case), cudaMemcpyHostToDevice), cudaSuccess);
  curand_words_kernel<<<(n + 127) / 128, 128>>>(dc.p, n, dw.p, du.p, db.p, dd.p);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<std::uint32_t> words(cases.size() * kWords);
  std::vector<float> uniforms(cases.size() * kWords);
  std::vector<uint4> blocks(cases.size()), direct(cases.size());
  ASSERT_EQ(cudaMemcpy(words.data(), dw.p, words.size() * sizeof(std::uint32_t), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(uniforms.data(), du.p, uniforms.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(blocks.data(), db.p, blocks.size() * sizeof(uint4), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(direct.data(), dd.p, direct.size() * sizeof(uint4), cudaMemcpyDeviceToHost), cudaSuccess);

  for (int i = 0; i < n; ++i) {
    const words_case& c = cases[i];
    SCOPED_TRACE(::testing::Message() << "seed " << c.seed << " subsequence " << c.subsequence << " offset "
                                      << c.offset);
    playaug::philox_stream host(c.seed, c.subsequence, c.offset);
    for (int k = 0; k < kWords; ++k) {
      const std::uint32_t w = host.next();
      ASSERT_EQ(words[i * kWords + k], w) << "curand() word " << k;
      EXPECT_EQ(words[i * kWords + k], playaug::philox_word(c.seed, c.subsequence, c.offset + k));
      const float u = playaug::uniform01(w);
      EXPECT_EQ(std::memcmp(&uniforms[i * kWords + k], &u, sizeof(float)), 0)
          << "curand_uniform word " << k << ": " << uniforms[i * kWords + k] << " vs " << u;
    }
    const playaug::u32x4 b = playaug::philox_block(c.seed, c.subsequence, c.offset);
    EXPECT_EQ(blocks[i].x, b.x);
    EXPECT_EQ(blocks[i].y, b.y);
    EXPECT_EQ(blocks[i].z, b.z);
    EXPECT_EQ(blocks[i].w, b.w);
    EXPECT_EQ(direct[i].x, b.x);
    EXPECT_EQ(direct[i].y, b.y);
    EXPECT_EQ(direct[i].z, b.z);
    EXPECT_EQ(direct[i].w, b.w);
  }
}

}  // namespace
