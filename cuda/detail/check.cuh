#pragma once
// Error checking for CUDA runtime, cuSOLVER and cuRAND calls: every call is checked, and a
// failure becomes playaug::cuda_error naming the call, file and line.

#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <string>

#include "playaug/error.hpp"

namespace playaug::detail {

[[noreturn]] inline void throw_cuda(const char* call, const char* file, int line, const std::string& what) {
  throw cuda_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " + what);
}

}  // namespace playaug::detail

#define PLAYAUG_CUDA_TRY(call)                                                                   \
  do {                                                                                           \
    const cudaError_t playaug_status_ = (call);                                                  \
    if (playaug_status_ != cudaSuccess) {                                                        \
      cudaGetLastError(); /* clear it, so that later launch checks do not report it again */    \
      ::playaug::detail::throw_cuda(#call, __FILE__, __LINE__,                                   \
                                    std::string(cudaGetErrorName(playaug_status_)) + " (" +      \
                                        cudaGetErrorString(playaug_status_) + ")");              \
    }                                                                                            \
  } while (0)

/// Check the launch just made (configuration errors) without synchronising; clears the
/// error so that it is reported once.
#define PLAYAUG_CUDA_CHECK_LAUNCH() PLAYAUG_CUDA_TRY(cudaGetLastError())

#define PLAYAUG_CUSOLVER_TRY(call)                                                               \
  do {                                                                                           \
    const cusolverStatus_t playaug_status_ = (call);                                             \
    if (playaug_status_ != CUSOLVER_STATUS_SUCCESS) {                                            \
      ::playaug::detail::throw_cuda(#call, __FILE__, __LINE__,                                   \
                                    "cusolverStatus_t " + std::to_string(int(playaug_status_))); \
    }                                                                                            \
  } while (0)
