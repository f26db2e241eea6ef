// The CPU half of the PCA aggregate: per playlist, its moments (the compute_moments
// recipe, one thread) and, for projector, symmetric_eig; the weighted projectors or
// covariances are summed block by block (aggregate_rule::block_playlists playlists per
// block, in order) and the block sums in block order, so the result does not depend on the
// thread count. Parallel across blocks.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cpu_impl.hpp"
#include "detail/blas_threads.hpp"
#include "detail/parallel.hpp"
#include "detail/pca_aggregate_rule.hpp"
#include "playaug/error.hpp"

namespace playaug::cpu_impl {

pca_aggregate_sum aggregate_playlists(const resources& res, matrix_view<const float> x,
                                      vector_view<const std::uint64_t> offsets, const pca_aggregate_options& opts) {
  namespace rule = detail::aggregate_rule;
  const std::size_t d = x.cols;
  const std::size_t playlists = offsets.size - 1;
  const bool pooled = opts.method == pca_method::pooled;
  const bool by_songs = opts.weight == pca_weight::songs;
  const int components = opts.components ? static_cast<int>(*opts.components) : 0;
  const double variance = opts.variance.value_or(0.0);
  const int di = static_cast<int>(d);

  pca_aggregate_sum out;
  out.dim = d;
  out.sum.assign(d * d, 0.0);
  out.playlists = playlists;
  if (playlists == 0 || d == 0) return out;

  const std::size_t blocks = (playlists + rule::block_playlists - 1) / rule::block_playlists;
  std::vector<double> block_sums(blocks * d * d, 0.0);  // upper triangles
  std::vector<int> verdict(playlists, rule::empty);
  const resources serial(backend::cpu, 1);
  const detail::single_threaded_blas blas_guard;
  detail::parallel_for(res.threads(), blocks, [&](std::size_t b) {
    double* acc = block_sums.data() + b * d * d;
    const std::size_t p1 = std::min(playlists, (b + 1) * rule::block_playlists);
    for (std::size_t p = b * rule::block_playlists; p < p1; ++p) {
      const std::size_t r0 = offsets[p];
      const std::uint64_t n = offsets[p + 1] - r0;
      verdict[p] = rule::size_verdict(pooled, n, components);
      if (verdict[p] != 1) continue;
      const moments m =
          cpu_impl::compute_moments(serial, matrix_view<const float>{x.data + r0 * d, static_cast<std::size_t>(n), d});
      const std::vector<double> cov = m.covariance();
      const double w = rule::playlist_weight(by_songs, pooled, n);
      if (pooled) {
        for (std::size_t i = 0; i < d; ++i) {
          for (std::size_t j = i; j < d; ++j) acc[i * d + j] += w * cov[i * d + j];
        }
        continue;
      }
      eigen_result e;
      try {
        e = symmetric_eig(cov, d);
      } catch (const numeric_error& err) {
        throw numeric_error("playlist " + std::to_string(p) + ": " + err.what());
      }
      const int k = rule::playlist_rank(false, e.values.data(), 1, di, n, components, variance,
                                        pca_aggregate_options::rank_tolerance);
      verdict[p] = k;
      if (k < 1) continue;
      for (int i = 0; i < di; ++i) {
        for (int j = i; j < di; ++j) {
          acc[static_cast<std::size_t>(i) * d + static_cast<std::size_t>(j)] +=
              w * rule::projector_entry(e.vectors.data(), di, 1, k, i, j);
        }
      }
    }
  });

  for (std::size_t b = 0; b < blocks; ++b) {
    const double* s = block_sums.data() + b * d * d;
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = i; j < d; ++j) out.sum[i * d + j] += s[i * d + j];
    }
  }
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j < i; ++j) out.sum[i * d + j] = out.sum[j * d + i];
  }
  rule::count_verdicts(out, offsets.data, verdict.data(), playlists, by_songs, pooled);
  return out;
}

}  // namespace playaug::cpu_impl
