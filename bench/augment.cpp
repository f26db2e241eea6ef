// Protuberance and the whole augment operation on one million generated songs, CPU rows by
// thread count and CUDA rows (host memory in and out) that run when a device is present.
// Bytes processed: the feature bytes written (protuberance: the matrix it updates;
// augment: the output feature matrix, originals and copies).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "playaug/augment.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/resources.hpp"

namespace {

constexpr std::size_t kSongs = 1'000'000;
constexpr std::size_t kMeanLength = 20;  // songs per playlist, 1 .. 39
constexpr std::size_t kDim = playaug::spotify::n_features;

/// One million Spotify-like songs in playlists of 1..39 songs with 2..4 mood segments.
const playaug::dataset& songs() {
  static const playaug::dataset ds = [] {
    namespace sp = playaug::spotify;
    std::mt19937 gen(1);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f), loud(-30.0f, -1.0f), tempo(60.0f, 200.0f);
    std::uniform_int_distribution<int> key(0, 11), mode(0, 1), mood(0, 30);
    playaug::dataset d;
    d.dim = kDim;
    d.schema = playaug::feature_schema::spotify();
    std::vector<float> x;
    std::size_t total = 0;
    for (std::size_t p = 0; total < kSongs; ++p) {
      const std::size_t n = std::min(kSongs - total, 1 + (p * 7919) % (2 * kMeanLength - 1));
      x.resize(n * kDim);
      for (std::size_t i = 0; i < n; ++i) {
        float* r = x.data() + i * kDim;
        for (std::size_t j = 0; j < kDim; ++j) r[j] = unit(gen);
        r[sp::key] = static_cast<float>(key(gen));
        r[sp::mode] = static_cast<float>(mode(gen));
        r[sp::loudness] = loud(gen);
        r[sp::tempo] = tempo(gen);
      }
      std::vector<std::vector<std::int32_t>> segs(2 + p % 3);
      for (auto& s : segs) s = {mood(gen), mood(gen)};
      d.add_playlist("pl" + std::to_string(p), segs, x.data(), n);
      total += n;
    }
    return d;
  }();
  return ds;
}

bool make_resources(benchmark::State& state, bool cuda, std::unique_ptr<playaug::resources>& out) {
  if (cuda && playaug::cuda_device_count() == 0) {
    state.SkipWithError(("no CUDA device: " + playaug::cuda_unavailable_reason()).c_str());
    return false;
  }
  out = std::make_unique<playaug::resources>(cuda ? playaug::backend::cuda : playaug::backend::cpu,
                                             static_cast<int>(state.range(0)));
  return true;
}

void protuberance(benchmark::State& state, bool cuda) {
  std::unique_ptr<playaug::resources> res;
  if (!make_resources(state, cuda, res)) return;
  playaug::dataset ds = songs();
  playaug::protuberance_params prm;  // p = 0.15, phi = 0.5, schema-aware
  std::uint32_t copy = 1;
  for (auto _ : state) {
    // A new copy index each time draws new words; values stay in their ranges.
    playaug::protuberance(*res, ds.feature_matrix(), {ds.song_offsets.data(), ds.song_offsets.size()}, ds.schema,
                          prm, copy, 0);
    copy = copy % 1000 + 1;
    benchmark::DoNotOptimize(ds.features.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(ds.features.size() * sizeof(float)));
  state.counters["songs/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * ds.songs(),
                                                 benchmark::Counter::kIsRate);
}

void augment(benchmark::State& state, bool cuda) {
  std::unique_ptr<playaug::resources> res;
  if (!make_resources(state, cuda, res)) return;
  const playaug::dataset& in = songs();
  playaug::augment_params prm;  // K = 1, p = 0.15, phi = 0.5, r = 0.5
  prm.copies = static_cast<std::uint32_t>(state.range(1));
  std::size_t out_floats = 0;
  for (auto _ : state) {
    playaug::dataset out = playaug::augment(*res, in, prm, 0);
    out_floats = out.features.size();
    benchmark::DoNotOptimize(out.features.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(out_floats * sizeof(float)));
  state.counters["songs/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * in.songs(),
                                                 benchmark::Counter::kIsRate);
}

void BM_protuberance_cpu(benchmark::State& state) { protuberance(state, false); }
void BM_protuberance_cuda(benchmark::State& state) { protuberance(state, true); }
void BM_augment_cpu(benchmark::State& state) { augment(state, false); }
void BM_augment_cuda(benchmark::State& state) { augment(state, true); }

}  // namespace

// Arguments: CPU threads (0: all cores) [, copies K].
BENCHMARK(BM_protuberance_cpu)->ArgName("threads")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_protuberance_cuda)->ArgName("threads")->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_augment_cpu)->ArgNames({"threads", "copies"})->Args({1, 1})->Args({0, 1})->Args({0, 4})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_augment_cuda)->ArgNames({"threads", "copies"})->Args({0, 1})->Args({0, 4})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
