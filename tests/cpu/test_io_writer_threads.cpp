// The CSV writer formats on several threads: the bytes must not depend on the thread
// count, the chunking, or where the parts of a batch are cut. Every output is compared
// with a plain serial rendering built here from the documented format (append_float for
// the numbers, std::string appends for the rest), with one thread and with many.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "test_support.hpp"

namespace {

using playaug::test::read_file;
using playaug::test::temp_dir;
using playaug::dataset;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// The serial reference: the format of playaug/io.hpp, one append at a time.

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + '"';
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c == '\n') {
      o += "\\n";
    } else if (c == '\r') {
      o += "\\r";
    } else if (c == '\t') {
      o += "\\t";
    } else if (c == '\b') {
      o += "\\b";
    } else if (c == '\f') {
      o += "\\f";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += ch;
    }
  }
  return o + '"';
}

std::string reference_csv(const dataset& ds) {
  const bool tracks = !ds.track_ids.empty();
  std::string out = tracks ? ",moods_states,features,track_ids\n" : ",moods_states,features\n";
  for (std::size_t p = 0; p < ds.playlists(); ++p) {
    std::string moods = "[";
    for (std::size_t s = ds.segment_offsets[p]; s < ds.segment_offsets[p + 1]; ++s) {
      if (s != ds.segment_offsets[p]) moods += ", ";
      moods += '[';
      for (std::uint64_t m = ds.mood_offsets[s]; m < ds.mood_offsets[s + 1]; ++m) {
        if (m != ds.mood_offsets[s]) moods += ", ";
        moods += std::to_string(ds.moods[m]);
      }
      moods += ']';
    }
    moods += ']';
    std::string feats;
    if (ds.is_null(p)) {
      feats = "[null]";
    } else {
      feats = "[";
      for (std::size_t i = 0; i < ds.song_count(p); ++i) {
        if (i != 0) feats += ", ";
        feats += '[';
        for (std::size_t j = 0; j < ds.dim; ++j) {
          if (j != 0) feats += ", ";
          playaug::append_float(feats, ds.features[(ds.song_offsets[p] + i) * ds.dim + j]);
        }
        feats += ']';
      }
      feats += ']';
    }
    out += csv_field(ds.ids[p]) + ',' + csv_field(moods) + ',' + csv_field(feats);
    if (tracks) {
      std::string cell = "[";
      for (std::uint64_t i = ds.song_offsets[p]; i < ds.song_offsets[p + 1]; ++i) {
        if (i != ds.song_offsets[p]) cell += ", ";
        cell += json_string(ds.track_ids[i]);
      }
      out += ',' + csv_field(cell + ']');
    }
    out += '\n';
  }
  return out;
}

// ---------------------------------------------------------------------------------------

/// Playlists of 0..max_songs songs: [null] and [] ones, empty segments, ids that need
/// quoting, short decimals and floats from random bit patterns (subnormals, -0.0).
dataset random_dataset(std::size_t playlists, std::size_t dim, std::uint32_t seed, bool track_ids,
                       std::size_t max_songs = 24) {
  std::mt19937 rng(seed);
  dataset ds;
  ds.dim = dim;
  ds.schema = playaug::feature_schema::for_dim(dim);
  const char* odd_ids[] = {"a,b", "q\"uote", "two\nlines", "cr\rlf", "", " sp ", "caf\xC3\xA9"};
  std::vector<float> feats;
  for (std::size_t p = 0; p < playlists; ++p) {
    const std::size_t songs = rng() % (max_songs + 1);
    const bool null = songs == 0 && rng() % 2 == 0;
    const std::string id = p % 11 == 0 ? odd_ids[(p / 11) % 7] + std::to_string(p) : "pl" + std::to_string(p);
    std::vector<std::vector<std::int32_t>> segs(rng() % 4);
    for (auto& s : segs) {
      s.resize(rng() % 3);
      for (auto& m : s) m = static_cast<std::int32_t>(rng());
    }
    feats.clear();
    for (std::size_t i = 0; i < songs * dim; ++i) {
      float v;
      if (rng() % 2 == 0) {
        v = static_cast<float>(static_cast<int>(rng() % 200001) - 100000) / 1000.0f;
      } else {
        do {
          const std::uint32_t bits = rng();
          std::memcpy(&v, &bits, sizeof v);
        } while (!std::isfinite(v));
      }
      feats.push_back(v);
    }
    ds.add_playlist(id, segs, feats.data(), songs, null);
    if (track_ids) {
      for (std::size_t i = 0; i < songs; ++i) {
        ds.track_ids.push_back(i % 4 == 0 ? "t,\"\\\n\x01" + std::to_string(p) : "6DCZcSspjsKoFjzjrWo" + std::to_string(i));
      }
    }
  }
  ds.validate();
  return ds;
}

