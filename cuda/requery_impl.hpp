#pragma once
// The CUDA half of the requery engine: exact nearest-neighbour search (cuda/nearest.cu).
// CUDA-free declarations, so host code includes this in every build; a CPU-only build
// links host/requery/requery_cuda_stubs.cpp instead, whose functions throw
// cuda_unavailable(not_built).

#include <cstddef>
#include <memory>

#include "playaug/catalog.hpp"
#include "playaug/resources.hpp"
#include "playaug/view.hpp"

namespace playaug::cuda_impl {

/// See playaug::nearest (catalog.hpp): each view in host or device memory; host views are
/// staged; synchronises when `out` is in host memory.
void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out);

/// A copy of `prepared` ([rows x nn_stride], host memory) in device memory, queued on
/// res.stream(); the memory is released (cudaFree) with the last owner.
std::shared_ptr<const float> upload_catalog(const resources& res, matrix_view<const float> prepared);

/// Tuning of the search kernel, for benchmarks: queries per thread and block, catalog rows
/// per shared-memory tile.
struct nearest_tuning {
  int threads = 0;
  int queries_per_thread = 0;
  int tile_rows = 0;
};
nearest_tuning nearest_kernel_tuning() noexcept;

}  // namespace playaug::cuda_impl
