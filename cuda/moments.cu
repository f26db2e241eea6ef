// compute_moments on the GPU: one pass over float32 [n x d], float64 sums around a common
// shift, a fixed reduction tree, no floating-point atomics.
//
//   K      = float(sum_{r < m} double(x_r) / m), m = min(n, 64): the CPU engine's shift, bit
//            for bit (one thread per feature sums the rows in order)
//   unit   = rows [b * 8192, (b + 1) * 8192): one CUDA block each, so the grid depends
//            only on n
//   thread = rows of its unit at a fixed stride; S1 += v, S2 += v v^T (upper triangle,
//            fused multiply-add) with v = double(x) - K, exact
//   block  = warp shuffle tree, then the warps in order -> partials[b]
//   total  = partials summed in a fixed two-level order (reduce_rows_kernel)
//   mean_j = K_j + S1_j / n,   C_ij = S2_ij - S1_i S1_j / n   (on the host, as the CPU does)
//
// Every choice above depends on n and d only, so the result is the same bits on every run
// and every device. It agrees with the CPU engine to rounding (about 1e-15 relative): the
// CPU sums each 8192-row unit row by row without fused multiply-adds.
//
// Host memory streams through two pinned staging buffers: the host copies chunk c + 1 into
// one while the stream uploads chunk c from the other and reduces it. Chunks are whole
// units, so the partials, and the result, are the same bits as for device memory.

#include <cuda_pipeline_primitives.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda_impl.hpp"
#include "detail/common.cuh"
#include "detail/moments.cuh"
#include "detail/parallel.hpp"

namespace playaug {
namespace detail {
namespace {

using namespace moments_tuning;

// --- the shift ---------------------------------------------------------------------------

__global__ void shift_kernel(const float* __restrict__ x, std::uint64_t n, int d, double* __restrict__ shift) {
  const std::uint64_t m = n < kShiftRows ? n : kShiftRows;
  for (int j = threadIdx.x; j < d; j += blockDim.x) {
    double s = 0.0;
    for (std::uint64_t r = 0; r < m; ++r) s += static_cast<double>(x[r * d + j]);
    shift[j] = static_cast<double>(static_cast<float>(s / static_cast<double>(m)));
  }
}

// --- fixed-dimension kernel: one thread per row, accumulators in registers -------------------

/// Load row `r` of a shared-memory tile of D-float rows with the widest aligned accesses.
template <int D>
__device__ __forceinline__ void load_row(const float* tile, int r, float (&f)[D]) {
  const float* p = tile + r * D;
  if constexpr (D % 4 == 0) {
#pragma unroll
    for (int k = 0; k < D; k += 4) {
      const float4 q = *reinterpret_cast<const float4*>(p + k);
      f[k] = q.x;
      f[k + 1] = q.y;
      f[k + 2] = q.z;
      f[k + 3] = q.w;
    }
  } else if constexpr (D % 2 == 0) {
#pragma unroll
    for (int k = 0; k < D; k += 2) {
      const float2 q = *reinterpret_cast<const float2*>(p + k);
      f[k] = q.x;
      f[k + 1] = q.y;
    }
  } else {
#pragma unroll
    for (int k = 0; k < D; ++k) f[k] = p[k];
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads, 2)
    moments_fixed_kernel(const float* __restrict__ x, std::uint64_t n, const double* __restrict__ shift,
                         double* __restrict__ partials, std::uint64_t unit_offset, int vec16) {
  constexpr int kPairs = D * (D + 1) / 2;
  constexpr int kAcc = D + kPairs;
  constexpr int kTileFloats = kTileRows * D;
  __shared__ __align__(16) float tiles[kStages][kTileFloats];
  __shared__ double ks[D];
  __shared__ double red[kThreads / 32][kAcc];

  const int tid = threadIdx.x;
  const std::uint64_t row0 = static_cast<std::uint64_t>(blockIdx.x) * kUnitRows;
  const std::uint64_t left = n - row0;
  const int rows = static_cast<int>(left < kUnitRows ? left : kUnitRows);
  const int tiles_n = (rows + kTileRows - 1) / kTileRows;
  if (tid < D) ks[tid] = shift[tid];

  // Queue the copy of tile t into its stage (16-byte copies when the rows allow it).
  auto issue = [&](int t) {
    const int r = t * kTileRows;
    const int cnt = rows - r < kTileRows ? rows - r : kTileRows;
    const int nf = cnt * D;
    const float* src = x + (row0 + static_cast<std::uint64_t>(r)) * D;
    float* dst = tiles[t % kStages];
    int done = 0;
    if (vec16) {
      const int n4 = nf >> 2;
      for (int q = tid; q < n4; q += kThreads) __pipeline_memcpy_async(dst + 4 * q, src + 4 * q, 16);
      done = n4 << 2;
    }
    for (int q = done + tid; q < nf; q += kThreads) __pipeline_memcpy_async(dst + q, src + q, 4);
  };

  double s1[D];
  double s2[kPairs];
#pragma unroll
  for (int k = 0; k < D; ++k) s1[k] = 0.0;
#pragma unroll
  for (int k = 0; k < kPairs; ++k) s2[k] = 0.0;

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < tiles_n) issue(s);
    __pipeline_commit();
  }
  for (int t = 0; t < tiles_n; ++t) {
    if (t + kStages - 1 < tiles_n) issue(t + kStages - 1);
    __pipeline_commit();
    __pipeline_wait_prior(kStages - 1);
    __syncthreads();
    const float* tile = tiles[t % kStages];
    const int cnt = rows - t * kTileRows < kTileRows ? rows - t * kTileRows : kTileRows;
    for (int r = tid; r < cnt; r += kThreads) {
      float f[D];
      load_row<D>(tile, r, f);
      double v[D];
#pragma unroll
      for (int k = 0; k < D; ++k) v[k] = static_cast<double>(f[k]) - ks[k];
#pragma unroll
      for (int k = 0; k < D; ++k) s1[k] += v[k];
      int p = 0;
#pragma unroll
      for (int i = 0; i < D; ++i) {
#pragma unroll
        for (int j = i; j < D; ++j) {
          s2[p] = fma(v[i], v[j], s2[p]);
          ++p;
        }
      }
    }
    __syncthreads();
  }

