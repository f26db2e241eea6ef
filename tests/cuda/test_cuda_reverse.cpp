// reverse_playlists on the CUDA engine, in place on device memory and staged from host
// memory, against the CPU engine: songs, mood offsets and moods identical.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "gpu_util.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"

namespace {

using playaug::backend;
using playaug::resources;

struct flat_playlists {
  std::size_t d = 0;
  std::vector<float> features;
  std::vector<std::uint64_t> song_offsets{0}, segment_offsets{0}, mood_offsets{0};
  std::vector<std::int32_t> moods;
  std::vector<std::uint8_t> flags;

  playaug::playlists_view view() {
    return {{features.data(), song_offsets.back(), d},
            {song_offsets.data(), song_offsets.size()},
            {segment_offsets.data(), segment_offsets.size()},
            {mood_offsets.data(), mood_offsets.size()},
            {moods.data(), moods.size()}};
  }
};

/// Playlists of every song count 0..9 and a few long ones, 0..4 segments of 0..3 moods,
/// each flagged with probability 1/2 (plus all-flagged runs).
flat_playlists make(std::size_t playlists, std::size_t d, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  flat_playlists f;
  f.d = d;
  for (std::size_t p = 0; p < playlists; ++p) {
    const std::uint64_t songs = p < 10 ? p : (gen() % 25 == 0 ? 300 + gen() % 50 : gen() % 12);
    const std::uint64_t segments = gen() % 5;
    for (std::uint64_t s = 0; s < songs * d; ++s) f.features.push_back(static_cast<float>(gen() % 100000) * 0.01f);
    f.song_offsets.push_back(f.song_offsets.back() + songs);
    for (std::uint64_t g = 0; g < segments; ++g) {
      const std::uint64_t m = gen() % 4;
      for (std::uint64_t k = 0; k < m; ++k) f.moods.push_back(static_cast<std::int32_t>(gen() % 40));
      f.mood_offsets.push_back(f.moods.size());
    }
    f.segment_offsets.push_back(f.segment_offsets.back() + segments);
    f.flags.push_back(p % 17 < 3 ? 1 : static_cast<std::uint8_t>(gen() & 1));
  }
  return f;
}

void check(std::size_t playlists, std::size_t d, std::uint64_t seed) {
  SCOPED_TRACE("playlists=" + std::to_string(playlists) + " d=" + std::to_string(d));
  const flat_playlists orig = make(playlists, d, seed);
  const resources cpu(backend::cpu), gpu(backend::cuda);
  flat_playlists c = orig, g = orig;
  playaug::reverse_playlists(cpu, c.view(), {c.flags.data(), c.flags.size()});
  playaug::reverse_playlists(gpu, g.view(), {g.flags.data(), g.flags.size()});
  EXPECT_EQ(g.features, c.features);
  EXPECT_EQ(g.mood_offsets, c.mood_offsets);
  EXPECT_EQ(g.moods, c.moods);
  EXPECT_NE(c.features, orig.features) << "nothing was reversed";
#if PLAYAUG_HAS_CUDA
  using playaug::test::device_array;
  device_array<float> df(orig.features);
  device_array<std::uint64_t> dso(orig.song_offsets), dgo(orig.segment_offsets), dmo(orig.mood_offsets);
  device_array<std::int32_t> dm(orig.moods);
  device_array<std::uint8_t> dfl(orig.flags);
  const auto dev = playaug::memory_space::device;
  playaug::playlists_view v{{df.data(), orig.song_offsets.back(), d, dev},
                            {dso.data(), dso.size(), dev},
                            {dgo.data(), dgo.size(), dev},
                            {dmo.data(), dmo.size(), dev},
                            {dm.data(), dm.size(), dev}};
  playaug::reverse_playlists(gpu, v, {dfl.data(), dfl.size(), dev});
  gpu.sync();
  EXPECT_EQ(df.download(), c.features) << "device memory";
  EXPECT_EQ(dmo.download(), c.mood_offsets) << "device memory";
  EXPECT_EQ(dm.download(), c.moods) << "device memory";
#endif
}

TEST(CudaReverse, MatchesCpu) {
  PLAYAUG_REQUIRE_GPU();
  std::uint64_t seed = 1;
  for (std::size_t d : {1u, 3u, 11u}) {
    for (std::size_t playlists : {10u, 11u, 200u}) check(playlists, d, seed++);
  }
  if (!playaug::test::gpu_small()) check(20000, 11, seed++);
}

TEST(CudaReverse, NothingFlaggedChangesNothing) {
  PLAYAUG_REQUIRE_GPU();
  flat_playlists f = make(50, 4, 9);
  const flat_playlists orig = f;
  for (auto& b : f.flags) b = 0;
  const resources gpu(backend::cuda);
  playaug::reverse_playlists(gpu, f.view(), {f.flags.data(), f.flags.size()});
  EXPECT_EQ(f.features, orig.features);
  EXPECT_EQ(f.mood_offsets, orig.mood_offsets);
  EXPECT_EQ(f.moods, orig.moods);
}

}  // namespace
