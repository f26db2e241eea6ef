// Dataset IO throughput: parsing and writing the playlist CSV format, in bytes of CSV per
// second. The input is a synthetic file in the notebook's layout (11 Spotify-like features
// with three decimals, two mood segments per playlist), generated once per run:
// 20 000 playlists x 20 songs = 400 000 songs, about 30 MB.
//
//   build/bench/bench_io [--benchmark_filter=parse]

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "playaug/io.hpp"

namespace {

using playaug::dataset;
namespace fs = std::filesystem;

constexpr std::size_t kPlaylists = 20000;
constexpr std::size_t kSongs = 20;
constexpr std::size_t kDim = 11;

dataset make_dataset() {
  std::mt19937 rng(7);
  dataset ds;
  ds.dim = kDim;
  ds.schema = playaug::feature_schema::spotify();
  std::vector<float> f(kSongs * kDim);
  for (std::size_t p = 0; p < kPlaylists; ++p) {
    for (std::size_t i = 0; i < kSongs; ++i) {
      float* s = &f[i * kDim];
      for (std::size_t j = 0; j < kDim; ++j) s[j] = static_cast<float>(rng() % 1000) / 1000.0f;
      s[4] = static_cast<float>(rng() % 12);                                 // key
      s[6] = -static_cast<float>(rng() % 20000) / 1000.0f;                   // loudness
      s[7] = static_cast<float>(rng() % 2);                                  // mode
      s[9] = 60.0f + static_cast<float>(rng() % 140000) / 1000.0f;           // tempo
    }
    ds.add_playlist("playlist" + std::to_string(p), {{int(rng() % 40)}, {int(rng() % 40)}}, f.data(), kSongs);
  }
  return ds;
}

const dataset& sample() {
  static const dataset ds = make_dataset();
  return ds;
}

const std::string& sample_text() {
  static const std::string text = playaug::to_csv(sample());
  return text;
}

/// A scratch directory removed at exit, holding the sample written to disk.
struct scratch {
  scratch() {
    std::string tmpl = (fs::temp_directory_path() / "playaug-bench-io-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    sample_path = (dir / "sample.csv").string();
    playaug::write_csv(sample_path, sample());
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path dir;
  std::string sample_path;
};

const scratch& files() {
  static const scratch s;
  return s;
}

void BM_parse_csv(benchmark::State& state) {
  const std::string& text = sample_text();
  for (auto _ : state) {
    dataset ds = playaug::parse_csv(text);
    benchmark::DoNotOptimize(ds.features.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["songs/s"] = benchmark::Counter(static_cast<double>(state.iterations() * kPlaylists * kSongs),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_parse_csv)->Unit(benchmark::kMillisecond);

void BM_read_csv_file(benchmark::State& state) {
  const std::string& path = files().sample_path;
  const auto bytes = fs::file_size(path);
  for (auto _ : state) {
    dataset ds = playaug::read_csv(path);
    benchmark::DoNotOptimize(ds.features.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_read_csv_file)->Unit(benchmark::kMillisecond);

void BM_csv_reader_chunks(benchmark::State& state) {
  const std::string& path = files().sample_path;
  const auto bytes = fs::file_size(path);
  for (auto _ : state) {
    playaug::csv_reader r(path);
    dataset chunk;
    std::size_t songs = 0;
    while (r.next(chunk, static_cast<std::size_t>(state.range(0)))) songs += chunk.songs();
    benchmark::DoNotOptimize(songs);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_csv_reader_chunks)->Arg(1 << 16)->Unit(benchmark::kMillisecond);

// Argument: formatting threads. Wall-clock time, as the work spreads over threads.
void BM_to_csv(benchmark::State& state) {
  const dataset& ds = sample();
  const int threads = static_cast<int>(state.range(0));
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = playaug::to_csv(ds, threads);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_to_csv)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_write_csv_file(benchmark::State& state) {
  const dataset& ds = sample();
  const int threads = static_cast<int>(state.range(0));
  const std::string path = (files().dir / "out.csv").string();
  for (auto _ : state) playaug::write_csv(path, ds, threads);  // temporary file, fsync, rename
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fs::file_size(path)));
}
BENCHMARK(BM_write_csv_file)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_append_float(benchmark::State& state) {
  const dataset& ds = sample();
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    for (std::size_t i = 0; i < 100000; ++i) playaug::append_float(out, ds.features[i]);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 100000));
}
BENCHMARK(BM_append_float);

}  // namespace

BENCHMARK_MAIN();
