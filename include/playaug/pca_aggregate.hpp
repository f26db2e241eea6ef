#pragma once
/// @file pca_aggregate.hpp
/// One PCA model aggregated from per-playlist PCAs: the notebook's "PCA on all of the audio
/// features on each playlist, then we aggregate all of the components together through an
/// average", done so that the average is well defined.
///
/// Averaging eigenvectors entry by entry is not: each vector's sign, and the order (even
/// the basis) of equal or close eigenvalues, are arbitrary in every playlist. Two averages
/// that are invariant to both:
///
/// - **projector**: each playlist p contributes the orthogonal projector onto its top k
///   principal directions, M_p = V_p^T V_p (V_p: its k unit eigenvectors as rows); the
///   aggregate diagonalises Pbar = sum_p w_p M_p / sum_p w_p. Pbar's top k eigenvectors
///   span the subspace closest, on average, to the playlists' subspaces (the extrinsic
///   mean on the Grassmannian: it minimises sum_p w_p ||P - M_p||_F^2 over rank-k
///   projectors P). Its eigenvalues lie in [0, 1]: 1 means every playlist's subspace holds
///   that direction, 0 that none has any of it, so they say how far the playlists agree.
/// - **pooled**: each playlist contributes its covariance about its own mean, S_p; the
///   aggregate diagonalises Sbar = sum_p w_p S_p / sum_p w_p, the pooled within-playlist
///   covariance. Weighted by songs (w_p = n_p - 1) it is sum_p C_p / sum_p (n_p - 1), with
///   C_p the playlist's co-moment matrix: the classical pooled estimator.
///
/// Weights: pca_weight::playlists gives w_p = 1, pca_weight::songs w_p = n_p (projector)
/// or n_p - 1 (pooled). Who takes part: playlists without songs are counted as empty;
/// a playlist with fewer than 2 songs, or for projector fewer than k + 1 (a covariance of n
/// songs has rank at most n - 1), is skipped; so is, for projector, a playlist whose k-th
/// eigenvalue is zero to rounding (below rank_tolerance times its largest: duplicate
/// songs, constant features), since its rank-k projector would hold an arbitrary direction.
///
/// Sums are float64 in a fixed order (playlists in blocks of a fixed size, blocks in
/// index order; chunks in the order they are added), so results do not depend on the
/// thread count and are the same run to run. CPU: symmetric_eig per playlist, parallel
/// across playlists. CUDA: the segmented moments kernel and cuSOLVER syevjBatched of
/// fit_pca_per_playlist, then one reduction kernel of the batch's projectors (or its
/// covariances, without the eigensolver, for pooled) on the device.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/resources.hpp"
#include "playaug/view.hpp"

namespace playaug {

/// What to aggregate and how many components to keep.
struct pca_aggregate_options {
  /// pca_method::projector (the default) or pca_method::pooled.
  pca_method method = pca_method::projector;
  pca_weight weight = pca_weight::playlists;
  /// projector: every playlist's projector has rank K, and the model keeps K. pooled: keep
  /// K. Exclusive with `variance`; projector needs one of the two, pooled keeps all d
  /// without either.
  std::optional<std::size_t> components;
  /// projector: playlist p's rank k_p is its own smallest k whose cumulative explained
  /// ratio exceeds this (fit_pca's rule on its covariance), and the model keeps
  /// round(sum_p w_p k_p / sum_p w_p) = round(trace Pbar) components, at least 1.
  /// pooled: fit_pca's rule on Sbar's eigenvalues. 0 < variance < 1.
  std::optional<double> variance;
  /// An eigenvalue at most this times the playlist's largest counts as zero (projector).
  static constexpr double rank_tolerance = 64 * 2.220446049250313e-16;
};

/// The weighted sum of one set of playlists, mergeable: what the engines return.
struct pca_aggregate_sum {
  std::size_t dim = 0;
  std::vector<double> sum;       ///< [d x d], row-major, symmetric: sum_p w_p M_p (or S_p)
  double weight = 0.0;           ///< sum_p w_p over the aggregated playlists
  double rank_weight = 0.0;      ///< sum_p w_p k_p (projector; 0 for pooled)
  std::uint64_t playlists = 0;   ///< playlists seen, empty and skipped ones included
  std::uint64_t aggregated = 0;  ///< playlists that contributed
  std::uint64_t songs = 0;       ///< songs of the aggregated playlists
  std::uint64_t empty = 0;       ///< playlists without songs
  std::uint64_t too_few_songs = 0;  ///< skipped: fewer than 2 songs, or than k + 1 (projector)
  std::uint64_t low_rank = 0;       ///< skipped: the k-th eigenvalue is zero (projector)

