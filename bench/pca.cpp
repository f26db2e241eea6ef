// PCA on one million Spotify-like songs x 11 features: the fit (moments + eigendecomposition),
// transform and inverse_transform, the eigendecomposition alone, per-playlist PCA and its
// aggregate (projector, k = 3; pooled) over playlists of 20 songs.
// CPU rows by thread count; CUDA rows (host memory in and out) run when a device is present.
// Bytes processed: fit, the float32 matrix read; transform, input read plus output written;
// per-playlist, the matrix read.

#include "playaug/pca.hpp"
#include "playaug/pca_aggregate.hpp"

#include <benchmark/benchmark.h>
#include <lapacke.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "detail/blas_threads.hpp"
#include "playaug/dataset.hpp"
#include "playaug/moments.hpp"
#include "playaug/resources.hpp"

namespace {

constexpr std::size_t kSongs = 1'000'000;
constexpr std::size_t kDim = playaug::spotify::n_features;
constexpr std::size_t kPlaylistLength = 20;

/// One million songs with Spotify-like values in the notebook's 11-column order.
const std::vector<float>& songs() {
  static const std::vector<float> x = [] {
    namespace sp = playaug::spotify;
    std::mt19937 gen(11);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f), loud(-30.0f, -1.0f),
        tempo(60.0f, 200.0f);
    std::uniform_int_distribution<int> key(0, 11), mode(0, 1);
    std::vector<float> v(kSongs * kDim);
    for (std::size_t i = 0; i < kSongs; ++i) {
      float* r = v.data() + i * kDim;
      for (std::size_t j = 0; j < kDim; ++j) r[j] = unit(gen);
      r[sp::key] = static_cast<float>(key(gen));
      r[sp::mode] = static_cast<float>(mode(gen));
      r[sp::loudness] = loud(gen);
      r[sp::tempo] = tempo(gen);
    }
    return v;
  }();
  return x;
}

playaug::matrix_view<const float> songs_view() { return {songs().data(), kSongs, kDim}; }

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

void add_rates(benchmark::State& state, std::size_t bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes_per_iteration));
  state.counters["songs/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(kSongs),
                         benchmark::Counter::kIsRate);
}

void fit(benchmark::State& state, bool cuda, int threads, bool standardize) {
  std::unique_ptr<playaug::resources> res;
  if (!make_resources(state, cuda, threads, res)) return;
  playaug::pca_options opts;
  opts.standardize = standardize;
  const auto names = playaug::feature_schema::spotify().names();
  for (auto _ : state) {
    playaug::pca_model m = playaug::fit_pca(*res, songs_view(), opts, names);
    benchmark::DoNotOptimize(m.components.data());
  }
  add_rates(state, kSongs * kDim * sizeof(float));
}

playaug::pca_model fitted_model(std::size_t k) {
  const playaug::resources res(playaug::backend::cpu);
  playaug::pca_options opts;
  opts.components = k;
  return playaug::fit_pca(res, songs_view(), opts, playaug::feature_schema::spotify().names());
}

void project(benchmark::State& state, bool cuda, int threads, std::size_t k, bool inverse) {
  std::unique_ptr<playaug::resources> res;
  if (!make_resources(state, cuda, threads, res)) return;
  const playaug::pca_model m = fitted_model(k);
  std::vector<float> y(kSongs * k);
  std::vector<float> x(kSongs * kDim);
  if (inverse) playaug::transform(*res, m, songs_view(), {y.data(), kSongs, k});
  for (auto _ : state) {
    if (inverse) {
      playaug::inverse_transform(*res, m, {y.data(), kSongs, k}, {x.data(), kSongs, kDim});
      benchmark::DoNotOptimize(x.data());
    } else {
      playaug::transform(*res, m, songs_view(), {y.data(), kSongs, k});
      benchmark::DoNotOptimize(y.data());
    }
    benchmark::ClobberMemory();
  }
  add_rates(state, kSongs * (kDim + k) * sizeof(float));
}

void per_playlist(benchmark::State& state, bool cuda, int threads) {
  std::unique_ptr<playaug::resources> res;
  if (!make_resources(state, cuda, threads, res)) return;
  std::vector<std::uint64_t> offsets;
  for (std::size_t r = 0; r < kSongs; r += kPlaylistLength) offsets.push_back(r);
  offsets.push_back(kSongs);
  for (auto _ : state) {
    playaug::batched_pca b =
        playaug::fit_pca_per_playlist(*res, songs_view(), {offsets.data(), offsets.size()});
    benchmark::DoNotOptimize(b.components.data());
  }
  add_rates(state, kSongs * kDim * sizeof(float));
  state.counters["playlists/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(offsets.size() - 1),
      benchmark::Counter::kIsRate);
}

void aggregate(benchmark::State& state, bool cuda, int threads, playaug::pca_method method) {
  std::unique_ptr<playaug::resources> res;
  if (!make_resources(state, cuda, threads, res)) return;
  std::vector<std::uint64_t> offsets;
  for (std::size_t r = 0; r < kSongs; r += kPlaylistLength) offsets.push_back(r);
  offsets.push_back(kSongs);
  playaug::pca_aggregate_options o;
  o.method = method;
  o.components = 3;
  for (auto _ : state) {
    const playaug::pca_model m =
        playaug::fit_pca_aggregate(*res, songs_view(), {offsets.data(), offsets.size()}, o, {});
    benchmark::DoNotOptimize(m.components.data());
  }
  add_rates(state, kSongs * kDim * sizeof(float));
  state.counters["playlists/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(offsets.size() - 1),
      benchmark::Counter::kIsRate);
}

