// augment on the CUDA engine: the same dataset as the CPU engine (ids, [null] playlists,
// reversed songs and mood segments, track ids, protuberated features bit for bit) for
// every combination of keep_original, copies, reversal and protuberance settings, and for
// a file processed in chunks (first_playlist).

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gpu_util.hpp"
#include "playaug/augment.hpp"
#include "playaug/dataset.hpp"
#include "playaug/resources.hpp"

namespace {

using playaug::augment_params;
using playaug::backend;
using playaug::dataset;
using playaug::resources;

/// Spotify-like playlists of 0..max_len songs with 0..4 mood segments; every 9th is [null];
/// optional track ids.
dataset make_dataset(std::size_t playlists, std::size_t max_len, bool tracks, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), loud(-30.0f, -1.0f), tempo(60.0f, 200.0f);
  dataset ds;
  ds.dim = 11;
  ds.schema = playaug::feature_schema::spotify();
  for (std::size_t p = 0; p < playlists; ++p) {
    std::vector<std::vector<std::int32_t>> segs(gen() % 5);
    for (auto& s : segs) {
      s.resize(gen() % 4);
      for (auto& m : s) m = static_cast<std::int32_t>(gen() % 30);
    }
    const std::string id = "p" + std::to_string(p);
    if (p % 9 == 8) {
      ds.add_playlist(id, segs, nullptr, 0, true);
      continue;
    }
    const std::size_t n = gen() % (max_len + 1);
    std::vector<float> x(n * 11);
    for (std::size_t i = 0; i < n; ++i) {
      float* r = x.data() + i * 11;
      for (int j = 0; j < 11; ++j) r[j] = unit(gen);
      r[playaug::spotify::key] = static_cast<float>(gen() % 12);
      r[playaug::spotify::mode] = static_cast<float>(gen() % 2);
      r[playaug::spotify::loudness] = loud(gen);
      r[playaug::spotify::tempo] = tempo(gen);
    }
    ds.add_playlist(id, segs, x.data(), n);
  }
  if (tracks) {
    for (std::size_t s = 0; s < ds.songs(); ++s) ds.track_ids.push_back("t" + std::to_string(s));
  }
  return ds;
}

void expect_same(const dataset& g, const dataset& c, const std::string& what) {
  EXPECT_EQ(g.ids, c.ids) << what;
  EXPECT_EQ(g.null_features, c.null_features) << what;
  EXPECT_EQ(g.song_offsets, c.song_offsets) << what;
  EXPECT_EQ(g.segment_offsets, c.segment_offsets) << what;
  EXPECT_EQ(g.mood_offsets, c.mood_offsets) << what;
  EXPECT_EQ(g.moods, c.moods) << what;
  EXPECT_EQ(g.track_ids, c.track_ids) << what;
  ASSERT_EQ(g.features.size(), c.features.size()) << what;
  EXPECT_EQ(std::memcmp(g.features.data(), c.features.data(), g.features.size() * sizeof(float)), 0)
      << what << ": features differ";
  EXPECT_TRUE(g == c) << what;
}

TEST(CudaAugment, SameDatasetAsCpu) {
  PLAYAUG_REQUIRE_GPU();
  const dataset in = make_dataset(300, 60, true, 1);
  const resources cpu(backend::cpu), gpu(backend::cuda);
  std::uint64_t seed = 100;
  for (const bool keep : {true, false}) {
    for (const std::uint32_t copies : {0u, 1u, 3u}) {
      for (const float r : {0.0f, 0.5f, 1.0f}) {
        for (const float phi : {0.0f, 0.5f}) {
          augment_params prm;
          prm.keep_original = keep;
          prm.copies = copies;
          prm.reverse = r;
          prm.phi = phi;
          prm.protuberance = 0.2f;
          prm.seed = seed++;
          const std::string what = "keep=" + std::to_string(keep) + " copies=" + std::to_string(copies) +
                                   " r=" + std::to_string(r) + " phi=" + std::to_string(phi);
          expect_same(playaug::augment(gpu, in, prm, 0), playaug::augment(cpu, in, prm, 0), what);
        }
      }
    }
  }
}

TEST(CudaAugment, RawAndChunkedFile) {
  PLAYAUG_REQUIRE_GPU();
  const dataset in = make_dataset(120, 200, false, 2);
  const resources cpu(backend::cpu), gpu(backend::cuda);
  augment_params prm;
  prm.copies = 4;
  prm.raw = true;
  prm.phi = 1.0f;
  prm.protuberance = 0.5f;
  prm.seed = 0xFEEDFACECAFEBEEFull;
  expect_same(playaug::augment(gpu, in, prm, 0), playaug::augment(cpu, in, prm, 0), "raw");
  expect_same(playaug::augment(gpu, in, prm, 4000000000ull), playaug::augment(cpu, in, prm, 4000000000ull),
              "first_playlist near 2^32");
}

TEST(CudaAugment, EmptyAndAllNull) {
  PLAYAUG_REQUIRE_GPU();
  const resources cpu(backend::cpu), gpu(backend::cuda);
  augment_params prm;
  prm.copies = 2;
  dataset empty;
  empty.dim = 11;
  empty.schema = playaug::feature_schema::spotify();
  expect_same(playaug::augment(gpu, empty, prm), playaug::augment(cpu, empty, prm), "no playlists");
  dataset nulls = empty;
  nulls.add_playlist("a", {{1, 2}}, nullptr, 0, true);
  nulls.add_playlist("b", {}, nullptr, 0, true);
  expect_same(playaug::augment(gpu, nulls, prm), playaug::augment(cpu, nulls, prm), "only [null]");
}

TEST(CudaAugment, LargeDataset) {
  PLAYAUG_REQUIRE_GPU();
  if (playaug::test::gpu_small()) GTEST_SKIP() << "large sizes skipped (PLAYAUG_GPU_TEST_SMALL)";
  const dataset in = make_dataset(20000, 120, false, 3);
  const resources cpu(backend::cpu), gpu(backend::cuda);
  augment_params prm;
  prm.copies = 5;
  prm.seed = 77;
  expect_same(playaug::augment(gpu, in, prm, 123), playaug::augment(cpu, in, prm, 123), "large");
}

}  // namespace
