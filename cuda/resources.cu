// Device discovery and the per-resources CUDA state.

#include <string>

#include "cuda_impl.hpp"
#include "detail/state.cuh"

namespace playaug {
namespace detail {

cuda_state::cuda_state(stream_handle borrowed) {
  PLAYAUG_CUDA_TRY(cudaGetDevice(&device));
  PLAYAUG_CUDA_TRY(cudaGetDeviceProperties(&props, device));
  if (borrowed != nullptr) {
    stream = borrowed;
  } else {
    PLAYAUG_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    owns_stream = true;
  }
}

cuda_state::~cuda_state() {
  // Work still queued may read the staging buffers or use the solver: let it finish first.
  if (stream != nullptr && (owns_stream || staging || solver != nullptr || scratch.device.data() != nullptr ||
                            scratch.host.data() != nullptr)) {
    cudaStreamSynchronize(stream);
  }
  staging.reset();
  scratch.device.reset();
  scratch.host = pinned_buffer<unsigned char>();
  if (solver != nullptr) cusolverDnDestroy(solver);
  if (owns_stream && stream != nullptr) cudaStreamDestroy(stream);
}

staging_area& cuda_state::staging_buffers(std::size_t bytes) {
  if (!staging) staging = std::make_unique<staging_area>();
  staging->reserve(bytes);
  return *staging;
}

cusolverDnHandle_t cuda_state::solver_handle() {
  if (solver == nullptr) {
    PLAYAUG_CUSOLVER_TRY(cusolverDnCreate(&solver));
    PLAYAUG_CUSOLVER_TRY(cusolverDnSetStream(solver, stream));
  }
  return solver;
}

}  // namespace detail

namespace cuda_impl {

int device_count(std::string* reason) noexcept {
  int n = 0;
  const cudaError_t st = cudaGetDeviceCount(&n);
  if (st != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    if (reason != nullptr) {
      if (st == cudaErrorNoDevice) {
        *reason = "no CUDA device found";
      } else if (st == cudaErrorInsufficientDriver) {
        *reason = "the CUDA driver is missing or older than this build needs";
      } else {
        *reason = std::string("CUDA is not usable: ") + cudaGetErrorString(st);
      }
    }
    return 0;
  }
  if (n == 0 && reason != nullptr) *reason = "no CUDA device found";
  return n;
}

detail::cuda_state* create_state(stream_handle borrowed) { return new detail::cuda_state(borrowed); }

void destroy_state(detail::cuda_state* s) noexcept { delete s; }

stream_handle stream_of(detail::cuda_state& s) { return s.stream; }

void synchronize(detail::cuda_state& s) { PLAYAUG_CUDA_TRY(cudaStreamSynchronize(s.stream)); }

}  // namespace cuda_impl
}  // namespace playaug
