#pragma once
// The CUDA engine's per-resources state: one stream (borrowed or owned), a cuSOLVER handle
// created on first use and bound to that stream, and RAII device buffers.

#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <utility>

#include "detail/check.cuh"
#include "playaug/resources.hpp"

namespace playaug::detail {

struct cuda_state {
  cudaStream_t stream = nullptr;
  bool owns_stream = false;
  cusolverDnHandle_t solver = nullptr;
  int device = 0;
  cudaDeviceProp props{};

  explicit cuda_state(stream_handle borrowed);
  ~cuda_state();
  cuda_state(const cuda_state&) = delete;
  cuda_state& operator=(const cuda_state&) = delete;

  /// The cuSOLVER handle, created on first call and bound to `stream`.
  cusolverDnHandle_t solver_handle();
};

/// A stream-ordered device allocation of n T (cudaMallocAsync / cudaFreeAsync).
template <typename T>
class device_buffer {
 public:
  device_buffer() = default;
  device_buffer(std::size_t n, cudaStream_t stream) : size_(n), stream_(stream) {
    if (n != 0) PLAYAUG_CUDA_TRY(cudaMallocAsync(reinterpret_cast<void**>(&ptr_), n * sizeof(T), stream));
  }
  ~device_buffer() { reset(); }
  device_buffer(device_buffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)), stream_(o.stream_) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
      stream_ = o.stream_;
    }
    return *this;
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;

  T* data() const noexcept { return ptr_; }
  std::size_t size() const noexcept { return size_; }
  void reset() noexcept {
    if (ptr_ != nullptr) cudaFreeAsync(ptr_, stream_);
    ptr_ = nullptr;
    size_ = 0;
  }

 private:
  T* ptr_ = nullptr;
  std::size_t size_ = 0;
  cudaStream_t stream_ = nullptr;
};

/// Pinned host memory (cudaMallocHost / cudaFreeHost).
template <typename T>
class pinned_buffer {
 public:
  pinned_buffer() = default;
  explicit pinned_buffer(std::size_t n) : size_(n) {
    if (n != 0) PLAYAUG_CUDA_TRY(cudaMallocHost(reinterpret_cast<void**>(&ptr_), n * sizeof(T)));
  }
  ~pinned_buffer() {
    if (ptr_ != nullptr) cudaFreeHost(ptr_);
  }
  pinned_buffer(pinned_buffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  pinned_buffer& operator=(pinned_buffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
    return *this;
  }
  T* data() const noexcept { return ptr_; }
  std::size_t size() const noexcept { return size_; }

 private:
  T* ptr_ = nullptr;
  std::size_t size_ = 0;
};

/// The state of `res` (which must be a CUDA resources object).
inline cuda_state& state_of(const resources& res) { return res.cuda(); }

}  // namespace playaug::detail
