// PCA on the CUDA engine against the CPU engine: transform and inverse_transform (host and
// device memory, every tiled dimension and the generic kernel, standardized or not) and
// the per-playlist PCA (segmented moments + syevjBatched, and the syevd path for d > 32).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "gpu_util.hpp"
#include "playaug/error.hpp"
#include "playaug/pca.hpp"
#include "playaug/resources.hpp"

namespace {

using playaug::backend;
using playaug::pca_model;
using playaug::resources;

pca_model fitted(std::size_t d, std::size_t k, bool standardize, std::uint64_t seed) {
  const std::size_t n = 2000;
  const auto x = playaug::test::random_rows(n, d, seed, {3.0, -40.0, 0.25});
  playaug::pca_options opts;
  opts.components = k;
  opts.standardize = standardize;
  const resources cpu(backend::cpu);
  return playaug::fit_pca(cpu, playaug::matrix_view<const float>(x.data(), n, d), opts, {});
}

/// Element-wise |a - b| <= tol * (|b| + floor); also reports how many values differ in
/// their bits (the engines are designed to agree exactly).
void expect_close_floats(const std::vector<float>& a, const std::vector<float>& b, double tol, double floor,
                         const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  std::size_t bad = 0, differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) ++differ;
    if (!(std::fabs(static_cast<double>(a[i]) - b[i]) <= tol * (std::fabs(static_cast<double>(b[i])) + floor))) {
      if (bad++ < 5) ADD_FAILURE() << what << ": element " << i << " gpu " << a[i] << " cpu " << b[i];
    }
  }
  EXPECT_EQ(bad, 0u) << what;
  if (differ != 0) std::printf("[   NOTE   ] %s: %zu of %zu values differ in their last bits\n", what.c_str(), differ, a.size());
}

void check_transform(std::size_t n, std::size_t d, std::size_t k, bool standardize, std::uint64_t seed) {
  const std::string what = "n=" + std::to_string(n) + " d=" + std::to_string(d) + " k=" + std::to_string(k) +
                           (standardize ? " standardized" : "");
  SCOPED_TRACE(what);
  const pca_model model = fitted(d, k, standardize, seed);
  const auto x = playaug::test::random_rows(n, d, seed + 1, {3.0, -40.0, 0.25});
  const resources cpu(backend::cpu), gpu(backend::cuda);
  std::vector<float> yc(n * k, -1.0f), yg(n * k, std::numeric_limits<float>::quiet_NaN());
  playaug::transform(cpu, model, playaug::matrix_view<const float>(x.data(), n, d), {yc.data(), n, k});
  playaug::transform(gpu, model, playaug::matrix_view<const float>(x.data(), n, d), {yg.data(), n, k});
  expect_close_floats(yg, yc, 1e-6, 1e-3, what + " transform");
  std::vector<float> xc(n * d, -1.0f), xg(n * d, std::numeric_limits<float>::quiet_NaN());
  playaug::inverse_transform(cpu, model, playaug::matrix_view<const float>(yc.data(), n, k), {xc.data(), n, d});
  playaug::inverse_transform(gpu, model, playaug::matrix_view<const float>(yc.data(), n, k), {xg.data(), n, d});
  expect_close_floats(xg, xc, 1e-6, 1e-3, what + " inverse");
#if PLAYAUG_HAS_CUDA
  // Device memory: stream-ordered, the same values as the staged host path.
  playaug::test::device_array<float> dx(x), dy(n * k), dyin(yc), dxo(n * d);
  playaug::transform(gpu, model, playaug::device_matrix<const float>(dx.data(), n, d),
                     playaug::device_matrix<float>(dy.data(), n, k));
  playaug::inverse_transform(gpu, model, playaug::device_matrix<const float>(dyin.data(), n, k),
                             playaug::device_matrix<float>(dxo.data(), n, d));
  gpu.sync();
  const auto ydev = dy.download();
  const auto xdev = dxo.download();
  EXPECT_EQ(std::memcmp(ydev.data(), yg.data(), yg.size() * sizeof(float)), 0) << what << " device transform";
  EXPECT_EQ(std::memcmp(xdev.data(), xg.data(), xg.size() * sizeof(float)), 0) << what << " device inverse";
#endif
}

TEST(CudaTransform, TiledDimensionsAndEdgeSizes) {
  PLAYAUG_REQUIRE_GPU();
  std::uint64_t seed = 1;
  for (std::size_t d : {1u, 2u, 3u, 8u, 11u, 16u}) {
    for (std::size_t n : {0u, 1u, 2u, 255u, 256u, 257u, 1000u}) {
      check_transform(n, d, d, false, seed++);
      check_transform(n, d, (d + 1) / 2, true, seed++);
    }
  }
}

TEST(CudaTransform, GenericKernelDimensions) {
  PLAYAUG_REQUIRE_GPU();
  std::uint64_t seed = 500;
  for (std::size_t d : {17u, 40u}) {
    for (std::size_t n : {0u, 1u, 33u, 700u}) {
      check_transform(n, d, 1, false, seed++);
      check_transform(n, d, d, true, seed++);
    }
  }
}

TEST(CudaTransform, LargeOddSize) {
  PLAYAUG_REQUIRE_GPU();
  if (playaug::test::gpu_small()) GTEST_SKIP() << "large sizes skipped (PLAYAUG_GPU_TEST_SMALL)";
  check_transform(1000003, 11, 11, false, 900);
  check_transform(300001, 11, 4, true, 901);
}

