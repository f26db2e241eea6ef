// requery_each_genre() with the catalog backend: one copy per genre in a fixed order,
// every track of a copy from its genre, each copy equal to a single-genre requery on the
// stream copy genre_copy_index(genre), copies independent of the other genres, counts
// checked against independent references, small genres left out, chunking; the copy
// index against published FNV-1a vectors.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/error.hpp"
#include "playaug/requery.hpp"
#include "test_support.hpp"

namespace {

using namespace playaug;

std::shared_ptr<const track_catalog> synthetic_catalog() {
  return std::make_shared<const track_catalog>(read_catalog(test::fixture("requery/synthetic_catalog.csv")));
}

// Songs near catalog rows (perturbed by up to 10 %), in playlists of 1..12 songs, a [null]
// playlist, and a playlist repeating one song (it forces second choices in every genre).
dataset make_input(const track_catalog& cat, std::uint32_t seed, int playlists = 14) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> j(-0.1f, 0.1f);
  dataset ds;
  ds.dim = 11;
  ds.schema = feature_schema::spotify();
  for (int p = 0; p < playlists; ++p) {
    if (p == 3) {
      ds.add_playlist("nul" + std::to_string(p), {{2}}, nullptr, 0, true);
      continue;
    }
    const std::size_t n = p == 5 ? 7 : 1 + rng() % 12;
    std::vector<float> f;
    const std::size_t fixed = rng() % cat.size();
    for (std::size_t s = 0; s < n; ++s) {
      const float* src = cat.features.data() + (p == 5 ? fixed : rng() % cat.size()) * 11;
      for (int k = 0; k < 11; ++k) {
        float v = src[k];
        if (k != 4 && k != 7 && p != 5) v *= 1.0f + j(rng);
        if (v > 1.0f && k != 4 && k != 6 && k != 9) v = 1.0f;
        f.push_back(v);
      }
    }
    ds.add_playlist("pl" + std::to_string(p), {{p % 5}, {(p + 2) % 7, 1}}, f.data(), n);
  }
  return ds;
}

