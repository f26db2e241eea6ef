// Exact nearest-neighbour search on the GPU (catalog.hpp): a fused kernel that scores
// catalog tiles against register-resident queries and keeps each query's running best in
// registers; no distance matrix exists anywhere.
//
// Layout. A block of kThreads threads owns kQueriesPerBlock queries (kQueriesPerThread
// per thread, strided by kThreads) and one split of the catalog rows. The block walks its
// split in tiles of kTileRows prepared rows (48 bytes each: 11 standardised features and
// the squared norm) staged in shared memory; every thread reads the same row at the same
// time (a broadcast, three 16-byte loads) and scores it against its queries with
// nn_score(), the PLAYAUG_HD function the CPU engine uses: 11 fused multiply-adds in a
// fixed order, so scores match the CPU bit for bit. Rows are scored kGroup at a time and
// compared once through their minimum; only when that beats the running best are the
// kGroup rows compared in order, which keeps the strict "<" (lower row wins a tie) of a
// plain sequential scan. Splits write partial bests; a second kernel combines them in
// (score, row) order, which is associative, so the answer does not depend on the split.
//
// Cost per query x row pair: 11 FFMA + about 1.3 other instructions, so the fp32 issue
// rate bounds the kernel at about 2.5e12 pairs/s on an H100/H200.

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "detail/check.cuh"
#include "playaug/catalog.hpp"
#include "playaug/error.hpp"
#include "cuda_impl.hpp"

