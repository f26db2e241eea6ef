#pragma once
// Helpers of the GPU tests: device arrays for the device-pointer API variants, random
// inputs, and the switch that keeps the sizes small under compute-sanitizer.
//
// These files also compile in a CPU-only build (every test then skips through
// PLAYAUG_REQUIRE_GPU()), so everything that needs the CUDA runtime is guarded by
// PLAYAUG_HAS_CUDA.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "playaug/resources.hpp"
#include "playaug/view.hpp"
#include "test_support.hpp"

#if PLAYAUG_HAS_CUDA
#include <cuda_runtime.h>
#endif

namespace playaug::test {

/// True when PLAYAUG_GPU_TEST_SMALL is set (and not "0"): tests skip their large sizes,
/// so that the memory and race checkers finish quickly.
inline bool gpu_small() {
  const char* e = std::getenv("PLAYAUG_GPU_TEST_SMALL");
  return e != nullptr && *e != '\0' && std::string(e) != "0";
}

/// rows x d values: column j is normal with mean means[j % means.size()] and standard
/// deviation 1 + j (so that the covariance has well separated eigenvalues).
inline std::vector<float> random_rows(std::size_t rows, std::size_t d, std::uint64_t seed,
                                      std::vector<double> means = {0.0}) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> x(rows * d);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < d; ++j) {
      x[r * d + j] = static_cast<float>(means[j % means.size()] + (1.0 + static_cast<double>(j)) * normal(gen));
    }
  }
  return x;
}

/// Offsets of `playlists` playlists with sizes drawn from `sizes` (cycled in a shuffled
/// order), starting at 0.
inline std::vector<std::uint64_t> offsets_from_sizes(const std::vector<std::uint64_t>& sizes) {
  std::vector<std::uint64_t> off{0};
  for (const auto s : sizes) off.push_back(off.back() + s);
  return off;
}

#if PLAYAUG_HAS_CUDA

#define PLAYAUG_TEST_CUDA(call) ASSERT_EQ((call), cudaSuccess) << #call

/// A cudaMalloc'd array (not stream-ordered: tests synchronise explicitly).
template <typename T>
class device_array {
 public:
  explicit device_array(std::size_t n) : n_(n) {
    if (n != 0 && cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)) != cudaSuccess) {
      p_ = nullptr;
      throw std::runtime_error("cudaMalloc failed");
    }
  }
  explicit device_array(const std::vector<T>& host) : device_array(host.size()) { upload(host); }
  ~device_array() {
    if (p_ != nullptr) cudaFree(p_);
  }
  device_array(const device_array&) = delete;
  device_array& operator=(const device_array&) = delete;

  T* data() const noexcept { return p_; }
  std::size_t size() const noexcept { return n_; }
  /// Copy `host` to the device and wait until the data has landed. cudaMemcpy from pageable
  /// memory may return before its DMA reaches device memory, and it is ordered only on the
  /// legacy stream, which the library's non-blocking streams do not wait for.
  void upload(const std::vector<T>& host) {
    if (n_ != 0 && cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice) != cudaSuccess) {
      throw std::runtime_error("cudaMemcpy to the device failed");
    }
    if (cudaDeviceSynchronize() != cudaSuccess) throw std::runtime_error("cudaDeviceSynchronize failed");
  }
  std::vector<T> download() const {
    std::vector<T> out(n_);
    if (n_ != 0 && cudaMemcpy(out.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost) != cudaSuccess) {
      throw std::runtime_error("cudaMemcpy to the host failed");
    }
    return out;
  }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

#endif  // PLAYAUG_HAS_CUDA

}  // namespace playaug::test
