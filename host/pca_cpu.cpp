// The CPU halves of PCA: LAPACK's dsyevd for the eigendecomposition, float64 projection
// and reconstruction, and one LAPACK call per playlist for per-playlist PCA.

#include <lapacke.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cpu_impl.hpp"
#include "parallel.hpp"
#include "playaug/error.hpp"

namespace playaug::cpu_impl {

eigen_result symmetric_eig(const std::vector<double>& a, std::size_t d) {
  eigen_result e;
  if (d == 0) return e;
  // A symmetric matrix reads the same in either layout; column-major spares LAPACKE a
  // transposed copy. dsyevd overwrites the matrix with the eigenvectors (columns) and
  // returns the eigenvalues in ascending order.
  std::vector<double> w(a);
  std::vector<double> values(d);
  const auto n = static_cast<lapack_int>(d);
  const lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, w.data(), n, values.data());
  if (info < 0) {
    throw numeric_error("symmetric_eig: LAPACK dsyevd rejected argument " + std::to_string(-info));
  }
  if (info > 0) {
    throw numeric_error("symmetric_eig: LAPACK dsyevd did not converge (info " +
                        std::to_string(info) + ")");
  }
  e.values.resize(d);
  e.vectors.resize(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    const std::size_t src = d - 1 - i;
    e.values[i] = values[src];
    std::copy(w.begin() + static_cast<std::ptrdiff_t>(src * d),
              w.begin() + static_cast<std::ptrdiff_t>((src + 1) * d),
              e.vectors.begin() + static_cast<std::ptrdiff_t>(i * d));
  }
  canonicalize_signs(e, d);
  return e;
}

namespace {
/// Rows per task of transform and inverse_transform.
constexpr std::size_t transform_rows = 4096;
}  // namespace

void transform(const resources& res, const pca_model& model, matrix_view<const float> x,
               matrix_view<float> y) {
  const std::size_t d = model.dim();
  const std::size_t k = model.n_components;
  const std::size_t n = x.rows;
  // components^T [d x k], so that the inner loop runs over components with unit stride;
  // each output still sums its d terms in feature order.
  std::vector<double> pt(d * k);
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t j = 0; j < d; ++j) pt[j * k + c] = model.components[c * d + j];
  }
  const double* mean = model.mean.data();
  const double* scale = model.scale.data();
  const std::size_t tasks = (n + transform_rows - 1) / transform_rows;
  detail::parallel_for(res.threads(), tasks, [&](std::size_t t) {
    std::vector<double> z(d);
    std::vector<double> acc(k);
    const std::size_t r1 = std::min(n, (t + 1) * transform_rows);
    for (std::size_t r = t * transform_rows; r < r1; ++r) {
      const float* xr = x.row(r);
      for (std::size_t j = 0; j < d; ++j) z[j] = (static_cast<double>(xr[j]) - mean[j]) / scale[j];
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::size_t j = 0; j < d; ++j) {
        const double zj = z[j];
        const double* p = pt.data() + j * k;
        for (std::size_t c = 0; c < k; ++c) acc[c] += zj * p[c];
      }
      float* yr = y.row(r);
      for (std::size_t c = 0; c < k; ++c) yr[c] = static_cast<float>(acc[c]);
    }
  });
}

void inverse_transform(const resources& res, const pca_model& model, matrix_view<const float> y,
                       matrix_view<float> x) {
  const std::size_t d = model.dim();
  const std::size_t k = model.n_components;
  const std::size_t n = y.rows;
  const double* p = model.components.data();
  const double* mean = model.mean.data();
  const double* scale = model.scale.data();
  const std::size_t tasks = (n + transform_rows - 1) / transform_rows;
  detail::parallel_for(res.threads(), tasks, [&](std::size_t t) {
    std::vector<double> acc(d);
    const std::size_t r1 = std::min(n, (t + 1) * transform_rows);
    for (std::size_t r = t * transform_rows; r < r1; ++r) {
      const float* yr = y.row(r);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::size_t c = 0; c < k; ++c) {
        const double yc = static_cast<double>(yr[c]);
        const double* pc = p + c * d;
        for (std::size_t j = 0; j < d; ++j) acc[j] += yc * pc[j];
      }
      float* xr = x.row(r);
      for (std::size_t j = 0; j < d; ++j) xr[j] = static_cast<float>(acc[j] * scale[j] + mean[j]);
    }
  });
}

batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets) {
  const std::size_t d = x.cols;
  const std::size_t playlists = offsets.size - 1;
  batched_pca out;
  out.dim = d;
  out.n.resize(playlists);
  out.mean.assign(playlists * d, 0.0);
  out.eigenvalues.assign(playlists * d, 0.0);
  out.components.assign(playlists * d * d, 0.0);
  // Playlists are small: each is one serial moments pass and one LAPACK call, and the
  // parallelism is across playlists.
  const resources serial(backend::cpu, 1);
  constexpr std::size_t playlists_per_task = 16;
  const std::size_t tasks = (playlists + playlists_per_task - 1) / playlists_per_task;
  detail::parallel_for(res.threads(), tasks, [&](std::size_t t) {
    const std::size_t p1 = std::min(playlists, (t + 1) * playlists_per_task);
    for (std::size_t p = t * playlists_per_task; p < p1; ++p) {
      const std::size_t r0 = offsets[p];
      const std::size_t rows = offsets[p + 1] - r0;
      out.n[p] = rows;
      double* mean = out.mean.data() + p * d;
      double* values = out.eigenvalues.data() + p * d;
      double* vectors = out.components.data() + p * d * d;
      if (rows < 2) {
        if (rows == 1) {
          for (std::size_t j = 0; j < d; ++j) mean[j] = static_cast<double>(x(r0, j));
        }
        for (std::size_t j = 0; j < d; ++j) vectors[j * d + j] = 1.0;
        continue;
      }
      const moments m =
          cpu_impl::compute_moments(serial, matrix_view<const float>{x.data + r0 * d, rows, d});
      eigen_result e;
      try {
        e = symmetric_eig(m.covariance(), d);
      } catch (const numeric_error& err) {
        throw numeric_error("playlist " + std::to_string(p) + ": " + err.what());
      }
      std::copy(m.mean.begin(), m.mean.end(), mean);
      std::copy(e.values.begin(), e.values.end(), values);
      std::copy(e.vectors.begin(), e.vectors.end(), vectors);
    }
  });
  return out;
}

}  // namespace playaug::cpu_impl
