// The catalog reader and the exact nearest-neighbour search of requery, against numpy
// references (tests/fixtures/requery, made by scripts/make_nn_fixture.py) and float64
// brute force computed here.

#include <gtest/gtest.h>

#include <algorithm>
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
#include "playaug/requery.hpp"
#include "cpu_impl.hpp"
#include "test_support.hpp"

namespace {

using namespace playaug;
using json = nlohmann::json;

json load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return json::parse(in);
}

std::vector<float> flat_queries(const json& qs) {
  std::vector<float> out;
  for (const auto& q : qs) {
    EXPECT_EQ(q.size(), nn_dim);
    for (const auto& v : q) out.push_back(static_cast<float>(v.get<double>()));
  }
  return out;
}

// Standardise and search `raw` queries ([n x 11]) with `res` against `index`; catalog rows.
std::vector<long> search_rows(const resources& res, const catalog_index& index, const std::vector<float>& raw,
                              cpu_impl::nn_path path = cpu_impl::nn_path::automatic) {
  const std::size_t n = raw.size() / nn_dim;
  std::vector<float> z(raw.size());
  index.scaler().apply({raw.data(), n, nn_dim}, {z.data(), n, nn_dim});
  std::vector<nn_hit> hits(n);
  if (path == cpu_impl::nn_path::automatic) {
    nearest(res, index.prepared(), {z.data(), n, nn_dim}, {}, {hits.data(), n});
  } else {
    cpu_impl::nearest(res, index.prepared(), {z.data(), n, nn_dim}, {}, {hits.data(), n}, path);
  }
  std::vector<long> rows;
  for (const auto& h : hits) rows.push_back(h.row < 0 ? -1 : static_cast<long>(index.catalog_row(h.row)));
  return rows;
}

// A dataset of playlists whose song features are the given raw queries.
dataset playlists_of(const json& pls) {
  dataset ds;
  ds.dim = nn_dim;
  ds.schema = feature_schema::spotify();
  int i = 0;
  for (const auto& pl : pls) {
    const std::vector<float> f = flat_queries(pl["queries"]);
    ds.add_playlist("pl" + std::to_string(i++), {{1}}, f.data(), f.size() / nn_dim);
  }
  return ds;
}

void expect_playlists(const track_catalog& cat, const json& pls, const dataset& got) {
  ASSERT_EQ(got.track_ids.size(), got.songs());
  std::size_t s = 0;
  for (std::size_t p = 0; p < pls.size(); ++p) {
    for (const auto& row : pls[p]["rows"]) {
      const auto r = row.get<std::size_t>();
      EXPECT_EQ(got.track_ids[s], cat.ids[r]) << "playlist " << p << " song " << s;
      for (std::size_t k = 0; k < nn_dim; ++k) {
        EXPECT_EQ(got.features[s * nn_dim + k], cat.features[r * nn_dim + k]) << "song " << s << " feature " << k;
      }
      ++s;
    }
  }
  EXPECT_EQ(s, got.songs());
}

// ---------------------------------------------------------------------------------------
// Reading catalogs
// ---------------------------------------------------------------------------------------

TEST(CatalogReader, ReadsThe114kLayoutWithQuotedCommasAndDuplicates) {
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  const json ref = load_json(test::fixture("requery/nn_synthetic.json"));
  ASSERT_EQ(cat.size(), ref["tracks"].get<std::size_t>());
  ASSERT_TRUE(cat.has_genres());
  const std::set<std::string> genres(cat.genres.begin(), cat.genres.end());
  EXPECT_EQ(genres, (std::set<std::string>{"acoustic", "edm", "pop", "rock", "sleep"}));
  // Lines: header on line 1, one record per line (CRLF).
  EXPECT_EQ(cat.lines.front(), 2u);
  EXPECT_EQ(cat.lines.back(), cat.size() + 1);
  // The standardisation matches numpy's float64 mean and population sd.
  const nn_scaler sc = nn_scaler::fit(cat.feature_matrix());
  for (std::size_t k = 0; k < nn_dim; ++k) {
    EXPECT_NEAR(sc.mean[k], ref["mean"][k].get<double>(), 1e-9 * (1 + std::fabs(sc.mean[k])));
    EXPECT_NEAR(sc.sd[k], ref["sd"][k].get<double>(), 1e-9 * (1 + sc.sd[k]));
  }
}

