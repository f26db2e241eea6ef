// The augment operation on the CPU engine: output layout, ids and order, [null] playlists,
// keep_original, determinism across thread counts and chunks, and every augmented value
// recomputed independently from the Philox words and the documented formulas.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "playaug/augment.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/random.hpp"
#include "playaug/resources.hpp"
#include "test_support.hpp"

namespace {

using playaug::augment_params;
using playaug::dataset;
using segs = std::vector<std::vector<std::int32_t>>;
namespace sp = playaug::spotify;

segs segments_of(const dataset& ds, std::size_t p) {
  segs out;
  for (auto g = ds.segment_offsets[p]; g < ds.segment_offsets[p + 1]; ++g) {
    out.emplace_back(ds.moods.begin() + static_cast<std::ptrdiff_t>(ds.mood_offsets[g]),
                     ds.moods.begin() + static_cast<std::ptrdiff_t>(ds.mood_offsets[g + 1]));
  }
  return out;
}

/// Playlists of 0..max_len Spotify-like songs; every `null_every`-th one is [null].
dataset make_dataset(std::size_t playlists, std::size_t max_len, std::size_t null_every, bool tracks,
                     unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), loud(-30.0f, -1.0f), tempo(60.0f, 200.0f);
  std::uniform_int_distribution<int> key(0, 11), mode(0, 1), mood(0, 30), nseg(1, 4), seglen(1, 3);
  dataset ds;
  ds.dim = sp::n_features;
  ds.schema = playaug::feature_schema::spotify();
  for (std::size_t p = 0; p < playlists; ++p) {
    segs s(static_cast<std::size_t>(nseg(gen)));
    for (auto& seg : s) {
      seg.resize(static_cast<std::size_t>(seglen(gen)));
      for (auto& m : seg) m = mood(gen);
    }
    const std::string id = "pl" + std::to_string(p);
    if (null_every != 0 && p % null_every == null_every - 1) {
      ds.add_playlist(id, s, nullptr, 0, true);
      continue;
    }
    const std::size_t n = 1 + (p * 7 + 3) % max_len;
    std::vector<float> x(n * sp::n_features);
    for (std::size_t i = 0; i < n; ++i) {
      float* r = x.data() + i * sp::n_features;
      for (int j = 0; j < sp::n_features; ++j) r[j] = unit(gen);
      r[sp::key] = static_cast<float>(key(gen));
      r[sp::mode] = static_cast<float>(mode(gen));
      r[sp::loudness] = loud(gen);
      r[sp::tempo] = tempo(gen);
      if (tracks) ds.track_ids.push_back(id + "-song" + std::to_string(i));
    }
    ds.add_playlist(id, s, x.data(), n);
  }
  ds.validate();
  return ds;
}

/// Playlists [a, b) of ds as a dataset of their own.
dataset slice(const dataset& ds, std::size_t a, std::size_t b) {
  dataset out;
  out.dim = ds.dim;
  out.schema = ds.schema;
  for (std::size_t p = a; p < b; ++p) {
    out.add_playlist(ds.ids[p], segments_of(ds, p), ds.playlist_features(p).data, ds.song_count(p), ds.is_null(p));
    if (!ds.track_ids.empty()) {
      out.track_ids.insert(out.track_ids.end(), ds.track_ids.begin() + static_cast<std::ptrdiff_t>(ds.song_offsets[p]),
                           ds.track_ids.begin() + static_cast<std::ptrdiff_t>(ds.song_offsets[p + 1]));
    }
  }
  return out;
}

/// ds followed by more.
void append(dataset& ds, const dataset& more) {
  for (std::size_t p = 0; p < more.playlists(); ++p) {
    ds.add_playlist(more.ids[p], segments_of(more, p), more.playlist_features(p).data, more.song_count(p),
                    more.is_null(p));
  }
  ds.track_ids.insert(ds.track_ids.end(), more.track_ids.begin(), more.track_ids.end());
}

dataset run(const dataset& in, const augment_params& prm, std::uint64_t first = 0, int threads = 2) {
  playaug::resources res(playaug::backend::cpu, threads);
  auto out = playaug::augment(res, in, prm, first);
  out.validate();
  return out;
}

// ---- an independent model of one augmented copy, from the documented layout ---------------

constexpr std::uint64_t kReverse = 1, kProtuberance = 2;

std::uint64_t subsequence(std::uint64_t purpose, std::uint64_t copy, std::uint64_t playlist) {
  return purpose << 56 | copy << 32 | playlist;
}

/// curand_uniform of a word, computed in float64 and rounded once.
double uniform(std::uint32_t w) {
  return static_cast<double>(static_cast<float>(static_cast<double>(w) * 0x1p-32 + 0x1p-33));
}

