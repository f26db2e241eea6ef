// compute_moments on one million Spotify-like songs x 11 features: CPU rows by thread count
// (and by dimension), and a CUDA row (host memory in, d x d out) that runs when a device is
// present. Bytes processed: the float32 feature matrix read.

#include "playaug/moments.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "playaug/dataset.hpp"
#include "playaug/resources.hpp"

namespace {

constexpr std::size_t kSongs = 1'000'000;

/// n songs with Spotify-like values in the notebook's 11-column order (other d: uniform).
const std::vector<float>& songs(std::size_t d) {
  static std::vector<std::vector<float>> cache(65);
  std::vector<float>& x = cache.at(d);
  if (x.empty()) {
    namespace sp = playaug::spotify;
    std::mt19937 gen(static_cast<std::uint32_t>(d));
    std::uniform_real_distribution<float> unit(0.0f, 1.0f), loud(-30.0f, -1.0f),
        tempo(60.0f, 200.0f);
    std::uniform_int_distribution<int> key(0, 11), mode(0, 1);
    x.resize(kSongs * d);
    for (std::size_t i = 0; i < kSongs; ++i) {
      float* r = x.data() + i * d;
      for (std::size_t j = 0; j < d; ++j) r[j] = unit(gen);
      if (d == sp::n_features) {
        r[sp::key] = static_cast<float>(key(gen));
        r[sp::mode] = static_cast<float>(mode(gen));
        r[sp::loudness] = loud(gen);
        r[sp::tempo] = tempo(gen);
      }
    }
  }
  return x;
}

bool make_resources(benchmark::State& state, bool cuda, int threads,
                    std::unique_ptr<playaug::resources>& out) {
  if (cuda && playaug::cuda_device_count() == 0) {
    state.SkipWithError(("no CUDA device: " + playaug::cuda_unavailable_reason()).c_str());
    return false;
  }
  out = std::make_unique<playaug::resources>(cuda ? playaug::backend::cuda : playaug::backend::cpu,
                                             threads);
  return true;
}

void moments(benchmark::State& state, bool cuda, int threads, std::size_t d) {
  std::unique_ptr<playaug::resources> res;
  if (!make_resources(state, cuda, threads, res)) return;
  const auto& x = songs(d);
  const playaug::matrix_view<const float> xv(x.data(), kSongs, d);
  for (auto _ : state) {
    playaug::moments m = playaug::compute_moments(*res, xv);
    benchmark::DoNotOptimize(m.comoment.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(x.size() * sizeof(float)));
  state.counters["songs/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(kSongs),
                         benchmark::Counter::kIsRate);
}

// Arguments: CPU threads (0: all cores).
void BM_moments_cpu(benchmark::State& state) {
  moments(state, false, static_cast<int>(state.range(0)), playaug::spotify::n_features);
}
void BM_moments_cuda(benchmark::State& state) {
  moments(state, true, 0, playaug::spotify::n_features);
}
// Arguments: d (all cores).
void BM_moments_dim_cpu(benchmark::State& state) {
  moments(state, false, 0, static_cast<std::size_t>(state.range(0)));
}

void BM_moments_merge(benchmark::State& state) {
  // Merging per-chunk results (fit-pca merges one per chunk and file).
  const auto d = static_cast<std::size_t>(state.range(0));
  playaug::moments a(d), b(d);
  a.n = 1000;
  b.n = 2000;
  for (std::size_t j = 0; j < d; ++j) {
    a.mean[j] = 0.5;
    b.mean[j] = 0.25;
    a.comoment[j * d + j] = 3.0;
    b.comoment[j * d + j] = 5.0;
  }
  for (auto _ : state) {
    playaug::moments m = playaug::merge(a, b);
    benchmark::DoNotOptimize(m.comoment.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(2 * (d * d + d) * sizeof(double)));
}

}  // namespace

BENCHMARK(BM_moments_cpu)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_moments_cuda)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_moments_dim_cpu)
    ->ArgName("d")
    ->Arg(3)
    ->Arg(16)
    ->Arg(32)
    ->Arg(64)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_moments_merge)->ArgName("d")->Arg(11)->Arg(64);

BENCHMARK_MAIN();
