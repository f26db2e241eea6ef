// CUDA benchmarks of protuberance (in place: every value read and written once), the
// reversal of device-resident playlists and the whole augment of a host dataset. copy_frac
// compares with a device-to-device copy of the same matrix (the same traffic); the target
// for protuberance at 1e7 x 11 is >= 0.85.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "gpu_common.cuh"
#include "playaug/augment.hpp"
#include "playaug/dataset.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"

namespace {

using namespace playaug::bench;

void BM_protuberance_device(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1));
  const std::size_t bytes = n * d * sizeof(float);
  if (!fits(3 * bytes)) return state.SkipWithError("not enough device memory");
  const auto off = random_offsets(n, 10, 100, 8);
  device_vec<float> x(n * d);
  fill_random(x.p, n * d, 0.0f, 1.0f, 9);
  device_vec<std::uint64_t> doff(off);
  const auto schema = playaug::feature_schema::for_dim(d);
  playaug::protuberance_params prm;
  prm.seed = 1234;
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  state.counters["playlists"] = static_cast<double>(off.size() - 1);
  std::uint32_t copy = 1;
  timed_loop(state, s, 2 * bytes, bytes, [&] {
    playaug::protuberance(res, playaug::device_matrix<float>(x.p, n, d),
                          playaug::vector_view<const std::uint64_t>(doff.p, off.size(), playaug::memory_space::device),
                          schema, prm, copy++);
  });
}

void BM_reverse_device(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0)), d = static_cast<std::size_t>(state.range(1));
  const std::size_t bytes = n * d * sizeof(float);
  if (!fits(3 * bytes)) return state.SkipWithError("not enough device memory");
  const auto off = random_offsets(n, 10, 100, 10);
  const std::size_t playlists = off.size() - 1;
  std::vector<std::uint64_t> seg_off(playlists + 1), mood_off(2 * playlists + 1);
  std::vector<std::int32_t> moods(4 * playlists);
  std::vector<std::uint8_t> flags(playlists);
  for (std::size_t p = 0; p <= playlists; ++p) seg_off[p] = 2 * p;
  for (std::size_t s = 0; s <= 2 * playlists; ++s) mood_off[s] = 2 * s;
  for (std::size_t i = 0; i < moods.size(); ++i) moods[i] = static_cast<std::int32_t>(i % 30);
  for (std::size_t p = 0; p < playlists; ++p) flags[p] = static_cast<std::uint8_t>((p * 2654435761u >> 7) & 1);
  device_vec<float> x(n * d);
  fill_random(x.p, n * d, 0.0f, 1.0f, 11);
  device_vec<std::uint64_t> dso(off), dseg(seg_off), dmo(mood_off);
  device_vec<std::int32_t> dm(moods);
  device_vec<std::uint8_t> dfl(flags);
  const auto dev = playaug::memory_space::device;
  const playaug::playlists_view v{{x.p, n, d, dev},
                                  {dso.p, off.size(), dev},
                                  {dseg.p, seg_off.size(), dev},
                                  {dmo.p, mood_off.size(), dev},
                                  {dm.p, moods.size(), dev}};
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  // About half the rows move: read and written once.
  timed_loop(state, s, bytes, bytes / 2,
             [&] { playaug::reverse_playlists(res, v, {dfl.p, flags.size(), dev}); });
}

/// The whole augment of a host dataset of n songs (upload, K copies on the device,
/// download, ids and moods on the host); bytes = output features.
void BM_augment_host(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto copies = static_cast<std::uint32_t>(state.range(1));
  const auto off = random_offsets(n, 10, 100, 12);
  playaug::dataset ds;
  ds.dim = 11;
  ds.schema = playaug::feature_schema::spotify();
  std::vector<float> row(11 * 100);
  for (std::size_t i = 0; i < row.size(); ++i) row[i] = static_cast<float>(i % 97) / 97.0f;
  for (std::size_t p = 0; p + 1 < off.size(); ++p) {
    ds.add_playlist("p" + std::to_string(p), {{1, 2}, {3}}, row.data(), off[p + 1] - off[p]);
  }
  playaug::augment_params prm;
  prm.copies = copies;
  prm.seed = 5;
  const playaug::resources res(playaug::backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  timed_loop(state, s, n * 11 * sizeof(float) * (copies + 1), 0, [&] {
    const auto out = playaug::augment(res, ds, prm, 0);
    benchmark::DoNotOptimize(out.features.data());
  });
}

BENCHMARK(BM_protuberance_device)
    ->Args({1000000, 11})
    ->Args({10000000, 11})
    ->Args({10000000, 16})
    ->Args({100000000, 11})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_reverse_device)->Args({10000000, 11})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_augment_host)->Args({1000000, 4})->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