TEST(CatalogReader, MapsColumnsByNameInAnyOrder) {
  const std::string text =
      "\xEF\xBB\xBFname,valence,tempo,speechiness,mode,loudness,liveness,key,instrumentalness,energy,"
      "danceability,acousticness,id,genre,extra\r\n"
      "\"Song, with \"\"comma\"\"\",0.1,120,0.2,1,-5.5,0.3,7,1e-05,0.4,0.5,0.6,abc,pop,x\r\n"
      "\"multi\nline\",0.9,90.5,0.05,0,-10,0.2,-1,0,0.8,0.7,0.01, def ,rock,y";
  const track_catalog cat = parse_catalog(text, "mem.csv");
  ASSERT_EQ(cat.size(), 2u);
  EXPECT_EQ(cat.ids[0], "abc");
  EXPECT_EQ(cat.ids[1], "def");
  EXPECT_EQ(cat.genres[1], "rock");
  const float expect0[11] = {0.6f, 0.5f, 0.4f, 1e-05f, 7.0f, 0.3f, -5.5f, 1.0f, 0.2f, 120.0f, 0.1f};
  for (int k = 0; k < 11; ++k) EXPECT_EQ(cat.features[k], expect0[k]) << k;
  EXPECT_EQ(cat.features[11 + 9], 90.5f);
  EXPECT_EQ(cat.lines[1], 3u);
}

TEST(CatalogReader, PrefersTrackIdOverIdAndTrackGenreOverGenre) {
  const std::string text =
      "id,track_id,genre,track_genre,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,"
      "mode,speechiness,tempo,valence\n"
      "x,T1,a,b,0,0,0,0,0,0,0,0,0,100,0\n";
  const track_catalog cat = parse_catalog(text);
  EXPECT_EQ(cat.ids[0], "T1");
  EXPECT_EQ(cat.genres[0], "b");
}

TEST(CatalogReader, ErrorsNameFileAndLine) {
  const std::string head =
      "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,"
      "valence\n";
  auto fails = [](const std::string& text, std::uint64_t line, const std::string& part) {
    try {
      parse_catalog(text, "cat.csv");
      ADD_FAILURE() << "no error for: " << text;
    } catch (const data_error& e) {
      EXPECT_EQ(e.file(), "cat.csv");
      EXPECT_EQ(e.line(), line) << e.what();
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  fails("", 0, "empty");
  fails(head, 0, "no tracks");
  fails("id,acousticness\n1,0\n", 1, "missing feature column(s) in the header: danceability");
  fails("name,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence\n",
        1, "no track id column");
  fails(head + "a,0,0,0,0,0,0,0,0,0,100,0\nb,0,0,0,0,0,0,0,0,0,100\n", 3, "expected 12 fields");
  fails(head + "a,0,0,0,0,0,0,0,0,0,100,0\n\"b\nc\",0,0,0,0,0,0,0,0,0,1e99,0\n", 3, "tempo is not a finite number");
  fails(head + "a,0,0,0,0,0,0,0,0,0,nan,0\n", 2, "tempo");
  fails(head + "a,0,0,0,0,x,0,0,0,0,100,0\n", 2, "key");
  fails(head + "a,0,0,0,0,,0,0,0,0,100,0\n", 2, "key");
  fails(head + ",0,0,0,0,0,0,0,0,0,100,0\n", 2, "empty track id");
  fails(head + "\"a,0,0,0,0,0,0,0,0,0,100,0\n", 2, "unterminated");
  fails(head + "\"a\"b,0,0,0,0,0,0,0,0,0,100,0\n", 2, "after a closing quote");
  fails("track_id,id,track_id,acousticness\n", 1, "appears twice");
  EXPECT_THROW(read_catalog("/nonexistent/catalog.csv"), data_error);
}

// ---------------------------------------------------------------------------------------
// Nearest neighbour against numpy
// ---------------------------------------------------------------------------------------

class NearestFixture : public ::testing::TestWithParam<int> {};

TEST_P(NearestFixture, SyntheticCatalogMatchesNumpy) {
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  const json ref = load_json(test::fixture("requery/nn_synthetic.json"));
  resources res(backend::cpu, GetParam());
  const catalog_index all(cat);
  const auto q = flat_queries(ref["all"]["queries"]);
  const auto rows = search_rows(res, all, q);
  ASSERT_EQ(rows.size(), ref["all"]["rows"].size());
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], ref["all"]["rows"][i].get<long>()) << "query " << i;

  const catalog_index filt(cat, ref["genres"].get<std::vector<std::string>>());
  const auto qf = flat_queries(ref["filtered"]["queries"]);
  const auto rf = search_rows(res, filt, qf);
  for (std::size_t i = 0; i < rf.size(); ++i) {
    EXPECT_EQ(rf[i], ref["filtered"]["rows"][i].get<long>()) << "filtered query " << i;
  }
}

