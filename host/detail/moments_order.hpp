#pragma once
// The constants that fix the summation order of compute_moments, and so the rounding of
// every result: both engines include this header (host/moments_cpu.cpp, and the CUDA
// kernels through cuda/detail/moments.cuh and cuda/batched_pca.cu), so they cannot drift
// apart. Changing one changes the bits of every moments, PCA and per-playlist result.
// Plain C++ so that host and device code share it.

#include <cstdint>

namespace playaug::detail::moments_order {

/// Rows per block: each block is summed in row order, then blocks are combined by a fixed
/// binary tree (one CUDA block per block of rows).
inline constexpr std::uint64_t block_rows = 8192;

/// Rows whose float64 mean, rounded to float, is the shift K that every row is centred on.
inline constexpr std::uint64_t shift_rows = 64;

}  // namespace playaug::detail::moments_order