/// Check copy k (of in's playlist i, whole-file index `playlist`) against the documented
/// semantics: reversal decided by word 0 of (reverse, k, playlist); component (s, j) of the
/// copy drawn from word s * d + j of (protuberance, k, playlist).
void check_copy(const dataset& in, std::size_t i, const dataset& out, std::size_t o, std::uint32_t k,
                std::uint64_t playlist, const augment_params& prm) {
  SCOPED_TRACE(::testing::Message() << "playlist " << in.ids[i] << " copy " << k);
  ASSERT_EQ(out.ids[o], in.ids[i] + "#aug" + std::to_string(k));
  ASSERT_FALSE(out.is_null(o));
  const bool rev =
      uniform(playaug::philox_word(prm.seed, subsequence(kReverse, k, playlist), 0)) <= static_cast<double>(prm.reverse);
  auto want_segs = segments_of(in, i);
  if (rev) std::reverse(want_segs.begin(), want_segs.end());
  EXPECT_EQ(segments_of(out, o), want_segs);

  const std::size_t n = in.song_count(i), d = in.dim;
  ASSERT_EQ(out.song_count(o), n);
  const auto src = in.playlist_features(i);
  const float* got = out.features.data() + out.song_offsets[o] * d;
  for (std::size_t s = 0; s < n; ++s) {
    const std::size_t from = rev ? n - 1 - s : s;
    if (!in.track_ids.empty()) {
      EXPECT_EQ(out.track_ids[out.song_offsets[o] + s], in.track_ids[in.song_offsets[i] + from]);
    }
    for (std::size_t j = 0; j < d; ++j) {
      const float x = src(from, j);
      const float y = got[s * d + j];
      const double r = uniform(playaug::philox_word(prm.seed, subsequence(kProtuberance, k, playlist), s * d + j));
      const bool categorical = j == sp::key || j == sp::mode;
      const bool chosen = r <= static_cast<double>(prm.phi) && (prm.raw || !categorical);
      if (!chosen) {
        ASSERT_EQ(y, x) << "song " << s << " feature " << j;
        continue;
      }
      const double u = static_cast<double>(prm.protuberance) * (2.0 * r / static_cast<double>(prm.phi) - 1.0);
      double want = static_cast<double>(x) * (1.0 + u);
      const bool unit = !prm.raw && !categorical && j != sp::loudness && j != sp::tempo;
      if (unit) want = std::clamp(want, 0.0, 1.0);
      ASSERT_NEAR(y, want, 4e-7 * std::abs(want) + 1e-30) << "song " << s << " feature " << j;
    }
  }
}

TEST(Augment, LayoutIdsOrderAndEveryValue) {
  const auto in = make_dataset(60, 9, 7, true, 1);
  augment_params prm;
  prm.copies = 3;
  prm.protuberance = 0.2f;
  prm.phi = 0.6f;
  prm.reverse = 0.5f;
  prm.seed = 12345;
  const std::uint64_t first = 1000;
  const auto out = run(in, prm, first);
  EXPECT_EQ(out.schema, in.schema);
  EXPECT_EQ(out.dim, in.dim);
  std::size_t o = 0, reversed = 0;
  for (std::size_t i = 0; i < in.playlists(); ++i) {
    ASSERT_LT(o, out.playlists());
    // The original first, unchanged.
    EXPECT_EQ(out.ids[o], in.ids[i]);
    EXPECT_EQ(out.is_null(o), in.is_null(i));
    EXPECT_EQ(segments_of(out, o), segments_of(in, i));
    const auto a = in.playlist_features(i), b = out.playlist_features(o);
    ASSERT_EQ(a.rows, b.rows);
    EXPECT_TRUE(std::equal(a.data, a.data + a.size(), b.data));
    ++o;
    if (in.is_null(i)) continue;  // never copied
    for (std::uint32_t k = 1; k <= prm.copies; ++k, ++o) {
      check_copy(in, i, out, o, k, first + i, prm);
      if (segments_of(out, o) != segments_of(in, i)) ++reversed;
    }
  }
  EXPECT_EQ(o, out.playlists());
  EXPECT_GT(reversed, 0u);
}

TEST(Augment, RawModeAndOtherParameters) {
  const auto in = make_dataset(40, 6, 0, false, 2);
  augment_params prm;
  prm.copies = 2;
  prm.protuberance = 0.05f;
  prm.phi = 1.0f;
  prm.reverse = 0.2f;
  prm.raw = true;
  prm.seed = 0xFFFFFFFFFFFFFFFFULL;
  prm.keep_original = false;
  const auto out = run(in, prm, 0, 3);
  ASSERT_EQ(out.playlists(), in.playlists() * 2);
  for (std::size_t i = 0; i < in.playlists(); ++i) {
    for (std::uint32_t k = 1; k <= 2; ++k) check_copy(in, i, out, i * 2 + k - 1, k, i, prm);
  }
}

TEST(Augment, NullPlaylistsPassThroughOnceAndNoOriginal) {
  const auto in = make_dataset(30, 5, 3, false, 3);
  ASSERT_EQ(in.null_playlists(), 10u);
  augment_params prm;
  prm.copies = 2;
  prm.keep_original = false;
  const auto out = run(in, prm);
  ASSERT_EQ(out.playlists(), 10u + 20u * 2u);
  std::size_t o = 0;
  for (std::size_t i = 0; i < in.playlists(); ++i) {
    if (in.is_null(i)) {
      EXPECT_EQ(out.ids[o], in.ids[i]);
      EXPECT_TRUE(out.is_null(o));
      EXPECT_EQ(out.song_count(o), 0u);
      EXPECT_EQ(segments_of(out, o), segments_of(in, i));
      ++o;
      continue;
    }
    EXPECT_EQ(out.ids[o++], in.ids[i] + "#aug1");
    EXPECT_EQ(out.ids[o++], in.ids[i] + "#aug2");
  }
  EXPECT_EQ(o, out.playlists());
}

