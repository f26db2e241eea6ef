#pragma once
// The moments kernels' building blocks (cuda/moments.cu), shared with the benchmarks and
// the per-playlist PCA.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "detail/moments_order.hpp"
#include "playaug/moments.hpp"

namespace playaug::detail {

/// Tuning and layout constants of the moments kernels. kUnitRows and kShiftRows are part of
/// the numerics (they fix the summation order), the others only of the speed. Chosen for
/// Hopper (132 SMs, 64 FP64 FMA/clk/SM): two 128-thread blocks per SM, each keeping two
/// 11 KB tiles in flight.
namespace moments_tuning {
/// rows per CUDA block (one partial each) and rows whose mean is the shift K: the CPU
/// engine's constants (detail/moments_order.hpp), defined there once
constexpr std::uint64_t kUnitRows = moments_order::block_rows;
constexpr std::uint64_t kShiftRows = moments_order::shift_rows;
constexpr int kThreads = 128;                ///< threads per block
constexpr int kTileRows = 256;               ///< rows per shared-memory tile
constexpr int kStages = 3;                   ///< tiles per block: one computed, two in flight
constexpr int kMaxFixedDim = 12;             ///< d up to this: accumulators in registers
constexpr std::uint64_t kReduceRows = 1024;  ///< partials summed per block of the reduction
constexpr std::size_t kStagingBytes = std::size_t{32} << 20;  ///< host chunk size
}  // namespace moments_tuning

/// d + d (d + 1) / 2: S1, then the upper triangle of S2 packed row by row.
std::size_t moments_accumulators(std::size_t d);

/// shift[0..d) = the CPU engine's shift of the device rows x [n x d]. Stream-ordered.
void moments_shift(const float* x, std::uint64_t n, std::size_t d, double* shift, cudaStream_t stream);

/// partials[(unit_offset + u) * acc][...] = S1, S2 of rows [u * kUnitRows, ...) of the
/// device rows x [n x d] around `shift` (device). Stream-ordered.
void moments_partials(const float* x, std::uint64_t n, std::size_t d, const double* shift, double* partials,
                      std::uint64_t unit_offset, cudaStream_t stream);

/// totals[0..acc) = the fixed-order sum of partials[0..units). Stream-ordered.
void moments_reduce(const double* partials, std::uint64_t units, std::size_t d, double* totals,
                    cudaStream_t stream);

/// The moments of n rows from the shift and the totals (host memory), as the CPU does it.
moments moments_from_sums(std::uint64_t n, std::size_t d, const double* shift, const double* totals);

}  // namespace playaug::detail
