// Dataset summaries against a float64 reference computed here.

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/summary.hpp"
#include "test_support.hpp"

namespace playaug {
namespace {

/// A dataset of `playlists` playlists with random sizes (some empty or [null]) and values
/// spread over very different scales per feature.
dataset random_dataset(std::size_t playlists, std::size_t d, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> songs(0, 12);
  std::normal_distribution<double> z(0.0, 1.0);
  dataset ds;
  ds.dim = d;
  ds.schema = feature_schema::for_dim(d);
  for (std::size_t p = 0; p < playlists; ++p) {
    const int n = songs(rng);
    const bool null = n == 0 && p % 2 == 0;
    std::vector<float> x(static_cast<std::size_t>(n) * d);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t j = i % d;
      x[i] = static_cast<float>((j + 1) * 37.5 + std::ldexp(z(rng), static_cast<int>(j) - 4));
    }
    ds.add_playlist("p" + std::to_string(p), {{static_cast<std::int32_t>(p % 29)}, {3, 4}}, x.data(),
                    static_cast<std::size_t>(n), null);
  }
  return ds;
}

struct reference {
  std::vector<double> min, mean, max;
  std::size_t empty = 0;
};

reference reference_of(const dataset& ds) {
  reference r;
  r.min.assign(ds.dim, std::numeric_limits<double>::infinity());
  r.max.assign(ds.dim, -std::numeric_limits<double>::infinity());
  std::vector<long double> sum(ds.dim, 0.0L);
  for (std::size_t p = 0; p < ds.playlists(); ++p) {
    if (ds.song_count(p) == 0) ++r.empty;
    const auto m = ds.playlist_features(p);
    for (std::size_t i = 0; i < m.rows; ++i) {
      for (std::size_t j = 0; j < ds.dim; ++j) {
        const double v = m(i, j);
        r.min[j] = std::min(r.min[j], v);
        r.max[j] = std::max(r.max[j], v);
        sum[j] += v;
      }
    }
  }
  for (std::size_t j = 0; j < ds.dim; ++j) r.mean.push_back(static_cast<double>(sum[j] / ds.songs()));
  return r;
}

void expect_matches(const dataset_summary& s, const dataset& ds) {
  const reference r = reference_of(ds);
  EXPECT_EQ(s.playlists, ds.playlists());
  EXPECT_EQ(s.empty_playlists, r.empty);
  EXPECT_EQ(s.songs, ds.songs());
  EXPECT_EQ(s.segments, ds.segments());
  ASSERT_EQ(s.dim, ds.dim);
  EXPECT_EQ(s.feature_names, ds.schema.names());
  ASSERT_EQ(s.min.size(), ds.dim);
  ASSERT_EQ(s.mean.size(), ds.dim);
  ASSERT_EQ(s.max.size(), ds.dim);
  for (std::size_t j = 0; j < ds.dim; ++j) {
    EXPECT_EQ(static_cast<double>(s.min[j]), r.min[j]) << "feature " << j;
    EXPECT_EQ(static_cast<double>(s.max[j]), r.max[j]) << "feature " << j;
    EXPECT_NEAR(s.mean[j], r.mean[j], 1e-12 * std::abs(r.mean[j])) << "feature " << j;
  }
}

TEST(Summary, MatchesFloat64Reference) {
  for (const std::size_t d : {1u, 3u, 11u}) {
    const dataset ds = random_dataset(500, d, 17 + static_cast<unsigned>(d));
    ASSERT_NO_THROW(ds.validate());
    expect_matches(summarize(ds), ds);
  }
}

TEST(Summary, SpotifyNamesForElevenFeatures) {
  const dataset ds = random_dataset(20, 11, 1);
  const dataset_summary s = summarize(ds);
  ASSERT_EQ(s.feature_names.size(), 11u);
  EXPECT_EQ(s.feature_names[0], "acousticness");
  EXPECT_EQ(s.feature_names[10], "valence");
  EXPECT_EQ(summarize(random_dataset(20, 3, 1)).feature_names, (std::vector<std::string>{"f0", "f1", "f2"}));
}

TEST(Summary, ChunksGiveTheSameSummary) {
  const dataset ds = random_dataset(300, 4, 5);
  summary_builder b;
  // Split into chunks of 7 playlists, the first ones possibly without songs.
  for (std::size_t first = 0; first < ds.playlists(); first += 7) {
    dataset chunk;
    chunk.dim = ds.dim;
    chunk.schema = ds.schema;
    for (std::size_t p = first; p < std::min(first + 7, ds.playlists()); ++p) {
      chunk.add_playlist(ds.ids[p], {{1}}, ds.playlist_features(p).data, ds.song_count(p), ds.is_null(p));
    }
    b.add(chunk);
  }
  const dataset_summary whole = summarize(ds), chunked = b.result();
  EXPECT_EQ(chunked.playlists, whole.playlists);
  EXPECT_EQ(chunked.empty_playlists, whole.empty_playlists);
  EXPECT_EQ(chunked.songs, whole.songs);
  EXPECT_EQ(chunked.min, whole.min);
  EXPECT_EQ(chunked.max, whole.max);
  EXPECT_EQ(chunked.mean, whole.mean) << "accumulated in the same order";
}

TEST(Summary, NoSongs) {
  dataset ds;
  ds.add_playlist("a", {{1}}, nullptr, 0, true);
  ds.add_playlist("b", {{2}, {3}}, nullptr, 0, false);
  const dataset_summary s = summarize(ds);
  EXPECT_EQ(s.playlists, 2u);
  EXPECT_EQ(s.empty_playlists, 2u);
  EXPECT_EQ(s.songs, 0u);
  EXPECT_EQ(s.segments, 3u);
  EXPECT_EQ(s.dim, 0u);
  EXPECT_TRUE(s.min.empty());
  EXPECT_TRUE(s.mean.empty());
  EXPECT_TRUE(s.max.empty());
  EXPECT_EQ(summarize(dataset{}).playlists, 0u);
}

TEST(Summary, RejectsChunksOfDifferentDimensions) {
  summary_builder b;
  b.add(random_dataset(10, 3, 1));
  EXPECT_THROW(b.add(random_dataset(10, 4, 1)), usage_error);
}

TEST(Summary, CsvFileMatchesInMemory) {
  const dataset ds = random_dataset(2000, 11, 99);
  const std::string path = ::testing::TempDir() + "playaug_test_summary.csv";
  write_csv(path, ds);
  const dataset_summary s = summarize_csv(path);
  std::remove(path.c_str());
  expect_matches(s, ds);
}

TEST(Summary, CsvErrorsNameFileAndLine) {
  const std::string path = ::testing::TempDir() + "playaug_test_summary_bad.csv";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs(",moods_states,features\nok1,\"[[1]]\",\"[[0.5, 2]]\"\nbad2,\"[[1]]\",\"[[0.5, oops]]\"\n", f);
    std::fclose(f);
  }
  try {
    summarize_csv(path);
    ADD_FAILURE() << "expected a data_error";
  } catch (const data_error& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(e.line(), 3u);
    EXPECT_EQ(e.playlist(), "bad2");
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace playaug
