// The no-repeat rule of the catalog recommender on catalogs with many rows per track id:
// against a brute-force reference of the rule (song r takes the first row in (score, row)
// order whose id no earlier song of its playlist has), with a bounded number of search
// rounds whatever the number of duplicate rows.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/dataset.hpp"
#include "playaug/requery.hpp"
#include "playaug/resources.hpp"

namespace {

using namespace playaug;

/// `rows` tracks over `ids` distinct ids (row i has id i % ids), random features; the
/// `exact_copies` rows after each of the first rows repeat that row's id and features.
track_catalog duplicate_catalog(std::size_t rows, std::size_t ids, std::size_t exact_copies, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), loud(-30.0f, -2.0f), tempo(60.0f, 200.0f);
  track_catalog cat;
  cat.name = "dups.csv";
  cat.features.resize(rows * nn_dim);
  for (std::size_t i = 0; i < rows; ++i) {
    cat.ids.push_back("t" + std::to_string(i % ids));
    cat.lines.push_back(i + 2);
    float* f = cat.features.data() + i * nn_dim;
    for (std::size_t k = 0; k < nn_dim; ++k) f[k] = unit(gen);
    f[4] = static_cast<float>(static_cast<int>(unit(gen) * 11.0f));
    f[6] = loud(gen);
    f[7] = unit(gen) < 0.5f ? 0.0f : 1.0f;
    f[9] = tempo(gen);
  }
  for (std::size_t c = 1; c <= exact_copies && c < rows; ++c) {
    cat.ids[c] = cat.ids[0];
    std::copy(cat.features.data(), cat.features.data() + nn_dim, cat.features.data() + c * nn_dim);
  }
  return cat;
}

dataset random_playlists(std::size_t playlists, std::size_t songs, unsigned seed) {
  const track_catalog src = duplicate_catalog(playlists * songs, playlists * songs, 0, seed);
  dataset ds;
  ds.dim = nn_dim;
  ds.schema = feature_schema::spotify();
  for (std::size_t p = 0; p < playlists; ++p) {
    ds.add_playlist("pl" + std::to_string(p), {{1}}, src.features.data() + p * songs * nn_dim, songs);
  }
  return ds;
}

/// The rule, by brute force over every candidate row with nn_score.
std::vector<std::size_t> reference_rows(const track_catalog& cat, const dataset& ds) {
  const catalog_index index(cat);
  std::vector<std::size_t> out;
  for (std::size_t p = 0; p < ds.playlists(); ++p) {
    std::vector<bool> used(index.distinct_tracks(), false);
    for (std::uint64_t s = ds.song_offsets[p]; s < ds.song_offsets[p + 1]; ++s) {
      float z[nn_dim], m2z[nn_dim];
      index.scaler().apply(ds.features.data() + s * nn_dim, z);
      for (std::size_t k = 0; k < nn_dim; ++k) m2z[k] = -2.0f * z[k];
      nn_hit best;
      for (std::size_t i = 0; i < index.size(); ++i) {
        if (used[index.track_key(i)]) continue;
        const nn_hit h{nn_score(m2z, index.prepared().data + i * nn_stride), static_cast<std::int32_t>(i)};
        if (nn_before(h, best)) best = h;
      }
      EXPECT_GE(best.row, 0);
      used[index.track_key(static_cast<std::size_t>(best.row))] = true;
      out.push_back(index.catalog_row(static_cast<std::size_t>(best.row)));
    }
  }
  return out;
}

void expect_rule(const track_catalog& cat, dataset ds, int threads, std::size_t max_rounds) {
  const std::vector<std::size_t> want = reference_rows(cat, ds);
  catalog_recommender rec(cat);
  rec.recommend(resources(backend::cpu, threads), ds, requery_params{});
  ASSERT_EQ(ds.track_ids.size(), want.size());
  for (std::size_t s = 0; s < want.size(); ++s) {
    EXPECT_EQ(ds.track_ids[s], cat.ids[want[s]]) << "song " << s;
    for (std::size_t k = 0; k < nn_dim; ++k) {
      ASSERT_EQ(ds.features[s * nn_dim + k], cat.features[want[s] * nn_dim + k]) << "song " << s << " feature " << k;
    }
  }
  EXPECT_LE(rec.last_rounds(), max_rounds);
}

TEST(RequeryRepeats, EightyThousandRowsOfTwentyIdsFollowTheRuleInFewRounds) {
  // One 20-song playlist over 20 ids of 4000 rows each: every song but the first moves
  // past thousands of rows of used ids.
  const track_catalog cat = duplicate_catalog(80000, 20, 0, 7);
  const auto t0 = std::chrono::steady_clock::now();
  expect_rule(cat, random_playlists(1, 20, 8), 2, 21);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("seconds_with_reference", std::to_string(s));
}

TEST(RequeryRepeats, ManyPlaylistsExactCopiesAndThreadCounts) {
  // 300 ids of 10 rows each, row 0's id and features copied into rows 1..40: playlists mix
  // stepping (ids of one row cannot occur here) and the filtered search, ties included.
  const track_catalog cat = duplicate_catalog(3000, 300, 40, 11);
  for (const int threads : {1, 3}) expect_rule(cat, random_playlists(25, 30, 12), threads, 31);
}

TEST(RequeryRepeats, DistinctIdsStillStepThroughCandidates) {
  // Every id once, and songs that all want the same few tracks: the stepping path.
  track_catalog cat = duplicate_catalog(500, 500, 0, 21);
  dataset ds = random_playlists(4, 12, 22);
  for (std::size_t s = 1; s < ds.songs(); ++s) {
    std::copy(ds.features.data(), ds.features.data() + nn_dim, ds.features.data() + s * nn_dim);
  }
  expect_rule(cat, ds, 2, 13);
}

}  // namespace
