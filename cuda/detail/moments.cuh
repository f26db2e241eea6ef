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

/// Doubles of scratch moments_reduce needs for `units` partials (0 up to 1024 units).
std::size_t moments_reduce_scratch(std::uint64_t units, std::size_t d);

/// totals[0..acc) = the fixed-order sum of partials[0..units). `scratch` holds
/// moments_reduce_scratch(units, d) doubles of device memory (the intermediate levels).
/// Stream-ordered.
void moments_reduce(const double* partials, std::uint64_t units, std::size_t d, double* totals, double* scratch,
                    cudaStream_t stream);

/// The moments of n rows from the shift and the totals (host memory), as the CPU does it.
moments moments_from_sums(std::uint64_t n, std::size_t d, const double* shift, const double* totals);

#if defined(__CUDACC__)
// --- the slot loop, for any d: compute_moments' general kernel and the per-playlist sums ---
// Each of `threads` threads owns up to MAXS of the acc_n = d + d (d + 1) / 2 accumulators,
// slots slot0 + tid + q * threads: slot a < d is S1_a (v_a times the tile's trailing 1), the
// next ones the packed upper triangle of S2 row by row, and a slot >= acc_n a dummy whose
// sum is never written. Rows are visited in order, so the sums do not depend on the launch.

/// The (i, j) factors of the thread's slots: S1_a = v_a * v_d, S2_ij = v_i * v_j.
template <int MAXS>
__device__ __forceinline__ void moments_slot_pairs(int slot0, int tid, int threads, int d, int (&ii)[MAXS],
                                                   int (&jj)[MAXS]) {
  const int acc_n = d + d * (d + 1) / 2;
#pragma unroll
  for (int q = 0; q < MAXS; ++q) {
    const int a = slot0 + tid + q * threads;
    int i = 0, j = d;
    if (a < d) {
      i = a;
    } else if (a < acc_n) {
      int p = a - d;
      while (p >= d - i) {
        p -= d - i;
        ++i;
      }
      j = i + p;
    } else {
      j = 0;
    }
    ii[q] = i;
    jj[q] = j;
  }
}

/// vs[r][c] = double(src[r * d + c]) - shift[c] and vs[r][d] = 1 for the tile's cnt rows
/// (row stride d + 1), the block's threads striding. The caller synchronises around it.
__device__ __forceinline__ void moments_fill_tile(const float* __restrict__ src, int cnt, int d,
                                                  const double* shift, double* vs, int tid, int threads) {
  const int stride = d + 1;
  for (int e = tid; e < cnt * d; e += threads) {
    const int r = e / d;
    const int c = e - r * d;
    vs[r * stride + c] = static_cast<double>(src[e]) - shift[c];
  }
  for (int r = tid; r < cnt; r += threads) vs[r * stride + d] = 1.0;
}

/// acc[q] += vs[r][ii[q]] * vs[r][jj[q]] (fused) for the tile's rows in order.
template <int MAXS>
__device__ __forceinline__ void moments_accumulate_tile(const double* vs, int cnt, int d, const int (&ii)[MAXS],
                                                        const int (&jj)[MAXS], double (&acc)[MAXS]) {
  for (int r = 0; r < cnt; ++r) {
    const double* v = vs + r * (d + 1);
#pragma unroll
    for (int q = 0; q < MAXS; ++q) acc[q] = fma(v[ii[q]], v[jj[q]], acc[q]);
  }
}

/// out[a] = acc[q] for the thread's real slots a = slot0 + tid + q * threads < acc_n.
template <int MAXS>
__device__ __forceinline__ void moments_store_slots(double* out, int slot0, int tid, int threads, int d,
                                                    const double (&acc)[MAXS]) {
  const int acc_n = d + d * (d + 1) / 2;
#pragma unroll
  for (int q = 0; q < MAXS; ++q) {
    const int a = slot0 + tid + q * threads;
    if (a < acc_n) out[a] = acc[q];
  }
}
#endif  // __CUDACC__

}  // namespace playaug::detail
