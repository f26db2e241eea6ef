// CUDA benchmarks of PCA projection, reconstruction and the per-playlist PCA. Bytes: input
// read once plus output written once; copy_frac compares with a device-to-device copy of
// half those bytes (the same traffic).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "gpu_common.cuh"
#include "playaug/pca.hpp"
#include "playaug/resources.hpp"

namespace {

using namespace playaug::bench;

playaug::pca_model model_for(std::size_t d, std::size_t k, bool standardize) {
  playaug::pca_model m;
  m.mean.assign(d, 0.25);
  m.scale.assign(d, standardize ? 1.5 : 1.0);
  m.eigenvalues.assign(d, 1.0);
  m.explained_variance_ratio.assign(d, 1.0 / static_cast<double>(d));
  m.n_components = k;
  m.components.assign(k * d, 0.0);
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t j = 0; j < d; ++j) m.components[c * d + j] = (c == j ? 0.8 : 0.6 / static_cast<double>(d + c + j));
  }
  for (std::size_t j = 0; j < d; ++j) m.feature_names.push_back("f" + std::to_string(j));
  m.n_samples = 100;
  return m;
}

void BM_transform_device(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1)),
                    k = static_cast<std::size_t>(state.range(2));
  const bool standardize = state.range(3) != 0;
  const std::size_t bytes = n * (d + k) * sizeof(float);
  if (!fits(2 * bytes)) return state.SkipWithError("not enough device memory");
  device_vec<float> x(n * d), y(n * k);
  fill_random(x.p, n * d, -1.0f, 3.0f, 4);
  const auto model = model_for(d, k, standardize);
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  timed_loop(state, s, bytes, bytes / 2, [&] {
    playaug::transform(res, model, playaug::device_matrix<const float>(x.p, n, d),
                       playaug::device_matrix<float>(y.p, n, k));
  });
}

void BM_inverse_device(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1)),
                    k = static_cast<std::size_t>(state.range(2));
  const std::size_t bytes = n * (d + k) * sizeof(float);
  if (!fits(2 * bytes)) return state.SkipWithError("not enough device memory");
  device_vec<float> y(n * k), x(n * d);
  fill_random(y.p, n * k, -1.0f, 3.0f, 5);
  const auto model = model_for(d, k, false);
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  timed_loop(state, s, bytes, bytes / 2, [&] {
    playaug::inverse_transform(res, model, playaug::device_matrix<const float>(y.p, n, k),
                               playaug::device_matrix<float>(x.p, n, d));
  });
}

/// Per-playlist PCA: playlists of 10..100 songs (segmented moments + syevjBatched + the
/// download of P x d x d vectors).
void BM_batched_pca_device(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t songs = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1));
  const auto off = random_offsets(songs, 10, 100, 6);
  device_vec<float> x(songs * d);
  fill_random(x.p, songs * d, 0.0f, 1.0f, 7);
  device_vec<std::uint64_t> doff(off);
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  state.counters["playlists"] = static_cast<double>(off.size() - 1);
  timed_loop(state, s, songs * d * sizeof(float), 0, [&] {
    const auto b = playaug::fit_pca_per_playlist(
        res, playaug::device_matrix<const float>(x.p, songs, d),
        playaug::vector_view<const std::uint64_t>(doff.p, off.size(), playaug::memory_space::device));
    benchmark::DoNotOptimize(b.components.data());
  });
}

BENCHMARK(BM_transform_device)
    ->Args({10000000, 11, 11, 0})
    ->Args({10000000, 11, 11, 1})
    ->Args({10000000, 11, 3, 0})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_inverse_device)->Args({10000000, 11, 11})->Args({10000000, 11, 3})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_batched_pca_device)->Args({1000000, 11})->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
