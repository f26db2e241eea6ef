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
//
// aggregate_playlists (pca_aggregate.hpp) runs the same sums and covariances per batch,
// then, for projector, the same eigensolver; a selection kernel decides each playlist's
// rank and weight (host/detail/pca_aggregate_rule.hpp, shared with the CPU engine), and a
// reduction kernel sums the batch's weighted projectors (pooled: covariances, with no
// eigensolver) into one upper triangle: one block per entry, threads striding over the
// batch's playlists, then a fixed shared-memory tree (no atomics: the same bits every
// run). Batch sums are added on the host in batch order.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuda_impl.hpp"
#include "detail/common.cuh"
#include "detail/moments.cuh"
#include "detail/moments_order.hpp"
#include "detail/pca_aggregate_rule.hpp"

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
  moments_slot_pairs<MAXS>(slot0, tid, kThreads, d, ii, jj);
#pragma unroll
  for (int q = 0; q < MAXS; ++q) acc[q] = 0.0;
  __syncthreads();
  for (std::uint64_t t0 = 0; t0 < n; t0 += tile_rows) {
    const int cnt = static_cast<int>(n - t0 < static_cast<std::uint64_t>(tile_rows) ? n - t0 : tile_rows);
    const float* src = x + (r0 + t0) * d;
    __syncthreads();
    moments_fill_tile(src, cnt, d, ks, vs, tid, kThreads);
    __syncthreads();
    moments_accumulate_tile<MAXS>(vs, cnt, d, ii, jj, acc);
  }
  moments_store_slots<MAXS>(sums + pl * static_cast<std::uint64_t>(acc_n), slot0, tid, kThreads, d, acc);
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

// --- the aggregate --------------------------------------------------------------------

constexpr int kReduceThreads = 256;

/// Thread q: playlist p0 + q's rank (or verdict) and weight (0 when it takes no part).
/// `w` holds the batch's eigenvalues, ascending per playlist (unused for pooled).
__global__ void aggregate_select_kernel(const std::uint64_t* __restrict__ so, std::uint64_t p0, std::uint64_t count,
                                        int d, bool pooled, bool by_songs, int components, double variance,
                                        double tolerance, const double* __restrict__ w, int* __restrict__ rank,
                                        double* __restrict__ weight) {
  namespace rule = aggregate_rule;
  const std::uint64_t q = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (q >= count) return;
  const std::uint64_t n = so[p0 + q + 1] - so[p0 + q];
  const int k = rule::playlist_rank(pooled, w + q * d + (d - 1), -1, d, n, components, variance, tolerance);
  rank[q] = k;
  weight[q] = k >= 1 ? rule::playlist_weight(by_songs, pooled, n) : 0.0;
}

