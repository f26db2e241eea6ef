// CUDA benchmarks of the moments / covariance pass and the whole PCA fit, beside a
// device-to-device copy of the same bytes. Bytes counted: the float32 input, read once.
// copy_frac = (time of cudaMemcpyAsync of the same bytes) / (time of this row); the
// target for 1e7 x 11 is >= 0.85.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "detail/moments.cuh"
#include "gpu_common.cuh"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/resources.hpp"

namespace {

using namespace playaug::bench;

void BM_copy_d2d(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t bytes = static_cast<std::size_t>(state.range(0)) * state.range(1) * sizeof(float);
  if (!fits(2 * bytes)) return state.SkipWithError("not enough device memory");
  device_vec<unsigned char> src(bytes), dst(bytes);
  PLAYAUG_BENCH_CUDA(cudaMemset(src.p, 3, bytes));
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  timed_loop(state, s, 2 * bytes, bytes, [&] {
    PLAYAUG_BENCH_CUDA(cudaMemcpyAsync(dst.p, src.p, bytes, cudaMemcpyDeviceToDevice, s));
  });
}

/// compute_moments on device memory through the public API (includes the d x d download
/// and the synchronisation).
void BM_moments_device(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1));
  const std::size_t bytes = n * d * sizeof(float);
  if (!fits(3 * bytes)) return state.SkipWithError("not enough device memory");
  device_vec<float> x(n * d);
  fill_random(x.p, n * d, -1.0f, 3.0f, 1);
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  timed_loop(state, s, bytes, bytes, [&] {
    const auto m = playaug::compute_moments(res, playaug::device_matrix<const float>(x.p, n, d));
    benchmark::DoNotOptimize(m.comoment.data());
  });
}

/// The partials kernel alone (no shift kernel, reduction or download).
void BM_moments_kernel(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1));
  const std::size_t bytes = n * d * sizeof(float);
  if (!fits(3 * bytes)) return state.SkipWithError("not enough device memory");
  device_vec<float> x(n * d);
  fill_random(x.p, n * d, -1.0f, 3.0f, 2);
  const std::size_t acc = playaug::detail::moments_accumulators(d);
  const std::uint64_t units = (n + playaug::detail::moments_tuning::kUnitRows - 1) / playaug::detail::moments_tuning::kUnitRows;
  device_vec<double> shift(d), partials(units * acc);
  PLAYAUG_BENCH_CUDA(cudaMemset(shift.p, 0, d * sizeof(double)));
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  timed_loop(state, s, bytes, bytes,
             [&] { playaug::detail::moments_partials(x.p, n, d, shift.p, partials.p, 0, s); });
}

/// compute_moments on host memory: pinned double-buffered staging, bound by PCIe and the
/// host copy into the staging buffers (bytes/s is the host-to-device rate).
void BM_moments_host(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1));
  std::vector<float> x(n * d);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f;
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  timed_loop(state, s, n * d * sizeof(float), 0, [&] {
    const auto m = playaug::compute_moments(res, playaug::matrix_view<const float>(x.data(), n, d));
    benchmark::DoNotOptimize(m.comoment.data());
  });
}

/// The whole fit on device memory: moments, cuSOLVER syevd, the model.
void BM_fit_pca_device(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1));
  const std::size_t bytes = n * d * sizeof(float);
  if (!fits(3 * bytes)) return state.SkipWithError("not enough device memory");
  device_vec<float> x(n * d);
  fill_random(x.p, n * d, -1.0f, 3.0f, 3);
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  playaug::pca_options opts;
  timed_loop(state, s, bytes, bytes, [&] {
    const auto m = playaug::fit_pca(res, playaug::device_matrix<const float>(x.p, n, d), opts, {});
    benchmark::DoNotOptimize(m.components.data());
  });
}

/// symmetric_eig alone (cuSOLVER syevd of a d x d covariance; latency-bound).
void BM_symmetric_eig(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t d = static_cast<std::size_t>(state.range(0));
  std::vector<double> a(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j < d; ++j) a[i * d + j] = (i == j ? 2.0 * d : 0.0) + 1.0 / (1.0 + i + j);
  }
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  timed_loop(state, s, d * d * sizeof(double), 0, [&] {
    const auto e = playaug::symmetric_eig(res, a, d);
    benchmark::DoNotOptimize(e.values.data());
  });
}

BENCHMARK(BM_copy_d2d)->Args({10000000, 11})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_moments_device)
    ->Args({1000000, 11})
    ->Args({10000000, 3})
    ->Args({10000000, 11})
    ->Args({10000000, 12})
    ->Args({10000000, 16})
    ->Args({100000000, 11})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_moments_kernel)->Args({10000000, 11})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_moments_host)->Args({10000000, 11})->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fit_pca_device)->Args({10000000, 11})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_symmetric_eig)->Arg(11)->Arg(64)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
