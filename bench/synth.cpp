// Synthetic data generation: in memory (synthesize) and streamed to a CSV file
// (write_synthetic_csv, what `playaug synth` runs), by CPU thread count; the learned sampler
// (synth --model) beside it on the same number of songs, from a model fitted on the
// rule-based generator's own output (BM_learned_*; the ratio of the two is the cost of the
// learned model), and on the real Spotify playlists when ../shared/data holds them.
// Bytes processed: synthesize, the float32 feature bytes generated; the CSV rows, the
// bytes of the file written. Items: songs.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "playaug/resources.hpp"
#include "playaug/synth.hpp"
#include "playaug/synth_model.hpp"
#include "playaug/io.hpp"
#include <cstdlib>
#include <fstream>

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

/// A model fitted once: on 20000 rule-based playlists, or on the real playlists.
const playaug::synth_model& model(bool real) {
  static const playaug::synth_model rule = [] {
    const playaug::resources res(playaug::backend::cpu, 2);
    playaug::synth_params p;
    p.playlists = 20000;
    p.seed = 2;
    return playaug::fit_synth_model(res, playaug::synthesize(res, p));
  }();
  static const playaug::synth_model spotify = [] {
    // Run from the repository root, or name the data directory in PLAYAUG_SHARED_DATA.
    const char* dir = std::getenv("PLAYAUG_SHARED_DATA");
    const std::string path = std::string(dir != nullptr ? dir : "../shared/data") + "/spotify-songs/playlists.csv";
    if (!std::ifstream(path).good()) return rule;
    return playaug::fit_synth_model(playaug::resources(playaug::backend::cpu, 2), playaug::read_csv(path));
  }();
  return real ? spotify : rule;
}

/// Playlists of `m` that hold about as many songs as kPlaylists rule-based ones.
std::uint64_t playlists_for(const playaug::synth_model& m) {
  double mean = 0;
  for (const auto& s : m.shapes) mean += s.weight * s.songs;
  return static_cast<std::uint64_t>(kPlaylists * 12.0 / mean);
}

void BM_learned_synthesize(benchmark::State& state) {
  const playaug::resources res(playaug::backend::cpu, static_cast<int>(state.range(0)));
  const playaug::synth_model& m = model(state.range(1) != 0);
  playaug::synth_model_params p;
  p.playlists = playlists_for(m);
  p.seed = 1;
  std::uint64_t songs = 0;
  for (auto _ : state) {
    const playaug::dataset ds = playaug::synthesize(res, m, p, 0, p.playlists);
    benchmark::DoNotOptimize(ds.features.data());
    songs += ds.songs();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(songs));
}
BENCHMARK(BM_learned_synthesize)->ArgNames({"threads", "real"})->Args({1, 0})->Args({2, 0})->Args({2, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_learned_write_csv(benchmark::State& state) {
  const playaug::resources res(playaug::backend::cpu, static_cast<int>(state.range(0)));
  const playaug::synth_model& m = model(false);
  playaug::synth_model_params p;
  p.playlists = playlists_for(m);
  p.seed = 1;
  const std::string path = (std::filesystem::temp_directory_path() / "playaug_bench_learned.csv").string();
  std::uint64_t songs = 0;
  for (auto _ : state) songs += playaug::write_model_synthetic_csv(res, m, p, path).songs;
  std::remove(path.c_str());
  state.SetItemsProcessed(static_cast<std::int64_t>(songs));
}
BENCHMARK(BM_learned_write_csv)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
