#pragma once
// fit_pca's --variance rule, in one place for fit_pca (host/pca.cpp), a pooled aggregate
// (host/pca_aggregate.cpp) and the per-playlist ranks of a projector aggregate on both
// engines (detail/pca_aggregate_rule.hpp, which the CUDA selection kernel calls). Plain C++
// compiled for host and device (PLAYAUG_HD).

#include <cstddef>

#include "playaug/random.hpp"  // PLAYAUG_HD

namespace playaug::detail {

/// The smallest k whose cumulative explained-variance ratio, the ratios v_i / total summed
/// in order from v_0, is strictly greater than `variance` (as scikit-learn's
/// n_components = F); d when none is, or when every eigenvalue is 0. Eigenvalue i
/// (descending) is values[i * step] (step -1 walks an ascending array from its end);
/// negative eigenvalues are rounding and count as 0.
PLAYAUG_HD int components_for_variance(const double* values, std::ptrdiff_t step, int d, double variance) {
  double total = 0.0;
  for (int i = 0; i < d; ++i) {
    const double v = values[i * step];
    total += v > 0.0 ? v : 0.0;
  }
  if (!(total > 0.0)) return d;
  double cumulative = 0.0;
  for (int i = 0; i < d; ++i) {
    const double v = values[i * step];
    cumulative += (v > 0.0 ? v : 0.0) / total;
    if (cumulative > variance) return i + 1;
  }
  return d;
}

}  // namespace playaug::detail
