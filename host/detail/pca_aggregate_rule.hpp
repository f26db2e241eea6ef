#pragma once
// The per-playlist decisions of the PCA aggregate (include/playaug/pca_aggregate.hpp), in
// one place for both engines: host/pca_aggregate_cpu.cpp calls them per playlist and the
// CUDA engine's selection kernel (cuda/batched_pca.cu) per thread. Plain C++ compiled for
// host and device (PLAYAUG_HD); tests/cpu/test_pca_aggregate.cpp exercises them.

#include <cstddef>
#include <cstdint>

#include "playaug/pca.hpp"
#include "playaug/pca_aggregate.hpp"
#include "detail/variance_rule.hpp"
#include "playaug/random.hpp"  // PLAYAUG_HD

namespace playaug::detail::aggregate_rule {

/// Verdicts below 1: why a playlist takes no part.
inline constexpr int empty = 0;
inline constexpr int too_few_songs = -1;
inline constexpr int low_rank = -2;

/// What the size of a playlist of n songs decides before any eigenvalue is known: a
/// verdict, or 1 (it may take part). `components` > 0 asks for that rank, 0 for the
/// variance rule.
PLAYAUG_HD int size_verdict(bool pooled, std::uint64_t n, int components) {
  if (n == 0) return empty;
  if (n < 2) return too_few_songs;
  if (!pooled && components > 0 && n < static_cast<std::uint64_t>(components) + 1) return too_few_songs;
  return 1;
}

/// How one playlist takes part. `largest` points at its largest eigenvalue and eigenvalue
/// i (descending) is largest[i * step] (step -1 walks an ascending array from its end);
/// negative eigenvalues are rounding and count as 0; `largest` is read only when
/// size_verdict() is 1 and the method is projector. Returns the rank k (1..d) of its
/// projector, or for pooled 1, or a verdict above.
PLAYAUG_HD int playlist_rank(bool pooled, const double* largest, std::ptrdiff_t step, int d, std::uint64_t n,
                             int components, double variance, double tolerance) {
  const int verdict = size_verdict(pooled, n, components);
  if (verdict != 1 || pooled) return verdict;
  const double top = largest[0] > 0.0 ? largest[0] : 0.0;
  if (!(top > 0.0)) return low_rank;
  int k = components;
  if (k == 0) k = components_for_variance(largest, step, d, variance);  // fit_pca's rule
  const double kth = largest[(k - 1) * step];
  if (!(kth > tolerance * top)) return low_rank;
  if (n < static_cast<std::uint64_t>(k) + 1) return too_few_songs;
  return k;
}

/// The weight of a playlist of n songs that takes part (n >= 2).
PLAYAUG_HD double playlist_weight(bool by_songs, bool pooled, std::uint64_t n) {
  if (!by_songs) return 1.0;
  return pooled ? static_cast<double>(n - 1) : static_cast<double>(n);
}

/// Entry (i, j) of a rank-k projector sum_{c < k} v_c[i] v_c[j], c in order; vector c's
/// entry i is v[c * cstride + i * estride] (rows: cstride d, estride 1).
PLAYAUG_HD double projector_entry(const double* v, std::ptrdiff_t cstride, std::ptrdiff_t estride, int k, int i,
                                  int j) {
  double s = 0.0;
  for (int c = 0; c < k; ++c) s += v[c * cstride + i * estride] * v[c * cstride + j * estride];
  return s;
}

/// Count `count` playlists (offsets[q] .. offsets[q + 1], verdicts or ranks verdict[q]) into
/// `out`, in order: the counts, songs, sum of weights and of weighted ranks. Host code.
inline void count_verdicts(pca_aggregate_sum& out, const std::uint64_t* offsets, const int* verdict,
                           std::size_t count, bool by_songs, bool pooled) {
  for (std::size_t q = 0; q < count; ++q) {
    const std::uint64_t n = offsets[q + 1] - offsets[q];
    const int v = verdict[q];
    if (v == empty) {
      ++out.empty;
    } else if (v == too_few_songs) {
      ++out.too_few_songs;
    } else if (v == low_rank) {
      ++out.low_rank;
    } else {
      const double w = playlist_weight(by_songs, pooled, n);
      ++out.aggregated;
      out.songs += n;
      out.weight += w;
      if (!pooled) out.rank_weight += w * static_cast<double>(v);
    }
  }
}

/// Playlists per block of the fixed summation order: each block is summed in playlist
/// order, and block sums are added in block order (CPU). The CUDA engine sums a batch in
/// its own fixed tree; the engines agree to rounding, not bit for bit.
inline constexpr std::size_t block_playlists = 16;

}  // namespace playaug::detail::aggregate_rule
