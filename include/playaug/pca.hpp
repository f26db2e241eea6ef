#pragma once
/// @file pca.hpp
/// Principal component analysis of song features, as in the notebook: mean-deviation form
/// B = X - mu, covariance S, symmetric eigendecomposition S = P D P^T, explained-variance
/// ratios, keep k components, project Y = (X - mu) / scale . P_k^T and reconstruct
/// X = Y . P_k . scale + mu.
///
/// Conventions shared by the CPU (Jacobi, LAPACK dsyevd) and CUDA (cuSOLVER syevd) engines:
/// eigenvalues in descending order; each eigenvector's sign chosen so that its
/// largest-magnitude entry is positive (the first such entry on a tie).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "playaug/moments.hpp"
#include "playaug/resources.hpp"
#include "playaug/view.hpp"

namespace playaug {

/// Eigen-decomposition of a symmetric matrix.
struct eigen_result {
  std::vector<double> values;   ///< [d], descending
  std::vector<double> vectors;  ///< [d x d], row i is the unit eigenvector of values[i]
};

/// Eigendecomposition of the symmetric [d x d] row-major matrix `a` (host memory), of which
/// the lower triangle (a[i * d + j], j <= i) is read. CPU: Jacobi's method for d <= 64,
/// relatively accurate for positive definite matrices (each eigenvalue to about
/// kappa(correlation) * eps of itself), LAPACK dsyevd above. CUDA: cuSOLVER syevd in
/// float64 on res.stream() (each eigenvalue to about eps * the largest). numeric_error if
/// the solver fails to converge.
eigen_result symmetric_eig(const resources& res, const std::vector<double>& a, std::size_t d);

/// Apply the sign convention in place (largest-magnitude entry positive, first on ties).
void canonicalize_signs(eigen_result& e, std::size_t d);

/// How many components fit_pca keeps, and whether it standardises.
struct pca_options {
  /// Keep this many components (1..d). Exclusive with `variance`. Default: all d.
  std::optional<std::size_t> components;
  /// Keep the smallest k whose cumulative explained-variance ratio is strictly greater
  /// than this (0 < variance < 1), as scikit-learn does.
  std::optional<double> variance;
  /// Fit on z-scores: divide by the sample standard deviation (ddof = 1). A constant
  /// feature keeps scale 1.
  bool standardize = false;
};

/// What a model's components diagonalise: the covariance of all songs (fit_pca), or an
/// aggregate of per-playlist fits (pca_aggregate.hpp).
enum class pca_method {
  covariance,  ///< the covariance (or correlation) matrix of every song stacked
  projector,   ///< the average of the playlists' rank-k projectors P_k^T P_k
  pooled,      ///< the average of the playlists' covariance matrices (each about its own mean)
};
/// How much each playlist counts in an aggregate.
enum class pca_weight {
  playlists,  ///< every playlist once
  songs,      ///< by its size: n songs (projector), n - 1 degrees of freedom (pooled)
};
/// "covariance", "projector", "pooled"; "playlists", "songs".
const char* to_string(pca_method m) noexcept;
const char* to_string(pca_weight w) noexcept;

/// A fitted PCA: what MODEL.json holds.
struct pca_model {
  std::vector<std::string> feature_names;        ///< [d]
  std::uint64_t n_samples = 0;
  std::vector<double> mean;                      ///< [d]
  std::vector<double> scale;                     ///< [d], all 1 unless standardized
  std::vector<double> eigenvalues;               ///< [d], descending
  std::vector<double> explained_variance_ratio;  ///< [d]
  std::size_t n_components = 0;                  ///< k
  std::vector<double> components;                ///< [k x d], row-major, unit rows
  /// Indices of constant features (zero variance) found while standardizing.
  std::vector<std::size_t> constant_features;
  /// What the components diagonalise. For an aggregate, `eigenvalues` are those of the
  /// averaged matrix (for projector, in [0, 1]: how far the playlists agree on each
  /// direction) and `explained_variance_ratio` is the share of the songs' total variance
  /// along each component (which is eigenvalue / sum for covariance); see docs/pca.md.
  pca_method method = pca_method::covariance;
  /// The playlists' weights of an aggregate (ignored for covariance).
  pca_weight weight = pca_weight::playlists;

  std::size_t dim() const noexcept { return mean.size(); }