namespace playaug::cuda_impl {

namespace {

// Tuning (chosen for Hopper: 128 threads x 8 queries keeps the 88 query registers and
// 32 scores per thread under the 170-register budget of 3 blocks per multiprocessor).
constexpr int kThreads = 128;
constexpr int kQueriesPerThread = 8;
constexpr int kQueriesPerBlock = kThreads * kQueriesPerThread;
constexpr int kTileRows = 256;
constexpr int kGroup = 4;
constexpr int kMinBlocksPerSm = 3;
constexpr int kWaves = 8;  // aim for this many waves of blocks, so the tail wave is small
constexpr int kDim = static_cast<int>(nn_dim);
constexpr int kStride = static_cast<int>(nn_stride);
static_assert(kStride == 12, "prepared rows are three float4");

__device__ __forceinline__ void load_row(const float4* tile, int j, float t[kStride]) {
  const float4 a = tile[3 * j];
  const float4 b = tile[3 * j + 1];
  const float4 c = tile[3 * j + 2];
  t[0] = a.x; t[1] = a.y; t[2] = a.z; t[3] = a.w;
  t[4] = b.x; t[5] = b.y; t[6] = b.z; t[7] = b.w;
  t[8] = c.x; t[9] = c.y; t[10] = c.z; t[11] = c.w;
}

// partial[split * q + i] = best hit of query i among the split's rows (after floors[i]).
template <bool Floor>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm)
    nearest_kernel(const float* __restrict__ cat, int m, int rows_per_split, const float* __restrict__ queries,
                   int q, const nn_hit* __restrict__ floors, nn_hit* __restrict__ partial) {
  __shared__ float4 tile[kTileRows * 3];
  const int r_begin = static_cast<int>(blockIdx.y) * rows_per_split;
  const int r_end = r_begin + min(rows_per_split, m - r_begin);  // no overflow near 2^31 rows
  const int q_first = static_cast<int>(blockIdx.x) * kQueriesPerBlock + static_cast<int>(threadIdx.x);

  float m2z[kQueriesPerThread][kDim];
  float best[kQueriesPerThread];
  int best_row[kQueriesPerThread];
  float floor_score[Floor ? kQueriesPerThread : 1];
  int floor_row[Floor ? kQueriesPerThread : 1];
#pragma unroll
  for (int i = 0; i < kQueriesPerThread; ++i) {
    const int qi = min(q_first + i * kThreads, q - 1);
#pragma unroll
    for (int k = 0; k < kDim; ++k) m2z[i][k] = -2.0f * queries[static_cast<std::size_t>(qi) * kDim + k];
    best[i] = __int_as_float(0x7f800000);  // +inf
    best_row[i] = -1;
    if constexpr (Floor) {
      floor_score[i] = floors[qi].score;
      floor_row[i] = floors[qi].row;
    }
  }

  for (int t0 = r_begin; t0 < r_end; t0 += kTileRows) {
    const int n = min(kTileRows, r_end - t0);
    __syncthreads();  // the previous tile is no longer read
    const float4* src = reinterpret_cast<const float4*>(cat + static_cast<std::size_t>(t0) * kStride);
    for (int v = static_cast<int>(threadIdx.x); v < n * 3; v += kThreads) tile[v] = src[v];
    __syncthreads();

    int j = 0;
    if constexpr (!Floor) {
      for (; j + kGroup <= n; j += kGroup) {
        float s[kGroup][kQueriesPerThread];
#pragma unroll
        for (int g = 0; g < kGroup; ++g) {
          float t[kStride];
          load_row(tile, j + g, t);
#pragma unroll
          for (int i = 0; i < kQueriesPerThread; ++i) s[g][i] = nn_score(m2z[i], t);
        }
#pragma unroll
        for (int i = 0; i < kQueriesPerThread; ++i) {
          float lo = s[0][i];
#pragma unroll
          for (int g = 1; g < kGroup; ++g) lo = fminf(lo, s[g][i]);
          if (lo < best[i]) {
#pragma unroll
            for (int g = 0; g < kGroup; ++g) {
              if (s[g][i] < best[i]) {
                best[i] = s[g][i];
                best_row[i] = t0 + j + g;
              }
            }
          }
        }
      }
    }
    for (; j < n; ++j) {
      float t[kStride];
      load_row(tile, j, t);
      const int row = t0 + j;
#pragma unroll
      for (int i = 0; i < kQueriesPerThread; ++i) {
        const float s = nn_score(m2z[i], t);
        bool take = s < best[i];
        if constexpr (Floor) take = take && nn_after(s, row, nn_hit{floor_score[i], floor_row[i]});
        if (take) {
          best[i] = s;
          best_row[i] = row;
        }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < kQueriesPerThread; ++i) {
    const int qi = q_first + i * kThreads;
    if (qi < q) partial[static_cast<std::size_t>(blockIdx.y) * q + qi] = nn_hit{best[i], best_row[i]};
  }
}

// out[i] = the first of partial[s * q + i], s = 0 .. splits-1, in (score, row) order.
__global__ void combine_kernel(const nn_hit* __restrict__ partial, int splits, int q, nn_hit* __restrict__ out) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= q) return;
  nn_hit acc = partial[i];
  for (int s = 1; s < splits; ++s) {
    const nn_hit h = partial[static_cast<std::size_t>(s) * q + i];
    if (h.row >= 0 && (acc.row < 0 || nn_before(h, acc))) acc = h;
  }
  out[i] = acc;
}

// A stream-ordered device allocation.
template <typename T>
class scratch {
 public:
  scratch(std::size_t n, cudaStream_t s) : stream_(s) {
    if (n != 0) PLAYAUG_CUDA_TRY(cudaMallocAsync(reinterpret_cast<void**>(&p_), n * sizeof(T), s));
  }
  ~scratch() {
    if (p_ != nullptr) cudaFreeAsync(p_, stream_);
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  T* get() const noexcept { return p_; }

 private:
  T* p_ = nullptr;
  cudaStream_t stream_;
};

// A device pointer to `n` T: the view's own when it is in device memory, else a staged copy.
template <typename T>
const T* on_device(const T* data, std::size_t n, memory_space space, std::unique_ptr<scratch<T>>& holder,
                   cudaStream_t stream) {
  if (space == memory_space::device || n == 0) return data;
  holder = std::make_unique<scratch<T>>(n, stream);
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(holder->get(), data, n * sizeof(T), cudaMemcpyHostToDevice, stream));
  return holder->get();
}

int multiprocessors() {
  int dev = 0;
  int sms = 0;
  PLAYAUG_CUDA_TRY(cudaGetDevice(&dev));
  PLAYAUG_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  return std::max(1, sms);
}

template <bool Floor>
int resident_blocks_per_sm() {
  int blocks = 0;
  PLAYAUG_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, nearest_kernel<Floor>, kThreads, 0));
  return std::max(1, blocks);
}

