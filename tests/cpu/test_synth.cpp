// Synthetic data: determinism, layout, value ranges and the correlations of real audio features.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/synth.hpp"
#include "test_support.hpp"

namespace playaug {
namespace {

synth_params small(std::uint64_t playlists, std::uint64_t seed = 1) {
  synth_params p;
  p.playlists = playlists;
  p.seed = seed;
  return p;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "playaug_test_synth_" + name;
}

/// Pearson correlation of two columns, in float64.
double correlation(const dataset& ds, int a, int b) {
  const std::size_t n = ds.songs();
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ma += ds.features[i * ds.dim + a];
    mb += ds.features[i * ds.dim + b];
  }
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = ds.features[i * ds.dim + a] - ma, y = ds.features[i * ds.dim + b] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return sab / std::sqrt(saa * sbb);
}

TEST(Synth, SameSeedSameDatasetWhateverTheThreadCount) {
  const synth_params p = small(5000, 42);
  const dataset one = synthesize(resources(backend::cpu, 1), p);
  const dataset two = synthesize(resources(backend::cpu, 2), p);
  const dataset five = synthesize(resources(backend::cpu, 5), p);
  EXPECT_NO_THROW(one.validate());
  EXPECT_EQ(one.playlists(), 5000u);
  EXPECT_TRUE(one == two);
  EXPECT_TRUE(one == five);
}

TEST(Synth, DifferentSeedsDiffer) {
  const resources res(backend::cpu, 2);
  const dataset a = synthesize(res, small(200, 1));
  const dataset b = synthesize(res, small(200, 2));
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_FALSE(a.features == b.features);
  EXPECT_FALSE(a.moods == b.moods);
}

TEST(Synth, PiecesConcatenateToTheWhole) {
  const resources res(backend::cpu, 2);
  const synth_params p = small(3000, 9);
  const dataset whole = synthesize(res, p);
  for (const std::uint64_t cut : {0ull, 1ull, 1234ull, 2999ull, 3000ull}) {
    const dataset head = synthesize(res, p, 0, cut);
    const dataset tail = synthesize(res, p, cut, p.playlists);  // count is clamped
    ASSERT_EQ(head.playlists() + tail.playlists(), whole.playlists()) << "cut " << cut;
    for (std::size_t i = 0; i < whole.playlists(); ++i) {
      const dataset& part = i < cut ? head : tail;
      const std::size_t j = i < cut ? i : i - cut;
      ASSERT_EQ(part.ids[j], whole.ids[i]);
      ASSERT_EQ(part.song_count(j), whole.song_count(i));
      const auto x = part.playlist_features(j), y = whole.playlist_features(i);
      ASSERT_TRUE(std::equal(x.data, x.data + x.size(), y.data)) << "playlist " << i << " cut " << cut;
    }
  }
  EXPECT_EQ(synthesize(res, p, 5000, 10).playlists(), 0u);
}

TEST(Synth, IdsAreNumberedFromOne) {
  EXPECT_EQ(synth_playlist_id(0), "syn000001");
  EXPECT_EQ(synth_playlist_id(41), "syn000042");
  EXPECT_EQ(synth_playlist_id(1234566), "syn1234567");
  const dataset ds = synthesize(resources(backend::cpu, 1), small(3), 1, 2);
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"syn000002", "syn000003"}));
}