  // Block reduction: a shuffle tree inside each warp, then the warps in order.
  const int lane = tid & 31;
  const int warp = tid >> 5;
#pragma unroll
  for (int a = 0; a < kAcc; ++a) {
    double v = a < D ? s1[a] : s2[a - D];
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(kFullMask, v, off);
    if (lane == 0) red[warp][a] = v;
  }
  __syncthreads();
  double* out = partials + (unit_offset + blockIdx.x) * static_cast<std::uint64_t>(kAcc);
  for (int a = tid; a < kAcc; a += kThreads) {
    double s = red[0][a];
#pragma unroll
    for (int w = 1; w < kThreads / 32; ++w) s += red[w][a];
    out[a] = s;
  }
}

// --- any dimension: each thread owns up to MAXS accumulators and walks every row ---------

template <int MAXS>
__global__ void __launch_bounds__(kThreads)
    moments_slots_kernel(const float* __restrict__ x, std::uint64_t n, int d, const double* __restrict__ shift,
                         double* __restrict__ partials, std::uint64_t unit_offset, int tile_rows) {
  extern __shared__ double vs[];  // [tile_rows][d + 1]: x - K, then a 1 (for the S1 slots)
  const int tid = threadIdx.x;
  const int acc_n = d + d * (d + 1) / 2;
  const int slot0 = static_cast<int>(blockIdx.y) * kThreads * MAXS;
  int ii[MAXS], jj[MAXS];
  double acc[MAXS];
  moments_slot_pairs<MAXS>(slot0, tid, kThreads, d, ii, jj);
#pragma unroll
  for (int q = 0; q < MAXS; ++q) acc[q] = 0.0;
  const std::uint64_t row0 = static_cast<std::uint64_t>(blockIdx.x) * kUnitRows;
  const std::uint64_t left = n - row0;
  const int rows = static_cast<int>(left < kUnitRows ? left : kUnitRows);
  for (int t0 = 0; t0 < rows; t0 += tile_rows) {
    const int cnt = rows - t0 < tile_rows ? rows - t0 : tile_rows;
    const float* src = x + (row0 + static_cast<std::uint64_t>(t0)) * static_cast<std::uint64_t>(d);
    __syncthreads();
    moments_fill_tile(src, cnt, d, shift, vs, tid, kThreads);
    __syncthreads();
    moments_accumulate_tile<MAXS>(vs, cnt, d, ii, jj, acc);
  }
  moments_store_slots<MAXS>(partials + (unit_offset + blockIdx.x) * static_cast<std::uint64_t>(acc_n), slot0, tid,
                            kThreads, d, acc);
}

// --- partials -> totals -------------------------------------------------------------------

/// out[b][a] = sum of in[r][a] for r in [b * 1024, (b + 1) * 1024), in a fixed order:
/// warp w sums rows w, w + 8, ... and the eight warp sums are added in order.
__global__ void __launch_bounds__(256)
    reduce_rows_kernel(const double* __restrict__ in, std::uint64_t rows, int acc_n, double* __restrict__ out) {
  __shared__ double sm[8][32];
  const int lane = threadIdx.x & 31;
  const int w = threadIdx.x >> 5;
  const int a = static_cast<int>(blockIdx.y) * 32 + lane;
  const std::uint64_t r0 = static_cast<std::uint64_t>(blockIdx.x) * kReduceRows;
  const std::uint64_t r1 = r0 + kReduceRows < rows ? r0 + kReduceRows : rows;
  double s = 0.0;
  if (a < acc_n) {
    for (std::uint64_t r = r0 + w; r < r1; r += 8) s += in[r * acc_n + a];
  }
  sm[w][lane] = s;
  __syncthreads();
  if (w == 0 && a < acc_n) {
    double t = sm[0][lane];
#pragma unroll
    for (int k = 1; k < 8; ++k) t += sm[k][lane];
    out[static_cast<std::uint64_t>(blockIdx.x) * acc_n + a] = t;
  }
}

// --- host side ------------------------------------------------------------------------------

using fixed_launch = void (*)(const float*, std::uint64_t, const double*, double*, std::uint64_t, int,
                              cudaStream_t);

template <int D>
void launch_fixed(const float* x, std::uint64_t n, const double* shift, double* partials,
                  std::uint64_t unit_offset, int vec16, cudaStream_t stream) {
  const unsigned grid = grid_for(n, kUnitRows);
  moments_fixed_kernel<D><<<grid, kThreads, 0, stream>>>(x, n, shift, partials, unit_offset, vec16);
  PLAYAUG_CUDA_CHECK_LAUNCH();
}

template <int... Ds>
fixed_launch pick_fixed(int d, std::integer_sequence<int, Ds...>) {
  fixed_launch fn = nullptr;
  ((d == Ds + 1 ? (fn = &launch_fixed<Ds + 1>, 0) : 0), ...);
  return fn;
}

template <int MAXS>
void launch_slots(const float* x, std::uint64_t n, int d, const double* shift, double* partials,
                  std::uint64_t unit_offset, unsigned passes, int tile_rows, std::size_t smem,
                  cudaStream_t stream) {
  if (smem > 46 * 1024) {
    PLAYAUG_CUDA_TRY(cudaFuncSetAttribute(moments_slots_kernel<MAXS>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
  }
  const dim3 grid(grid_for(n, kUnitRows), passes);
  moments_slots_kernel<MAXS><<<grid, kThreads, smem, stream>>>(x, n, d, shift, partials, unit_offset, tile_rows);
  PLAYAUG_CUDA_CHECK_LAUNCH();
}

}  // namespace

std::size_t moments_accumulators(std::size_t d) { return d + d * (d + 1) / 2; }

void moments_shift(const float* x, std::uint64_t n, std::size_t d, double* shift, cudaStream_t stream) {
  if (n == 0 || d == 0) return;
  shift_kernel<<<1, 128, 0, stream>>>(x, n, static_cast<int>(d), shift);
  PLAYAUG_CUDA_CHECK_LAUNCH();
}

void moments_partials(const float* x, std::uint64_t n, std::size_t d, const double* shift, double* partials,
                      std::uint64_t unit_offset, cudaStream_t stream) {
  if (n == 0 || d == 0) return;
  const int di = static_cast<int>(d);
  if (d <= static_cast<std::size_t>(kMaxFixedDim)) {
    const int vec16 = (reinterpret_cast<std::uintptr_t>(x) & 15u) == 0 ? 1 : 0;
    pick_fixed(di, std::make_integer_sequence<int, kMaxFixedDim>{})(x, n, shift, partials, unit_offset, vec16,
                                                                    stream);
    return;
  }
  const std::size_t acc_n = moments_accumulators(d);
  const std::size_t stride_bytes = (d + 1) * sizeof(double);
  const std::size_t max_smem = 96 * 1024;
  if (stride_bytes > max_smem) {
    throw usage_error("compute_moments: the CUDA engine supports at most " +
                      std::to_string(max_smem / sizeof(double) - 1) + " features, got " + std::to_string(d));
  }
  const int tile_rows = static_cast<int>(std::min<std::size_t>(64, std::max<std::size_t>(1, (46 * 1024) / stride_bytes)));
  const std::size_t smem = static_cast<std::size_t>(tile_rows) * stride_bytes;
  const std::size_t per_pass1 = kThreads, per_pass2 = 2 * kThreads, per_pass4 = 4 * kThreads;
  if (acc_n <= per_pass1) {
    launch_slots<1>(x, n, di, shift, partials, unit_offset, 1, tile_rows, smem, stream);
  } else if (acc_n <= per_pass2) {
    launch_slots<2>(x, n, di, shift, partials, unit_offset, 1, tile_rows, smem, stream);
  } else if (acc_n <= per_pass4) {
    launch_slots<4>(x, n, di, shift, partials, unit_offset, 1, tile_rows, smem, stream);
  } else {
    const auto passes = static_cast<unsigned>(ceil_div(acc_n, 8 * kThreads));
    launch_slots<8>(x, n, di, shift, partials, unit_offset, passes, tile_rows, smem, stream);
  }
}

std::size_t moments_reduce_scratch(std::uint64_t units, std::size_t d) {
  // Level k > 0 has ceil(units / 1024^k) rows; two alternate, so the first two are enough.
  const std::uint64_t l1 = ceil_div(units, kReduceRows);
  const std::uint64_t l2 = ceil_div(l1, kReduceRows);
  return static_cast<std::size_t>(((l1 > 1 ? l1 : 0) + (l2 > 1 ? l2 : 0)) * moments_accumulators(d));
}

void moments_reduce(const double* partials, std::uint64_t units, std::size_t d, double* totals, double* scratch,
                    cudaStream_t stream) {
  const std::size_t acc_n = moments_accumulators(d);
  if (acc_n == 0) return;
  const auto ai = static_cast<int>(acc_n);
  const unsigned gy = static_cast<unsigned>(ceil_div(acc_n, 32));
  const std::uint64_t l1 = ceil_div(units, kReduceRows);
  double* level[2] = {scratch, scratch + (l1 > 1 ? l1 : 0) * acc_n};
  const double* in = partials;
  std::uint64_t rows = units;
  int which = 0;
  for (;;) {
    const std::uint64_t next = ceil_div(rows, kReduceRows);
    double* out = totals;
    if (next > 1) out = level[which];
    const dim3 grid(grid_for(rows, kReduceRows), gy);
    reduce_rows_kernel<<<grid, 256, 0, stream>>>(in, rows, ai, out);
    PLAYAUG_CUDA_CHECK_LAUNCH();
    if (next <= 1) break;
    in = out;
    rows = next;
    which ^= 1;
  }
}

moments moments_from_sums(std::uint64_t n, std::size_t d, const double* shift, const double* totals) {
  moments m(d);
  m.n = n;
  if (n == 0 || d == 0) return m;
  const double* s1 = totals;
  const double* s2 = totals + d;
  const auto nd = static_cast<double>(n);
  for (std::size_t j = 0; j < d; ++j) m.mean[j] = shift[j] + s1[j] / nd;
  std::size_t p = 0;
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = i; j < d; ++j, ++p) {
      const double c = s2[p] - (s1[i] * s1[j]) / nd;
      m.comoment[i * d + j] = c;
      m.comoment[j * d + i] = c;
    }
  }
  return m;
}

}  // namespace detail

