// Exact catalog nearest-neighbour search (requery) on the CPU: Q queries against M
// prepared catalog rows. Counters: pairs/s (query x track pairs per second) and
// bytes/s (catalog bytes scanned per query block, SetBytesProcessed).
//
//   bench_nearest --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/resources.hpp"
#include "cpu_impl.hpp"

namespace {

using namespace playaug;

struct data {
  std::vector<float> cat, z;
};

const data& problem(std::size_t q, std::size_t m) {
  static std::size_t cq = 0, cm = 0;
  static data d;
  if (cq != q || cm != m) {
    std::mt19937 rng(1);
    std::normal_distribution<float> g(0.0f, 1.0f);
    d.cat.resize(m * nn_stride);
    for (std::size_t i = 0; i < m; ++i) {
      double norm = 0;
      for (std::size_t k = 0; k < nn_dim; ++k) {
        const float v = g(rng);
        d.cat[i * nn_stride + k] = v;
        norm += static_cast<double>(v) * v;
      }
      d.cat[i * nn_stride + nn_dim] = static_cast<float>(norm);
    }
    d.z.resize(q * nn_dim);
    for (float& v : d.z) v = g(rng);
    cq = q;
    cm = m;
  }
  return d;
}

void run(benchmark::State& state, cpu_impl::nn_path path, bool floors) {
  const auto q = static_cast<std::size_t>(state.range(0));
  const auto m = static_cast<std::size_t>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  if (path == cpu_impl::nn_path::avx2 && !cpu_impl::nearest_avx2_available()) {
    state.SkipWithError("no AVX2/FMA on this processor");
    return;
  }
  const data& d = problem(q, m);
  resources res(backend::cpu, threads);
  std::vector<nn_hit> out(q);
  std::vector<nn_hit> fl;
  if (floors) {
    cpu_impl::nearest(res, {d.cat.data(), m, nn_stride}, {d.z.data(), q, nn_dim}, {}, {out.data(), q}, path);
    fl = out;  // the next candidate after the nearest
  }
  for (auto _ : state) {
    cpu_impl::nearest(res, {d.cat.data(), m, nn_stride}, {d.z.data(), q, nn_dim},
                      floors ? vector_view<const nn_hit>{fl.data(), q} : vector_view<const nn_hit>{},
                      {out.data(), q}, path);
    benchmark::DoNotOptimize(out.data());
  }
  const double pairs = static_cast<double>(q) * static_cast<double>(m);
  state.counters["pairs/s"] = benchmark::Counter(pairs, benchmark::Counter::kIsIterationInvariantRate);
  // Every block of 32 queries streams the catalog once.
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>((q + 31) / 32 * m * nn_stride * sizeof(float)));
}

void args(benchmark::internal::Benchmark* b) {
  for (const int threads : {1, 2}) {
    b->Args({1024, 100000, threads});
    b->Args({4096, 114000, threads});  // the size of the public 114k-track dataset
  }
  b->Args({256, 1000000, 2});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_nearest_cpu_avx2(benchmark::State& s) { run(s, cpu_impl::nn_path::avx2, false); }
void BM_nearest_cpu_scalar(benchmark::State& s) { run(s, cpu_impl::nn_path::scalar, false); }
void BM_nearest_cpu_avx2_floor(benchmark::State& s) { run(s, cpu_impl::nn_path::avx2, true); }

BENCHMARK(BM_nearest_cpu_avx2)->Apply(args)->ArgNames({"Q", "M", "threads"});
BENCHMARK(BM_nearest_cpu_avx2_floor)->Apply(args)->ArgNames({"Q", "M", "threads"});
BENCHMARK(BM_nearest_cpu_scalar)
    ->Args({256, 100000, 2})
    ->ArgNames({"Q", "M", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
