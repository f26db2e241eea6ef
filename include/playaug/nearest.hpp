#pragma once
/// @file nearest.hpp
/// Exact nearest-neighbour search over prepared catalog rows (catalog.hpp builds them from a
/// track catalog), shared bit for bit by the CPU and CUDA engines.
///
/// Distance. Features are standardised with the catalog's own statistics,
/// z = (x - mean) / sd per feature (float64 arithmetic, rounded once to float; a feature
/// with sd == 0 uses sd = 1), so that tempo (~120) does not drown the unit-interval
/// features. The nearest track to a query q minimises the squared Euclidean distance
/// ||z(q) - z(t)||^2 = ||z(q)||^2 + score(q, t), where
///
///     score(q, t) = ||z(t)||^2 + sum_k (-2 z(q)_k) z(t)_k,     k = 0 .. 10 in order,
///
/// evaluated in float32 as a chain of fused multiply-adds starting from ||z(t)||^2
/// (nn_score below). ||z(q)||^2 is the same for every track and is dropped. Both engines
/// evaluate exactly this chain (IEEE fma is correctly rounded everywhere), so their scores
/// are identical bit for bit, and so are their answers.
///
/// Order. Hits are ordered by (score, row): the smallest score wins and an exact tie goes
/// to the lower catalog row. Searching "after a floor" returns the first hit strictly after
/// the floor in that order, which walks a query's candidates one by one (the k-th nearest
/// after k - 1 steps); requery uses it to skip tracks already in a playlist.
///
/// Accuracy. The expansion loses a little against computing (z(q) - z(t))^2 directly:
/// candidates whose squared distances differ by less than about 1e-5 (relative to
/// ||z(t)||^2) may come out in either order, the same order on both engines.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "playaug/random.hpp"  // PLAYAUG_HD
#include "playaug/resources.hpp"
#include "playaug/view.hpp"

namespace playaug {

/// Features per song / track that the search uses, and floats per prepared catalog row
/// (11 standardised features and the squared norm, 48 bytes).
inline constexpr std::size_t nn_dim = 11;
inline constexpr std::size_t nn_stride = 12;

/// A search result, or a floor: the pair (score, row), ordered lexicographically.
/// As a result, {+inf, -1} (the default) means "none"; as a floor, {-inf, -1} admits
/// every row.
struct nn_hit {
  float score = std::numeric_limits<float>::infinity();
  std::int32_t row = -1;
};

/// (a.score, a.row) < (b.score, b.row).
PLAYAUG_HD bool nn_before(nn_hit a, nn_hit b) {
  return a.score < b.score || (a.score == b.score && a.row < b.row);
}
/// True when (score, row) comes strictly after the floor f.
PLAYAUG_HD bool nn_after(float score, std::int32_t row, nn_hit f) {
  return score > f.score || (score == f.score && row > f.row);
}

namespace detail {
/// fma(a, b, c) with one rounding, on both engines.
PLAYAUG_HD float fma_rn(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}
}  // namespace detail

/// The score of prepared catalog row `t` (nn_stride floats) for a query in search form
/// `m2z` = -2 z (nn_dim floats, z the standardised features; the scaling by -2 is exact):
/// t[11] + sum_k m2z[k] t[k] by fused multiply-adds, k = 0..10 in order. Identical on host
/// and device.
PLAYAUG_HD float nn_score(const float* m2z, const float* t) {
  float acc = t[nn_dim];
  for (std::size_t k = 0; k < nn_dim; ++k) acc = detail::fma_rn(m2z[k], t[k], acc);
  return acc;
}

/// Per-feature standardisation fitted to a catalog.
struct nn_scaler {
  double mean[nn_dim] = {};
  double sd[nn_dim] = {};  ///< population standard deviation; 1 where it is 0

  /// Mean and population standard deviation of each column of `x` ([n x 11], n >= 1),
  /// accumulated in float64.
  static nn_scaler fit(matrix_view<const float> x);
  /// z[k] = float((x[k] - mean[k]) / sd[k]) for one row of 11 features.
  void apply(const float* x, float* z) const noexcept;
  /// The same for every row: `z` is [x.rows x 11] (may alias x).
  void apply(matrix_view<const float> x, matrix_view<float> z) const;
};

/// Prepared rows for search: out[i] = (z(x_i), ||z(x_i)||^2) with ||.||^2 summed in
/// float64 over k = 0..10 and rounded once. `out` is [x.rows x nn_stride].
void nn_prepare(const nn_scaler& scaler, matrix_view<const float> x, matrix_view<float> out);

/// Exact nearest prepared catalog row for each query.
/// @param res      execution resources
/// @param catalog  [m x nn_stride] prepared rows (nn_prepare), m < 2^31; not modified
/// @param queries  [q x nn_dim] standardised query features (nn_scaler::apply), finite
/// @param floors   empty, or [q]: query i only considers hits strictly after floors[i]
/// @param out      [q] for each query the first hit in (score, row) order, or {+inf, -1}
///                 when no row qualifies
/// @note Every view may be in host or device memory. On the CPU all must be host memory.
///       CUDA: device views stay where they are and work is ordered on res.stream(); host
///       views are staged; when `out` is in host memory the call synchronises.
///       The result is identical on both engines and independent of thread count.
void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out);

}  // namespace playaug