namespace cuda_impl {

moments compute_moments(const resources& res, matrix_view<const float> x) {
  using namespace detail::moments_tuning;
  const std::uint64_t n = x.rows;
  const std::size_t d = x.cols;
  if (n == 0 || d == 0) {
    moments m(d);
    m.n = n;
    return m;
  }
  auto& st = detail::state_of(res);
  const cudaStream_t stream = st.stream;
  const std::size_t acc_n = detail::moments_accumulators(d);
  const std::uint64_t units = detail::ceil_div(n, kUnitRows);
  // Whole units per host chunk, about kStagingBytes each.
  const std::size_t unit_bytes = kUnitRows * d * sizeof(float);
  const std::uint64_t units_per_chunk = std::max<std::uint64_t>(1, kStagingBytes / unit_bytes);
  const std::uint64_t chunk_rows = units_per_chunk * kUnitRows;
  const std::uint64_t chunk_max = x.space == memory_space::device ? 0 : std::min<std::uint64_t>(chunk_rows, n);
  // All device memory from the resources' scratch (nothing allocated once it has grown):
  // partials, [shift (d) | S1 (d) | S2 (d (d + 1) / 2)] for one download, the reduction's
  // levels and, for host rows, the upload chunk.
  detail::scratch_layout lay;
  const std::size_t o_partials = lay.add<double>(units * acc_n);
  const std::size_t o_result = lay.add<double>(d + acc_n);
  const std::size_t o_levels = lay.add<double>(detail::moments_reduce_scratch(units, d));
  const std::size_t o_chunk = lay.add<float>(chunk_max * d);
  unsigned char* base = st.scratch.device_bytes(lay.bytes(), stream);
  double* partials = detail::scratch_layout::at<double>(base, o_partials);
  double* result = detail::scratch_layout::at<double>(base, o_result);
  double* shift = result;

  if (x.space == memory_space::device) {
    detail::moments_shift(x.data, n, d, shift, stream);
    detail::moments_partials(x.data, n, d, shift, partials, 0, stream);
  } else {
    // The shift from the host rows, exactly as the device computes it.
    const std::uint64_t m = std::min<std::uint64_t>(n, kShiftRows);
    std::vector<double> k(d, 0.0);
    for (std::uint64_t r = 0; r < m; ++r) {
      for (std::size_t j = 0; j < d; ++j) k[j] += static_cast<double>(x.data[r * d + j]);
    }
    for (std::size_t j = 0; j < d; ++j) k[j] = static_cast<double>(static_cast<float>(k[j] / static_cast<double>(m)));
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(shift, k.data(), d * sizeof(double), cudaMemcpyHostToDevice, stream));

    auto& stage = st.staging_buffers(chunk_max * d * sizeof(float));
    float* chunk = detail::scratch_layout::at<float>(base, o_chunk);
    const int threads = res.threads();
    for (std::uint64_t c = 0, r0 = 0; r0 < n; ++c, r0 += chunk_rows) {
      const int b = static_cast<int>(c & 1u);
      const std::uint64_t rows = std::min<std::uint64_t>(chunk_rows, n - r0);
      const std::size_t bytes = rows * d * sizeof(float);
      // The buffer's previous upload (chunk c - 2) must have finished before it is refilled.
      PLAYAUG_CUDA_TRY(cudaEventSynchronize(stage.copied[b]));
      auto* dst = stage.buf[b].data();
      const auto* src = reinterpret_cast<const unsigned char*>(x.data + r0 * d);
      const std::size_t pieces = std::min<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)),
                                                       std::max<std::size_t>(1, bytes >> 22));
      detail::parallel_for(threads, pieces, [&](std::size_t i) {
        const std::size_t lo = bytes * i / pieces, hi = bytes * (i + 1) / pieces;
        std::memcpy(dst + lo, src + lo, hi - lo);
      });
      PLAYAUG_CUDA_TRY(cudaMemcpyAsync(chunk, dst, bytes, cudaMemcpyHostToDevice, stream));
      PLAYAUG_CUDA_TRY(cudaEventRecord(stage.copied[b], stream));
      detail::moments_partials(chunk, rows, d, shift, partials, r0 / kUnitRows, stream);
    }
  }
  detail::moments_reduce(partials, units, d, result + d,
                         detail::scratch_layout::at<double>(base, o_levels), stream);
  // One download into pinned scratch (an asynchronous copy), then the synchronisation.
  auto* host = reinterpret_cast<double*>(st.scratch.host_bytes((d + acc_n) * sizeof(double)));
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(host, result, (d + acc_n) * sizeof(double), cudaMemcpyDeviceToHost, stream));
  PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
  return detail::moments_from_sums(n, d, host, host + d);
}

}  // namespace cuda_impl
}  // namespace playaug
