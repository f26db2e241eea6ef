#pragma once
// The CPU half of the exact nearest-neighbour search (catalog.hpp). Multithreaded brute
// force over (query block, catalog split) tasks whose partial answers are combined in split
// order, so the result does not depend on the thread count. On x86-64 with AVX2 and FMA
// the inner loop scores 8 rows per instruction with _mm256_fmadd_ps, the same correctly
// rounded operation as std::fma and CUDA's __fmaf_rn, in the same order as nn_score().

#include "playaug/catalog.hpp"
#include "playaug/resources.hpp"

namespace playaug::cpu_impl {

/// Which inner loop to use; automatic picks avx2 when the processor has AVX2 and FMA.
enum class nn_path { automatic, scalar, avx2 };

/// True when the processor can run the AVX2 path.
bool nearest_avx2_available() noexcept;

/// See playaug::nearest; host memory only.
void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out, nn_path path = nn_path::automatic);

}  // namespace playaug::cpu_impl