template <bool Floor>
void launch(const float* cat, int m, const float* qs, int q, const nn_hit* floors, nn_hit* out,
            cudaStream_t stream) {
  static const int resident = multiprocessors() * resident_blocks_per_sm<Floor>();
  const int qtiles = (q + kQueriesPerBlock - 1) / kQueriesPerBlock;
  const int max_splits = std::max(1, (m + kTileRows - 1) / kTileRows);
  const long long target = static_cast<long long>(kWaves) * resident;
  int splits = static_cast<int>(std::min<long long>(max_splits, std::max<long long>(1, (target + qtiles - 1) / qtiles)));
  const int tiles_per_split = (max_splits + splits - 1) / splits;
  const int rows_per_split = tiles_per_split * kTileRows;
  splits = (max_splits + tiles_per_split - 1) / tiles_per_split;

  if (splits == 1) {
    nearest_kernel<Floor><<<dim3(qtiles, 1), kThreads, 0, stream>>>(cat, m, rows_per_split, qs, q, floors, out);
    PLAYAUG_CUDA_CHECK_LAUNCH();
    return;
  }
  scratch<nn_hit> partial(static_cast<std::size_t>(splits) * q, stream);
  nearest_kernel<Floor><<<dim3(qtiles, splits), kThreads, 0, stream>>>(cat, m, rows_per_split, qs, q, floors,
                                                                      partial.get());
  PLAYAUG_CUDA_CHECK_LAUNCH();
  combine_kernel<<<(q + 255) / 256, 256, 0, stream>>>(partial.get(), splits, q, out);
  PLAYAUG_CUDA_CHECK_LAUNCH();
}

}  // namespace

void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out) {
  const int q = static_cast<int>(queries.rows);
  const int m = static_cast<int>(catalog.rows);
  if (q == 0) return;
  cudaStream_t stream = res.stream();

  if (catalog.space == memory_space::device && reinterpret_cast<std::uintptr_t>(catalog.data) % 16 != 0) {
    throw usage_error("nearest: a device catalog must be 16-byte aligned (prepared rows are read as float4)");
  }
  std::unique_ptr<scratch<float>> cat_holder, q_holder;
  std::unique_ptr<scratch<nn_hit>> floor_holder;
  const float* d_cat = on_device(catalog.data, catalog.size(), catalog.space, cat_holder, stream);
  const float* d_q = on_device(queries.data, queries.size(), queries.space, q_holder, stream);
  const nn_hit* d_floors =
      floors.size == 0 ? nullptr : on_device(floors.data, floors.size, floors.space, floor_holder, stream);

  std::unique_ptr<scratch<nn_hit>> out_holder;
  nn_hit* d_out = out.data;
  if (out.space == memory_space::host) {
    out_holder = std::make_unique<scratch<nn_hit>>(out.size, stream);
    d_out = out_holder->get();
  }

  if (d_floors != nullptr) {
    launch<true>(d_cat, m, d_q, q, d_floors, d_out, stream);
  } else {
    launch<false>(d_cat, m, d_q, q, nullptr, d_out, stream);
  }

  if (out.space == memory_space::host) {
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(out.data, d_out, out.size * sizeof(nn_hit), cudaMemcpyDeviceToHost, stream));
    PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
  }
}

std::shared_ptr<const float> upload_catalog(const resources& res, matrix_view<const float> prepared) {
  if (prepared.space != memory_space::host) throw usage_error("upload_catalog: the prepared rows must be in host memory");
  cudaStream_t stream = res.stream();
  float* d = nullptr;
  const std::size_t n = std::max<std::size_t>(1, prepared.size());
  PLAYAUG_CUDA_TRY(cudaMalloc(reinterpret_cast<void**>(&d), n * sizeof(float)));
  std::shared_ptr<const float> owner(d, [](const float* p) { cudaFree(const_cast<float*>(p)); });
  if (prepared.size() != 0) {
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(d, prepared.data, prepared.size() * sizeof(float), cudaMemcpyHostToDevice, stream));
    // The source is the caller's pageable memory: make sure the copy is done before returning.
    PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
  }
  return owner;
}

nearest_tuning nearest_kernel_tuning() noexcept { return {kThreads, kQueriesPerThread, kTileRows}; }

}  // namespace playaug::cuda_impl
