// compute_moments on the CUDA engine against the CPU engine: edge sizes, every fixed
// dimension and the generic kernel, host and device memory, the streaming path, a
// constant column, a large offset, and bitwise reproducibility run to run.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gpu_util.hpp"
#include "playaug/error.hpp"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/resources.hpp"

namespace {

using playaug::backend;
using playaug::moments;
using playaug::resources;

/// GPU and CPU moments agree within `tol` relative: the mean relative to |mean| plus the
/// standard error, the co-moment C_ij relative to sqrt(C_ii C_jj).
void expect_close(const moments& gpu, const moments& cpu, double tol, const std::string& what) {
  ASSERT_EQ(gpu.n, cpu.n) << what;
  ASSERT_EQ(gpu.dim(), cpu.dim()) << what;
  const std::size_t d = cpu.dim();
  const double n = static_cast<double>(std::max<std::uint64_t>(cpu.n, 1));
  for (std::size_t j = 0; j < d; ++j) {
    const double scale = std::fabs(cpu.mean[j]) + std::sqrt(std::fabs(cpu.comoment[j * d + j]) / n) + 1e-300;
    EXPECT_LE(std::fabs(gpu.mean[j] - cpu.mean[j]), tol * scale) << what << " mean[" << j << "]";
  }
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const double scale = std::sqrt(std::fabs(cpu.comoment[i * d + i] * cpu.comoment[j * d + j])) + 1e-300;
      EXPECT_LE(std::fabs(gpu.comoment[i * d + j] - cpu.comoment[i * d + j]), tol * scale)
          << what << " C[" << i << "][" << j << "] gpu " << gpu.comoment[i * d + j] << " cpu "
          << cpu.comoment[i * d + j];
    }
  }
}

bool same_bits(const moments& a, const moments& b) {
  return a.n == b.n && a.mean.size() == b.mean.size() && a.comoment.size() == b.comoment.size() &&
         std::memcmp(a.mean.data(), b.mean.data(), a.mean.size() * sizeof(double)) == 0 &&
         std::memcmp(a.comoment.data(), b.comoment.data(), a.comoment.size() * sizeof(double)) == 0;
}

/// A float64 two-pass reference, independent of both engines.
moments reference(const std::vector<float>& x, std::size_t n, std::size_t d) {
  moments m(d);
  m.n = n;
  if (n == 0) return m;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t j = 0; j < d; ++j) m.mean[j] += x[r * d + j];
  }
  for (auto& v : m.mean) v /= static_cast<double>(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) {
        m.comoment[i * d + j] += (x[r * d + i] - m.mean[i]) * (x[r * d + j] - m.mean[j]);
      }
    }
  }
  return m;
}

struct moment_case {
  std::size_t n;
  std::size_t d;
};

void check_case(const moment_case& c, std::uint64_t seed) {
  const std::string what = "n=" + std::to_string(c.n) + " d=" + std::to_string(c.d);
  SCOPED_TRACE(what);
  // Means far from zero, so that the shift matters.
  const auto x = playaug::test::random_rows(c.n, c.d, seed, {0.0, 1000.0, -3.5, 1e5});
  const resources cpu(backend::cpu);
  const resources gpu(backend::cuda);
  const playaug::matrix_view<const float> hx(x.data(), c.n, c.d);
  const moments mc = playaug::compute_moments(cpu, hx);
  const moments mg = playaug::compute_moments(gpu, hx);
  expect_close(mg, mc, 1e-12, what);
  if (c.n >= 2 && c.n <= 20000) expect_close(mg, reference(x, c.n, c.d), 1e-9, what + " (two-pass reference)");
  // Run to run: the same bits.
  const moments mg2 = playaug::compute_moments(gpu, hx);
  EXPECT_TRUE(same_bits(mg, mg2)) << what << ": two runs differ";
#if PLAYAUG_HAS_CUDA
  // Device memory: stream-ordered path, the same bits as the staged host path.
  playaug::test::device_array<float> dx(x);
  const moments md = playaug::compute_moments(gpu, playaug::device_matrix<const float>(dx.data(), c.n, c.d));
  EXPECT_TRUE(same_bits(mg, md)) << what << ": device memory differs from host memory";
#endif
}

