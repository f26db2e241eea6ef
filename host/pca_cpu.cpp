// The CPU halves of PCA: float64 projection and reconstruction, and one eigendecomposition
// per playlist for per-playlist PCA (symmetric_eig's CPU half is host/eig_cpu.cpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cpu_features.hpp"
#include "cpu_impl.hpp"
#include "detail/blas_threads.hpp"
#include "detail/parallel.hpp"
#include "playaug/error.hpp"

namespace playaug::cpu_impl {

using detail::single_threaded_blas;

namespace {

/// Rows per task of transform and inverse_transform.
constexpr std::size_t transform_rows = 4096;
/// Rows per tile: the tile's columns are contiguous, so the arithmetic runs across rows
/// in SIMD lanes while each output still sums its terms in the documented order.
constexpr std::size_t tile_rows = 64;

/// y_rc = sum_j ((x_rj - mean_j) / scale_j) * P_cj, j in order, for rows [r0, r1).
/// `zt` holds tile_rows * d doubles, `acc` tile_rows.
__attribute__((always_inline)) inline void project_rows(const pca_model& m, const float* x,
                                                        float* y, std::size_t rows, double* zt,
                                                        double* acc) {
  const std::size_t d = m.dim();
  const std::size_t k = m.n_components;
  const double* mean = m.mean.data();
  const double* scale = m.scale.data();
  const double* p = m.components.data();
  for (std::size_t t0 = 0; t0 < rows; t0 += tile_rows) {
    const std::size_t tr = std::min(tile_rows, rows - t0);
    const float* xt = x + t0 * d;
    for (std::size_t r = 0; r < tr; ++r) {
      for (std::size_t j = 0; j < d; ++j)
        zt[j * tile_rows + r] = static_cast<double>(xt[r * d + j]);
    }
    for (std::size_t j = 0; j < d; ++j) {
      double* z = zt + j * tile_rows;
      const double mj = mean[j];
      const double sj = scale[j];
      for (std::size_t r = 0; r < tile_rows; ++r) z[r] = (z[r] - mj) / sj;
    }
    float* yt = y + t0 * k;
    for (std::size_t c = 0; c < k; ++c) {
      const double* pc = p + c * d;
      for (std::size_t r = 0; r < tile_rows; ++r) acc[r] = 0.0;
      for (std::size_t j = 0; j < d; ++j) {
        const double* z = zt + j * tile_rows;
        const double w = pc[j];
        for (std::size_t r = 0; r < tile_rows; ++r) acc[r] += z[r] * w;
      }
      for (std::size_t r = 0; r < tr; ++r) yt[r * k + c] = static_cast<float>(acc[r]);
    }
  }
}

/// x_rj = (sum_c y_rc * P_cj, c in order) * scale_j + mean_j, for rows [r0, r1).
/// `yt` holds tile_rows * k doubles, `acc` tile_rows.
__attribute__((always_inline)) inline void reconstruct_rows(const pca_model& m, const float* y,
                                                            float* x, std::size_t rows, double* yt,
                                                            double* acc) {
  const std::size_t d = m.dim();
  const std::size_t k = m.n_components;
  const double* mean = m.mean.data();
  const double* scale = m.scale.data();
  const double* p = m.components.data();
  for (std::size_t t0 = 0; t0 < rows; t0 += tile_rows) {
    const std::size_t tr = std::min(tile_rows, rows - t0);
    const float* ys = y + t0 * k;
    for (std::size_t r = 0; r < tr; ++r) {
      for (std::size_t c = 0; c < k; ++c)
        yt[c * tile_rows + r] = static_cast<double>(ys[r * k + c]);
    }
    float* xt = x + t0 * d;
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t r = 0; r < tile_rows; ++r) acc[r] = 0.0;
      for (std::size_t c = 0; c < k; ++c) {
        const double* v = yt + c * tile_rows;
        const double w = p[c * d + j];
        for (std::size_t r = 0; r < tile_rows; ++r) acc[r] += v[r] * w;
      }
      const double sj = scale[j];
      const double mj = mean[j];
      for (std::size_t r = 0; r < tile_rows; ++r) acc[r] = acc[r] * sj + mj;
      for (std::size_t r = 0; r < tr; ++r) xt[r * d + j] = static_cast<float>(acc[r]);
    }
  }
}

using rows_fn = void (*)(const pca_model&, const float*, float*, std::size_t, double*, double*);

void project_baseline(const pca_model& m, const float* x, float* y, std::size_t rows, double* zt,
                      double* acc) {
  project_rows(m, x, y, rows, zt, acc);
}
__attribute__((target("avx2"))) void project_avx2(const pca_model& m, const float* x, float* y,
                                                  std::size_t rows, double* zt, double* acc) {
  project_rows(m, x, y, rows, zt, acc);
}
void reconstruct_baseline(const pca_model& m, const float* y, float* x, std::size_t rows,
                          double* yt, double* acc) {
  reconstruct_rows(m, y, x, rows, yt, acc);
}
__attribute__((target("avx2"))) void reconstruct_avx2(const pca_model& m, const float* y, float* x,
                                                      std::size_t rows, double* yt, double* acc) {
  reconstruct_rows(m, y, x, rows, yt, acc);
}

/// Run `fn` over rows [0, n) in tasks of transform_rows; `width` columns per tile row.
void run_tiled(const resources& res, rows_fn fn, const pca_model& m, const float* in,
               std::size_t in_cols, float* out, std::size_t out_cols, std::size_t n,
               std::size_t width) {
  const std::size_t tasks = (n + transform_rows - 1) / transform_rows;
  detail::parallel_for(res.threads(), tasks, [&](std::size_t t) {
    std::vector<double> tile(tile_rows * width, 0.0);
    std::vector<double> acc(tile_rows, 0.0);
    const std::size_t r0 = t * transform_rows;
    const std::size_t r1 = std::min(n, r0 + transform_rows);
    fn(m, in + r0 * in_cols, out + r0 * out_cols, r1 - r0, tile.data(), acc.data());
  });
}

}  // namespace

void transform(const resources& res, const pca_model& model, matrix_view<const float> x,
               matrix_view<float> y) {
  const std::size_t d = model.dim();
  run_tiled(res, detail::cpu_has_avx2() ? &project_avx2 : &project_baseline, model, x.data, d, y.data,
            model.n_components, x.rows, d);
}

void inverse_transform(const resources& res, const pca_model& model, matrix_view<const float> y,
                       matrix_view<float> x) {
  const std::size_t k = model.n_components;
  run_tiled(res, detail::cpu_has_avx2() ? &reconstruct_avx2 : &reconstruct_baseline, model, y.data, k, x.data,
            model.dim(), y.rows, k);
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
  // Playlists are small: each is one serial moments pass and one eigendecomposition, and
  // the parallelism is across playlists (LAPACK, used past jacobi_max_dim, single-threaded).
  const resources serial(backend::cpu, 1);
  const single_threaded_blas blas_guard;
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
