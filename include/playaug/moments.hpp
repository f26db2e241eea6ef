#pragma once
/// @file moments.hpp
/// First and second moments of a set of feature vectors, accumulated in float64 and
/// mergeable, so that chunks, threads, files and GPUs combine into one result.
///
/// A `moments` value holds n, the mean and the co-moment matrix
///     C = sum_i (x_i - mean)(x_i - mean)^T      ([d x d], symmetric, row-major)
/// Two of them merge with Chan, Golub and LeVeque's pairwise update
///     n = na + nb,  delta = mean_b - mean_a,  mean = mean_a + delta * nb / n,
///     C = C_a + C_b + delta delta^T * na * nb / n,
/// which is exact in exact arithmetic. The unbiased covariance is C / (n - 1), as np.cov.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "playaug/resources.hpp"
#include "playaug/view.hpp"

namespace playaug {

/// The count, mean and co-moment matrix (sum of outer products of deviations) of n rows.
struct moments {
  std::uint64_t n = 0;
  std::vector<double> mean;      ///< [d]
  std::vector<double> comoment;  ///< [d x d], row-major, symmetric

  moments() = default;
  /// The moments of no rows in d dimensions.
  explicit moments(std::size_t d) : mean(d, 0.0), comoment(d * d, 0.0) {}

  std::size_t dim() const noexcept { return mean.size(); }

  /// Fold `other` into this (Chan et al.). Dimensions must match (usage_error otherwise);
  /// an empty side leaves the other unchanged.
  moments& merge(const moments& other);

  /// Unbiased covariance [d x d] = C / (n - 1). numeric_error when n < 2.
  std::vector<double> covariance() const;

  /// Serialise as {"format":"playaug-moments","version":1,"n":..,"mean":[..],"comoment":[[..],..]},
  /// numbers in shortest round-trip form.
  std::string to_json() const;
  /// Parse to_json()'s output; playaug::error on malformed input.
  static moments from_json(const std::string& text);
};

/// Merge two moments (see moments::merge).
moments merge(moments a, const moments& b);

/// Moments of the rows of `x` ([rows x d], float32, host or device memory).
/// On the CPU: uses res.threads() threads; the result does not depend on the thread count.
/// On CUDA: one pass over x, float64 accumulation, a fixed reduction tree without
/// floating-point atomics (the same bits on every run); the call synchronises on
/// res.stream() before returning the d x d result.
/// Rows are partitioned into fixed blocks and each block is accumulated around a common
/// shift (the first rows' mean rounded to float), so that the result is accurate even
/// when a feature's mean dwarfs its spread.
moments compute_moments(const resources& res, matrix_view<const float> x);

}  // namespace playaug
