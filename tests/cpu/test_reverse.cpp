// Reversal of playlists on the CPU engine: segment order, segment contents, song order,
// track ids, the probability of a reversal, and independence from the thread count.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/random.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"
#include "test_support.hpp"

namespace {

using playaug::dataset;
using segs = std::vector<std::vector<std::int32_t>>;

/// Songs numbered so that feature j of song s is 10 * s + j.
std::vector<float> numbered(std::size_t songs, std::size_t d, float base) {
  std::vector<float> x(songs * d);
  for (std::size_t s = 0; s < songs; ++s) {
    for (std::size_t j = 0; j < d; ++j) x[s * d + j] = base + 10.0f * static_cast<float>(s) + static_cast<float>(j);
  }
  return x;
}

dataset small_dataset() {
  dataset ds;
  ds.dim = 2;
  ds.schema = playaug::feature_schema::generic(2);
  auto a = numbered(3, 2, 0.0f);    // {0,1},{10,11},{20,21}
  auto b = numbered(1, 2, 100.0f);  // {100,101}
  auto c = numbered(4, 2, 200.0f);  // {200,201},...,{230,231}
  ds.add_playlist("a", segs{{1, 2}, {3}, {4, 5, 6}}, a.data(), 3);
  ds.add_playlist("b", segs{{7}}, b.data(), 1);
  ds.add_playlist("empty", segs{{8}, {9}}, nullptr, 0, true);
  ds.add_playlist("c", segs{{10}, {11, 12}}, c.data(), 4);
  ds.track_ids = {"t0", "t1", "t2", "u0", "v0", "v1", "v2", "v3"};
  ds.validate();
  return ds;
}

std::vector<float> features_of(const dataset& ds, std::size_t p) {
  const auto m = ds.playlist_features(p);
  return {m.data, m.data + m.size()};
}

segs segments_of(const dataset& ds, std::size_t p) {
  segs out;
  for (auto g = ds.segment_offsets[p]; g < ds.segment_offsets[p + 1]; ++g) {
    out.emplace_back(ds.moods.begin() + static_cast<std::ptrdiff_t>(ds.mood_offsets[g]),
                     ds.moods.begin() + static_cast<std::ptrdiff_t>(ds.mood_offsets[g + 1]));
  }
  return out;
}

TEST(Reverse, ReversesSegmentOrderSongsAndTrackIds) {
  auto ds = small_dataset();
  playaug::reverse_playlist(ds, 0);
  ds.validate();
  EXPECT_EQ(segments_of(ds, 0), (segs{{4, 5, 6}, {3}, {1, 2}}));
  EXPECT_EQ(features_of(ds, 0), (std::vector<float>{20, 21, 10, 11, 0, 1}));
  EXPECT_EQ(std::vector<std::string>(ds.track_ids.begin(), ds.track_ids.begin() + 3),
            (std::vector<std::string>{"t2", "t1", "t0"}));
  // The other playlists are untouched.
  EXPECT_EQ(segments_of(ds, 1), (segs{{7}}));
  EXPECT_EQ(segments_of(ds, 3), (segs{{10}, {11, 12}}));
  EXPECT_EQ(features_of(ds, 3), (std::vector<float>{200, 201, 210, 211, 220, 221, 230, 231}));
  EXPECT_EQ(ds.track_ids[3], "u0");
  EXPECT_EQ(ds.track_ids[4], "v0");

  playaug::reverse_playlist(ds, 3);
  EXPECT_EQ(segments_of(ds, 3), (segs{{11, 12}, {10}}));
  EXPECT_EQ(features_of(ds, 3), (std::vector<float>{230, 231, 220, 221, 210, 211, 200, 201}));
  EXPECT_EQ(std::vector<std::string>(ds.track_ids.begin() + 4, ds.track_ids.end()),
            (std::vector<std::string>{"v3", "v2", "v1", "v0"}));
  EXPECT_EQ(segments_of(ds, 0), (segs{{4, 5, 6}, {3}, {1, 2}}));

  // A [null] playlist keeps no songs; its segments still reverse.
  playaug::reverse_playlist(ds, 2);
  EXPECT_EQ(segments_of(ds, 2), (segs{{9}, {8}}));
  EXPECT_EQ(ds.song_count(2), 0u);
  ds.validate();
}

TEST(Reverse, TwiceIsIdentity) {
  const auto ref = small_dataset();
  auto ds = ref;
  for (std::size_t p = 0; p < ds.playlists(); ++p) {
    playaug::reverse_playlist(ds, p);
    playaug::reverse_playlist(ds, p);
  }
  EXPECT_EQ(ds, ref);
}

TEST(Reverse, SegmentsOfManyShapes) {
  // Segment counts 0..9 with varied lengths (including empty segments): the order reverses,
  // each segment's contents stay.
  for (int g = 0; g < 10; ++g) {
    dataset ds;
    ds.dim = 1;
    ds.schema = playaug::feature_schema::generic(1);
    segs s;
    std::int32_t next = 0;
    for (int i = 0; i < g; ++i) {
      std::vector<std::int32_t> seg;
      for (int k = 0; k < (i * 7 + 3) % 4; ++k) seg.push_back(next++);
      s.push_back(seg);
    }
    const float one = 1.0f;
    ds.add_playlist("x", s, &one, 1);
    playaug::reverse_playlist(ds, 0);
    ds.validate();
    segs want(s.rbegin(), s.rend());
    EXPECT_EQ(segments_of(ds, 0), want) << g << " segments";
  }
}

TEST(Reverse, ReversePlaylistsFollowsFlags) {
  auto ds = small_dataset();
  const std::vector<std::uint8_t> flags{1, 1, 0, 1};
  playaug::playlists_view pl{ds.feature_matrix(),
                             {ds.song_offsets.data(), ds.song_offsets.size()},
                             {ds.segment_offsets.data(), ds.segment_offsets.size()},
                             {ds.mood_offsets.data(), ds.mood_offsets.size()},
                             {ds.moods.data(), ds.moods.size()}};
  playaug::resources res(playaug::backend::cpu, 2);
  playaug::reverse_playlists(res, pl, {flags.data(), flags.size()});
  ds.validate();
  EXPECT_EQ(segments_of(ds, 0), (segs{{4, 5, 6}, {3}, {1, 2}}));
  EXPECT_EQ(features_of(ds, 0), (std::vector<float>{20, 21, 10, 11, 0, 1}));
  EXPECT_EQ(segments_of(ds, 1), (segs{{7}}));
  EXPECT_EQ(features_of(ds, 1), (std::vector<float>{100, 101}));
  EXPECT_EQ(segments_of(ds, 2), (segs{{8}, {9}}));  // flag 0
  EXPECT_EQ(segments_of(ds, 3), (segs{{11, 12}, {10}}));
  EXPECT_EQ(features_of(ds, 3), (std::vector<float>{230, 231, 220, 221, 210, 211, 200, 201}));
}

dataset many_playlists(std::size_t n) {
  dataset ds;
  ds.dim = 3;
  ds.schema = playaug::feature_schema::generic(3);
  for (std::size_t p = 0; p < n; ++p) {
    const std::size_t songs = p % 13;
    auto x = numbered(songs, 3, static_cast<float>(p));
    segs s;
    for (std::size_t g = 0; g < p % 5; ++g) s.push_back({static_cast<std::int32_t>(p), static_cast<std::int32_t>(g)});
    ds.add_playlist("p" + std::to_string(p), s, x.data(), songs);
  }
  return ds;
}

TEST(Reverse, ReversePlaylistsIndependentOfThreadsAndMatchesOneByOne) {
  const auto ref = many_playlists(20000);
  std::vector<std::uint8_t> flags(ref.playlists());
  for (std::size_t p = 0; p < flags.size(); ++p) flags[p] = (p * 2654435761u >> 7) & 1u;
  auto one_by_one = ref;
  for (std::size_t p = 0; p < flags.size(); ++p) {
    if (flags[p]) playaug::reverse_playlist(one_by_one, p);
  }
  for (int threads : {1, 2, 5}) {
    auto ds = ref;
    playaug::playlists_view pl{ds.feature_matrix(),
                               {ds.song_offsets.data(), ds.song_offsets.size()},
                               {ds.segment_offsets.data(), ds.segment_offsets.size()},
                               {ds.mood_offsets.data(), ds.mood_offsets.size()},
                               {ds.moods.data(), ds.moods.size()}};
    playaug::resources res(playaug::backend::cpu, threads);
    playaug::reverse_playlists(res, pl, {flags.data(), flags.size()});
    EXPECT_EQ(ds, one_by_one) << threads << " threads";
  }
}

TEST(Reverse, ReversePlaylistsRejectsMismatchedShapes) {
  auto ds = small_dataset();
  playaug::playlists_view pl{ds.feature_matrix(),
                             {ds.song_offsets.data(), ds.song_offsets.size()},
                             {ds.segment_offsets.data(), ds.segment_offsets.size()},
                             {ds.mood_offsets.data(), ds.mood_offsets.size()},
                             {ds.moods.data(), ds.moods.size()}};
  playaug::resources res(playaug::backend::cpu, 1);
  const std::vector<std::uint8_t> three{1, 1, 1};
  EXPECT_THROW(playaug::reverse_playlists(res, pl, {three.data(), three.size()}), playaug::usage_error);
  auto short_moods = pl;
  short_moods.moods.size -= 1;
  const std::vector<std::uint8_t> four{1, 1, 1, 1};
  EXPECT_THROW(playaug::reverse_playlists(res, short_moods, {four.data(), four.size()}), playaug::usage_error);
  auto short_rows = pl;
  short_rows.features.rows -= 1;
  EXPECT_THROW(playaug::reverse_playlists(res, short_rows, {four.data(), four.size()}), playaug::usage_error);
  EXPECT_THROW(playaug::reverse_playlist(ds, 4), playaug::usage_error);
}

TEST(ReverseDecision, IsWordZeroOfTheReverseStream) {
  // subsequence = 1 << 56 | copy << 32 | playlist; reverse iff uniform01(word 0) <= r.
  for (std::uint32_t copy : {1u, 2u, 77u}) {
    for (std::uint64_t p : {0ull, 1ull, 4000000000ull}) {
      const std::uint64_t sub = (std::uint64_t{1} << 56) | (std::uint64_t{copy} << 32) | p;
      const std::uint32_t w = playaug::philox_word(42, sub, 0);
      const double u = static_cast<double>(static_cast<float>(static_cast<double>(w) * 0x1p-32 + 0x1p-33));
      for (float r : {0.1f, 0.5f, 0.9f}) {
        EXPECT_EQ(playaug::reverse_decision(42, copy, p, r), u <= static_cast<double>(r));
      }
    }
  }
}

TEST(ReverseDecision, FractionOfReversedCopiesIsAboutR) {
  for (float r : {0.1f, 0.3f, 0.5f, 0.85f}) {
    std::size_t reversed = 0, n = 0;
    for (std::uint32_t copy = 1; copy <= 4; ++copy) {
      for (std::uint64_t p = 0; p < 25000; ++p, ++n) reversed += playaug::reverse_decision(7, copy, p, r) ? 1 : 0;
    }
    const double nn = static_cast<double>(n);
    const double sd = std::sqrt(nn * r * (1.0 - r));
    EXPECT_NEAR(static_cast<double>(reversed), nn * r, 5.0 * sd) << "r = " << r;
  }
}

TEST(ReverseDecision, Extremes) {
  for (std::uint32_t copy = 1; copy <= 3; ++copy) {
    for (std::uint64_t p = 0; p < 20000; ++p) {
      ASSERT_FALSE(playaug::reverse_decision(11, copy, p, 0.0f));
      ASSERT_TRUE(playaug::reverse_decision(11, copy, p, 1.0f));
    }
  }
}

}  // namespace