/// Playlists [first, last) of `ds` as a dataset of their own.
dataset slice(const dataset& ds, std::size_t first, std::size_t last) {
  dataset out;
  out.dim = ds.dim;
  out.schema = ds.schema;
  for (std::size_t p = first; p < last; ++p) {
    std::vector<std::vector<std::int32_t>> segs;
    for (std::size_t s = ds.segment_offsets[p]; s < ds.segment_offsets[p + 1]; ++s) {
      segs.emplace_back(ds.moods.begin() + static_cast<std::ptrdiff_t>(ds.mood_offsets[s]),
                        ds.moods.begin() + static_cast<std::ptrdiff_t>(ds.mood_offsets[s + 1]));
    }
    out.add_playlist(ds.ids[p], segs, ds.features.data() + ds.song_offsets[p] * ds.dim, ds.song_count(p), ds.is_null(p));
    if (!ds.track_ids.empty()) {
      for (std::uint64_t i = ds.song_offsets[p]; i < ds.song_offsets[p + 1]; ++i) out.track_ids.push_back(ds.track_ids[i]);
    }
  }
  return out;
}

const int kThreadCounts[] = {1, 2, 3, 4, 7, 16};

TEST(IoWriterThreads, ToCsvIsTheSameForAnyThreadCount) {
  // Large enough for many parts and several batches (about 6 MB of text).
  for (bool tracks : {false, true}) {
    const dataset ds = random_dataset(3000, 11, tracks ? 5u : 4u, tracks);
    const std::string expected = reference_csv(ds);
    ASSERT_GT(expected.size(), std::size_t{4} << 20);
    for (int threads : kThreadCounts) {
      EXPECT_TRUE(playaug::to_csv(ds, threads) == expected) << "threads " << threads << " track_ids " << tracks;
    }
    EXPECT_TRUE(playaug::to_csv(ds) == expected) << "default threads";
  }
}

TEST(IoWriterThreads, SmallAndDegenerateDatasets) {
  for (int threads : kThreadCounts) {
    // A single playlist, a single [null] playlist, a single [] playlist, no playlists.
    dataset one;
    one.dim = 3;
    one.schema = playaug::feature_schema::for_dim(3);
    const float x[] = {0.755f, -15.05f, 1e-05f, 100000.0f, 1e16f, -0.0f};
    one.add_playlist("only,one", {{22}, {20, 3}}, x, 2);
    one.track_ids = {"6DCZcSspjsKoFjzjrWoCd", "x\"y"};
    EXPECT_EQ(playaug::to_csv(one, threads),
              ",moods_states,features,track_ids\n"
              "\"only,one\",\"[[22], [20, 3]]\",\"[[0.755, -15.05, 1e-05], [100000.0, 1e+16, -0.0]]\","
              "\"[\"\"6DCZcSspjsKoFjzjrWoCd\"\", \"\"x\\\"\"y\"\"]\"\n")
        << threads;

    dataset null_only;
    null_only.dim = 2;
    null_only.schema = playaug::feature_schema::for_dim(2);
    null_only.add_playlist("n", {{1, 2}}, nullptr, 0, true);
    EXPECT_EQ(playaug::to_csv(null_only, threads), ",moods_states,features\nn,\"[[1, 2]]\",[null]\n");
    null_only.add_playlist("e", {}, nullptr, 0, false);
    EXPECT_EQ(playaug::to_csv(null_only, threads), ",moods_states,features\nn,\"[[1, 2]]\",[null]\ne,[],[]\n");

    dataset empty;
    EXPECT_EQ(playaug::to_csv(empty, threads), ",moods_states,features\n");

    // Few songs, many playlists: each part holds many rows.
    const dataset small = random_dataset(5000, 1, 8, false, 2);
    EXPECT_EQ(playaug::to_csv(small, threads), reference_csv(small)) << threads;
  }
}

