// The README's device-memory snippet, as a user's program built against the installed
// package: features already on the GPU, the caller's own stream borrowed, moments and a
// projection computed there and compared with the CPU. Without a usable device it says
// why and exits 0 (it still had to compile and link).

#include <cuda_runtime.h>

#include <playaug/error.hpp>
#include <playaug/moments.hpp>
#include <playaug/pca.hpp>
#include <playaug/resources.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

int main() {
  if (playaug::cuda_device_count() == 0) {
    std::printf("consumer-device: no device (%s); built only\n", playaug::cuda_unavailable_reason().c_str());
    std::printf("consumer-device: ok\n");
    return 0;
  }
  try {
    const std::size_t n_songs = 1000, d = 11;
    std::vector<float> h(n_songs * d);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<float>((i * 37 % 101) / 7.0);
    float* d_features = nullptr;
    cudaStream_t my_stream = nullptr;
    if (cudaMalloc(&d_features, h.size() * sizeof(float)) != cudaSuccess ||
        cudaStreamCreate(&my_stream) != cudaSuccess ||
        cudaMemcpy(d_features, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess) {
      std::fprintf(stderr, "consumer-device: CUDA setup failed\n");
      return 1;
    }

    playaug::resources res(my_stream);  // borrow the caller's cudaStream_t
    auto x = playaug::device_matrix<const float>(d_features, n_songs, 11);
    playaug::moments m = playaug::compute_moments(res, x);

    const playaug::resources cpu(playaug::backend::cpu);
    const playaug::moments ref = playaug::compute_moments(cpu, playaug::host_matrix<const float>(h.data(), n_songs, d));
    for (std::size_t k = 0; k < d; ++k) {
      if (std::fabs(m.mean[k] - ref.mean[k]) > 1e-9 * (1.0 + std::fabs(ref.mean[k]))) {
        std::fprintf(stderr, "consumer-device: mean %zu differs: %g vs %g\n", k, m.mean[k], ref.mean[k]);
        return 1;
      }
    }
    // The projection stays on the device too; compare it with the CPU's.
    const playaug::pca_model model = playaug::fit_pca(cpu, ref, playaug::pca_options{}, {});
    float* d_coords = nullptr;
    if (cudaMalloc(&d_coords, n_songs * model.n_components * sizeof(float)) != cudaSuccess) return 1;
    playaug::transform(res, model, x, playaug::device_matrix<float>(d_coords, n_songs, model.n_components));
    res.sync();
    std::vector<float> got(n_songs * model.n_components), want(got.size());
    cudaMemcpy(got.data(), d_coords, got.size() * sizeof(float), cudaMemcpyDeviceToHost);
    playaug::transform(cpu, model, playaug::host_matrix<const float>(h.data(), n_songs, d),
                       playaug::host_matrix<float>(want.data(), n_songs, model.n_components));
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (std::fabs(got[i] - want[i]) > 1e-3f * (1.0f + std::fabs(want[i]))) {
        std::fprintf(stderr, "consumer-device: coordinate %zu differs: %g vs %g\n", i, got[i], want[i]);
        return 1;
      }
    }
    cudaFree(d_coords);
    cudaFree(d_features);
    cudaStreamDestroy(my_stream);
    std::printf("consumer-device: ok\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer-device: %s\n", e.what());
    return 1;
  }
}