TEST(CudaMoments, EdgeSizesEveryFixedDimension) {
  PLAYAUG_REQUIRE_GPU();
  std::uint64_t seed = 1;
  for (std::size_t d = 1; d <= 12; ++d) {
    // Under the sanitizers: the dimensions with scalar, 8-byte and 16-byte row loads.
    if (playaug::test::gpu_small() && d != 1 && d != 2 && d != 4 && d != 11) continue;
    for (std::size_t n : {0u, 1u, 2u, 31u, 32u, 33u, 255u, 256u, 257u}) check_case({n, d}, seed++);
  }
}

TEST(CudaMoments, UnitBoundaries) {
  PLAYAUG_REQUIRE_GPU();
  std::uint64_t seed = 100;
  for (std::size_t d : {1u, 4u, 11u, 13u}) {
    for (std::size_t n : {8191u, 8192u, 8193u, 16385u}) check_case({n, d}, seed++);
  }
}

TEST(CudaMoments, GenericKernelDimensions) {
  PLAYAUG_REQUIRE_GPU();
  std::uint64_t seed = 200;
  for (std::size_t d : {13u, 16u, 17u, 33u, 50u}) {
    for (std::size_t n : {0u, 1u, 2u, 33u, 1000u}) check_case({n, d}, seed++);
  }
  if (!playaug::test::gpu_small()) check_case({3000, 64}, seed++);  // several passes of slots
}

TEST(CudaMoments, LargeOddSizeStreamsInSeveralChunks) {
  PLAYAUG_REQUIRE_GPU();
  if (playaug::test::gpu_small()) GTEST_SKIP() << "large sizes skipped (PLAYAUG_GPU_TEST_SMALL)";
  check_case({1000003, 11}, 7);  // > 1 host staging chunk for d = 11
  check_case({1000003, 3}, 8);
  check_case({200001, 13}, 9);
}

TEST(CudaMoments, ConstantColumnHasZeroVariance) {
  PLAYAUG_REQUIRE_GPU();
  const std::size_t n = 50001, d = 5;
  auto x = playaug::test::random_rows(n, d, 11);
  for (std::size_t r = 0; r < n; ++r) x[r * d + 2] = 0.123f;
  const resources cpu(backend::cpu), gpu(backend::cuda);
  const playaug::matrix_view<const float> hx(x.data(), n, d);
  const moments mg = playaug::compute_moments(gpu, hx);
  const moments mc = playaug::compute_moments(cpu, hx);
  expect_close(mg, mc, 1e-12, "constant column");
  for (std::size_t j = 0; j < d; ++j) {
    EXPECT_EQ(mg.comoment[2 * d + j], 0.0);
    EXPECT_EQ(mg.comoment[j * d + 2], 0.0);
  }
  EXPECT_EQ(mg.mean[2], static_cast<double>(0.123f));
}

TEST(CudaMoments, MergedChunksMatchOnePass) {
  PLAYAUG_REQUIRE_GPU();
  const std::size_t n = 30000, d = 11;
  const auto x = playaug::test::random_rows(n, d, 12, {5.0});
  const resources gpu(backend::cuda);
  const moments whole = playaug::compute_moments(gpu, playaug::matrix_view<const float>(x.data(), n, d));
  moments merged;
  for (std::size_t r0 = 0; r0 < n; r0 += 7001) {
    const std::size_t rows = std::min<std::size_t>(7001, n - r0);
    merged.merge(playaug::compute_moments(gpu, playaug::matrix_view<const float>(x.data() + r0 * d, rows, d)));
  }
  expect_close(merged, whole, 1e-12, "merged chunks");
}

