// Exact nearest-neighbour search (nearest.hpp): standardisation, prepared rows and the
// dispatch point. The CPU engine is host/nearest_cpu.cpp, the CUDA engine cuda/nearest.cu.

#include <cmath>
#include <cstring>
#include <string>

#include "cpu_impl.hpp"
#include "cuda_impl.hpp"
#include "detail/expects.hpp"
#include "playaug/error.hpp"
#include "playaug/nearest.hpp"

namespace playaug {

// ---------------------------------------------------------------------------------------
// Standardisation and prepared rows
// ---------------------------------------------------------------------------------------

nn_scaler nn_scaler::fit(matrix_view<const float> x) {
  if (x.cols != nn_dim) {
    throw usage_error("nn_scaler::fit: expected " + std::to_string(nn_dim) + " columns, got " +
                      std::to_string(x.cols));
  }
  if (x.rows == 0) throw usage_error("nn_scaler::fit: no rows");
  if (x.space != memory_space::host) throw usage_error("nn_scaler::fit: x must be in host memory");
  nn_scaler s;
  const double n = static_cast<double>(x.rows);
  for (std::size_t k = 0; k < nn_dim; ++k) {
    double sum = 0.0;
    for (std::size_t i = 0; i < x.rows; ++i) sum += static_cast<double>(x(i, k));
    const double mean = sum / n;
    double ss = 0.0;
    for (std::size_t i = 0; i < x.rows; ++i) {
      const double d = static_cast<double>(x(i, k)) - mean;
      ss += d * d;
    }
    const double sd = std::sqrt(ss / n);
    s.mean[k] = mean;
    s.sd[k] = (sd > 0.0 && std::isfinite(sd)) ? sd : 1.0;
  }
  return s;
}

void nn_scaler::apply(const float* x, float* z) const noexcept {
  for (std::size_t k = 0; k < nn_dim; ++k) {
    z[k] = static_cast<float>((static_cast<double>(x[k]) - mean[k]) / sd[k]);
  }
}

void nn_scaler::apply(matrix_view<const float> x, matrix_view<float> z) const {
  if (x.cols != nn_dim || z.cols != nn_dim || z.rows != x.rows) {
    throw usage_error("nn_scaler::apply: x is [" + std::to_string(x.rows) + " x " + std::to_string(x.cols) +
                      "], z is [" + std::to_string(z.rows) + " x " + std::to_string(z.cols) + "]; both must be [n x " +
                      std::to_string(nn_dim) + "]");
  }
  if (x.space != memory_space::host || z.space != memory_space::host) {
    throw usage_error("nn_scaler::apply: host memory only");
  }
  float tmp[nn_dim];
  for (std::size_t i = 0; i < x.rows; ++i) {
    apply(x.row(i), tmp);
    std::memcpy(z.row(i), tmp, sizeof tmp);
  }
}

void nn_prepare(const nn_scaler& scaler, matrix_view<const float> x, matrix_view<float> out) {
  if (x.cols != nn_dim || out.cols != nn_stride || out.rows != x.rows) {
    throw usage_error("nn_prepare: x must be [n x " + std::to_string(nn_dim) + "] and out [n x " +
                      std::to_string(nn_stride) + "]; got [" + std::to_string(x.rows) + " x " +
                      std::to_string(x.cols) + "] and [" + std::to_string(out.rows) + " x " +
                      std::to_string(out.cols) + "]");
  }
  if (x.space != memory_space::host || out.space != memory_space::host) {
    throw usage_error("nn_prepare: host memory only");
  }
  for (std::size_t i = 0; i < x.rows; ++i) {
    float z[nn_dim];
    scaler.apply(x.row(i), z);
    double norm = 0.0;
    for (std::size_t k = 0; k < nn_dim; ++k) norm += static_cast<double>(z[k]) * static_cast<double>(z[k]);
    float* o = out.row(i);
    std::memcpy(o, z, sizeof z);
    o[nn_dim] = static_cast<float>(norm);
  }
}

// ---------------------------------------------------------------------------------------
// The dispatch point
// ---------------------------------------------------------------------------------------

void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out) {
  if (catalog.cols != nn_stride) {
    throw usage_error("nearest: catalog must have " + std::to_string(nn_stride) + " columns (prepared rows), got " +
                      std::to_string(catalog.cols));
  }
  if (queries.cols != nn_dim) {
    throw usage_error("nearest: queries must have " + std::to_string(nn_dim) + " columns, got " +
                      std::to_string(queries.cols));
  }
  if (out.size != queries.rows) {
    throw usage_error("nearest: out has " + std::to_string(out.size) + " entries for " +
                      std::to_string(queries.rows) + " queries");
  }
  if (floors.size != 0 && floors.size != queries.rows) {
    throw usage_error("nearest: floors has " + std::to_string(floors.size) + " entries for " +
                      std::to_string(queries.rows) + " queries (pass none or one per query)");
  }
  if (catalog.rows >= (std::size_t{1} << 31)) {
    throw usage_error("nearest: the catalog has " + std::to_string(catalog.rows) + " rows; at most 2^31 - 1");
  }
  if (queries.rows >= (std::size_t{1} << 31)) {
    throw usage_error("nearest: " + std::to_string(queries.rows) + " queries; at most 2^31 - 1 per call");
  }
  if (queries.rows == 0) return;
  if (res.is_cuda()) return cuda_impl::nearest(res, catalog, queries, floors, out);
  // The CPU backend reads every view: each must be host memory, as declared and as the
  // CUDA driver (when the process has one) sees it.
  detail::expect_host_memory(res, "nearest", "catalog", catalog);
  detail::expect_host_memory(res, "nearest", "queries", queries);
  detail::expect_host_memory(res, "nearest", "out", out);
  if (floors.size != 0) detail::expect_host_memory(res, "nearest", "floors", floors);
  return cpu_impl::nearest(res, catalog, queries, floors, out);
}

}  // namespace playaug