TEST(Augment, ZeroCopies) {
  const auto in = make_dataset(25, 5, 4, true, 4);
  augment_params prm;
  prm.copies = 0;
  EXPECT_EQ(run(in, prm), in);
  prm.keep_original = false;
  const auto out = run(in, prm);
  EXPECT_EQ(out.playlists(), in.null_playlists());
  EXPECT_EQ(out.songs(), 0u);
  for (std::size_t o = 0; o < out.playlists(); ++o) EXPECT_TRUE(out.is_null(o));
}

TEST(Augment, EmptyDatasetAndEmptySegments) {
  dataset in;
  in.dim = 3;
  in.schema = playaug::feature_schema::generic(3);
  augment_params prm;
  prm.copies = 4;
  EXPECT_EQ(run(in, prm).playlists(), 0u);
  const float x[6] = {1, 2, 3, 4, 5, 6};
  in.add_playlist("noseg", {}, x, 2);
  in.add_playlist("emptyseg", {{}, {5}, {}}, x, 1);
  const auto out = run(in, prm);
  ASSERT_EQ(out.playlists(), 10u);
  EXPECT_EQ(out.segments(), 5u * 0u + 5u * 3u);
}

TEST(Augment, BitwiseIndependentOfThreads) {
  const auto in = make_dataset(3000, 40, 11, true, 5);
  augment_params prm;
  prm.copies = 3;
  prm.seed = 99;
  const auto ref = run(in, prm, 0, 1);
  for (int threads : {2, 3, 8}) {
    const auto out = run(in, prm, 0, threads);
    EXPECT_TRUE(out == ref) << threads << " threads";
  }
}

TEST(Augment, ChunkedEqualsWhole) {
  const auto in = make_dataset(500, 20, 9, true, 6);
  augment_params prm;
  prm.copies = 2;
  prm.seed = 4;
  const std::uint64_t base = 77;  // the whole input itself starts at playlist 77 of its file
  const auto whole = run(in, prm, base);
  for (std::size_t chunk : {1u, 7u, 128u, 499u}) {
    dataset joined;
    joined.dim = in.dim;
    joined.schema = in.schema;
    for (std::size_t a = 0; a < in.playlists(); a += chunk) {
      const std::size_t b = std::min(in.playlists(), a + chunk);
      append(joined, run(slice(in, a, b), prm, base + a));
    }
    EXPECT_TRUE(joined == whole) << "chunks of " << chunk;
  }
  // A wrong first_playlist gives other copies.
  EXPECT_FALSE(run(slice(in, 1, in.playlists()), prm, base) == run(slice(in, 1, in.playlists()), prm, base + 1));
}

TEST(Augment, FractionOfReversedCopiesFollowsR) {
  // One-song playlists with a distinct mood per segment: a copy is reversed iff its first
  // segment is the original's last.
  dataset in;
  in.dim = 1;
  in.schema = playaug::feature_schema::generic(1);
  const float x = 1.0f;
  for (int p = 0; p < 4000; ++p) in.add_playlist("p" + std::to_string(p), {{1}, {2}}, &x, 1);
  for (float r : {0.0f, 0.25f, 1.0f}) {
    augment_params prm;
    prm.copies = 5;
    prm.reverse = r;
    prm.keep_original = false;
    const auto out = run(in, prm);
    std::size_t reversed = 0;
    for (std::size_t o = 0; o < out.playlists(); ++o) reversed += out.moods[out.mood_offsets[out.segment_offsets[o]]] == 2;
    const double n = static_cast<double>(out.playlists());
    EXPECT_NEAR(static_cast<double>(reversed), n * r, 5.0 * std::sqrt(n * r * (1.0 - r)) + 1e-9) << "r = " << r;
  }
}

TEST(Augment, RejectsBadParameters) {
  const auto in = make_dataset(3, 3, 0, false, 7);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<augment_params> bad(9);
  bad[0].protuberance = 1.0f;
  bad[1].protuberance = -0.1f;
  bad[2].protuberance = nan;
  bad[3].phi = 1.5f;
  bad[4].phi = nan;
  bad[5].reverse = -0.5f;
  bad[6].reverse = 1.01f;
  bad[7].reverse = nan;
  bad[8].copies = 1u << 24;
  for (const auto& prm : bad) {
    EXPECT_THROW(prm.validate(), playaug::usage_error);
    EXPECT_THROW(run(in, prm), playaug::usage_error);
  }
  augment_params ok;
  EXPECT_THROW(run(in, ok, (std::uint64_t{1} << 32) - 2), playaug::usage_error);
  EXPECT_NO_THROW(run(in, ok, (std::uint64_t{1} << 32) - 3));
}

}  // namespace