TEST(Synth, LayoutAndValueRanges) {
  synth_params p = small(4000, 3);
  p.min_songs = 2;
  p.max_songs = 9;
  const dataset ds = synthesize(resources(backend::cpu, 2), p);
  ASSERT_NO_THROW(ds.validate());
  EXPECT_EQ(ds.dim, 11u);
  EXPECT_TRUE(ds.schema == feature_schema::spotify());
  EXPECT_EQ(ds.null_playlists(), 0u);

  std::set<std::size_t> song_counts;
  for (std::size_t i = 0; i < ds.playlists(); ++i) {
    song_counts.insert(ds.song_count(i));
    const std::size_t segs = ds.segment_offsets[i + 1] - ds.segment_offsets[i];
    ASSERT_GE(segs, 2u);
    ASSERT_LE(segs, 3u);
    for (auto s = ds.segment_offsets[i]; s < ds.segment_offsets[i + 1]; ++s) {
      const std::size_t k = ds.mood_offsets[s + 1] - ds.mood_offsets[s];
      ASSERT_GE(k, 1u);
      ASSERT_LE(k, 3u);
      std::set<int> distinct;
      for (auto m = ds.mood_offsets[s]; m < ds.mood_offsets[s + 1]; ++m) {
        ASSERT_GE(ds.moods[m], 0);
        ASSERT_LE(ds.moods[m], 28);
        distinct.insert(ds.moods[m]);
      }
      EXPECT_EQ(distinct.size(), k) << "moods of a segment are distinct";
    }
  }
  // Consecutive segments are transitions between different mood sets.
  for (std::size_t i = 0; i < ds.playlists(); ++i) {
    for (auto s = ds.segment_offsets[i] + 1; s < ds.segment_offsets[i + 1]; ++s) {
      const std::set<int> prev(ds.moods.begin() + ds.mood_offsets[s - 1], ds.moods.begin() + ds.mood_offsets[s]);
      const std::set<int> cur(ds.moods.begin() + ds.mood_offsets[s], ds.moods.begin() + ds.mood_offsets[s + 1]);
      ASSERT_NE(prev, cur) << "playlist " << ds.ids[i] << " segment " << s;
    }
  }
  // Every count in [min, max] occurs, nothing outside.
  EXPECT_EQ(*song_counts.begin(), 2u);
  EXPECT_EQ(*song_counts.rbegin(), 9u);
  EXPECT_EQ(song_counts.size(), 8u);

  std::set<int> keys;
  for (std::size_t r = 0; r < ds.songs(); ++r) {
    const float* x = ds.features.data() + r * ds.dim;
    for (int f : {spotify::acousticness, spotify::danceability, spotify::energy, spotify::instrumentalness,
                  spotify::liveness, spotify::speechiness, spotify::valence}) {
      ASSERT_GE(x[f], 0.0f) << "feature " << f << " row " << r;
      ASSERT_LE(x[f], 1.0f) << "feature " << f << " row " << r;
    }
    ASSERT_EQ(x[spotify::key], std::floor(x[spotify::key]));
    ASSERT_GE(x[spotify::key], 0.0f);
    ASSERT_LE(x[spotify::key], 11.0f);
    keys.insert(static_cast<int>(x[spotify::key]));
    ASSERT_TRUE(x[spotify::mode] == 0.0f || x[spotify::mode] == 1.0f);
    ASSERT_GE(x[spotify::tempo], 60.0f);
    ASSERT_LE(x[spotify::tempo], 200.0f);
    ASSERT_GE(x[spotify::loudness], -60.0f);
    ASSERT_LE(x[spotify::loudness], 0.0f);
  }
  EXPECT_EQ(keys.size(), 12u);
}

TEST(Synth, ResemblesRealAudioFeatures) {
  const dataset ds = synthesize(resources(backend::cpu, 2), small(20000, 11));
  ASSERT_GT(ds.songs(), 200000u);
  // Energy rises with loudness and falls with acousticness, as in Spotify's catalogue.
  EXPECT_GT(correlation(ds, spotify::energy, spotify::loudness), 0.5);
  EXPECT_LT(correlation(ds, spotify::energy, spotify::acousticness), -0.4);
  EXPECT_LT(correlation(ds, spotify::loudness, spotify::acousticness), -0.3);
  EXPECT_GT(correlation(ds, spotify::valence, spotify::danceability), 0.1);

  std::size_t near_zero = 0, exactly_zero = 0, major = 0;
  double tempo_sum = 0;
  for (std::size_t r = 0; r < ds.songs(); ++r) {
    const float* x = ds.features.data() + r * ds.dim;
    if (x[spotify::instrumentalness] < 0.01f) ++near_zero;
    if (x[spotify::instrumentalness] == 0.0f) ++exactly_zero;
    if (x[spotify::mode] == 1.0f) ++major;
    tempo_sum += x[spotify::tempo];
  }
  const double n = static_cast<double>(ds.songs());
  EXPECT_GT(near_zero / n, 0.8) << "most tracks have near-zero instrumentalness";
  EXPECT_GT(exactly_zero / n, 0.1);
  EXPECT_GT(major / n, 0.5) << "major mode is the more common";
  EXPECT_LT(major / n, 0.75);
  EXPECT_NEAR(tempo_sum / n, 118.0, 8.0);
}

TEST(Synth, SegmentsShapeTheirSongs) {
  // Mood 7 sits at the top of the arousal circle (angle 2*pi*7/29), mood 22 at the bottom:
  // segments made of them should differ in energy.
  const dataset ds = synthesize(resources(backend::cpu, 2), small(20000, 5));
  double hi_sum = 0, lo_sum = 0;
  std::size_t hi_n = 0, lo_n = 0;
  for (std::size_t i = 0; i < ds.playlists(); ++i) {
    const std::size_t segs = ds.segment_offsets[i + 1] - ds.segment_offsets[i];
    const std::size_t songs = ds.song_count(i);
    for (std::size_t s = 0; s < segs; ++s) {
      const auto g = ds.segment_offsets[i] + s;
      if (ds.mood_offsets[g + 1] - ds.mood_offsets[g] != 1) continue;
      const int mood = ds.moods[ds.mood_offsets[g]];
      if (mood != 7 && mood != 22) continue;
      for (std::size_t k = 0; k < songs; ++k) {
        if (k * segs / songs != s) continue;
        const float e = ds.features[(ds.song_offsets[i] + k) * ds.dim + spotify::energy];
        (mood == 7 ? hi_sum : lo_sum) += e;
        ++(mood == 7 ? hi_n : lo_n);
      }
    }
  }
  ASSERT_GT(hi_n, 500u);
  ASSERT_GT(lo_n, 500u);
  EXPECT_GT(hi_sum / hi_n, lo_sum / lo_n + 0.1);
}