#if PLAYAUG_HAS_CUDA
TEST(CudaMoments, BorrowedStreamAndMisalignedDevicePointer) {
  PLAYAUG_REQUIRE_GPU();
  const std::size_t n = 40000, d = 11;
  const auto x = playaug::test::random_rows(n, d, 13, {2.0});
  std::vector<float> padded(x.size() + 1);
  std::copy(x.begin(), x.end(), padded.begin() + 1);
  playaug::test::device_array<float> dx(padded);
  cudaStream_t s = nullptr;
  PLAYAUG_TEST_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  {
    const resources gpu(reinterpret_cast<playaug::stream_handle>(s));
    EXPECT_EQ(gpu.stream(), reinterpret_cast<playaug::stream_handle>(s));
    // The data starts 4 bytes past a 16-byte boundary: the 4-byte copy path.
    const moments mg = playaug::compute_moments(gpu, playaug::device_matrix<const float>(dx.data() + 1, n, d));
    const resources cpu(backend::cpu);
    const moments mc = playaug::compute_moments(cpu, playaug::matrix_view<const float>(x.data(), n, d));
    expect_close(mg, mc, 1e-12, "misaligned device pointer");
  }
  // The borrowed stream is still usable after the resources are gone.
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  PLAYAUG_TEST_CUDA(cudaStreamDestroy(s));
}

// A training loop's repeated fits: after the first call (which grows the resources'
// scratch) compute_moments and symmetric_eig take nothing from the stream-ordered memory
// pool, not even transiently (its high-water mark stays at the current use), and repeat
// their bits.
TEST(CudaMoments, RepeatedCallsAllocateNothingAndRepeatTheirBits) {
  PLAYAUG_REQUIRE_GPU();
  const std::size_t n = 300000, d = 11;
  const auto x = playaug::test::random_rows(n, d, 21, {2.0});
  playaug::test::device_array<float> dx(x);
  const resources gpu(backend::cuda);
  const auto dev = playaug::device_matrix<const float>(dx.data(), n, d);
  const playaug::matrix_view<const float> host(x.data(), n, d);
  const moments first_dev = playaug::compute_moments(gpu, dev);
  const moments first_host = playaug::compute_moments(gpu, host);
  std::vector<double> cov(first_dev.comoment);
  for (auto& v : cov) v /= static_cast<double>(n - 1);
  const auto first_eig = playaug::symmetric_eig(gpu, cov, d);
  PLAYAUG_TEST_CUDA(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(gpu.stream())));

  int dev_id = 0;
  PLAYAUG_TEST_CUDA(cudaGetDevice(&dev_id));
  cudaMemPool_t pool = nullptr;
  PLAYAUG_TEST_CUDA(cudaDeviceGetMemPool(&pool, dev_id));
  std::uint64_t before = 0, zero = 0;
  PLAYAUG_TEST_CUDA(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &before));
  PLAYAUG_TEST_CUDA(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));  // reset to current
  for (int rep = 0; rep < 3; ++rep) {
    EXPECT_TRUE(same_bits(playaug::compute_moments(gpu, dev), first_dev)) << "device rows, repeat " << rep;
    EXPECT_TRUE(same_bits(playaug::compute_moments(gpu, host), first_host)) << "host rows, repeat " << rep;
    const auto e = playaug::symmetric_eig(gpu, cov, d);
    EXPECT_EQ(e.values, first_eig.values) << "repeat " << rep;
    EXPECT_EQ(e.vectors, first_eig.vectors) << "repeat " << rep;
  }
  PLAYAUG_TEST_CUDA(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(gpu.stream())));
  std::uint64_t after = 0, high = 0;
  PLAYAUG_TEST_CUDA(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &after));
  PLAYAUG_TEST_CUDA(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &high));
  EXPECT_EQ(after, before);
  EXPECT_EQ(high, before) << "a repeated call allocated from the pool";
}
#endif

}  // namespace
