// PCA projection and reconstruction on the GPU, each one fused pass that reads its input
// once and writes its output once:
//
//   transform          y_c = sum_j ((x_j - mean_j) / scale_j) * P_cj     (j in order)
//   inverse_transform  x_j = (sum_c y_c * P_cj) * scale_j + mean_j       (c in order)
//
// float64 arithmetic on float32 input, results rounded to float32. Each product and sum
// is rounded on its own (no fused multiply-add) in the CPU engine's order, so both engines
// give the same bits (the tests allow 1e-6 relative).
//
// d <= 16: a block stages 256 rows at a time through shared memory with coalesced loads
// and stores; the model (mean, scale, P) sits in shared memory and each thread keeps its
// row in registers. Larger d: one thread per row reading global memory.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda_impl.hpp"
#include "detail/common.cuh"

namespace playaug {
namespace detail {
namespace {

constexpr int kRows = 256;       // rows per tile = threads per block
constexpr int kMaxFixed = 16;    // d up to this: the tiled kernels

/// Shared-memory index with one pad word per 32, so that threads reading rows of any
/// stride hit different banks.
__device__ __forceinline__ int padded(int e) { return e + (e >> 5); }
constexpr int padded_size(int n) { return n + n / 32 + 1; }

/// Model parameters in device memory: mean [d], scale [d], components [k x d].
struct model_ptrs {
  const double* mean;
  const double* scale;
  const double* comp;
};

template <int D>
__global__ void __launch_bounds__(kRows)
    transform_fixed_kernel(const float* __restrict__ x, float* __restrict__ y, std::uint64_t n, int k,
                           model_ptrs m, int unit_scale) {
  __shared__ double s_mean[D], s_scale[D], s_comp[D * D];
  __shared__ float s_in[padded_size(kRows * D)];
  __shared__ float s_out[padded_size(kRows * D)];
  const int tid = threadIdx.x;
  for (int i = tid; i < D; i += kRows) {
    s_mean[i] = m.mean[i];
    s_scale[i] = m.scale[i];
  }
  for (int i = tid; i < k * D; i += kRows) s_comp[i] = m.comp[i];
  const std::uint64_t tiles = ceil_div(n, kRows);
  for (std::uint64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    const std::uint64_t r0 = t * kRows;
    const int cnt = static_cast<int>(n - r0 < kRows ? n - r0 : kRows);
    const float* src = x + r0 * D;
    for (int e = tid; e < cnt * D; e += kRows) s_in[padded(e)] = src[e];
    __syncthreads();
    if (tid < cnt) {
      double z[D];
#pragma unroll
      for (int j = 0; j < D; ++j) {
        const double c = __dsub_rn(static_cast<double>(s_in[padded(tid * D + j)]), s_mean[j]);
        z[j] = unit_scale ? c : __ddiv_rn(c, s_scale[j]);
      }
      for (int c = 0; c < k; ++c) {
        const double* p = s_comp + c * D;
        double acc = 0.0;
#pragma unroll
        for (int j = 0; j < D; ++j) acc = __dadd_rn(acc, __dmul_rn(z[j], p[j]));
        s_out[padded(tid * k + c)] = __double2float_rn(acc);
      }
    }
    __syncthreads();
    float* dst = y + r0 * static_cast<std::uint64_t>(k);
    for (int e = tid; e < cnt * k; e += kRows) dst[e] = s_out[padded(e)];
  }
}

template <int D>
__global__ void __launch_bounds__(kRows)
    inverse_fixed_kernel(const float* __restrict__ y, float* __restrict__ x, std::uint64_t n, int k,
                         model_ptrs m) {
  __shared__ double s_mean[D], s_scale[D], s_comp[D * D];
  __shared__ float s_in[padded_size(kRows * D)];
  __shared__ float s_out[padded_size(kRows * D)];
  const int tid = threadIdx.x;
  for (int i = tid; i < D; i += kRows) {
    s_mean[i] = m.mean[i];
    s_scale[i] = m.scale[i];
  }
  for (int i = tid; i < k * D; i += kRows) s_comp[i] = m.comp[i];
  const std::uint64_t tiles = ceil_div(n, kRows);
  for (std::uint64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    const std::uint64_t r0 = t * kRows;
    const int cnt = static_cast<int>(n - r0 < kRows ? n - r0 : kRows);
    const float* src = y + r0 * static_cast<std::uint64_t>(k);
    for (int e = tid; e < cnt * k; e += kRows) s_in[padded(e)] = src[e];
    __syncthreads();
    if (tid < cnt) {
      double acc[D];
#pragma unroll
      for (int j = 0; j < D; ++j) acc[j] = 0.0;
      for (int c = 0; c < k; ++c) {
        const double yc = static_cast<double>(s_in[padded(tid * k + c)]);
        const double* p = s_comp + c * D;
#pragma unroll
        for (int j = 0; j < D; ++j) acc[j] = __dadd_rn(acc[j], __dmul_rn(yc, p[j]));
      }
#pragma unroll
      for (int j = 0; j < D; ++j) {
        s_out[padded(tid * D + j)] = __double2float_rn(__dadd_rn(__dmul_rn(acc[j], s_scale[j]), s_mean[j]));
      }
    }
    __syncthreads();
    float* dst = x + r0 * D;
    for (int e = tid; e < cnt * D; e += kRows) dst[e] = s_out[padded(e)];
  }
}

__global__ void transform_any_kernel(const float* __restrict__ x, float* __restrict__ y, std::uint64_t n, int d,
                                     int k, model_ptrs m) {
  for (std::uint64_t r = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; r < n;
       r += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    const float* xr = x + r * d;
    for (int c = 0; c < k; ++c) {
      const double* p = m.comp + static_cast<std::size_t>(c) * d;
      double acc = 0.0;
      for (int j = 0; j < d; ++j) {
        const double z = __ddiv_rn(__dsub_rn(static_cast<double>(xr[j]), m.mean[j]), m.scale[j]);
        acc = __dadd_rn(acc, __dmul_rn(z, p[j]));
      }
      y[r * k + c] = __double2float_rn(acc);
    }
  }
}

__global__ void inverse_any_kernel(const float* __restrict__ y, float* __restrict__ x, std::uint64_t n, int d,
                                   int k, model_ptrs m) {
  for (std::uint64_t r = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; r < n;
       r += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    const float* yr = y + r * k;
    for (int j = 0; j < d; ++j) {
      double acc = 0.0;
      for (int c = 0; c < k; ++c) {
        acc = __dadd_rn(acc, __dmul_rn(static_cast<double>(yr[c]), m.comp[static_cast<std::size_t>(c) * d + j]));
      }
      x[r * d + j] = __double2float_rn(__dadd_rn(__dmul_rn(acc, m.scale[j]), m.mean[j]));
    }
  }
}

using fixed_launch = void (*)(const float*, float*, std::uint64_t, int, model_ptrs, int, cudaStream_t);

unsigned tile_grid(std::uint64_t n) {
  return static_cast<unsigned>(std::min<std::uint64_t>(ceil_div(n, kRows), 65535));
}

template <int D>
void launch_transform(const float* x, float* y, std::uint64_t n, int k, model_ptrs m, int unit_scale,
                      cudaStream_t stream) {
  transform_fixed_kernel<D><<<tile_grid(n), kRows, 0, stream>>>(x, y, n, k, m, unit_scale);
  PLAYAUG_CUDA_CHECK_LAUNCH();
}
template <int D>
void launch_inverse(const float* y, float* x, std::uint64_t n, int k, model_ptrs m, int, cudaStream_t stream) {
  inverse_fixed_kernel<D><<<tile_grid(n), kRows, 0, stream>>>(y, x, n, k, m);
  PLAYAUG_CUDA_CHECK_LAUNCH();
}
template <int... Ds>
fixed_launch pick_transform(int d, std::integer_sequence<int, Ds...>) {
  fixed_launch fn = nullptr;
  ((d == Ds + 1 ? (fn = &launch_transform<Ds + 1>, 0) : 0), ...);
  return fn;
}
template <int... Ds>
fixed_launch pick_inverse(int d, std::integer_sequence<int, Ds...>) {
  fixed_launch fn = nullptr;
  ((d == Ds + 1 ? (fn = &launch_inverse<Ds + 1>, 0) : 0), ...);
  return fn;
}

/// The model's parameters in device memory, one stream-ordered upload.
struct device_model {
  device_buffer<double> buf;
  model_ptrs ptrs{};
  bool unit_scale = true;
  device_model(const pca_model& model, cudaStream_t stream) {
    const std::size_t d = model.dim();
    const std::size_t k = model.n_components;
    std::vector<double> host(2 * d + k * d);
    std::copy(model.mean.begin(), model.mean.end(), host.begin());
    std::copy(model.scale.begin(), model.scale.end(), host.begin() + static_cast<std::ptrdiff_t>(d));
    std::copy(model.components.begin(), model.components.begin() + static_cast<std::ptrdiff_t>(k * d),
              host.begin() + static_cast<std::ptrdiff_t>(2 * d));
    for (const double s : model.scale) unit_scale = unit_scale && s == 1.0;
    buf = device_buffer<double>(host.size(), stream);
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(buf.data(), host.data(), host.size() * sizeof(double),
                                     cudaMemcpyHostToDevice, stream));
    ptrs = {buf.data(), buf.data() + d, buf.data() + 2 * d};
  }
};

enum class direction { forward, inverse };

/// Run the kernel of `dir` over in [n x cols_in] -> out [n x cols_out], either space.
void project(const resources& res, const pca_model& model, direction dir, const float* in, float* out,
             std::uint64_t n, memory_space space) {
  const std::size_t d = model.dim();
  const std::size_t k = model.n_components;
  if (n == 0 || d == 0 || k == 0) return;
  const cudaStream_t stream = state_of(res).stream;
  const device_model dm(model, stream);
  const std::size_t cols_in = dir == direction::forward ? d : k;
  const std::size_t cols_out = dir == direction::forward ? k : d;
  auto run = [&](const float* src, float* dst, std::uint64_t rows) {
    const int di = static_cast<int>(d), ki = static_cast<int>(k);
    if (d <= static_cast<std::size_t>(kMaxFixed)) {
      const fixed_launch fn = dir == direction::forward
                                  ? pick_transform(di, std::make_integer_sequence<int, kMaxFixed>{})
                                  : pick_inverse(di, std::make_integer_sequence<int, kMaxFixed>{});
      fn(src, dst, rows, ki, dm.ptrs, dm.unit_scale ? 1 : 0, stream);
    } else {
      const unsigned grid = static_cast<unsigned>(std::min<std::uint64_t>(ceil_div(rows, 256), 65535));
      if (dir == direction::forward) {
        transform_any_kernel<<<grid, 256, 0, stream>>>(src, dst, rows, di, ki, dm.ptrs);
      } else {
        inverse_any_kernel<<<grid, 256, 0, stream>>>(src, dst, rows, di, ki, dm.ptrs);
      }
      PLAYAUG_CUDA_CHECK_LAUNCH();
    }
  };
  if (space == memory_space::device) {
    run(in, out, n);
    return;
  }
  // Host memory: chunks of rows through device buffers of at most ~256 MB.
  const std::uint64_t chunk = std::max<std::uint64_t>(1, (std::uint64_t{64} << 20) / (cols_in + cols_out));
  const std::uint64_t rows_max = std::min(chunk, n);
  device_buffer<float> din(rows_max * cols_in, stream);
  device_buffer<float> dout(rows_max * cols_out, stream);
  for (std::uint64_t r0 = 0; r0 < n; r0 += chunk) {
    const std::uint64_t rows = std::min(chunk, n - r0);
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(din.data(), in + r0 * cols_in, rows * cols_in * sizeof(float),
                                     cudaMemcpyHostToDevice, stream));
    run(din.data(), dout.data(), rows);
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(out + r0 * cols_out, dout.data(), rows * cols_out * sizeof(float),
                                     cudaMemcpyDeviceToHost, stream));
  }
  PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
}

}  // namespace
}  // namespace detail

namespace cuda_impl {

void transform(const resources& res, const pca_model& model, matrix_view<const float> x, matrix_view<float> y) {
  detail::project(res, model, detail::direction::forward, x.data, y.data, x.rows, x.space);
}

void inverse_transform(const resources& res, const pca_model& model, matrix_view<const float> y,
                       matrix_view<float> x) {
  detail::project(res, model, detail::direction::inverse, y.data, x.data, y.rows, y.space);
}

}  // namespace cuda_impl
}  // namespace playaug