TEST(Synth, EmptyFraction) {
  synth_params p = small(4000, 8);
  const resources res(backend::cpu, 2);
  p.empty_fraction = 1.0;
  dataset ds = synthesize(res, p);
  EXPECT_EQ(ds.null_playlists(), 4000u);
  EXPECT_EQ(ds.songs(), 0u);
  EXPECT_EQ(ds.segments() >= 8000u, true) << "empty playlists keep their moods";
  p.empty_fraction = 0.25;
  ds = synthesize(res, p);
  // Binomial(4000, 0.25): mean 1000, sd 27.
  EXPECT_NEAR(static_cast<double>(ds.null_playlists()), 1000.0, 150.0);
  for (std::size_t i = 0; i < ds.playlists(); ++i) {
    ASSERT_EQ(ds.is_null(i), ds.song_count(i) == 0);
  }
}

TEST(Synth, RejectsInvalidParameters) {
  const resources res(backend::cpu, 1);
  synth_params p = small(10);
  p.min_songs = 0;
  EXPECT_THROW(synthesize(res, p), usage_error);
  p = small(10);
  p.min_songs = 8;
  p.max_songs = 7;
  EXPECT_THROW(synthesize(res, p), usage_error);
  p = small(10);
  p.max_songs = 1000000;
  EXPECT_THROW(synthesize(res, p), usage_error);
  p = small(10);
  p.empty_fraction = 1.5;
  EXPECT_THROW(synthesize(res, p), usage_error);
  p.empty_fraction = std::nan("");
  EXPECT_THROW(synthesize(res, p), usage_error);
  p = small((std::uint64_t{1} << 32) + 1);
  EXPECT_THROW(validate(p), usage_error);
  p = small(10);
  p.min_songs = p.max_songs = 1;
  EXPECT_NO_THROW(synthesize(res, p));
}

TEST(Synth, CsvIsByteIdenticalWhateverTheThreadCountAndReadsBack) {
  synth_params p = small(2500, 77);
  p.empty_fraction = 0.05;
  const std::string a = temp_path("a.csv"), b = temp_path("b.csv"), c = temp_path("c.csv");
  const synth_stats sa = write_synthetic_csv(resources(backend::cpu, 1), p, a);
  write_synthetic_csv(resources(backend::cpu, 2), p, b);
  p.seed = 78;
  write_synthetic_csv(resources(backend::cpu, 2), p, c);
  const std::string bytes_a = read_bytes(a);
  EXPECT_GT(bytes_a.size(), 100000u);
  EXPECT_EQ(bytes_a, read_bytes(b));
  EXPECT_NE(bytes_a, read_bytes(c));

  p.seed = 77;
  const dataset expected = synthesize(resources(backend::cpu, 2), p);
  EXPECT_EQ(sa.playlists, expected.playlists());
  EXPECT_EQ(sa.songs, expected.songs());
  EXPECT_EQ(sa.empty_playlists, expected.null_playlists());
  const dataset back = read_csv(a);
  EXPECT_EQ(back.ids, expected.ids);
  EXPECT_EQ(back.null_features, expected.null_features);
  EXPECT_EQ(back.song_offsets, expected.song_offsets);
  EXPECT_TRUE(back.features == expected.features);
  EXPECT_EQ(back.segment_offsets, expected.segment_offsets);
  EXPECT_EQ(back.mood_offsets, expected.mood_offsets);
  EXPECT_EQ(back.moods, expected.moods);
  for (const auto& f : {a, b, c}) std::remove(f.c_str());
}

TEST(Synth, ZeroPlaylistsWritesAHeaderOnlyFile) {
  const std::string path = temp_path("zero.csv");
  const synth_stats st = write_synthetic_csv(resources(backend::cpu, 1), small(0), path);
  EXPECT_EQ(st.playlists, 0u);
  const dataset back = read_csv(path);
  EXPECT_EQ(back.playlists(), 0u);
  std::remove(path.c_str());
}

TEST(Synth, ShippedSampleIsSeedSeven) {
  // data/sample/playlists.csv is `playaug synth --playlists 300 --seed 7 --empty-fraction 0.02`.
  synth_params p = small(300, 7);
  p.empty_fraction = 0.02;
  const dataset expected = synthesize(resources(backend::cpu, 2), p);
  const dataset sample = read_csv(test::source_dir() + "/data/sample/playlists.csv");
  EXPECT_EQ(sample.ids, expected.ids);
  EXPECT_EQ(sample.null_features, expected.null_features);
  EXPECT_GT(sample.null_playlists(), 0u);
  EXPECT_EQ(sample.song_offsets, expected.song_offsets);
  EXPECT_TRUE(sample.features == expected.features);
  EXPECT_EQ(sample.mood_offsets, expected.mood_offsets);
  EXPECT_EQ(sample.moods, expected.moods);
}

}  // namespace
}  // namespace playaug