/// A symmetric [d x d] matrix of standard normal entries, the same for every row of a d.
std::vector<double> random_symmetric(std::size_t d) {
  std::mt19937_64 gen(d);
  std::normal_distribution<double> normal;
  std::vector<double> a(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = i; j < d; ++j) a[i * d + j] = a[j * d + i] = normal(gen);
  }
  return a;
}

void eig(benchmark::State& state, bool cuda) {
  std::unique_ptr<playaug::resources> res;
  if (!make_resources(state, cuda, 1, res)) return;
  const auto d = static_cast<std::size_t>(state.range(0));
  const std::vector<double> a = random_symmetric(d);
  for (auto _ : state) {
    playaug::eigen_result e = playaug::symmetric_eig(*res, a, d);
    benchmark::DoNotOptimize(e.vectors.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(a.size() * sizeof(double)));
}

/// LAPACK dsyevd on the same matrix as eig(): the reference beside the CPU engine's Jacobi
/// (host/eig_cpu.cpp), which it uses past jacobi_max_dim.
void BM_dsyevd_reference(benchmark::State& state) {
  const auto d = static_cast<std::size_t>(state.range(0));
  const std::vector<double> a = random_symmetric(d);
  std::vector<double> w(a.size()), values(d);
  const playaug::detail::single_threaded_blas blas_guard;  // as the engine calls it
  for (auto _ : state) {
    std::copy(a.begin(), a.end(), w.begin());
    const auto n = static_cast<lapack_int>(d);
    benchmark::DoNotOptimize(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, w.data(), n, values.data()));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(a.size() * sizeof(double)));
}

// Arguments: CPU threads (0: all cores).
void BM_fit_pca_cpu(benchmark::State& s) { fit(s, false, static_cast<int>(s.range(0)), false); }
void BM_fit_pca_standardized_cpu(benchmark::State& s) {
  fit(s, false, static_cast<int>(s.range(0)), true);
}
void BM_fit_pca_cuda(benchmark::State& s) { fit(s, true, 0, false); }
// Arguments: threads, k.
void BM_transform_cpu(benchmark::State& s) {
  project(s, false, static_cast<int>(s.range(0)), static_cast<std::size_t>(s.range(1)), false);
}
void BM_inverse_transform_cpu(benchmark::State& s) {
  project(s, false, static_cast<int>(s.range(0)), static_cast<std::size_t>(s.range(1)), true);
}
void BM_transform_cuda(benchmark::State& s) {
  project(s, true, 0, static_cast<std::size_t>(s.range(0)), false);
}
void BM_inverse_transform_cuda(benchmark::State& s) {
  project(s, true, 0, static_cast<std::size_t>(s.range(0)), true);
}
void BM_fit_pca_per_playlist_cpu(benchmark::State& s) {
  per_playlist(s, false, static_cast<int>(s.range(0)));
}
void BM_fit_pca_per_playlist_cuda(benchmark::State& s) { per_playlist(s, true, 0); }
void BM_aggregate_projector_cpu(benchmark::State& s) {
  aggregate(s, false, static_cast<int>(s.range(0)), playaug::pca_method::projector);
}
void BM_aggregate_pooled_cpu(benchmark::State& s) {
  aggregate(s, false, static_cast<int>(s.range(0)), playaug::pca_method::pooled);
}
void BM_aggregate_projector_cuda(benchmark::State& s) { aggregate(s, true, 0, playaug::pca_method::projector); }
void BM_aggregate_pooled_cuda(benchmark::State& s) { aggregate(s, true, 0, playaug::pca_method::pooled); }
// Arguments: d.
void BM_symmetric_eig_cpu(benchmark::State& s) { eig(s, false); }
void BM_symmetric_eig_cuda(benchmark::State& s) { eig(s, true); }

}  // namespace

BENCHMARK(BM_fit_pca_cpu)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_fit_pca_standardized_cpu)
    ->ArgName("threads")
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_fit_pca_cuda)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_transform_cpu)
    ->ArgNames({"threads", "k"})
    ->Args({1, 3})
    ->Args({0, 3})
    ->Args({0, 11})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_inverse_transform_cpu)
    ->ArgNames({"threads", "k"})
    ->Args({0, 3})
    ->Args({0, 11})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_transform_cuda)
    ->ArgName("k")
    ->Arg(3)
    ->Arg(11)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_inverse_transform_cuda)
    ->ArgName("k")
    ->Arg(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_fit_pca_per_playlist_cpu)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_fit_pca_per_playlist_cuda)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_aggregate_projector_cpu)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_aggregate_pooled_cpu)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_aggregate_projector_cuda)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_aggregate_pooled_cuda)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_symmetric_eig_cpu)->ArgName("d")->Arg(11)->Arg(64)->Arg(65)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_dsyevd_reference)->ArgName("d")->Arg(11)->Arg(64)->Arg(65)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_symmetric_eig_cuda)->ArgName("d")->Arg(11)->Arg(64)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