/// Block e: entry e of the packed upper triangle, sum_q weight[q] * M_q(i, j) over the
/// batch, M_q the projector onto the top rank[q] eigenvectors (columns of the column-major
/// block q of `mats`, ascending) or, for pooled, the covariance block q itself.
__global__ void __launch_bounds__(kReduceThreads)
    aggregate_reduce_kernel(const double* __restrict__ mats, const int* __restrict__ rank,
                            const double* __restrict__ weight, std::uint64_t count, int d, bool pooled,
                            double* __restrict__ partial) {
  __shared__ double red[kReduceThreads];
  const int tid = threadIdx.x;
  int i = 0, rest = static_cast<int>(blockIdx.x);
  while (rest >= d - i) {
    rest -= d - i;
    ++i;
  }
  const int j = i + rest;
  const std::uint64_t dd = static_cast<std::uint64_t>(d) * d;
  double s = 0.0;
  for (std::uint64_t q = tid; q < count; q += kReduceThreads) {
    const int k = rank[q];
    if (k < 1) continue;
    const double* m = mats + q * dd;
    const double v = pooled ? m[i * d + j]
                            : aggregate_rule::projector_entry(m + static_cast<std::ptrdiff_t>(d - 1) * d, -d, 1, k, i, j);
    s += weight[q] * v;
  }
  red[tid] = s;
  __syncthreads();
  for (int stride = kReduceThreads / 2; stride > 0; stride /= 2) {
    if (tid < stride) red[tid] += red[tid + stride];
    __syncthreads();
  }
  if (tid == 0) partial[blockIdx.x] = red[0];
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

/// The playlists of (x, offsets) on the device, batch by batch: their covariances and means
/// (covariances()), then their eigendecompositions in place (eig()).
class playlist_batches {
 public:
  playlist_batches(const resources& res, matrix_view<const float> x, vector_view<const std::uint64_t> offsets)
      : st_(state_of(res)), stream_(st_.stream), d_(x.cols) {
    // The offsets on the host (for n and the batches) and on the device.
    if (offsets.space == memory_space::host) {
      host_off_.assign(offsets.data, offsets.data + offsets.size);
    } else {
      host_off_ = download_sync(offsets.data, offsets.size, stream_);
    }
    playlists_ = offsets.size - 1;
    if (playlists_ == 0 || d_ == 0) return;
    so_ = std::make_unique<device_input<std::uint64_t>>(offsets.data, offsets.size, offsets.space, stream_);
    const std::uint64_t rows = host_off_[playlists_];
    xs_ = std::make_unique<device_input<float>>(x.data, rows * d_, x.space, stream_);

    acc_n_ = d_ + d_ * (d_ + 1) / 2;
    const std::size_t stride_bytes = (d_ + 1) * sizeof(double);
    if (stride_bytes > 96 * 1024) {
      throw usage_error("fit_pca_per_playlist: the CUDA engine supports at most 12287 features");
    }
    tile_rows_ =
        static_cast<int>(std::min<std::size_t>(64, std::max<std::size_t>(1, (46 * 1024) / stride_bytes)));
    smem_ = static_cast<std::size_t>(tile_rows_) * stride_bytes;

    const std::uint64_t batch_max = std::min<std::uint64_t>(kBatch, playlists_);
    shift_ = device_buffer<double>(batch_max * d_, stream_);
    sums_ = device_buffer<double>(batch_max * acc_n_, stream_);
    cov_ = device_buffer<double>(batch_max * d_ * d_, stream_);
    mean_ = device_buffer<double>(batch_max * d_, stream_);
    w_ = device_buffer<double>(batch_max * d_, stream_);
    info_ = device_buffer<int>(batch_max, stream_);
  }

  std::uint64_t playlists() const noexcept { return playlists_; }
  const std::vector<std::uint64_t>& host_offsets() const noexcept { return host_off_; }
  bool empty() const noexcept { return playlists_ == 0 || d_ == 0; }
  cudaStream_t stream() const noexcept { return stream_; }
  double* cov() noexcept { return cov_.data(); }
  double* mean() noexcept { return mean_.data(); }
  double* w() noexcept { return w_.data(); }
  int* info() noexcept { return info_.data(); }
  const std::uint64_t* device_offsets() const noexcept { return so_->get(); }

  /// Segmented sums, then the covariances ([count x d x d]) and means of playlists
  /// p0 .. p0 + count.
  void covariances(std::uint64_t p0, std::uint64_t count) {
    const int di = static_cast<int>(d_);
    const float* xs = xs_->get();
    const std::uint64_t* so = so_->get();
    if (acc_n_ <= static_cast<std::size_t>(kThreads)) {
      launch_sums<1>(xs, so, p0, count, di, 1, tile_rows_, smem_, shift_.data(), sums_.data(), stream_);
    } else if (acc_n_ <= 2u * kThreads) {
      launch_sums<2>(xs, so, p0, count, di, 1, tile_rows_, smem_, shift_.data(), sums_.data(), stream_);
    } else if (acc_n_ <= 4u * kThreads) {
      launch_sums<4>(xs, so, p0, count, di, 1, tile_rows_, smem_, shift_.data(), sums_.data(), stream_);
    } else {
      const auto passes = static_cast<unsigned>(ceil_div(acc_n_, 8u * kThreads));
      launch_sums<8>(xs, so, p0, count, di, passes, tile_rows_, smem_, shift_.data(), sums_.data(), stream_);
    }
    playlist_cov_kernel<<<grid_for(count * d_ * d_, 256), 256, 0, stream_>>>(so, p0, count, di, shift_.data(),
                                                                             sums_.data(), cov_.data(), mean_.data());
    PLAYAUG_CUDA_CHECK_LAUNCH();
  }

  /// Eigendecompositions in place: cov becomes the eigenvectors (column-major, ascending
  /// eigenvalues in w), info the solver's status per playlist.
  void eig(std::uint64_t count) {
    const int n_eig = static_cast<int>(d_);
    cusolverDnHandle_t solver = st_.solver_handle();
    if (d_ <= kMaxSyevj) {
      if (!params_) params_ = std::make_unique<syevj_params>();
      int lwork = 0;
      PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevjBatched_bufferSize(solver, CUSOLVER_EIG_MODE_VECTOR,
                                                              CUBLAS_FILL_MODE_UPPER, n_eig, cov_.data(), n_eig,
                                                              w_.data(), &lwork, params_->info,
                                                              static_cast<int>(count)));
      device_buffer<double> work(static_cast<std::size_t>(lwork > 0 ? lwork : 1), stream_);
      PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevjBatched(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n_eig,
                                                   cov_.data(), n_eig, w_.data(), work.data(), lwork, info_.data(),
                                                   params_->info, static_cast<int>(count)));
    } else {
      int lwork = 0;
      PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevd_bufferSize(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER,
                                                       n_eig, cov_.data(), n_eig, w_.data(), &lwork));
      device_buffer<double> work(static_cast<std::size_t>(lwork > 0 ? lwork : 1), stream_);
      for (std::uint64_t q = 0; q < count; ++q) {
        PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevd(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n_eig,
                                              cov_.data() + q * d_ * d_, n_eig, w_.data() + q * d_, work.data(),
                                              lwork, info_.data() + q));
      }
    }
  }

  /// The message of a failed eigendecomposition of playlist p (status `info`).
  std::string eig_failure(std::uint64_t p, int info) const {
    return "playlist " + std::to_string(p) + ": cuSOLVER " + std::string(d_ <= kMaxSyevj ? "syevjBatched" : "syevd") +
           (info < 0 ? " rejected argument " + std::to_string(-info)
                     : " did not converge (info " + std::to_string(info) + ")") +
           "; check the features for extreme values, or run with --device cpu";
  }

 private:
  cuda_state& st_;
  cudaStream_t stream_;
  std::size_t d_;
  std::uint64_t playlists_ = 0;
  std::vector<std::uint64_t> host_off_;
  std::unique_ptr<device_input<std::uint64_t>> so_;
  std::unique_ptr<device_input<float>> xs_;
  std::size_t acc_n_ = 0;
  int tile_rows_ = 1;
  std::size_t smem_ = 0;
  std::unique_ptr<syevj_params> params_;
  device_buffer<double> shift_, sums_, cov_, mean_, w_;
  device_buffer<int> info_;
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
  playlist_batches batches(res, x, offsets);
  const std::uint64_t playlists = batches.playlists();
  const auto& host_off = batches.host_offsets();
  out.n.resize(playlists);
  for (std::uint64_t p = 0; p < playlists; ++p) out.n[p] = host_off[p + 1] - host_off[p];
  out.mean.assign(playlists * d, 0.0);
  out.eigenvalues.assign(playlists * d, 0.0);
  out.components.assign(playlists * d * d, 0.0);
  if (batches.empty()) return out;
  const cudaStream_t stream = batches.stream();

  const std::uint64_t batch_max = std::min<std::uint64_t>(kBatch, playlists);
  std::vector<double> h_w(batch_max * d), h_v(batch_max * d * d), h_mean(batch_max * d);
  std::vector<int> h_info(batch_max);

  for (std::uint64_t p0 = 0; p0 < playlists; p0 += kBatch) {
    const std::uint64_t count = std::min<std::uint64_t>(kBatch, playlists - p0);
    batches.covariances(p0, count);
    batches.eig(count);
    PLAYAUG_CUDA_TRY(
        cudaMemcpyAsync(h_w.data(), batches.w(), count * d * sizeof(double), cudaMemcpyDeviceToHost, stream));
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(h_v.data(), batches.cov(), count * d * d * sizeof(double),
                                     cudaMemcpyDeviceToHost, stream));
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(h_mean.data(), batches.mean(), count * d * sizeof(double),
                                     cudaMemcpyDeviceToHost, stream));
    PLAYAUG_CUDA_TRY(
        cudaMemcpyAsync(h_info.data(), batches.info(), count * sizeof(int), cudaMemcpyDeviceToHost, stream));
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
      if (h_info[q] != 0) throw numeric_error(batches.eig_failure(p, h_info[q]));
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

