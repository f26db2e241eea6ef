// Synthetic data generation: in memory (synthesize) and streamed to a CSV file
// (write_synthetic_csv, what `playaug synth` runs), by CPU thread count.
// Bytes processed: synthesize, the float32 feature bytes generated; the CSV rows, the
// bytes of the file written. Items: songs.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "playaug/resources.hpp"
#include "playaug/synth.hpp"

namespace {

constexpr std::uint64_t kPlaylists = 83'333;  // about one million songs (4..20 per playlist)

playaug::synth_params params() {
  playaug::synth_params p;
  p.playlists = kPlaylists;
  p.seed = 1;
  return p;
}

void BM_synthesize(benchmark::State& state) {
  const playaug::resources res(playaug::backend::cpu, static_cast<int>(state.range(0)));
  std::uint64_t songs = 0;
  for (auto _ : state) {
    const playaug::dataset ds = playaug::synthesize(res, params());
    benchmark::DoNotOptimize(ds.features.data());
    songs += ds.songs();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(songs));
  state.SetBytesProcessed(static_cast<std::int64_t>(songs * playaug::spotify::n_features * sizeof(float)));
}
BENCHMARK(BM_synthesize)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_write_synthetic_csv(benchmark::State& state) {
  const playaug::resources res(playaug::backend::cpu, static_cast<int>(state.range(0)));
  const std::string path =
      (std::filesystem::temp_directory_path() / ("playaug_bench_synth_" + std::to_string(state.range(0)) + ".csv"))
          .string();
  std::uint64_t songs = 0, bytes = 0;
  for (auto _ : state) {
    songs += playaug::write_synthetic_csv(res, params(), path).songs;
    bytes += std::filesystem::file_size(path);
  }
  std::remove(path.c_str());
  state.SetItemsProcessed(static_cast<std::int64_t>(songs));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_write_synthetic_csv)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