TEST_P(NearestFixture, SyntheticPlaylistsWithoutRepeatsMatchNumpy) {
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  const json ref = load_json(test::fixture("requery/nn_synthetic.json"));
  resources res(backend::cpu, GetParam());
  requery_params prm;
  {
    catalog_recommender rec(cat);
    dataset ds = playlists_of(ref["all"]["playlists"]);
    rec.recommend(res, ds, prm);
    expect_playlists(cat, ref["all"]["playlists"], ds);
    EXPECT_GT(rec.last_rounds(), 1u);  // the fixture forces second choices
  }
  {
    catalog_recommender rec(cat, ref["genres"].get<std::vector<std::string>>());
    dataset ds = playlists_of(ref["filtered"]["playlists"]);
    rec.recommend(res, ds, prm);
    expect_playlists(cat, ref["filtered"]["playlists"], ds);
  }
}

TEST_P(NearestFixture, Top2018MatchesNumpy) {
  const std::string path = test::shared_data("top2018.csv");
  if (!std::ifstream(path).good()) GTEST_SKIP() << "shared data not found: " << path;
  const track_catalog cat = read_catalog(path);
  const json ref = load_json(test::fixture("requery/nn_top2018.json"));
  ASSERT_EQ(cat.size(), ref["tracks"].get<std::size_t>());
  EXPECT_FALSE(cat.has_genres());
  resources res(backend::cpu, GetParam());
  const catalog_index index(cat);
  for (std::size_t k = 0; k < nn_dim; ++k) {
    EXPECT_NEAR(index.scaler().mean[k], ref["mean"][k].get<double>(), 1e-9 * (1 + std::fabs(ref["mean"][k].get<double>())));
    EXPECT_NEAR(index.scaler().sd[k], ref["sd"][k].get<double>(), 1e-9 * (1 + ref["sd"][k].get<double>()));
  }
  const auto rows = search_rows(res, index, flat_queries(ref["all"]["queries"]));
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], ref["all"]["rows"][i].get<long>()) << "query " << i;

  catalog_recommender rec(cat);
  dataset ds = playlists_of(ref["all"]["playlists"]);
  rec.recommend(res, ds, requery_params{});
  expect_playlists(cat, ref["all"]["playlists"], ds);
}

INSTANTIATE_TEST_SUITE_P(Threads, NearestFixture, ::testing::Values(1, 3));

// ---------------------------------------------------------------------------------------
// Nearest neighbour against a float64 brute force, and the engine's own invariants
// ---------------------------------------------------------------------------------------

