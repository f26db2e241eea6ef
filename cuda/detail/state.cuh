#pragma once
// The CUDA engine's per-resources state: one stream (borrowed or owned), a cuSOLVER handle
// created on first use and bound to that stream, and RAII device buffers.

#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <memory>
#include <utility>

#include "detail/check.cuh"
#include "playaug/resources.hpp"

namespace playaug::detail {


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

/// Two pinned host buffers and their "copy finished" events, for streaming host data to
/// the device: the host fills one buffer while the stream copies the other.
struct staging_area {
  pinned_buffer<unsigned char> buf[2];
  cudaEvent_t copied[2] = {nullptr, nullptr};
  std::size_t bytes = 0;  ///< capacity of each buffer

  staging_area() = default;
  ~staging_area() {
    for (cudaEvent_t& e : copied) {
      if (e != nullptr) cudaEventDestroy(e);
    }
  }
  staging_area(const staging_area&) = delete;
  staging_area& operator=(const staging_area&) = delete;

  /// Make each buffer hold at least `need` bytes. Only call when no copy from the
  /// buffers is pending (the old buffers are released).
  void reserve(std::size_t need) {
    for (cudaEvent_t& e : copied) {
      if (e == nullptr) PLAYAUG_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    }
    if (need <= bytes) return;
    for (cudaEvent_t e : copied) PLAYAUG_CUDA_TRY(cudaEventSynchronize(e));
    buf[0] = pinned_buffer<unsigned char>();
    buf[1] = pinned_buffer<unsigned char>();
    bytes = 0;
    buf[0] = pinned_buffer<unsigned char>(need);
    buf[1] = pinned_buffer<unsigned char>(need);
    bytes = need;
  }
};

/// Grow-only scratch memory that consecutive calls on one resources object reuse, so that a
/// training loop calling the same operation again allocates nothing:
///   - device memory, ordered on the resources' stream: a call's kernels run before the
///     next call's, which may then overwrite it (a resources object is used from one
///     thread at a time, resources.hpp); growing frees the old block in stream order;
///   - pinned host memory for small results, read only after the call has synchronised.
/// Never for memory handed back to the caller, and one user at a time: a call takes its
/// pieces when it starts and calls no other user of the scratch while it holds them.
/// Pieces are carved with scratch_layout.
struct workspace {
  device_buffer<unsigned char> device;
  pinned_buffer<unsigned char> host;

  /// At least `bytes` of device scratch.
  unsigned char* device_bytes(std::size_t bytes, cudaStream_t stream) {
    if (bytes > device.size()) device = device_buffer<unsigned char>(grown(bytes, device.size()), stream);
    return device.data();
  }
  /// At least `bytes` of pinned host scratch. The caller has synchronised the stream since
  /// the last copy into it.
  unsigned char* host_bytes(std::size_t bytes) {
    if (bytes > host.size()) host = pinned_buffer<unsigned char>(grown(bytes, host.size()));
    return host.data();
  }

 private:
  /// Growth by at least half again, so a slowly growing size reallocates O(log) times.
  static std::size_t grown(std::size_t need, std::size_t have) { return need > have + have / 2 ? need : have + have / 2; }
};

/// Offsets of aligned pieces in one scratch block: add() each piece, take bytes(), then
/// at() the pointers.
class scratch_layout {
 public:
  template <typename T>
  std::size_t add(std::size_t n) {
    const std::size_t at = (end_ + 255) / 256 * 256;
    end_ = at + n * sizeof(T);
    return at;
  }
  std::size_t bytes() const noexcept { return end_ == 0 ? 1 : end_; }
  template <typename T>
  static T* at(unsigned char* base, std::size_t offset) noexcept {
    return reinterpret_cast<T*>(base + offset);
  }

 private:
  std::size_t end_ = 0;
};

struct cuda_state {
  cudaStream_t stream = nullptr;
  bool owns_stream = false;
  cusolverDnHandle_t solver = nullptr;
  int device = 0;
  cudaDeviceProp props{};
  /// Pinned staging buffers, allocated on first use by a streaming host-memory path.
  std::unique_ptr<staging_area> staging;
  /// Scratch reused from call to call (compute_moments, symmetric_eig).
  workspace scratch;

  explicit cuda_state(stream_handle borrowed);
  ~cuda_state();
  cuda_state(const cuda_state&) = delete;
  cuda_state& operator=(const cuda_state&) = delete;

  /// The cuSOLVER handle, created on first call and bound to `stream`.
  cusolverDnHandle_t solver_handle();
  /// The staging area with buffers of at least `bytes` each.
  staging_area& staging_buffers(std::size_t bytes);
};

/// The state of `res` (which must be a CUDA resources object).
inline cuda_state& state_of(const resources& res) { return res.cuda(); }

}  // namespace playaug::detail