// The rows of `ds` whose id ends in `suffix`, renamed to end in `as` instead.
dataset rows_with_suffix(const dataset& ds, const std::string& suffix, const std::string& as) {
  dataset out;
  out.dim = ds.dim;
  out.schema = ds.schema;
  for (std::size_t p = 0; p < ds.playlists(); ++p) {
    const std::string& id = ds.ids[p];
    if (id.size() < suffix.size() || id.compare(id.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::vector<std::vector<std::int32_t>> segs;
    for (auto s = ds.segment_offsets[p]; s < ds.segment_offsets[p + 1]; ++s) {
      segs.emplace_back(ds.moods.begin() + static_cast<long>(ds.mood_offsets[s]),
                        ds.moods.begin() + static_cast<long>(ds.mood_offsets[s + 1]));
    }
    out.add_playlist(id.substr(0, id.size() - suffix.size()) + as, segs,
                     ds.features.data() + ds.song_offsets[p] * ds.dim, ds.song_count(p), ds.is_null(p));
    out.track_ids.insert(out.track_ids.end(), ds.track_ids.begin() + static_cast<long>(ds.song_offsets[p]),
                         ds.track_ids.begin() + static_cast<long>(ds.song_offsets[p + 1]));
  }
  if (out.songs() == 0) out.track_ids.clear();
  return out;
}

std::vector<std::string> sorted_genres(const track_catalog& cat) {
  const std::set<std::string> s(cat.genres.begin(), cat.genres.end());
  return {s.begin(), s.end()};
}

TEST(EachGenre, CopyIndexIsFnv1aOfTheNameModulo2To24Minus1PlusOne) {
  // Published FNV-1a 64-bit vectors (Fowler, Noll, Vo: the FNV test suite).
  const std::map<std::string, std::uint64_t> fnv = {{"", 0xcbf29ce484222325ull},
                                                    {"a", 0xaf63dc4c8601ec8cull},
                                                    {"foobar", 0x85944171f73967e8ull}};
  for (const auto& [name, h] : fnv) {
    EXPECT_EQ(genre_copy_index(name), 1 + h % 16777215u) << "'" << name << "'";
  }
  // Never 0 (the plain requery stream), always below 2^24, and distinct for the genres a
  // user meets: the built-in table, the fixture catalog, the real tracks' catalog.
  std::vector<std::string> names = genre_seeds::builtin().names();
  for (const auto& g : sorted_genres(*synthetic_catalog())) names.push_back(g);
  for (const char* g : {"rap", "latin", "r&b", "hip hop", "k-pop", "música mexicana"}) names.push_back(g);
  std::map<std::uint32_t, std::string> seen;
  for (const auto& g : names) {
    const std::uint32_t c = genre_copy_index(g);
    EXPECT_GE(c, 1u);
    EXPECT_LT(c, 1u << 24);
    const auto [it, fresh] = seen.emplace(c, g);
    EXPECT_TRUE(fresh || it->second == g) << g << " and " << it->second << " share copy index " << c;
  }
}

TEST(EachGenre, EveryTrackOfACopyIsOfItsGenreAndCopiesComeInGenreOrder) {
  const auto cat = synthetic_catalog();
  const dataset in = make_input(*cat, 3);
  const genre_recommenders recs = genre_recommenders::from_catalog(cat);
  const std::vector<std::string> genres = sorted_genres(*cat);
  ASSERT_EQ(recs.genres(), genres);  // every genre of the catalog, in byte order
  requery_params prm;
  prm.seed = 21;
  requery_summary sum;
  const dataset out = requery_each_genre(resources(backend::cpu, 2), in, recs, prm, 0, &sum);
  out.validate();
  ASSERT_EQ(out.playlists(), in.playlists() * genres.size());
  ASSERT_EQ(out.track_ids.size(), out.songs());

  // (genre, track id) -> the feature rows the catalog has for it.
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> rows;
  for (std::size_t r = 0; r < cat->size(); ++r) rows[{cat->genres[r], cat->ids[r]}].push_back(r);
  for (std::size_t p = 0; p < in.playlists(); ++p) {
    for (std::size_t g = 0; g < genres.size(); ++g) {
      const std::size_t o = p * genres.size() + g;
      EXPECT_EQ(out.ids[o], in.ids[p] + "#rq-" + genres[g]);
      EXPECT_EQ(out.is_null(o), in.is_null(p));
      ASSERT_EQ(out.song_count(o), in.song_count(p));
      EXPECT_EQ(out.segment_offsets[o + 1] - out.segment_offsets[o], in.segment_offsets[p + 1] - in.segment_offsets[p]);
      std::set<std::string> used;
      for (std::size_t k = 0; k < out.song_count(o); ++k) {
        const std::size_t s = out.song_offsets[o] + k;
        const std::string& id = out.track_ids[s];
        EXPECT_TRUE(used.insert(id).second) << id << " repeated in " << out.ids[o];
        const auto it = rows.find({genres[g], id});
        ASSERT_NE(it, rows.end()) << id << " of " << out.ids[o] << " is not a " << genres[g] << " track";
        bool same = false;
        for (const std::size_t r : it->second) {
          same = same || std::memcmp(cat->features.data() + r * 11, out.features.data() + s * 11, 44) == 0;
        }
        EXPECT_TRUE(same) << "features of " << id << " in " << out.ids[o];
      }
    }
  }
  ASSERT_EQ(sum.genres, genres);
  EXPECT_EQ(sum.playlists, in.playlists());
}

TEST(EachGenre, EachCopyIsTheSingleGenreRequeryOnItsCopyIndex) {
  const auto cat = synthetic_catalog();
  const dataset in = make_input(*cat, 8);
  const genre_recommenders recs = genre_recommenders::from_catalog(cat);
  resources res(backend::cpu, 2);
  for (const float p : {0.0f, 0.15f}) {
    requery_params prm;
    prm.seed = 5;
    prm.protuberance = p;
    prm.copy = 77;  // not used by requery_each_genre
    const dataset all = requery_each_genre(res, in, recs, prm);
    for (const auto& g : recs.genres()) {
      catalog_recommender single(*cat, {g});
      requery_params one = prm;
      one.copy = genre_copy_index(g);
      const dataset expect = requery(res, in, single, one);
      EXPECT_TRUE(rows_with_suffix(all, "#rq-" + g, "#rq") == expect) << g << " p=" << p;
      // The plain `--genre g` run (copy 0) differs only by its stream: with p = 0 the
      // targets are the songs themselves and the copy is that run, row for row.
      one.copy = 0;
      const dataset plain = requery(res, in, single, one);
      if (p == 0.0f) {
        EXPECT_TRUE(plain == expect) << g;
      } else {
        EXPECT_NE(plain.track_ids, expect.track_ids) << g;
      }
    }
  }
}

TEST(EachGenre, ACopyDoesNotDependOnTheOtherGenresOrTheirOrder) {
  const auto cat = synthetic_catalog();
  const dataset in = make_input(*cat, 12);
  requery_params prm;
  prm.seed = 9;
  resources res(backend::cpu);
  const dataset all = requery_each_genre(res, in, genre_recommenders::from_catalog(cat), prm);
  const genre_recommenders two = genre_recommenders::from_catalog(cat, {"sleep", "edm", "sleep"});
  EXPECT_EQ(two.genres(), (std::vector<std::string>{"sleep", "edm"}));  // option order, repeats once
  const dataset some = requery_each_genre(res, in, two, prm);
  ASSERT_EQ(some.playlists(), 2 * in.playlists());
  for (std::size_t p = 0; p < in.playlists(); ++p) {
    EXPECT_EQ(some.ids[2 * p], in.ids[p] + "#rq-sleep");
    EXPECT_EQ(some.ids[2 * p + 1], in.ids[p] + "#rq-edm");
  }
  for (const std::string g : {"sleep", "edm"}) {
    EXPECT_TRUE(rows_with_suffix(all, "#rq-" + g, "") == rows_with_suffix(some, "#rq-" + g, "")) << g;
  }
}

TEST(EachGenre, CountsMatchTheFirstChoicesAndSmallGenresLeaveCopiesOut) {
  // The fixture catalog plus a genre of 4 distinct tracks (5 rows: one id twice).
  track_catalog base = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  for (std::size_t r = 0; r < 5; ++r) {
    base.ids.push_back(r == 4 ? "tiny0" : "tiny" + std::to_string(r));
    base.genres.push_back("tiny");
    const std::vector<float> row(base.features.data() + r * 11, base.features.data() + r * 11 + 11);
    base.features.append(row.data(), row.data() + 11);  // a copy: appending may move the buffer
    base.lines.push_back(0);
  }
  const auto cat = std::make_shared<const track_catalog>(std::move(base));
  const dataset in = make_input(*cat, 4, 20);
  const genre_recommenders recs = genre_recommenders::from_catalog(cat);
  requery_params prm;
  prm.seed = 3;
  resources res(backend::cpu, 2);
  std::uint64_t progress = 0;
  prm.on_progress = [&](std::uint64_t n, std::uint64_t) { progress += n; };
  requery_summary sum;
  const dataset out = requery_each_genre(res, in, recs, prm, 0, &sum);
  EXPECT_EQ(progress, in.songs() * recs.size());
  prm.on_progress = nullptr;

  std::uint64_t rows = 0;
  for (std::size_t g = 0; g < recs.size(); ++g) {
    const std::string& genre = recs.genres()[g];
    const std::size_t distinct = genre == "tiny" ? 4 : catalog_index(*cat, {genre}).distinct_tracks();
    // Independent counts: copies are the playlists with at most `distinct` songs; a song
    // fell back when its track is not the one it gets with repeats allowed (its nearest).
    requery_params first = prm;
    first.copy = genre_copy_index(genre);
    first.allow_repeats = true;
    catalog_recommender single(cat, {genre});
    const dataset nearest = requery(res, in, single, first);
    const dataset copy = rows_with_suffix(out, "#rq-" + genre, "#rq");
    requery_counts expect;
    std::size_t c = 0;
    for (std::size_t p = 0; p < in.playlists(); ++p) {
      if (in.song_count(p) > distinct) {
        ++expect.left_out;
        expect.failed += in.song_count(p);
        continue;
      }
      ASSERT_LT(c, copy.playlists());
      EXPECT_EQ(copy.ids[c], in.ids[p] + "#rq");
      ++expect.copies;
      expect.songs += in.song_count(p);
      for (std::size_t k = 0; k < in.song_count(p); ++k) {
        expect.fell_back += copy.track_ids[copy.song_offsets[c] + k] != nearest.track_ids[in.song_offsets[p] + k];
      }
      ++c;
    }
    EXPECT_EQ(c, copy.playlists()) << genre;
    EXPECT_TRUE(sum.per_genre[g] == expect)
        << genre << ": copies " << sum.per_genre[g].copies << "/" << expect.copies << ", fell back "
        << sum.per_genre[g].fell_back << "/" << expect.fell_back << ", failed " << sum.per_genre[g].failed << "/"
        << expect.failed;
    rows += expect.copies;
  }
  EXPECT_EQ(out.playlists(), rows);
  const auto tiny = std::find(recs.genres().begin(), recs.genres().end(), "tiny") - recs.genres().begin();
  EXPECT_GT(sum.per_genre[static_cast<std::size_t>(tiny)].left_out, 0u);  // the case is exercised
  std::uint64_t fell = 0;
  for (const auto& c : sum.per_genre) fell += c.fell_back;
  EXPECT_GT(fell, 0u);

  // A plain requery of the tiny genre still stops on the long playlists.
  catalog_recommender tiny_rec(cat, {"tiny"});
  EXPECT_THROW(requery(res, in, tiny_rec, prm), error);
}

TEST(EachGenre, ChunksGiveTheSameRowsAndSummary) {
  const auto cat = synthetic_catalog();
  const dataset in = make_input(*cat, 6);
  const genre_recommenders recs = genre_recommenders::from_catalog(cat, {"pop", "acoustic"});
  requery_params prm;
  prm.seed = 1234;
  resources res(backend::cpu, 3);
  requery_summary whole_sum;
  const dataset whole = requery_each_genre(res, in, recs, prm, 0, &whole_sum);
  const std::size_t cut = 6;
  auto slice = [&](std::size_t from, std::size_t to) { return test::playlist_slice(in, from, to); };
  requery_summary s1, s2, merged;
  const dataset a = requery_each_genre(res, slice(0, cut), recs, prm, 0, &s1);
  const dataset b = requery_each_genre(res, slice(cut, in.playlists()), recs, prm, cut, &s2);
  merged.merge(s1);
  merged.merge(s2);
  std::vector<std::string> ids = a.ids, tracks = a.track_ids;
  ids.insert(ids.end(), b.ids.begin(), b.ids.end());
  tracks.insert(tracks.end(), b.track_ids.begin(), b.track_ids.end());
  EXPECT_EQ(ids, whole.ids);
  EXPECT_EQ(tracks, whole.track_ids);
  EXPECT_EQ(merged.playlists, whole_sum.playlists);
  EXPECT_EQ(merged.genres, whole_sum.genres);
  for (std::size_t g = 0; g < recs.size(); ++g) EXPECT_TRUE(merged.per_genre[g] == whole_sum.per_genre[g]);
}

TEST(EachGenre, RefusesWhatCannotMakeCopies) {
  const auto cat = synthetic_catalog();
  EXPECT_THROW(genre_recommenders::from_catalog(cat, {"polka"}), usage_error);
  EXPECT_THROW(genre_recommenders::from_catalog(cat, {"pop", ""}), usage_error);
  EXPECT_THROW(genre_recommenders::from_catalog(nullptr), usage_error);
  auto plain = std::make_shared<track_catalog>(*cat);
  plain->genres.clear();
  try {
    genre_recommenders::from_catalog(plain);
    ADD_FAILURE() << "no error";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("no genre column"), std::string::npos) << e.what();
  }
  EXPECT_THROW(requery_each_genre(resources(backend::cpu), make_input(*cat, 1), genre_recommenders{}, requery_params{}),
               usage_error);

  // Two names with the same copy index (found by search) cannot share a run.
  std::unordered_map<std::uint32_t, std::string> seen;
  std::string a, b;
  for (int i = 0; a.empty(); ++i) {
    const std::string name = "g" + std::to_string(i);
    const auto [it, fresh] = seen.emplace(genre_copy_index(name), name);
    if (!fresh) a = it->second, b = name;
  }
  genre_recommenders recs;
  recs.add(a, std::make_unique<catalog_recommender>(cat));
  try {
    recs.add(b, std::make_unique<catalog_recommender>(cat));
    ADD_FAILURE() << "no error for " << a << " and " << b;
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("same stream copy index"), std::string::npos) << e.what();
  }
  EXPECT_THROW(recs.add(a, std::make_unique<catalog_recommender>(cat)), usage_error);  // named twice
  EXPECT_EQ(recs.size(), 1u);
}

TEST(EachGenre, SharesOneCatalogAcrossGenres) {
  const auto cat = synthetic_catalog();
  const long before = cat.use_count();
  const genre_recommenders recs = genre_recommenders::from_catalog(cat);
  EXPECT_EQ(cat.use_count(), before + static_cast<long>(recs.size()));
  for (std::size_t g = 0; g < recs.size(); ++g) {
    auto* rec = dynamic_cast<catalog_recommender*>(&recs.at(g));
    ASSERT_NE(rec, nullptr);
    EXPECT_EQ(&rec->catalog(), cat.get());
  }
}

}  // namespace
