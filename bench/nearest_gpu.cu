// Exact catalog nearest-neighbour search (requery) on the GPU: Q queries against M
// prepared catalog rows in device memory, the fused kernel of cuda/nearest.cu. Timed with
// CUDA events (UseManualTime). Counters: pairs/s (query x track pairs per second) and
// bytes/s (catalog bytes a block of queries scans, SetBytesProcessed).
//
// The target is >= 1e12 pairs/s at Q = 1e5, M = 1e6 on an H100/H200;
// bench/nearest_torch.py times torch.cdist + argmin on the same sizes for comparison.
//
//   bench_nearest_gpu --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <random>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/resources.hpp"
#include "cuda_impl.hpp"

namespace {

using namespace playaug;

#define BENCH_CUDA(call)                                                                  \
  do {                                                                                    \
    const cudaError_t e_ = (call);                                                        \
    if (e_ != cudaSuccess) {                                                              \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(e_));            \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

template <typename T>
struct dev {
  T* p = nullptr;
  explicit dev(std::size_t n) { BENCH_CUDA(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T))); }
  ~dev() { cudaFree(p); }
  dev(const dev&) = delete;
  dev& operator=(const dev&) = delete;
};

void run(benchmark::State& state, bool floors) {
  if (cuda_device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const auto q = static_cast<std::size_t>(state.range(0));
  const auto m = static_cast<std::size_t>(state.range(1));

  // Random standardised rows (normal) and their squared norms; queries likewise.
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> cat(m * nn_stride), z(q * nn_dim);
  for (std::size_t i = 0; i < m; ++i) {
    double norm = 0;
    for (std::size_t k = 0; k < nn_dim; ++k) {
      const float v = g(rng);
      cat[i * nn_stride + k] = v;
      norm += static_cast<double>(v) * v;
    }
    cat[i * nn_stride + nn_dim] = static_cast<float>(norm);
  }
  for (float& v : z) v = g(rng);

  resources res(backend::cuda);
  cudaStream_t stream = res.stream();
  dev<float> d_cat(cat.size()), d_z(z.size());
  dev<nn_hit> d_out(q), d_floor(q);
  BENCH_CUDA(cudaMemcpy(d_cat.p, cat.data(), cat.size() * sizeof(float), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(d_z.p, z.data(), z.size() * sizeof(float), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaDeviceSynchronize());  // pageable uploads may still be in flight
  const matrix_view<const float> vc(d_cat.p, m, nn_stride, memory_space::device);
  const matrix_view<const float> vz(d_z.p, q, nn_dim, memory_space::device);
  const vector_view<nn_hit> vo(d_out.p, q, memory_space::device);
  vector_view<const nn_hit> vf;
  if (floors) {
    cuda_impl::nearest(res, vc, vz, {}, {d_floor.p, q, memory_space::device});
    vf = {d_floor.p, q, memory_space::device};
  }
  cuda_impl::nearest(res, vc, vz, vf, vo);  // warm-up (module load, pool growth)
  BENCH_CUDA(cudaStreamSynchronize(stream));

  cudaEvent_t start, stop;
  BENCH_CUDA(cudaEventCreate(&start));
  BENCH_CUDA(cudaEventCreate(&stop));
  for (auto _ : state) {
    BENCH_CUDA(cudaEventRecord(start, stream));
    cuda_impl::nearest(res, vc, vz, vf, vo);
    BENCH_CUDA(cudaEventRecord(stop, stream));
    BENCH_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  BENCH_CUDA(cudaEventDestroy(start));
  BENCH_CUDA(cudaEventDestroy(stop));

  const auto t = cuda_impl::nearest_kernel_tuning();
  const double pairs = static_cast<double>(q) * static_cast<double>(m);
  state.counters["pairs/s"] = benchmark::Counter(pairs, benchmark::Counter::kIsIterationInvariantRate);
  const std::size_t blocks = (q + static_cast<std::size_t>(t.threads * t.queries_per_thread) - 1) /
                             static_cast<std::size_t>(t.threads * t.queries_per_thread);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(blocks * m * nn_stride * sizeof(float)));
}

void BM_nearest_gpu(benchmark::State& s) { run(s, false); }
void BM_nearest_gpu_floor(benchmark::State& s) { run(s, true); }

BENCHMARK(BM_nearest_gpu)
    ->Args({100000, 1000000})  // the target size
    ->Args({10000, 1000000})
    ->Args({100000, 114000})
    ->Args({1000, 1000000})
    ->ArgNames({"Q", "M"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_nearest_gpu_floor)
    ->Args({100000, 1000000})
    ->Args({1000, 1000000})
    ->ArgNames({"Q", "M"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