// A random catalog with many exact duplicates (ties).
track_catalog random_catalog(std::size_t m, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  track_catalog cat;
  cat.name = "random";
  for (std::size_t i = 0; i < m; ++i) {
    float row[11];
    if (i > 4 && rng() % 5 == 0) {
      std::memcpy(row, cat.features.data() + (rng() % i) * 11, sizeof row);
    } else {
      for (float& v : row) v = unit(rng);
      row[4] = static_cast<float>(rng() % 12);
      row[6] = -60.0f * unit(rng);
      row[7] = static_cast<float>(rng() % 2);
      row[9] = 60.0f + 140.0f * unit(rng);
    }
    cat.ids.push_back("t" + std::to_string(i));
    cat.features.append(row, row + 11);
    cat.lines.push_back(i + 2);
  }
  return cat;
}

std::vector<float> random_queries(std::size_t n, std::uint32_t seed, const track_catalog& cat) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> jitter(-0.2f, 0.2f);
  std::vector<float> q(n * 11);
  for (std::size_t i = 0; i < n; ++i) {
    const float* src = cat.features.data() + (rng() % cat.size()) * 11;
    for (int k = 0; k < 11; ++k) q[i * 11 + k] = src[k] * (1.0f + (i % 3 == 0 ? 0.0f : jitter(rng)));
  }
  return q;
}

TEST(Nearest, WithinRoundingOfFloat64BruteForceAndExactOnTies) {
  for (const std::size_t m : {1u, 7u, 8u, 9u, 511u, 512u, 513u, 3001u}) {
    const track_catalog cat = random_catalog(m, 17 + static_cast<std::uint32_t>(m));
    const catalog_index index(cat);
    const auto q = random_queries(67, 5, cat);
    resources res(backend::cpu, 2);
    const auto rows = search_rows(res, index, q);
    const nn_scaler& sc = index.scaler();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      ASSERT_GE(rows[i], 0);
      double best = std::numeric_limits<double>::infinity();
      long best_row = -1;
      std::vector<double> d(m);
      for (std::size_t r = 0; r < m; ++r) {
        double s = 0;
        for (int k = 0; k < 11; ++k) {
          const double a = (q[i * 11 + k] - sc.mean[k]) / sc.sd[k];
          const double b = (cat.features[r * 11 + k] - sc.mean[k]) / sc.sd[k];
          s += (a - b) * (a - b);
        }
        d[r] = s;
        if (s < best) {
          best = s;
          best_row = static_cast<long>(r);
        }
      }
      // The answer is within float32 rounding of the true minimum ...
      EXPECT_LE(d[static_cast<std::size_t>(rows[i])], best + 1e-4 * (1.0 + best)) << "m " << m << " query " << i;
      // ... and among rows with identical features the lowest one wins.
      const float* chosen = cat.features.data() + rows[i] * 11;
      for (long r = 0; r < rows[i]; ++r) {
        EXPECT_NE(std::memcmp(cat.features.data() + r * 11, chosen, 11 * sizeof(float)), 0)
            << "row " << r << " duplicates the chosen row " << rows[i];
      }
      (void)best_row;
    }
  }
}

TEST(Nearest, ScalarAndAvx2PathsAndThreadCountsAgreeBitForBit) {
  const track_catalog cat = random_catalog(2049, 3);
  const catalog_index index(cat);
  const auto q = random_queries(301, 9, cat);
  resources one(backend::cpu, 1), many(backend::cpu, 4);
  const auto a = search_rows(one, index, q, cpu_impl::nn_path::scalar);
  EXPECT_EQ(a, search_rows(many, index, q, cpu_impl::nn_path::scalar));
  if (cpu_impl::nearest_avx2_available()) {
    EXPECT_EQ(a, search_rows(one, index, q, cpu_impl::nn_path::avx2));
    EXPECT_EQ(a, search_rows(many, index, q, cpu_impl::nn_path::avx2));
  }
}

