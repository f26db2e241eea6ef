// requery() with the catalog backend: targets, no-repeat rule, [null] playlists, chunking;
// the built-in genres and seed validation.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "playaug/catalog.hpp"
#include "playaug/error.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/random.hpp"
#include "playaug/requery.hpp"
#include "test_support.hpp"

namespace {

using namespace playaug;

// Realistic songs: perturbed rows of the synthetic catalog, in playlists of 1..9 songs, one
// [null] playlist, one playlist repeating the same song.
dataset make_input(const track_catalog& cat, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> j(-0.1f, 0.1f);
  dataset ds;
  ds.dim = 11;
  ds.schema = feature_schema::spotify();
  for (int p = 0; p < 12; ++p) {
    if (p == 4) {
      ds.add_playlist("empty" + std::to_string(p), {{3}}, nullptr, 0, true);
      continue;
    }
    const std::size_t n = p == 7 ? 6 : 1 + rng() % 9;
    std::vector<float> f;
    for (std::size_t s = 0; s < n; ++s) {
      const float* src = cat.features.data() + (rng() % cat.size()) * 11;
      for (int k = 0; k < 11; ++k) {
        float v = src[k];
        if (k != 4 && k != 7) v *= 1.0f + j(rng);
        if (v > 1.0f && k != 4 && k != 6 && k != 9) v = 1.0f;
        f.push_back(v);
      }
      if (p == 7) {  // the same song six times
        f.resize(11);
        for (std::size_t r = 1; r < n; ++r) f.insert(f.end(), f.begin(), f.begin() + 11);
        break;
      }
    }
    ds.add_playlist("pl" + std::to_string(p), {{p % 5}, {(p + 1) % 5, 2}}, f.data(), f.size() / 11);
  }
  return ds;
}

// Squared float64 standardised distance.
double dist(const nn_scaler& sc, const float* a, const float* b) {
  double s = 0;
  for (int k = 0; k < 11; ++k) {
    const double d = ((a[k] - sc.mean[k]) - (b[k] - sc.mean[k])) / sc.sd[k];
    s += d * d;
  }
  return s;
}

TEST(Requery, CatalogBackendPicksTheNearestUnusedTrackForEachTarget) {
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  const dataset in = make_input(cat, 42);
  resources res(backend::cpu, 2);
  catalog_recommender rec(cat);
  requery_params prm;
  prm.seed = 7;
  prm.protuberance = 0.15f;
  const dataset out = requery(res, in, rec, prm);
  out.validate();

  // Targets, computed independently of requery(): protuberance from the requery stream.
  dataset targets = in;
  protuberance_params pp;
  pp.p = 0.15f;
  pp.phi = 1.0f;
  pp.seed = 7;
  pp.stream = purpose::requery;
  protuberance(res, targets.feature_matrix(), {targets.song_offsets.data(), targets.song_offsets.size()},
               feature_schema::spotify(), pp, 0, 0);

  const nn_scaler sc = nn_scaler::fit(cat.feature_matrix());
  ASSERT_EQ(out.playlists(), in.playlists());
  ASSERT_EQ(out.track_ids.size(), in.songs());
  for (std::size_t p = 0; p < in.playlists(); ++p) {
    EXPECT_EQ(out.ids[p], in.ids[p] + "#rq");
    EXPECT_EQ(out.is_null(p), in.is_null(p));
    ASSERT_EQ(out.song_count(p), in.song_count(p));
    std::set<std::string> used;
    for (std::uint64_t s = in.song_offsets[p]; s < in.song_offsets[p + 1]; ++s) {
      // Key and mode are kept; the target moved.
      EXPECT_EQ(targets.features[s * 11 + 4], in.features[s * 11 + 4]);
      EXPECT_EQ(targets.features[s * 11 + 7], in.features[s * 11 + 7]);
      const std::string& id = out.track_ids[s];
      EXPECT_TRUE(used.insert(id).second) << "track " << id << " repeated in playlist " << p;
      // The output features are the chosen catalog track's.
      std::size_t row = cat.size();
      double best_unused = std::numeric_limits<double>::infinity();
      for (std::size_t r = 0; r < cat.size(); ++r) {
        if (cat.ids[r] == id && std::memcmp(cat.features.data() + r * 11, out.features.data() + s * 11, 44) == 0) {
          row = r;
        }
        if (used.count(cat.ids[r]) == 0 || cat.ids[r] == id) {
          best_unused = std::min(best_unused, dist(sc, targets.features.data() + s * 11, cat.features.data() + r * 11));
        }
      }
      ASSERT_LT(row, cat.size()) << "song " << s << " got features of no catalog row of " << id;
      const double d = dist(sc, targets.features.data() + s * 11, cat.features.data() + row * 11);
      EXPECT_LE(d, best_unused + 1e-4 * (1 + best_unused)) << "song " << s;
    }
  }
  // Moods are kept.
  EXPECT_EQ(out.moods, in.moods);
  EXPECT_EQ(out.segment_offsets, in.segment_offsets);
  EXPECT_EQ(out.mood_offsets, in.mood_offsets);
}

TEST(Requery, AllowRepeatsLetsIdenticalSongsShareATrack) {
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  dataset in = make_input(cat, 1);
  resources res(backend::cpu);
  catalog_recommender rec(cat);
  requery_params prm;
  prm.protuberance = 0.0f;  // targets are the songs themselves
  const std::size_t p7 = 7;
  const dataset distinct = requery(res, in, rec, prm);
  prm.allow_repeats = true;
  const dataset repeats = requery(res, in, rec, prm);
  std::set<std::string> a, b;
  for (auto s = in.song_offsets[p7]; s < in.song_offsets[p7 + 1]; ++s) {
    a.insert(distinct.track_ids[s]);
    b.insert(repeats.track_ids[s]);
  }
  EXPECT_EQ(a.size(), in.song_count(p7));
  EXPECT_EQ(b.size(), 1u);
  // With p = 0 every first song gets the nearest track to itself either way.
  EXPECT_EQ(distinct.track_ids[in.song_offsets[p7]], repeats.track_ids[in.song_offsets[p7]]);
}

TEST(Requery, ChunksAndThreadCountsGiveTheSameResult) {
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  const dataset in = make_input(cat, 5);
  catalog_recommender rec(cat);
  requery_params prm;
  prm.seed = 99;
  resources one(backend::cpu, 1), four(backend::cpu, 4);
  const dataset whole = requery(one, in, rec, prm);
  EXPECT_EQ(requery(four, in, rec, prm), whole);

  // Playlists 0..5 and 6..11 as two chunks.
  auto slice = [&](std::size_t from, std::size_t to) { return test::playlist_slice(in, from, to); };
  const dataset a = requery(four, slice(0, 6), rec, prm, 0);
  const dataset b = requery(four, slice(6, 12), rec, prm, 6);
  std::vector<std::string> ids(a.track_ids);
  ids.insert(ids.end(), b.track_ids.begin(), b.track_ids.end());
  EXPECT_EQ(ids, whole.track_ids);
  // A different seed moves the targets.
  prm.seed = 100;
  EXPECT_NE(requery(one, in, rec, prm).track_ids, whole.track_ids);
}

TEST(Requery, ReportsProgressForEverySong) {
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  const dataset in = make_input(cat, 8);
  catalog_recommender rec(cat);
  for (bool repeats : {false, true}) {
    requery_params prm;
    prm.allow_repeats = repeats;
    std::uint64_t songs = 0;
    prm.on_progress = [&](std::uint64_t n, std::uint64_t) { songs += n; };
    requery(resources(backend::cpu), in, rec, prm);
    EXPECT_EQ(songs, in.songs());
  }
}

TEST(Requery, RefusesPlaylistsLongerThanTheCatalogWithoutRepeats) {
  track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  catalog_recommender rec(cat, {"sleep"});
  dataset in;
  in.dim = 11;
  std::vector<float> f;
  for (std::size_t i = 0; i < rec.index().distinct_tracks() + 1; ++i) f.insert(f.end(), cat.features.begin(), cat.features.begin() + 11);
  in.add_playlist("long", {{1}}, f.data(), f.size() / 11);
  requery_params prm;
  try {
    requery(resources(backend::cpu), in, rec, prm);
    ADD_FAILURE() << "no error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("playlist 'long'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--allow-repeats"), std::string::npos) << e.what();
  }
  prm.allow_repeats = true;
  const dataset out = requery(resources(backend::cpu), in, rec, prm);
  EXPECT_EQ(out.track_ids.size(), f.size() / 11);
}

TEST(Requery, ValidatesParametersAndShape) {
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  catalog_recommender rec(cat);
  dataset in = make_input(cat, 3);
  requery_params prm;
  prm.protuberance = 1.0f;
  EXPECT_THROW(requery(resources(backend::cpu), in, rec, prm), usage_error);
  prm.protuberance = std::nanf("");
  EXPECT_THROW(requery(resources(backend::cpu), in, rec, prm), usage_error);
  dataset d3;
  d3.dim = 3;
  const float f[3] = {1, 2, 3};
  d3.add_playlist("x", {{1}}, f, 1);
  EXPECT_THROW(requery(resources(backend::cpu), d3, rec, requery_params{}), usage_error);
  // Only [null] playlists: passed through.
  dataset nulls;
  nulls.add_playlist("n", {{1}}, nullptr, 0, true);
  const dataset out = requery(resources(backend::cpu), nulls, rec, requery_params{});
  EXPECT_EQ(out.ids[0], "n#rq");
  EXPECT_TRUE(out.is_null(0));
}

// ---------------------------------------------------------------------------------------
// Genres and seeds
// ---------------------------------------------------------------------------------------

TEST(Genres, BuiltinEqualsDataGenresJsonAndTheNotebook) {
  const genre_seeds file = genre_seeds::read(test::source_dir() + "/data/genres.json");
  const genre_seeds built = genre_seeds::builtin();
  const std::vector<std::string> expect = {"acoustic", "blues", "country", "edm",   "indie", "pop",  "r-n-b",
                                           "reggae",   "rock",  "sleep",   "soundtracks", "study", "summer"};
  EXPECT_EQ(file.names(), expect);
  EXPECT_EQ(built.names(), expect);
  for (const auto& g : expect) {
    const seed_set a = file.select({g}), b = built.select({g});
    EXPECT_EQ(a.artists, b.artists) << g;
    EXPECT_EQ(a.tracks, b.tracks) << g;
    EXPECT_EQ(a.genres, (std::vector<std::string>{g}));
    EXPECT_EQ(b.genres, a.genres);
  }
  // Facts from the notebook.
  const seed_set pop = built.select({"pop"});
  EXPECT_EQ(pop.artists, (std::vector<std::string>{"66CXWjxzNUsdJxJ2JdwvnR"}));
  EXPECT_EQ(pop.tracks, (std::vector<std::string>{"6PQ88X9TkUIAUIZJHW2upE", "3BZEcbdtXQSo7OrvKRJ6mb"}));
  const seed_set edm = built.select({"edm"});
  EXPECT_EQ(edm.artists, (std::vector<std::string>{"7CajNmpbOovFoOoasH2HaY", "1vCWHaC5f2uS3yhpwWbIA6"}));
  EXPECT_EQ(edm.tracks, (std::vector<std::string>{"2P4OICZRVAQcYAV2JReRfj"}));
}

TEST(Genres, SelectionMergesAndValidatesSeeds) {
  const genre_seeds g = genre_seeds::builtin();
  const seed_set two = g.select({"blues", "edm"});  // 1+1+1 and 2+1+1 -> 7 seeds
  EXPECT_EQ(two.size(), 7u);
  EXPECT_THROW(two.validate(), usage_error);
  const seed_set same = g.select({"edm", "summer"});  // Calvin Harris once
  EXPECT_EQ(same.artists.size(), 2u);
  EXPECT_THROW(g.select({"polka"}), usage_error);
  seed_set bad;
  bad.artists = {"not an id!"};
  EXPECT_THROW(bad.validate(), usage_error);
  EXPECT_THROW(seed_set{}.validate(), usage_error);
  bad.artists.clear();
  bad.genres = {"Pop"};
  EXPECT_THROW(bad.validate(), usage_error);
}

TEST(Genres, ParseErrorsNameTheFile) {
  EXPECT_THROW(genre_seeds::parse("{", "g.json"), data_error);
  EXPECT_THROW(genre_seeds::parse("[]", "g.json"), data_error);
  EXPECT_THROW(genre_seeds::parse(R"({"x": {"artists": [1]}})", "g.json"), data_error);
  EXPECT_THROW(genre_seeds::parse(R"({"x": {"albums": []}})", "g.json"), data_error);
  EXPECT_THROW(genre_seeds::parse(R"({"x": {"tracks": ["a","b","c","d","e","f"]}})", "g.json"), data_error);
  try {
    genre_seeds::parse(R"({"x": {}})", "g.json");
    ADD_FAILURE();
  } catch (const data_error& e) {
    EXPECT_EQ(e.file(), "g.json");
  }
  const genre_seeds ok = genre_seeds::parse(R"({"mine": {"artists": ["abc"], "tracks": [{"id": "def", "name": "x"}]}})");
  EXPECT_EQ(ok.select({"mine"}).size(), 2u);
}

}  // namespace