  /// Add `other` (same dim, or either side empty) after this one: sums in this order.
  pca_aggregate_sum& merge(const pca_aggregate_sum& other);
};

/// The contributions of the playlists of `x` (rows offsets[p] .. offsets[p + 1]), reduced.
/// @param res      execution resources; CUDA: syevjBatched for d <= 32, syevd per playlist
///                 above; synchronises before returning
/// @param x        [rows x d] float32 songs, host or device memory; not modified
/// @param offsets  [playlists + 1], non-decreasing, in x's memory space
/// @param opts     checked as fit_pca_aggregate checks them
pca_aggregate_sum aggregate_playlists(const resources& res, matrix_view<const float> x,
                                      vector_view<const std::uint64_t> offsets,
                                      const pca_aggregate_options& opts);

/// Streams playlists in, chunk after chunk, and fits the aggregate model at the end. It
/// keeps one [d x d] sum and the moments of all songs (the model's mean, and the variance
/// its explained_variance_ratio is a share of), so memory does not grow with the data.
class pca_aggregator {
 public:
  /// Checks the options (usage_error): method projector or pooled, components >= 1 and
  /// variance in (0, 1), not both, and projector has one of them.
  explicit pca_aggregator(const pca_aggregate_options& opts);

  /// Add whole playlists (a chunk never splits one): x and offsets as aggregate_playlists.
  void add(const resources& res, matrix_view<const float> x, vector_view<const std::uint64_t> offsets);
  /// Fold in another aggregator's playlists (the same options), after this one's.
  pca_aggregator& merge(const pca_aggregator& other);

  const pca_aggregate_options& options() const noexcept { return opts_; }
  /// The counts and the weighted sum so far.
  const pca_aggregate_sum& sum() const noexcept { return sum_; }
  /// The moments of every song added (empty and skipped playlists' songs included).
  const moments& song_moments() const noexcept { return songs_; }

  /// The aggregate model (method and weight set): mean = the mean of every song added
  /// (transform centres as the global model does), scale 1, eigenvalues = all d
  /// eigenvalues of Pbar (clamped to [0, 1]) or Sbar (clamped at 0), descending, components
  /// = their top k unit eigenvectors (largest-magnitude entry positive),
  /// explained_variance_ratio_i = v_i^T S v_i / trace(S) with S the covariance of every
  /// song added (the share of the songs' variance along v_i; eigenvalue / sum for a
  /// covariance model). numeric_error when no playlist was aggregated.
  /// @param feature_names  d names, or empty for f0, f1, ...
  pca_model fit(const resources& res, const std::vector<std::string>& feature_names) const;

 private:
  pca_aggregate_options opts_;
  pca_aggregate_sum sum_;
  moments songs_;
};

/// The aggregate of the playlists of one dataset in memory: a pca_aggregator with one add.
pca_model fit_pca_aggregate(const resources& res, matrix_view<const float> x,
                            vector_view<const std::uint64_t> offsets, const pca_aggregate_options& opts,
                            const std::vector<std::string>& feature_names);

/// The principal angles, in radians and ascending, between the spans of two models'
/// components (same d): min(k_a, k_b) angles in [0, pi/2]. 0 everywhere means one span
/// holds the other. Computed from the singular values of A B^T (cosines) and of
/// A - (A B^T) B (sines), so that small angles keep their precision.
std::vector<double> principal_angles(const pca_model& a, const pca_model& b);

}  // namespace playaug