pca_aggregate_sum aggregate_playlists(const resources& res, matrix_view<const float> x,
                                      vector_view<const std::uint64_t> offsets, const pca_aggregate_options& opts) {
  using namespace detail;
  const std::size_t d = x.cols;
  const bool pooled = opts.method == pca_method::pooled;
  const bool by_songs = opts.weight == pca_weight::songs;
  const int components = opts.components ? static_cast<int>(*opts.components) : 0;
  const double variance = opts.variance.value_or(0.0);
  pca_aggregate_sum out;
  out.dim = d;
  out.sum.assign(d * d, 0.0);
  if (offsets.size == 0) return out;
  playlist_batches batches(res, x, offsets);
  const std::uint64_t playlists = batches.playlists();
  out.playlists = playlists;
  const auto& host_off = batches.host_offsets();
  if (batches.empty()) {
    aggregate_rule::count_verdicts(out, host_off.data(), std::vector<int>(playlists, aggregate_rule::empty).data(),
                                   playlists, by_songs, pooled);
    return out;
  }
  const cudaStream_t stream = batches.stream();
  const int di = static_cast<int>(d);
  const std::size_t entries = d * (d + 1) / 2;
  if (entries > kMaxGridX) throw usage_error("aggregate_playlists: too many features for the CUDA engine");

  const std::uint64_t batch_max = std::min<std::uint64_t>(kBatch, playlists);
  device_buffer<int> rank(batch_max, stream);
  device_buffer<double> weight(batch_max, stream);
  device_buffer<double> partial(entries, stream);
  std::vector<int> h_rank(batch_max), h_info(batch_max);
  std::vector<double> h_partial(entries);

  for (std::uint64_t p0 = 0; p0 < playlists; p0 += kBatch) {
    const std::uint64_t count = std::min<std::uint64_t>(kBatch, playlists - p0);
    batches.covariances(p0, count);
    if (!pooled) batches.eig(count);
    aggregate_select_kernel<<<grid_for(count, 256), 256, 0, stream>>>(
        batches.device_offsets(), p0, count, di, pooled, by_songs, components, variance,
        pca_aggregate_options::rank_tolerance, batches.w(), rank.data(), weight.data());
    PLAYAUG_CUDA_CHECK_LAUNCH();
    aggregate_reduce_kernel<<<static_cast<unsigned>(entries), kReduceThreads, 0, stream>>>(
        batches.cov(), rank.data(), weight.data(), count, di, pooled, partial.data());
    PLAYAUG_CUDA_CHECK_LAUNCH();
    PLAYAUG_CUDA_TRY(
        cudaMemcpyAsync(h_partial.data(), partial.data(), entries * sizeof(double), cudaMemcpyDeviceToHost, stream));
    PLAYAUG_CUDA_TRY(
        cudaMemcpyAsync(h_rank.data(), rank.data(), count * sizeof(int), cudaMemcpyDeviceToHost, stream));
    if (!pooled) {
      PLAYAUG_CUDA_TRY(
          cudaMemcpyAsync(h_info.data(), batches.info(), count * sizeof(int), cudaMemcpyDeviceToHost, stream));
    }
    PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
    if (!pooled) {
      for (std::uint64_t q = 0; q < count; ++q) {
        if (host_off[p0 + q + 1] - host_off[p0 + q] >= 2 && h_info[q] != 0) {
          throw numeric_error(batches.eig_failure(p0 + q, h_info[q]));
        }
      }
    }
    std::size_t e = 0;
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = i; j < d; ++j) out.sum[i * d + j] += h_partial[e++];
    }
    aggregate_rule::count_verdicts(out, host_off.data() + p0, h_rank.data(), count, by_songs, pooled);
  }
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j < i; ++j) out.sum[i * d + j] = out.sum[j * d + i];
  }
  return out;
}

}  // namespace cuda_impl
}  // namespace playaug