  /// The MODEL.json object: exactly the keys format, version, feature_names, n_samples,
  /// mean, scale, eigenvalues, explained_variance_ratio, n_components, components; an
  /// aggregate adds "method" and "weight" after "version".
  std::string to_json() const;
  /// The smallest scale from_json() accepts: dividing by less turns ordinary features
  /// into infinities. The largest is FLT_MAX. A fitted model's scales are standard
  /// deviations of float features, or 1.
  static constexpr double min_scale = 1e-30;
  /// How far from 1 (unit length) and from 0 (orthogonal) the dot products of the rows of
  /// `components` may be in from_json().
  static constexpr double component_tolerance = 1e-6;

  /// Parse and validate MODEL.json text; `source` names it in error messages. Besides the
  /// keys and sizes ("method" and "weight" are optional, and come together), it checks
  /// that feature_names are distinct, mean and scale are finite and within float range,
  /// min_scale <= scale, explained_variance_ratio lies in [0, 1] and the components are
  /// orthonormal. Every problem is a data_error naming `source`.
  static pca_model from_json(const std::string& text, const std::string& source = "<model>");
  /// Read and parse a model file.
  static pca_model load(const std::string& path);
  /// Write the model atomically.
  void save(const std::string& path) const;
};

/// Peak bytes of a PCA of d features: seven [d x d] float64 matrices for fit_pca (the
/// merged and one chunk's co-moments, the covariance, the eigensolver's copy, workspace and
/// vectors), or 5 + P of them for fit_pca_per_playlist over P playlists (its [P x d x d]
/// output). Saturates instead of overflowing.
std::uint64_t fit_pca_bytes(std::size_t d, std::size_t playlists = 0) noexcept;

/// Bytes this process may allocate: the physical memory, lowered by the address-space and
/// data-segment limits (ulimit -v, ulimit -d) when they are set.
std::uint64_t allocatable_bytes() noexcept;

/// Refuse, before allocating, a PCA whose d x d matrices do not fit: throws when
/// fit_pca_bytes(d, playlists) > allocatable_bytes(), saying d, both sizes, and `source`
/// (data_error naming that file when given, else error). compute_moments, fit_pca,
/// symmetric_eig and fit_pca_per_playlist call it first, so none of them fails with
/// std::bad_alloc on a wide input.
void check_pca_memory(std::size_t d, std::size_t playlists = 0, const std::string& source = {});

/// Fit from accumulated moments (n >= 2). `feature_names` must have m.dim() entries, or be
/// empty for f0, f1, ...
pca_model fit_pca(const resources& res, const moments& m, const pca_options& opts,
                  const std::vector<std::string>& feature_names);

/// Fit on the rows of `x` (host or device memory).
pca_model fit_pca(const resources& res, matrix_view<const float> x, const pca_options& opts,
                  const std::vector<std::string>& feature_names);

/// y = (x - mean) / scale . components^T.  x: [n x d], y: [n x k]; host or device memory
/// (both in the same space). Arithmetic in float64, results rounded to float32.
void transform(const resources& res, const pca_model& model, matrix_view<const float> x,
               matrix_view<float> y);

/// x = y . components . scale + mean.  y: [n x k], x: [n x d].
void inverse_transform(const resources& res, const pca_model& model,
                       matrix_view<const float> y, matrix_view<float> x);

/// PCA of every playlist on its own: for playlist p (rows offsets[p] .. offsets[p+1]),
/// the mean, all d eigenvalues of its covariance (descending) and the d eigenvectors
/// (sign convention as above). Playlists with fewer than 2 songs get n < 2, a mean (zeros
/// when empty) and zero eigenvalues with identity vectors.
/// CUDA: a segmented moments kernel and cuSOLVER syevjBatched (d <= 32). CPU: symmetric_eig per
/// playlist.
struct batched_pca {
  std::size_t dim = 0;
  std::vector<std::uint64_t> n;     ///< [P]
  std::vector<double> mean;         ///< [P x d]
  std::vector<double> eigenvalues;  ///< [P x d]
  std::vector<double> components;   ///< [P x d x d], row i of block p = i-th eigenvector
};
/// The per-playlist PCA described above; `x` and `offsets` in host or device memory (the
/// same space; device memory only on the CUDA backend).
batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets);

}  // namespace playaug
