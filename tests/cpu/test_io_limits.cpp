// What the readers refuse and how they say it: the record cap, files that shrink while
// they are read, directories, identifiers that are not UTF-8; and the one reader/writer
// seam (open_dataset_reader / open_dataset_writer) that every command goes through.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>

#include "io/utf8.hpp"
#include "playaug/catalog.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/pca.hpp"
#include "playaug/requery.hpp"
#include "playaug/summary.hpp"
#include "test_support.hpp"

namespace playaug {
namespace {

const char* const header = ",moods_states,features\n";

/// A record `id,[[1]],"[[0.5, 0.25], ...]"` of `songs` songs (quoted as the writer quotes),
/// with its line end.
std::string record(const std::string& id, std::size_t songs) {
  std::string r = id + ",[[1]],\"[";
  for (std::size_t s = 0; s < songs; ++s) r += s == 0 ? "[0.5, 0.25]" : ", [0.5, 0.25]";
  return r + "]\"\n";
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// The data_error `f` throws; fails the test when it throws none.
template <class F>
data_error error_of(F&& f) {
  try {
    f();
  } catch (const data_error& e) {
    return e;
  }
  ADD_FAILURE() << "no data_error";
  return data_error("", 0, "");
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------
// The record cap
// ---------------------------------------------------------------------------------------

TEST(RecordCap, ARecordUpToTheLimitIsReadALongerOneNamesFileLineAndLimit) {
  const std::string big = record("big", 20);
  reader_options o;
  o.max_record_bytes = big.size();  // line end included
  const std::string text = std::string(header) + record("a", 1) + big + record("c", 1);
  const dataset ds = parse_csv(text, "mem.csv", o);
  EXPECT_EQ(ds.playlists(), 3u);
  EXPECT_EQ(ds.song_count(1), 20u);

  o.max_record_bytes = big.size() - 1;
  const data_error e = error_of([&] { parse_csv(text, "mem.csv", o); });
  EXPECT_EQ(e.file(), "mem.csv");
  EXPECT_EQ(e.line(), 3u) << e.what();
  EXPECT_TRUE(contains(e.what(), "limit of " + std::to_string(big.size() - 1) + " bytes")) << e.what();
}

TEST(RecordCap, FileReadersStopBeforeTheBufferGrowsPastTheLimit) {
  // Records of every length around the limit, through buffers smaller and larger than it.
  test::temp_dir dir;
  const std::string path = dir.file("long.csv");
  const std::string big = record("big", 300);  // about 4 KB
  write_text(path, std::string(header) + record("a", 2) + big);
  for (const std::size_t buffer : {64u, 1000u, 4096u, 1u << 20}) {
    for (const std::size_t limit : {big.size() - 1, big.size(), big.size() + 1}) {
      reader_options o;
      o.buffer_bytes = buffer;
      o.max_record_bytes = limit;
      if (limit >= big.size()) {
        EXPECT_EQ(read_csv(path, o).playlists(), 2u) << buffer << " " << limit;
      } else {
        const data_error e = error_of([&] { read_csv(path, o); });
        EXPECT_EQ(e.line(), 3u) << e.what();
        EXPECT_TRUE(contains(e.what(), "record longer than the limit")) << e.what();
      }
    }
  }
}

TEST(RecordCap, DevZeroFailsFastOnLineOne) {
  if (::access("/dev/zero", R_OK) != 0) GTEST_SKIP() << "no /dev/zero";
  reader_options o;
  o.max_record_bytes = std::size_t{16} << 20;
  const auto t0 = std::chrono::steady_clock::now();
  const data_error e = error_of([&] { csv_reader r("/dev/zero", o); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  EXPECT_EQ(e.file(), "/dev/zero");
  EXPECT_EQ(e.line(), 1u);
  EXPECT_TRUE(contains(e.what(), "limit of 16777216 bytes")) << e.what();
}

TEST(RecordCap, AppliesToCatalogs) {
  const std::string text =
      "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,"
      "valence\nabc,0,0,0,0,0,0,0,0,0,100,0\n" + std::string(200, 'x') + ",0,0,0,0,0,0,0,0,0,100,0\n";
  reader_options o;
  o.max_record_bytes = 150;  // the header is about 120 bytes
  const data_error e = error_of([&] { parse_catalog(text, "cat.csv", o); });
  EXPECT_EQ(e.line(), 3u) << e.what();
  EXPECT_TRUE(contains(e.what(), "limit of 150 bytes")) << e.what();
}

// ---------------------------------------------------------------------------------------
// Files that shrink while they are read
// ---------------------------------------------------------------------------------------

TEST(Truncation, AFileCutAtARecordBoundaryDuringTheReadIsAnError) {
  test::temp_dir dir;
  const std::string path = dir.file("shrinks.csv");
  std::string text = header;
  std::size_t half = 0;
  for (int i = 0; i < 400; ++i) {
    if (i == 200) half = text.size();
    text += record("p" + std::to_string(i), 3);
  }
  write_text(path, text);

  // Unchanged, the same reader settings read every playlist.
  reader_options o;
  o.buffer_bytes = 4096;  // the file is read a little at a time
  {
    csv_reader r(path, o);
    dataset chunk;
    std::size_t n = 0;
    while (r.next(chunk, ~std::size_t{0}, 10)) n += chunk.playlists();
    EXPECT_EQ(n, 400u);
  }

  // Cut in the middle (at a record boundary) after the first chunk: the reader must not
  // end quietly with half the rows.
  csv_reader r(path, o);
  dataset chunk;
  ASSERT_TRUE(r.next(chunk, ~std::size_t{0}, 10));
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(half)), 0);
  std::size_t n = chunk.playlists();
  const data_error e = error_of([&] {
    while (r.next(chunk, ~std::size_t{0}, 10)) n += chunk.playlists();
  });
  EXPECT_EQ(e.file(), path);
  EXPECT_TRUE(contains(e.what(), "shrank while it was being read")) << e.what();
  EXPECT_LE(n, 200u);
}

TEST(Truncation, AFileCutBelowWhatWasAlreadyReadIsAnError) {
  test::temp_dir dir;
  const std::string path = dir.file("shrinks.csv");
  std::string text = header;
  for (int i = 0; i < 500; ++i) text += record("p" + std::to_string(i), 2);
  write_text(path, text);
  reader_options o;
  o.buffer_bytes = 4096;
  csv_reader r(path, o);
  dataset chunk;
  ASSERT_TRUE(r.next(chunk, ~std::size_t{0}, 1));
  ASSERT_EQ(::truncate(path.c_str(), 10), 0);  // shorter than what the reader already has
  const data_error e = error_of([&] {
    while (r.next(chunk)) {
    }
  });
  EXPECT_TRUE(contains(e.what(), "10 now")) << e.what();

  // A file read whole before it is cut holds all its records: nothing is lost.
  write_text(path, text);
  csv_reader whole(path, reader_options{});  // one buffer holds the file
  ASSERT_EQ(::truncate(path.c_str(), 10), 0);
  std::size_t n = 0;
  while (whole.next(chunk)) n += chunk.playlists();
  EXPECT_EQ(n, 500u);
}

TEST(Truncation, AFileThatGrowsIsReadToItsEnd) {
  test::temp_dir dir;
  const std::string path = dir.file("grows.csv");
  write_text(path, std::string(header) + record("a", 1));
  csv_reader r(path, reader_options{});
  std::ofstream(path, std::ios::binary | std::ios::app) << record("b", 1);
  dataset chunk;
  std::size_t n = 0;
  while (r.next(chunk)) n += chunk.playlists();
  EXPECT_GE(n, 1u);
}

// ---------------------------------------------------------------------------------------
// Directories
// ---------------------------------------------------------------------------------------

TEST(Directories, EveryReaderSaysItIsADirectory) {
  test::temp_dir dir;
  const std::string d = dir.path().string();
  auto says_directory = [&](auto&& f, const char* what) {
    const data_error e = error_of(f);
    EXPECT_EQ(std::string(e.what()), d + ": is a directory") << what;
  };
  says_directory([&] { csv_reader r(d); }, "csv_reader");
  says_directory([&] { open_dataset_reader(d); }, "open_dataset_reader");
  says_directory([&] { read_csv(d); }, "read_csv");
  says_directory([&] { summarize_csv(d); }, "summarize_csv");
  says_directory([&] { read_catalog(d); }, "read_catalog");
  says_directory([&] { pca_model::load(d); }, "pca_model::load");
  says_directory([&] { genre_seeds::read(d); }, "genre_seeds::read");
}

// ---------------------------------------------------------------------------------------
// UTF-8 identifiers
// ---------------------------------------------------------------------------------------

TEST(Utf8, ValidatorFollowsRfc3629) {
  using io_detail::invalid_utf8;
  constexpr auto ok = std::string_view::npos;
  EXPECT_EQ(invalid_utf8(""), ok);
  EXPECT_EQ(invalid_utf8("plain ascii"), ok);
  EXPECT_EQ(invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xB5"), ok);  // é € 🎵
  EXPECT_EQ(invalid_utf8("\xF4\x8F\xBF\xBF"), ok);                          // U+10FFFF
  EXPECT_EQ(invalid_utf8("ab\xFF"), 2u);
  EXPECT_EQ(invalid_utf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(invalid_utf8("\xE0\x80\xAF"), 0u);      // overlong
  EXPECT_EQ(invalid_utf8("\xED\xA0\x80"), 0u);      // surrogate U+D800
  EXPECT_EQ(invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(invalid_utf8("x\xC3"), 1u);             // truncated
  EXPECT_EQ(invalid_utf8("x\xE2\x82"), 1u);
  EXPECT_EQ(invalid_utf8("\x80"), 0u);              // lone continuation byte
  EXPECT_EQ(invalid_utf8("\xC3\xA9\xC3("), 2u);
}

TEST(Utf8, PlaylistIdsMustBeUtf8) {
  const std::string good = std::string(header) + record("caf\xC3\xA9-\xF0\x9F\x8E\xB5", 1);
  EXPECT_EQ(parse_csv(good).ids[0], "caf\xC3\xA9-\xF0\x9F\x8E\xB5");
  // Also when quoted, on the record's second line.
  for (const std::string id : {"bad\xFF", "\xC0\xAF", "\xED\xA0\x80", "\"x\n\xE9t\xE9\""}) {
    const std::string text = std::string(header) + record("ok", 1) + record(id, 1);
    const data_error e = error_of([&] { parse_csv(text, "ids.csv"); });
    EXPECT_EQ(e.file(), "ids.csv");
    EXPECT_EQ(e.line(), 3u) << e.what();
    EXPECT_TRUE(contains(e.what(), "the playlist id is not valid UTF-8 (invalid UTF-8 byte 0x")) << e.what();
  }
  const data_error e = error_of([&] { parse_csv(std::string(header) + record("ab\xFF", 1), "ids.csv"); });
  EXPECT_EQ(std::string(e.what()), "ids.csv:2: the playlist id is not valid UTF-8 (invalid UTF-8 byte 0xff at column 3)");
}

TEST(Utf8, TrackIdsMustBeUtf8) {
  const std::string head = ",moods_states,features,track_ids\n";
  const dataset ds = parse_csv(head + "a,\"[[1]]\",\"[[0.5]]\",\"[\"\"t\xC3\xA9\"\"]\"\n");
  EXPECT_EQ(ds.track_ids.at(0), "t\xC3\xA9");
  const data_error e = error_of([&] { parse_csv(head + "a,\"[[1]]\",\"[[0.5]]\",\"[\"\"t\xE9\"\"]\"\n", "t.csv"); });
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(contains(e.what(), "track_ids: invalid UTF-8 byte 0xe9 inside a string")) << e.what();
}

TEST(Utf8, CatalogIdsAndGenresMustBeUtf8) {
  const std::string head =
      "track_id,track_genre,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,"
      "speechiness,tempo,valence\n";
  EXPECT_EQ(parse_catalog(head + "t\xC3\xA9,pop,0,0,0,0,0,0,0,0,0,100,0\n").ids[0], "t\xC3\xA9");
  data_error e = error_of([&] { parse_catalog(head + "ok,pop,0,0,0,0,0,0,0,0,0,100,0\nt\xE9,pop,0,0,0,0,0,0,0,0,0,100,0\n", "c.csv"); });
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(), "the track id is not valid UTF-8")) << e.what();
  e = error_of([&] { parse_catalog(head + "ok,p\xFFp,0,0,0,0,0,0,0,0,0,100,0\n", "c.csv"); });
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(contains(e.what(), "the genre is not valid UTF-8")) << e.what();
}

// ---------------------------------------------------------------------------------------
// The catalog reader shares the dataset tokenizer
// ---------------------------------------------------------------------------------------

TEST(CatalogQuoting, AQuoteInsideAnUnquotedFieldIsRefusedAsInDatasets) {
  // The catalog's own scanner used to keep such a quote as text; the shared tokenizer
  // refuses it, with the file and line, as it does for playlists.
  const std::string text =
      "track_id,name,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,"
      "tempo,valence\nabc,12\" single,0,0,0,0,0,0,0,0,0,100,0\n";
  const data_error e = error_of([&] { parse_catalog(text, "cat.csv"); });
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(contains(e.what(), "quote inside unquoted field 2")) << e.what();
  // Quoted as pandas writes it, the same name is read.
  const std::string quoted =
      "track_id,name,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,"
      "tempo,valence\r\n\r\nabc,\"12\"\" single\",0,0,0,0,0,0,0,0,0,100,0\r\n";
  const track_catalog cat = parse_catalog(quoted, "cat.csv");
  ASSERT_EQ(cat.size(), 1u);
  EXPECT_EQ(cat.lines[0], 3u);  // the blank line is skipped but counted
}

TEST(CatalogQuoting, StreamsFromAFileWithTheSameResultAsFromMemory) {
  const std::string path = test::fixture("requery/synthetic_catalog.csv");
  const track_catalog from_file = read_catalog(path);
  reader_options small;
  small.buffer_bytes = 100;  // many refills, records split across them
  const track_catalog streamed = read_catalog(path, small);
  const track_catalog in_memory = parse_catalog(test::read_file(path), path);
  for (const track_catalog* c : {&streamed, &in_memory}) {
    EXPECT_EQ(c->ids, from_file.ids);
    EXPECT_EQ(c->genres, from_file.genres);
    EXPECT_EQ(c->lines, from_file.lines);
    ASSERT_EQ(c->features.size(), from_file.features.size());
    for (std::size_t i = 0; i < c->features.size(); ++i) EXPECT_EQ(c->features[i], from_file.features[i]);
  }
}

// ---------------------------------------------------------------------------------------
// The reader/writer seam
// ---------------------------------------------------------------------------------------

TEST(DatasetSeam, TheFactoriesGiveTheCsvImplementationsForEveryName) {
  test::temp_dir dir;
  const dataset ds = read_csv(test::source_dir() + "/data/sample/playlists.csv");
  for (const std::string name : {"out.csv", "out.CSV", "out.txt", "no-extension"}) {
    const std::string path = dir.file(name);
    {
      const auto w = open_dataset_writer(path, {false, 2});
      ASSERT_NE(dynamic_cast<csv_writer*>(w.get()), nullptr) << name;
      w->write(ds);
      w->commit();
    }
    EXPECT_EQ(test::read_file(path), to_csv(ds)) << name;
    const auto r = open_dataset_reader(path);
    ASSERT_NE(dynamic_cast<csv_reader*>(r.get()), nullptr) << name;
    EXPECT_EQ(r->path(), path);
    EXPECT_FALSE(r->has_track_ids());
    dataset chunk;
    std::size_t playlists = 0, songs = 0;
    while (r->next(chunk, 100)) {
      EXPECT_EQ(r->first_playlist(), playlists);
      playlists += chunk.playlists();
      songs += chunk.songs();
    }
    EXPECT_EQ(playlists, ds.playlists());
    EXPECT_EQ(songs, ds.songs());
    EXPECT_EQ(r->bytes_read(), test::read_file(path).size());
  }
}

TEST(DatasetSeam, AnUncommittedWriterLeavesNothingBehind) {
  test::temp_dir dir;
  {
    const auto w = open_dataset_writer(dir.file("x.csv"));
    w->write(parse_csv(std::string(header) + record("a", 2)));
  }
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace playaug

namespace playaug {
namespace {

// ---------------------------------------------------------------------------------------
// A huge playlist is written piece by piece, with the same bytes
// ---------------------------------------------------------------------------------------

TEST(HugeRow, IsWrittenPieceByPieceWithTheBytesOfTheFormat) {
  // 1.1 million songs of 2 features: about 20 MB of text, above the writer's streaming
  // threshold; small playlists around it go through the ordinary batches.
  constexpr std::size_t songs = 1100000, d = 2;
  std::string text = std::string(header) + record("before", 2);
  std::string big = "huge,\"[[1, 2], [3]]\",\"[";
  for (std::size_t i = 0; i < songs; ++i) {
    if (i != 0) big += ", ";
    big += '[';
    for (std::size_t j = 0; j < d; ++j) {
      if (j != 0) big += ", ";
      append_float(big, static_cast<float>(i % 1000) * 0.125f + static_cast<float>(j) * 1e-3f);
    }
    big += ']';
  }
  big += "]\"\n";
  text += big + record("after", 1) + "empty,[[4]],[null]\n";
  const dataset ds = parse_csv(text);
  ASSERT_EQ(ds.song_count(1), songs);
  // The first byte where `got` differs from `want` (npos: equal), to report without
  // printing 20 MB.
  auto mismatch = [](const std::string& got, const std::string& want) -> std::size_t {
    const std::size_t n = std::min(got.size(), want.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (got[i] != want[i]) return i;
    }
    return got.size() == want.size() ? std::string::npos : n;
  };
  for (const int threads : {1, 2, 3}) {
    const std::string got = to_csv(ds, threads);
    const std::size_t at = mismatch(got, text);
    EXPECT_EQ(at, std::string::npos) << threads << " threads, sizes " << got.size() << " " << text.size() << ": '"
                                     << got.substr(at == std::string::npos ? 0 : at, 60) << "' instead of '"
                                     << text.substr(at == std::string::npos ? 0 : at, 60) << "'";
    test::temp_dir dir;
    const auto w = open_dataset_writer(dir.file("o.csv"), {false, threads});
    w->write(ds);
    w->write(ds);
    w->commit();
    EXPECT_EQ(mismatch(test::read_file(dir.file("o.csv")), text + text.substr(std::string(header).size())),
              std::string::npos)
        << threads;
  }
}

TEST(HugeRow, ANonFiniteValueEmitsNothing) {
  dataset ds = parse_csv(std::string(header) + record("huge", 1));
  const std::size_t songs = 2500000;  // 2.5M songs of 2 features: estimated 40 MB
  ds.features.resize(songs * 2);
  for (std::size_t k = 0; k < songs * 2; ++k) ds.features[k] = 0.5f;
  ds.features[songs * 2 - 1] = std::numeric_limits<float>::infinity();
  ds.song_offsets[1] = songs;
  test::temp_dir dir;
  try {
    csv_writer w(dir.file("o.csv"));
    w.write(ds);
    ADD_FAILURE() << "no error";
  } catch (const error& e) {
    EXPECT_TRUE(contains(e.what(), "song 2500000, feature 2 is inf")) << e.what();
  }
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace playaug
