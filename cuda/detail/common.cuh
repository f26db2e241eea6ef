#pragma once
// Pieces shared by the CUDA engine's .cu files: launch arithmetic, staging of host views
// to the device, segment search over offset arrays, and the CUB scan of per-segment counts.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "detail/check.cuh"
#include "detail/state.cuh"
#include "playaug/error.hpp"
#include "playaug/view.hpp"

namespace playaug::detail {

constexpr unsigned kFullMask = 0xFFFFFFFFu;
/// The largest grid.x a launch may use.
constexpr std::uint64_t kMaxGridX = 2147483647u;

#if defined(__CUDACC__)
__host__ __device__
#endif
inline std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

/// Blocks for `items` work items at `per_block` items per block; throws when the grid
/// would exceed the hardware limit.
inline unsigned grid_for(std::uint64_t items, std::uint64_t per_block) {
  const std::uint64_t g = ceil_div(items, per_block);
  if (g > kMaxGridX) throw usage_error("CUDA engine: input too large for one launch");
  return static_cast<unsigned>(g == 0 ? 1 : g);
}

/// Read-only device memory for `n` T: the caller's own memory when it is already on the
/// device, else a stream-ordered copy of the host memory (the host memory may be reused
/// as soon as the constructor returns: pageable copies are staged by the driver).
template <typename T>
class device_input {
 public:
  device_input(const T* data, std::size_t n, memory_space space, cudaStream_t stream) {
    if (space == memory_space::device || n == 0) {
      ptr_ = data;
      return;
    }
    buf_ = device_buffer<T>(n, stream);
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(buf_.data(), data, n * sizeof(T), cudaMemcpyHostToDevice, stream));
    ptr_ = buf_.data();
  }
  const T* get() const noexcept { return ptr_; }

 private:
  device_buffer<T> buf_;
  const T* ptr_ = nullptr;
};

/// Writable device memory for `n` T backed by the caller's memory: used in place when it
/// is on the device; for host memory a device copy (uploaded when `upload`), written back
/// by download().
template <typename T>
class device_inout {
 public:
  device_inout(T* data, std::size_t n, memory_space space, cudaStream_t stream, bool upload = true)
      : host_(space == memory_space::host ? data : nullptr), n_(n), stream_(stream) {
    if (space == memory_space::device || n == 0) {
      ptr_ = space == memory_space::device ? data : nullptr;
      host_ = nullptr;
      return;
    }
    buf_ = device_buffer<T>(n, stream);
    if (upload) {
      PLAYAUG_CUDA_TRY(cudaMemcpyAsync(buf_.data(), data, n * sizeof(T), cudaMemcpyHostToDevice, stream));
    }
    ptr_ = buf_.data();
  }
  T* get() const noexcept { return ptr_; }
  /// Copy back to the host memory (no-op for device memory). Does not synchronise.
  void download() {
    if (host_ != nullptr && n_ != 0) {
      PLAYAUG_CUDA_TRY(cudaMemcpyAsync(host_, ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost, stream_));
    }
  }

 private:
  device_buffer<T> buf_;
  T* ptr_ = nullptr;
  T* host_ = nullptr;
  std::size_t n_ = 0;
  cudaStream_t stream_ = nullptr;
};

/// Copy `n` T from device memory into a host vector and wait for it.
template <typename T>
std::vector<T> download_sync(const T* dev, std::size_t n, cudaStream_t stream) {
  std::vector<T> out(n);
  if (n != 0) {
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(out.data(), dev, n * sizeof(T), cudaMemcpyDeviceToHost, stream));
  }
  PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
  return out;
}

#if defined(__CUDACC__)

/// The largest p in [lo, hi) with offs[p] <= key, for non-decreasing offs with
/// offs[lo] <= key. With offsets of segments, that is the non-empty segment holding item
/// `key` (empty segments before it are skipped).
__device__ __forceinline__ std::uint64_t last_le(const std::uint64_t* __restrict__ offs, std::uint64_t lo,
                                                 std::uint64_t hi, std::uint64_t key) {
  while (hi - lo > 1) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (offs[mid] <= key) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

#endif  // __CUDACC__

/// offsets[0..count] = exclusive prefix sums of counts[0..count]: counts holds count + 1
/// entries, the last 0, so that offsets[count] is the total. counts and offsets must not
/// overlap.
/// Stream-ordered; implemented with cub::DeviceScan in cuda/scan.cu.
void exclusive_scan(const std::uint64_t* counts, std::uint64_t* offsets, std::size_t count,
                    cudaStream_t stream);

}  // namespace playaug::detail
