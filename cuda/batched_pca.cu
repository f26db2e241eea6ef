// fit_pca_per_playlist on the GPU: a segmented moments kernel (one block per playlist) and
// cuSOLVER syevjBatched on the covariances (d <= 32; larger d: syevd per playlist).
//
//   sums      block p: shift K = float(mean of the playlist's first min(n, 64) rows), as
//             compute_moments; each thread owns up to MAXS of the d + d (d + 1) / 2
//             accumulators (S1, then the packed upper triangle of S2) and walks every row
//             of the playlist in order (shared-memory tiles of x - K with a trailing 1)
//   cov       C_ij = (S2_ij - S1_i S1_j / n) / (n - 1), mean_j = K_j + S1_j / n
//   eig       syevjBatched on [batch x d x d] (column-major = row-major for symmetric
//             matrices), eigenvalues ascending; reversed on the host, signs applied by
//             the dispatch point (canonicalize_signs)
// Playlists with n < 2: zero eigenvalues and identity vectors (their matrix is zero).
// Playlists are processed in batches of kBatch to bound device memory.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda_impl.hpp"
#include "detail/common.cuh"
#include "detail/moments_order.hpp"

namespace playaug {
namespace detail {
namespace {

constexpr int kThreads = 128;
constexpr std::uint64_t kShiftRows = moments_order::shift_rows;  // as compute_moments
constexpr std::uint64_t kBatch = 8192;  // playlists per batch
constexpr std::size_t kMaxSyevj = 32;   // syevjBatched's limit on d

template <int MAXS>
__global__ void __launch_bounds__(kThreads)
    playlist_sums_kernel(const float* __restrict__ x, const std::uint64_t* __restrict__ so, std::uint64_t p0, int d,
                         int tile_rows, double* __restrict__ shift, double* __restrict__ sums) {
  extern __shared__ double vs[];  // [tile_rows][d + 1]
  __shared__ double ks_small[64];
  const int tid = threadIdx.x;
  const std::uint64_t pl = blockIdx.x;  // within the batch
  const std::uint64_t r0 = so[p0 + pl];
  const std::uint64_t n = so[p0 + pl + 1] - r0;
  const int acc_n = d + d * (d + 1) / 2;
  const int stride = d + 1;
  double* ks = d <= 64 ? ks_small : shift + pl * d;  // large d: the global shift array
  // The shift, as compute_moments computes it.
  const std::uint64_t m = n < kShiftRows ? n : kShiftRows;
  for (int j = tid; j < d; j += kThreads) {
    double s = 0.0;
    for (std::uint64_t r = 0; r < m; ++r) s += static_cast<double>(x[(r0 + r) * d + j]);
    const double k = m == 0 ? 0.0 : static_cast<double>(static_cast<float>(s / static_cast<double>(m)));
    ks[j] = k;
    if (blockIdx.y == 0) shift[pl * d + j] = k;
  }
  const int slot0 = static_cast<int>(blockIdx.y) * kThreads * MAXS;
  int ii[MAXS], jj[MAXS];
  double acc[MAXS];
#pragma unroll
  for (int q = 0; q < MAXS; ++q) {
    acc[q] = 0.0;
    const int a = slot0 + tid + q * kThreads;
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
  __syncthreads();
  for (std::uint64_t t0 = 0; t0 < n; t0 += tile_rows) {
    const int cnt = static_cast<int>(n - t0 < static_cast<std::uint64_t>(tile_rows) ? n - t0 : tile_rows);
    const float* src = x + (r0 + t0) * d;
    __syncthreads();
    for (int e = tid; e < cnt * d; e += kThreads) {
      const int r = e / d;
      const int c = e - r * d;
      vs[r * stride + c] = static_cast<double>(src[e]) - ks[c];
    }
    for (int r = tid; r < cnt; r += kThreads) vs[r * stride + d] = 1.0;
    __syncthreads();
    for (int r = 0; r < cnt; ++r) {
      const double* v = vs + r * stride;
#pragma unroll
      for (int q = 0; q < MAXS; ++q) acc[q] = fma(v[ii[q]], v[jj[q]], acc[q]);
    }
  }
  double* out = sums + pl * static_cast<std::uint64_t>(acc_n);
#pragma unroll
  for (int q = 0; q < MAXS; ++q) {
    const int a = slot0 + tid + q * kThreads;
    if (a < acc_n) out[a] = acc[q];
  }
}

__global__ void playlist_cov_kernel(const std::uint64_t* __restrict__ so, std::uint64_t p0, std::uint64_t count,
                                    int d, const double* __restrict__ shift, const double* __restrict__ sums,
                                    double* __restrict__ cov, double* __restrict__ mean) {
  const std::uint64_t dd = static_cast<std::uint64_t>(d) * d;
  const std::uint64_t t = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (t >= count * dd) return;
  const std::uint64_t pl = t / dd;
  const int e = static_cast<int>(t - pl * dd);
  const int i = e / d, j = e - (e / d) * d;
  const std::uint64_t n = so[p0 + pl + 1] - so[p0 + pl];
  const int acc_n = d + d * (d + 1) / 2;
  const double* s = sums + pl * acc_n;
  const double nd = static_cast<double>(n);
  if (i == 0) mean[pl * d + j] = n == 0 ? 0.0 : shift[pl * d + j] + s[j] / nd;
  double c = 0.0;
  if (n >= 2) {
    const int lo = i < j ? i : j, hi = i < j ? j : i;
    const int packed = lo * d - lo * (lo - 1) / 2 + (hi - lo);
    c = (s[d + packed] - (s[lo] * s[hi]) / nd) / static_cast<double>(n - 1);
  }
  cov[t] = c;
}

using sums_launch = void (*)(const float*, const std::uint64_t*, std::uint64_t, std::uint64_t, int, unsigned, int,
                             std::size_t, double*, double*, cudaStream_t);

template <int MAXS>
void launch_sums(const float* x, const std::uint64_t* so, std::uint64_t p0, std::uint64_t count, int d,
                 unsigned passes, int tile_rows, std::size_t smem, double* shift, double* sums, cudaStream_t stream) {
  if (smem > 46 * 1024) {
    PLAYAUG_CUDA_TRY(cudaFuncSetAttribute(playlist_sums_kernel<MAXS>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
  }
  const dim3 grid(static_cast<unsigned>(count), passes);
  playlist_sums_kernel<MAXS><<<grid, kThreads, smem, stream>>>(x, so, p0, d, tile_rows, shift, sums);
  PLAYAUG_CUDA_CHECK_LAUNCH();
}

/// RAII for syevjInfo_t.
struct syevj_params {
  syevjInfo_t info = nullptr;
  syevj_params() {
    // Default tolerance (machine accuracy); eigenvalues sorted ascending (the default).
    PLAYAUG_CUSOLVER_TRY(cusolverDnCreateSyevjInfo(&info));
    PLAYAUG_CUSOLVER_TRY(cusolverDnXsyevjSetMaxSweeps(info, 100));
    PLAYAUG_CUSOLVER_TRY(cusolverDnXsyevjSetSortEig(info, 1));
  }
  ~syevj_params() {
    if (info != nullptr) cusolverDnDestroySyevjInfo(info);
  }
  syevj_params(const syevj_params&) = delete;
  syevj_params& operator=(const syevj_params&) = delete;
};

}  // namespace
}  // namespace detail

namespace cuda_impl {

batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets) {
  using namespace detail;
  batched_pca out;
  const std::size_t d = x.cols;
  out.dim = d;
  if (offsets.size == 0) return out;
  const std::uint64_t playlists = offsets.size - 1;
  auto& st = state_of(res);
  const cudaStream_t stream = st.stream;

  // The offsets on the host (for n and the batches) and on the device.
  std::vector<std::uint64_t> host_off;
  if (offsets.space == memory_space::host) {
    host_off.assign(offsets.data, offsets.data + offsets.size);
  } else {
    host_off = download_sync(offsets.data, offsets.size, stream);
  }
  out.n.resize(playlists);
  for (std::uint64_t p = 0; p < playlists; ++p) out.n[p] = host_off[p + 1] - host_off[p];
  out.mean.assign(playlists * d, 0.0);
  out.eigenvalues.assign(playlists * d, 0.0);
  out.components.assign(playlists * d * d, 0.0);
  if (playlists == 0 || d == 0) return out;

  const device_input<std::uint64_t> so(offsets.data, offsets.size, offsets.space, stream);
  const std::uint64_t rows = host_off[playlists];
  const device_input<float> xs(x.data, rows * d, x.space, stream);

  const std::size_t acc_n = d + d * (d + 1) / 2;
  const std::size_t stride_bytes = (d + 1) * sizeof(double);
  if (stride_bytes > 96 * 1024) {
    throw usage_error("fit_pca_per_playlist: the CUDA engine supports at most 12287 features");
  }
  const int tile_rows = static_cast<int>(std::min<std::size_t>(64, std::max<std::size_t>(1, (46 * 1024) / stride_bytes)));
  const std::size_t smem = static_cast<std::size_t>(tile_rows) * stride_bytes;
  const int di = static_cast<int>(d);
  const int n_eig = di;

  cusolverDnHandle_t solver = st.solver_handle();
  std::unique_ptr<syevj_params> params;
  if (d <= kMaxSyevj) params = std::make_unique<syevj_params>();

  const std::uint64_t batch_max = std::min<std::uint64_t>(kBatch, playlists);
  device_buffer<double> shift(batch_max * d, stream);
  device_buffer<double> sums(batch_max * acc_n, stream);
  device_buffer<double> cov(batch_max * d * d, stream);
  device_buffer<double> mean(batch_max * d, stream);
  device_buffer<double> w(batch_max * d, stream);
  device_buffer<int> info(batch_max, stream);
  std::vector<double> h_w(batch_max * d), h_v(batch_max * d * d), h_mean(batch_max * d);
  std::vector<int> h_info(batch_max);

  for (std::uint64_t p0 = 0; p0 < playlists; p0 += kBatch) {
    const std::uint64_t count = std::min<std::uint64_t>(kBatch, playlists - p0);
    // Segmented sums, then covariances and means.
    if (acc_n <= static_cast<std::size_t>(kThreads)) {
      launch_sums<1>(xs.get(), so.get(), p0, count, di, 1, tile_rows, smem, shift.data(), sums.data(), stream);
    } else if (acc_n <= 2u * kThreads) {
      launch_sums<2>(xs.get(), so.get(), p0, count, di, 1, tile_rows, smem, shift.data(), sums.data(), stream);
    } else if (acc_n <= 4u * kThreads) {
      launch_sums<4>(xs.get(), so.get(), p0, count, di, 1, tile_rows, smem, shift.data(), sums.data(), stream);
    } else {
      const auto passes = static_cast<unsigned>(ceil_div(acc_n, 8u * kThreads));
      launch_sums<8>(xs.get(), so.get(), p0, count, di, passes, tile_rows, smem, shift.data(), sums.data(), stream);
    }
    playlist_cov_kernel<<<grid_for(count * d * d, 256), 256, 0, stream>>>(so.get(), p0, count, di, shift.data(),
                                                                          sums.data(), cov.data(), mean.data());
    PLAYAUG_CUDA_CHECK_LAUNCH();

    // Eigendecompositions in place: cov becomes the eigenvectors.
    if (d <= kMaxSyevj) {
      int lwork = 0;
      PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevjBatched_bufferSize(solver, CUSOLVER_EIG_MODE_VECTOR,
                                                              CUBLAS_FILL_MODE_UPPER, n_eig, cov.data(), n_eig,
                                                              w.data(), &lwork, params->info,
                                                              static_cast<int>(count)));
      device_buffer<double> work(static_cast<std::size_t>(lwork > 0 ? lwork : 1), stream);
      PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevjBatched(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n_eig,
                                                   cov.data(), n_eig, w.data(), work.data(), lwork, info.data(),
                                                   params->info, static_cast<int>(count)));
    } else {
      int lwork = 0;
      PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevd_bufferSize(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER,
                                                       n_eig, cov.data(), n_eig, w.data(), &lwork));
      device_buffer<double> work(static_cast<std::size_t>(lwork > 0 ? lwork : 1), stream);
      for (std::uint64_t q = 0; q < count; ++q) {
        PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevd(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n_eig,
                                              cov.data() + q * d * d, n_eig, w.data() + q * d, work.data(), lwork,
                                              info.data() + q));
      }
    }
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(h_w.data(), w.data(), count * d * sizeof(double), cudaMemcpyDeviceToHost, stream));
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(h_v.data(), cov.data(), count * d * d * sizeof(double), cudaMemcpyDeviceToHost,
                                     stream));
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(h_mean.data(), mean.data(), count * d * sizeof(double), cudaMemcpyDeviceToHost,
                                     stream));
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(h_info.data(), info.data(), count * sizeof(int), cudaMemcpyDeviceToHost, stream));
    PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));

    for (std::uint64_t q = 0; q < count; ++q) {
      const std::uint64_t p = p0 + q;
      std::copy(h_mean.begin() + static_cast<std::ptrdiff_t>(q * d), h_mean.begin() + static_cast<std::ptrdiff_t>((q + 1) * d),
                out.mean.begin() + static_cast<std::ptrdiff_t>(p * d));
      double* values = out.eigenvalues.data() + p * d;
      double* vectors = out.components.data() + p * d * d;
      if (out.n[p] < 2) {
        for (std::size_t j = 0; j < d; ++j) vectors[j * d + j] = 1.0;
        continue;
      }
      if (h_info[q] != 0) {
        throw numeric_error("playlist " + std::to_string(p) + ": cuSOLVER " +
                            std::string(d <= kMaxSyevj ? "syevjBatched" : "syevd") +
                            (h_info[q] < 0 ? " rejected argument " + std::to_string(-h_info[q])
                                           : " did not converge (info " + std::to_string(h_info[q]) + ")") +
                            "; check the features for extreme values, or run with --device cpu");
      }
      const double* wq = h_w.data() + q * d;
      const double* vq = h_v.data() + q * d * d;
      for (std::size_t i = 0; i < d; ++i) {
        const std::size_t src = d - 1 - i;
        values[i] = wq[src];
        std::copy(vq + src * d, vq + (src + 1) * d, vectors + i * d);
      }
    }
  }
  return out;
}

}  // namespace cuda_impl
}  // namespace playaug
