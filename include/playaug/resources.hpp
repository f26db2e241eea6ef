#pragma once
/// @file resources.hpp
/// Execution resources: which backend runs an operation, how many CPU threads it may use,
/// and, for CUDA, the one stream all work is ordered on plus lazily created solver state.
///
/// Every operation takes `const resources&` first. The backend is resolved once, when the
/// object is built:
///   - backend::cpu       always the CPU engine;
///   - backend::cuda      the CUDA engine, or cuda_unavailable if the build has no CUDA
///                        engine or the machine no usable device;
///   - backend::automatic CUDA when built with it and a device is present, else the CPU
///                        (fallback_reason() then says why).
///
/// The CUDA stream is either borrowed from the caller (never destroyed here) or created on
/// first use as a non-blocking stream owned by this object. The legacy default stream is
/// never used. Solver handles are created on first use, bound to that stream, and
/// released with the object. A resources object is movable, not copyable, and must not be
/// used from two threads at once.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

/// cudaStream_t is `CUstream_st*`; naming the struct keeps this header CUDA-free while a
/// caller with CUDA passes its cudaStream_t unchanged.
struct CUstream_st;

namespace playaug {

/// An opaque CUDA stream (a cudaStream_t).
using stream_handle = CUstream_st*;

/// Which engine runs an operation; `automatic` is resolved once, by resources.
enum class backend : std::uint8_t { automatic, cpu, cuda };

/// "auto", "cpu" or "cuda".
std::string_view to_string(backend b) noexcept;
/// Parse "auto" | "cpu" | "cuda"; throws usage_error otherwise.
backend parse_backend(std::string_view name);

/// True when this build contains the CUDA engine.
bool cuda_built() noexcept;
/// Number of usable CUDA devices; 0 without a CUDA build, driver or device. Never throws.
int cuda_device_count() noexcept;
/// Why cuda_device_count() is 0 ("built without CUDA", "no CUDA driver", ...); empty if > 0.
std::string cuda_unavailable_reason();

namespace detail {
struct cuda_state;  ///< defined by the CUDA engine (cuda/cuda_impl.hpp)
/// Destroys the CUDA engine's state (unique_ptr deleter).
struct cuda_state_deleter {
  void operator()(cuda_state* s) const noexcept;
};
}  // namespace detail

/// See the file comment: the backend, CPU threads, and on CUDA the stream and solver state.
class resources {
 public:
  /// Resolve `requested`. `threads` bounds CPU worker threads (0: all hardware threads).
  explicit resources(backend requested = backend::automatic, int threads = 0);
  /// The CUDA backend, ordering all work on the caller's `stream` (borrowed).
  explicit resources(stream_handle stream, int threads = 0);
  ~resources();
  resources(resources&&) noexcept;
  resources& operator=(resources&&) noexcept;
  resources(const resources&) = delete;
  resources& operator=(const resources&) = delete;

  /// backend::cpu or backend::cuda (never automatic).
  backend kind() const noexcept { return kind_; }
  bool is_cuda() const noexcept { return kind_ == backend::cuda; }
  /// Non-empty when backend::automatic fell back to the CPU: the reason.
  const std::string& fallback_reason() const noexcept { return fallback_reason_; }
  /// CPU worker threads to use (>= 1).
  int threads() const noexcept { return threads_; }
  void set_threads(int threads) noexcept;

  /// The CUDA stream (created on first call when not borrowed). Throws cuda_unavailable
  /// on the CPU backend.
  stream_handle stream() const;
  /// Block until all work queued on stream() has finished (no-op on the CPU backend).
  void sync() const;

  /// The CUDA engine's private state (stream, cuSOLVER handle, scratch).
  detail::cuda_state& cuda() const;

 private:
  backend kind_ = backend::cpu;
  int threads_ = 1;
  std::string fallback_reason_;
  mutable std::unique_ptr<detail::cuda_state, detail::cuda_state_deleter> cuda_;
  stream_handle borrowed_ = nullptr;
};

}  // namespace playaug