TEST(IoWriterThreads, ChunkedFileIsTheSameForAnyThreadCountAndChunking) {
  const dataset ds = random_dataset(2500, 11, 9, true);
  const std::string expected = reference_csv(ds);
  temp_dir dir;
  // Odd chunk sizes, a single playlist, an empty chunk in the middle, one huge chunk.
  const std::size_t cuts[][6] = {{0, 1, 2, 2, 999, 2500}, {0, 7, 1300, 1301, 2499, 2500}, {0, 2500, 2500, 2500, 2500, 2500}};
  for (int threads : kThreadCounts) {
    for (const auto& c : cuts) {
      const std::string path = dir.file("out.csv");
      {
        playaug::csv_writer w(path, true, threads);
        for (std::size_t i = 0; i + 1 < 6; ++i) w.write(slice(ds, c[i], c[i + 1]));
        w.commit();
      }
      EXPECT_TRUE(read_file(path) == expected) << "threads " << threads << " first cut " << c[1];
    }
    playaug::write_csv(dir.file("whole.csv"), ds, threads);
    EXPECT_TRUE(read_file(dir.file("whole.csv")) == expected) << "write_csv, threads " << threads;
  }
  // Header only when nothing was written.
  {
    playaug::csv_writer w(dir.file("empty.csv"), false, 3);
    w.commit();
  }
  EXPECT_EQ(read_file(dir.file("empty.csv")), ",moods_states,features\n");
}

TEST(IoWriterThreads, ErrorNamesTheFirstBadValueInFileOrder) {
  dataset ds = random_dataset(4000, 4, 12, false);
  // Two non-finite values far apart (in different parts and batches): whichever thread
  // meets its value first, the error names the earlier one in the file.
  std::size_t early = 50, late = 3990;
  while (ds.song_count(early) == 0) ++early;
  while (ds.song_count(late) == 0) --late;
  ds.features[ds.song_offsets[late] * ds.dim + 1] = INFINITY;
  ds.features[(ds.song_offsets[early] + ds.song_count(early) - 1) * ds.dim + 3] = std::nanf("");
  const std::string want = "cannot write playlist '" + ds.ids[early] + "': song " + std::to_string(ds.song_count(early)) +
                           ", feature 4 is NaN";
  temp_dir dir;
  for (int threads : kThreadCounts) {
    try {
      (void)playaug::to_csv(ds, threads);
      ADD_FAILURE() << "no error";
    } catch (const playaug::error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << threads << ": " << e.what();
    }
    try {
      playaug::csv_writer w(dir.file("bad.csv"), false, threads);
      w.write(ds);
      w.commit();
      ADD_FAILURE() << "no error";
    } catch (const playaug::error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << threads << ": " << e.what();
    }
    EXPECT_EQ(dir.entries().size(), 0u) << "no partial output, threads " << threads;
  }
  // Only the late one: it is named.
  ds.features[(ds.song_offsets[early] + ds.song_count(early) - 1) * ds.dim + 3] = 0.5f;
  try {
    (void)playaug::to_csv(ds, 4);
    ADD_FAILURE() << "no error";
  } catch (const playaug::error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + ds.ids[late] + "': song 1, feature 2 is inf"), std::string::npos)
        << e.what();
  }
}

TEST(IoWriterThreads, ReadsBackIdentically) {
  const dataset ds = random_dataset(1500, 5, 21, true);
  EXPECT_TRUE(playaug::parse_csv(playaug::to_csv(ds, 5)) == ds);
}

}  // namespace