TEST(Nearest, ScoreIsTheFusedChainInOrder) {
  // nn_score against an explicit float64-free reference: fma in order from the norm.
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int rep = 0; rep < 1000; ++rep) {
    float m2z[11], t[12];
    for (float& v : m2z) v = u(rng);
    for (float& v : t) v = u(rng);
    float acc = t[11];
    for (int k = 0; k < 11; ++k) acc = std::fma(m2z[k], t[k], acc);
    EXPECT_EQ(nn_score(m2z, t), acc);
  }
}

TEST(Nearest, WalkingFloorsVisitsEveryRowInScoreThenRowOrder) {
  const track_catalog cat = random_catalog(300, 11);
  const catalog_index index(cat);
  const auto raw = random_queries(3, 2, cat);
  for (const auto path : {cpu_impl::nn_path::scalar, cpu_impl::nn_path::avx2}) {
    if (path == cpu_impl::nn_path::avx2 && !cpu_impl::nearest_avx2_available()) continue;
    resources res(backend::cpu, 2);
    std::vector<float> z(raw.size());
    index.scaler().apply({raw.data(), 3, nn_dim}, {z.data(), 3, nn_dim});
    std::vector<nn_hit> floor(3, nn_hit{-std::numeric_limits<float>::infinity(), -1});
    std::vector<std::set<int>> seen(3);
    for (std::size_t step = 0; step < index.size(); ++step) {
      std::vector<nn_hit> hit(3);
      cpu_impl::nearest(res, index.prepared(), {z.data(), 3, nn_dim}, {floor.data(), 3}, {hit.data(), 3}, path);
      for (int i = 0; i < 3; ++i) {
        ASSERT_GE(hit[i].row, 0);
        ASSERT_TRUE(nn_before(floor[i], hit[i]));  // strictly increasing order
        ASSERT_TRUE(seen[i].insert(hit[i].row).second);
        floor[i] = hit[i];
      }
    }
    std::vector<nn_hit> hit(3);
    cpu_impl::nearest(res, index.prepared(), {z.data(), 3, nn_dim}, {floor.data(), 3}, {hit.data(), 3}, path);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(hit[i].row, -1);  // exhausted
  }
}

TEST(Nearest, ValidatesShapes) {
  resources res(backend::cpu);
  std::vector<float> cat(24), q(11);
  std::vector<nn_hit> out(1), bad(2);
  EXPECT_THROW(nearest(res, {cat.data(), 2, 11}, {q.data(), 1, 11}, {}, {out.data(), 1}), usage_error);
  EXPECT_THROW(nearest(res, {cat.data(), 2, 12}, {q.data(), 1, 10}, {}, {out.data(), 1}), usage_error);
  EXPECT_THROW(nearest(res, {cat.data(), 2, 12}, {q.data(), 1, 11}, {}, {bad.data(), 2}), usage_error);
  EXPECT_THROW(nearest(res, {cat.data(), 2, 12}, {q.data(), 1, 11}, {bad.data(), 2}, {out.data(), 1}), usage_error);
  EXPECT_THROW(nearest(res, {cat.data(), 2, 12, memory_space::device}, {q.data(), 1, 11}, {}, {out.data(), 1}),
               usage_error);
  // An empty catalog answers "none".
  nearest(res, {cat.data(), 0, 12}, {q.data(), 1, 11}, {}, {out.data(), 1});
  EXPECT_EQ(out[0].row, -1);
}

TEST(CatalogIndex, GenreFilterAndDistinctTracks) {
  track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  const catalog_index pop(cat, {"pop"});
  for (std::size_t i = 0; i < pop.size(); ++i) EXPECT_EQ(cat.genres[pop.catalog_row(i)], "pop");
  const catalog_index all(cat);
  EXPECT_EQ(all.size(), cat.size());
  EXPECT_EQ(all.distinct_tracks(), std::set<std::string>(cat.ids.begin(), cat.ids.end()).size());
  EXPECT_LT(all.distinct_tracks(), cat.size());  // the fixture lists some tracks twice
  EXPECT_THROW(catalog_index(cat, {"polka"}), usage_error);
  cat.genres.clear();
  EXPECT_THROW(catalog_index(cat, {"pop"}), usage_error);
}

}  // namespace
