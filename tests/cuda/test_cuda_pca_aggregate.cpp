// The PCA aggregate on the CUDA engine against the CPU engine: the device reduction of
// the batch's projectors (after syevjBatched, or syevd beyond 32 features) and of its
// covariances (pooled), the per-playlist verdicts and weights, batches of more than 8192
// playlists, device-memory inputs, and the fitted model's subspace.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_util.hpp"
#include "playaug/pca.hpp"
#include "playaug/pca_aggregate.hpp"
#include "playaug/resources.hpp"

namespace {

using playaug::backend;
using playaug::pca_aggregate_options;
using playaug::pca_method;
using playaug::pca_weight;
using playaug::resources;

std::vector<double> projector_of(const playaug::pca_model& m) {
  const std::size_t d = m.dim();
  std::vector<double> p(d * d, 0.0);
  for (std::size_t c = 0; c < m.n_components; ++c) {
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) p[i * d + j] += m.components[c * d + i] * m.components[c * d + j];
    }
  }
  return p;
}

void check_aggregate(const std::vector<std::uint64_t>& sizes, std::size_t d, std::uint64_t seed) {
  const auto off = playaug::test::offsets_from_sizes(sizes);
  const std::size_t n = off.back();
  const auto x = playaug::test::random_rows(n, d, seed, {1.0, 50.0});
  const resources cpu(backend::cpu), gpu(backend::cuda);
  const playaug::matrix_view<const float> hx(x.data(), n, d);
  const playaug::vector_view<const std::uint64_t> ho(off.data(), off.size());
  for (const pca_method m : {pca_method::projector, pca_method::pooled}) {
    for (const pca_weight w : {pca_weight::playlists, pca_weight::songs}) {
      for (const bool by_variance : {false, true}) {
        const std::string what = "playlists=" + std::to_string(sizes.size()) + " d=" + std::to_string(d) + " " +
                                 playaug::to_string(m) + " " + playaug::to_string(w) +
                                 (by_variance ? " variance" : " k=2");
        SCOPED_TRACE(what);
        pca_aggregate_options o;
        o.method = m;
        o.weight = w;
        if (by_variance) {
          o.variance = 0.8;
        } else {
          o.components = std::min<std::size_t>(2, d);
        }
        const auto sc = playaug::aggregate_playlists(cpu, hx, ho, o);
        const auto sg = playaug::aggregate_playlists(gpu, hx, ho, o);
        EXPECT_EQ(sg.playlists, sc.playlists);
        EXPECT_EQ(sg.aggregated, sc.aggregated);
        EXPECT_EQ(sg.empty, sc.empty);
        EXPECT_EQ(sg.too_few_songs, sc.too_few_songs);
        EXPECT_EQ(sg.low_rank, sc.low_rank);
        EXPECT_EQ(sg.songs, sc.songs);
        EXPECT_EQ(sg.weight, sc.weight);
        EXPECT_EQ(sg.rank_weight, sc.rank_weight);
        double scale = 0.0;
        for (const double v : sc.sum) scale = std::max(scale, std::fabs(v));
        ASSERT_EQ(sg.sum.size(), sc.sum.size());
        for (std::size_t i = 0; i < sc.sum.size(); ++i) {
          EXPECT_NEAR(sg.sum[i], sc.sum[i], 1e-9 * scale) << "entry " << i;
        }
        if (sc.aggregated == 0) continue;
        playaug::pca_aggregator ac(o), ag(o);
        ac.add(cpu, hx, ho);
        ag.add(gpu, hx, ho);
        const auto mc = ac.fit(cpu, {}), mg = ag.fit(gpu, {});
        EXPECT_EQ(mg.n_components, mc.n_components);
        const double top = std::max(mc.eigenvalues[0], 1e-300);
        for (std::size_t i = 0; i < d; ++i) EXPECT_NEAR(mg.eigenvalues[i], mc.eigenvalues[i], 1e-9 * top) << i;
        // The kept subspace, when its last eigenvalue stands apart from the next.
        const std::size_t k = mc.n_components;
        if (k < d && mc.eigenvalues[k - 1] - mc.eigenvalues[k] > 1e-3 * top) {
          const auto pc = projector_of(mc), pg = projector_of(mg);
          for (std::size_t i = 0; i < d * d; ++i) EXPECT_NEAR(pg[i], pc[i], 1e-7) << "projector entry " << i;
        }
      }
    }
  }
}

TEST(CudaPcaAggregate, RaggedPlaylists) {
  PLAYAUG_REQUIRE_GPU();
  const std::vector<std::uint64_t> sizes{0, 1, 2, 3, 5, 12, 31, 32, 33, 64, 65, 100, 0, 1, 250, 2, 9000, 17};
  std::uint64_t seed = 60;
  for (std::size_t d : {1u, 2u, 3u, 11u, 16u, 32u}) check_aggregate(sizes, d, seed++);
}

TEST(CudaPcaAggregate, SyevdPathBeyond32Features) {
  PLAYAUG_REQUIRE_GPU();
  check_aggregate({0, 1, 40, 100, 3, 200, 60}, 33, 70);
}

TEST(CudaPcaAggregate, ManyPlaylistsAcrossBatches) {
  PLAYAUG_REQUIRE_GPU();
  std::mt19937_64 gen(71);
  const std::size_t count = playaug::test::gpu_small() ? 300 : 9000;  // > one batch of 8192
  std::vector<std::uint64_t> sizes(count);
  for (auto& s : sizes) s = gen() % 40;
  check_aggregate(sizes, 11, 72);
}

#if PLAYAUG_HAS_CUDA
TEST(CudaPcaAggregate, DeviceMemory) {
  PLAYAUG_REQUIRE_GPU();
  const std::vector<std::uint64_t> sizes{15, 0, 40, 1, 25, 3};
  const std::size_t d = 11;
  const auto off = playaug::test::offsets_from_sizes(sizes);
  const auto x = playaug::test::random_rows(off.back(), d, 73);
  const resources gpu(backend::cuda);
  playaug::test::device_array<float> dx(x);
  playaug::test::device_array<std::uint64_t> doff(off);
  for (const pca_method m : {pca_method::projector, pca_method::pooled}) {
    pca_aggregate_options o;
    o.method = m;
    o.components = 3;
    const auto sh = playaug::aggregate_playlists(gpu, {x.data(), off.back(), d}, {off.data(), off.size()}, o);
    const auto sd = playaug::aggregate_playlists(
        gpu, playaug::device_matrix<const float>(dx.data(), off.back(), d),
        playaug::vector_view<const std::uint64_t>(doff.data(), doff.size(), playaug::memory_space::device), o);
    EXPECT_EQ(sd.sum, sh.sum);  // the same kernels on the same data: the same bits
    EXPECT_EQ(sd.aggregated, sh.aggregated);
    EXPECT_EQ(sd.weight, sh.weight);
  }
}
#endif

}  // namespace