// --- per-playlist PCA ---------------------------------------------------------------------

void check_batched(const std::vector<std::uint64_t>& sizes, std::size_t d, std::uint64_t seed) {
  const std::string what = "playlists=" + std::to_string(sizes.size()) + " d=" + std::to_string(d);
  SCOPED_TRACE(what);
  const auto off = playaug::test::offsets_from_sizes(sizes);
  const std::size_t n = off.back();
  const auto x = playaug::test::random_rows(n, d, seed, {1.0, 50.0});
  const resources cpu(backend::cpu), gpu(backend::cuda);
  const playaug::matrix_view<const float> hx(x.data(), n, d);
  const playaug::vector_view<const std::uint64_t> ho(off.data(), off.size());
  const auto bc = playaug::fit_pca_per_playlist(cpu, hx, ho);
  const auto bg = playaug::fit_pca_per_playlist(gpu, hx, ho);
  ASSERT_EQ(bg.dim, d);
  ASSERT_EQ(bg.n, bc.n);
  ASSERT_EQ(bg.mean.size(), bc.mean.size());
  ASSERT_EQ(bg.eigenvalues.size(), bc.eigenvalues.size());
  ASSERT_EQ(bg.components.size(), bc.components.size());
  std::size_t compared = 0;
  for (std::size_t p = 0; p < sizes.size(); ++p) {
    const double* vc = bc.eigenvalues.data() + p * d;
    const double* vg = bg.eigenvalues.data() + p * d;
    const double top = std::max(vc[0], 1e-300);
    for (std::size_t j = 0; j < d; ++j) {
      const double m = bc.mean[p * d + j];
      EXPECT_NEAR(bg.mean[p * d + j], m, 1e-12 * (std::fabs(m) + 1.0)) << "playlist " << p << " mean " << j;
      EXPECT_NEAR(vg[j], vc[j], 1e-9 * top) << "playlist " << p << " eigenvalue " << j;
    }
    if (sizes[p] < 2) {
      for (std::size_t i = 0; i < d * d; ++i) {
        EXPECT_EQ(bg.components[p * d * d + i], (i % (d + 1) == 0) ? 1.0 : 0.0) << "playlist " << p;
      }
      continue;
    }
    // Eigenvectors of well separated eigenvalues are unique up to sign, and the sign is
    // fixed by the convention.
    for (std::size_t i = 0; i < d; ++i) {
      double gap = std::numeric_limits<double>::infinity();
      if (i > 0) gap = std::min(gap, vc[i - 1] - vc[i]);
      if (i + 1 < d) gap = std::min(gap, vc[i] - vc[i + 1]);
      if (!(gap > 1e-3 * top)) continue;
      ++compared;
      for (std::size_t j = 0; j < d; ++j) {
        EXPECT_NEAR(bg.components[(p * d + i) * d + j], bc.components[(p * d + i) * d + j], 1e-7)
            << "playlist " << p << " vector " << i << " entry " << j;
      }
    }
  }
  EXPECT_GT(compared, 0u) << "no eigenvector was compared";
}

TEST(CudaBatchedPca, RaggedPlaylists) {
  PLAYAUG_REQUIRE_GPU();
  const std::vector<std::uint64_t> sizes{0, 1, 2, 3, 5, 12, 31, 32, 33, 64, 65, 100, 0, 1, 250, 2, 9000, 17};
  std::uint64_t seed = 30;
  for (std::size_t d : {1u, 2u, 3u, 11u, 16u, 32u}) check_batched(sizes, d, seed++);
}

TEST(CudaBatchedPca, SyevdPathBeyond32Features) {
  PLAYAUG_REQUIRE_GPU();
  check_batched({0, 1, 40, 100, 3, 200}, 33, 40);
}

TEST(CudaBatchedPca, ManyPlaylistsAcrossBatches) {
  PLAYAUG_REQUIRE_GPU();
  std::mt19937_64 gen(41);
  const std::size_t count = playaug::test::gpu_small() ? 300 : 9000;  // > one batch of 8192
  std::vector<std::uint64_t> sizes(count);
  for (auto& s : sizes) s = 20 + gen() % 40;
  check_batched(sizes, 11, 42);
}

#if PLAYAUG_HAS_CUDA
TEST(CudaBatchedPca, DeviceMemory) {
  PLAYAUG_REQUIRE_GPU();
  const std::vector<std::uint64_t> sizes{15, 0, 40, 1, 25};
  const std::size_t d = 11;
  const auto off = playaug::test::offsets_from_sizes(sizes);
  const auto x = playaug::test::random_rows(off.back(), d, 50);
  const resources gpu(backend::cuda);
  playaug::test::device_array<float> dx(x);
  playaug::test::device_array<std::uint64_t> doff(off);
  const auto bh = playaug::fit_pca_per_playlist(gpu, {x.data(), off.back(), d}, {off.data(), off.size()});
  const auto bd = playaug::fit_pca_per_playlist(
      gpu, playaug::device_matrix<const float>(dx.data(), off.back(), d),
      playaug::vector_view<const std::uint64_t>(doff.data(), doff.size(), playaug::memory_space::device));
  EXPECT_EQ(bd.n, bh.n);
  EXPECT_EQ(bd.mean, bh.mean);
  EXPECT_EQ(bd.eigenvalues, bh.eigenvalues);
  EXPECT_EQ(bd.components, bh.components);
}
#endif

}  // namespace
