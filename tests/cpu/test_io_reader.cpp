// Reading the playlist CSV format: the notebook's layout, RFC 4180 corner cases, every
// class of bad input (with the exact line and playlist of the error), streaming.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/csv_tokenizer.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "test_support.hpp"

namespace {

using playaug::test::temp_dir;
using playaug::data_error;
using playaug::dataset;

std::string io_fixture(const std::string& name) { return playaug::test::fixture("io/" + name); }

/// A temporary directory removed with everything in it at the end of the test.

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<float> playlist_features(const dataset& ds, std::size_t p) {
  const auto m = ds.playlist_features(p);
  return std::vector<float>(m.data, m.data + m.size());
}

std::vector<std::vector<std::int32_t>> playlist_moods(const dataset& ds, std::size_t p) {
  std::vector<std::vector<std::int32_t>> out;
  for (auto s = ds.segment_offsets[p]; s < ds.segment_offsets[p + 1]; ++s) {
    out.emplace_back(ds.moods.begin() + static_cast<std::ptrdiff_t>(ds.mood_offsets[s]),
                     ds.moods.begin() + static_cast<std::ptrdiff_t>(ds.mood_offsets[s + 1]));
  }
  return out;
}

using segs = std::vector<std::vector<std::int32_t>>;
using floats = std::vector<float>;

/// Parse `text`, expecting a data_error at `line` for playlist `id` whose message contains
/// `fragment`.
void expect_error(const std::string& text, std::uint64_t line, const std::string& id, const std::string& fragment) {
  try {
    (void)playaug::parse_csv(text, "t.csv");
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const data_error& e) {
    EXPECT_EQ(e.file(), "t.csv");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.playlist(), id) << e.what();
    EXPECT_NE(e.message().find(fragment), std::string::npos) << "message: " << e.what() << "\nexpected: " << fragment;
  }
}

const std::string header = ",moods_states,features\n";

// ---------------------------------------------------------------------------------------
// Valid files

TEST(IoReader, NotebookLayout) {
  const dataset ds = playaug::read_csv(io_fixture("basic.csv"));
  ds.validate();
  ASSERT_EQ(ds.playlists(), 3u);
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"iso26", "empty1", "one"}));
  EXPECT_EQ(ds.dim, 3u);
  EXPECT_EQ(ds.schema, playaug::feature_schema::generic(3));
  EXPECT_EQ(ds.songs(), 3u);
  EXPECT_EQ(playlist_features(ds, 0), (floats{0.755f, 0.479f, 7.0f, 0.5f, -15.05f, 1e-05f}));
  EXPECT_EQ(ds.song_count(1), 0u);
  EXPECT_TRUE(ds.is_null(1));
  EXPECT_FALSE(ds.is_null(0));
  EXPECT_FALSE(ds.is_null(2));
  EXPECT_EQ(ds.null_playlists(), 1u);
  const floats third = playlist_features(ds, 2);
  ASSERT_EQ(third.size(), 3u);
  EXPECT_EQ(third[0], 0.25f);
  EXPECT_EQ(third[1], 100000.0f);
  EXPECT_TRUE(third[2] == 0.0f && std::signbit(third[2]));
  EXPECT_EQ(playlist_moods(ds, 0), (segs{{22}, {20}}));
  EXPECT_EQ(playlist_moods(ds, 1), (segs{{3}}));
  EXPECT_EQ(playlist_moods(ds, 2), (segs{{1, 2}, {}}));
  EXPECT_TRUE(ds.track_ids.empty());
}

TEST(IoReader, QuotedIds) {
  const dataset ds = playaug::read_csv(io_fixture("quoted_ids.csv"));
  ds.validate();
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"a,b", "say \"hi\"", "two\nlines", "plain"}));
  EXPECT_EQ(ds.dim, 2u);
  EXPECT_EQ(playlist_features(ds, 1), (floats{3.5f, 4.5f, 5.5f, 6.5f}));
  EXPECT_EQ(playlist_features(ds, 3), (floats{9.5f, 10.5f}));
  EXPECT_EQ(playlist_moods(ds, 3), (segs{{5}}));
}

TEST(IoReader, ByteOrderMarkAndCrlf) {
  playaug::csv_reader r(io_fixture("crlf_bom.csv"));
  dataset all;
  while (r.next(all)) {
  }
  EXPECT_EQ(r.bytes_read(), std::filesystem::file_size(io_fixture("crlf_bom.csv")));
  const dataset ds = playaug::read_csv(io_fixture("crlf_bom.csv"));
  ds.validate();
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(playlist_features(ds, 0), (floats{0.1f, 0.2f, 0.3f, 0.4f}));
  EXPECT_TRUE(ds.is_null(1));
  EXPECT_EQ(playlist_moods(ds, 1), (segs{{3}}));
}

TEST(IoReader, NoFinalNewline) {
  const dataset ds = playaug::read_csv(io_fixture("no_final_newline.csv"));
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(playlist_features(ds, 1), (floats{0.75f, 0.125f}));
  // The same without the final newline after a quoted field, and after a final CR.
  EXPECT_EQ(playaug::parse_csv(header + "p,[[1]],\"[[1, 2]]\"").songs(), 1u);
  EXPECT_EQ(playaug::parse_csv(header + "p,[[1]],\"[[1, 2]]\"\r").songs(), 1u);
  EXPECT_EQ(playaug::parse_csv(header + "p,[[1]],[null]\r").null_playlists(), 1u);
}

TEST(IoReader, NamedIndexReorderedColumnsAndExtraColumn) {
  const dataset ds = playaug::read_csv(io_fixture("reordered.csv"));
  ds.validate();
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(playlist_features(ds, 0), (floats{0.5f, 0.25f}));
  EXPECT_EQ(playlist_moods(ds, 0), (segs{{1}}));
  // [] is a valid playlist without songs, and not a [null] one.
  EXPECT_EQ(ds.song_count(1), 0u);
  EXPECT_FALSE(ds.is_null(1));
  EXPECT_EQ(playlist_moods(ds, 1), (segs{{2}, {3}}));
}

TEST(IoReader, TrackIdsAndJsonWhitespace) {
  playaug::csv_reader r(io_fixture("track_ids.csv"));
  EXPECT_TRUE(r.has_track_ids());
  const dataset ds = playaug::read_csv(io_fixture("track_ids.csv"));
  ds.validate();
  EXPECT_EQ(playlist_features(ds, 0), (floats{0.5f, 0.25f, 1.0f, 2.0f}));
  EXPECT_EQ(playlist_moods(ds, 0), (segs{{1}}));
  EXPECT_EQ(ds.track_ids, (std::vector<std::string>{"6DCZcSspjsKoFjzjrWoCd", "caf\xC3\xA9 \"x\""}));
  EXPECT_TRUE(ds.is_null(1));
  EXPECT_FALSE(playaug::csv_reader(io_fixture("basic.csv")).has_track_ids());
}

TEST(IoReader, SpotifySchemaForElevenFeatures) {
  const dataset ds = playaug::parse_csv(header + "p,[[1]],\"[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]\"\n");
  EXPECT_EQ(ds.dim, 11u);
  EXPECT_EQ(ds.schema, playaug::feature_schema::spotify());
}

TEST(IoReader, HeaderOnlyAndBlankLines) {
  const dataset empty = playaug::parse_csv(header);
  EXPECT_EQ(empty.playlists(), 0u);
  EXPECT_EQ(empty.dim, 0u);
  empty.validate();
  // Blank lines are skipped, as pandas does, and still counted for line numbers.
  const dataset ds = playaug::parse_csv("\n" + header + "\np,[[1]],[[1]]\n\r\n\n");
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"p"}));
  expect_error("\n" + header + "\np,[[1]],[[1]]\n\nq,[[1]],[[x]]\n", 6, "q", "expected a number");
}

TEST(IoReader, NumbersAsJsonWritesThem) {
  const dataset ds = playaug::parse_csv(
      header + "p,\"[[-5, 0, 2147483647, -2147483648]]\",\"[[-0.5e-3, 1E+2, 12345678901234567890, 3.4028234e38, 1e-50]]\"\n");
  EXPECT_EQ(ds.moods, (std::vector<std::int32_t>{-5, 0, 2147483647, -2147483647 - 1}));
  const floats f = playlist_features(ds, 0);
  EXPECT_EQ(f[0], -0.5e-3f);
  EXPECT_EQ(f[1], 100.0f);
  EXPECT_EQ(f[2], 12345678901234567890.0f);
  EXPECT_EQ(f[3], 3.4028234e38f);
  EXPECT_EQ(f[4], 0.0f);  // below the smallest float32: rounds to zero
}

TEST(IoReader, NumbersMatchStrtof) {
  // Decimal forms of every length, through both the fast path (short significands, small
  // exponents) and the general one; glibc's strtof (correctly rounded) is the reference.
  std::mt19937 rng(3);
  std::vector<std::string> tokens;
  auto digits = [&](int n, bool lead_nonzero) {
    std::string d;
    for (int i = 0; i < n; ++i) d += static_cast<char>('0' + (i == 0 && lead_nonzero ? 1 + rng() % 9 : rng() % 10));
    return d;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string t = rng() % 3 == 0 ? "-" : "";
    const int int_digits = static_cast<int>(rng() % 10);
    t += int_digits == 0 ? "0" : digits(int_digits, true);
    if (rng() % 4 != 0) t += "." + digits(1 + static_cast<int>(rng() % 12), false);
    if (rng() % 3 == 0) t += (rng() % 2 ? "e" : "E") + std::string(rng() % 2 ? "-" : (rng() % 2 ? "+" : "")) +
                             std::to_string(rng() % 25);
    tokens.push_back(t);
  }
  std::string cell = "[";
  for (std::size_t i = 0; i < tokens.size(); ++i) cell += (i ? ", [" : "[") + tokens[i] + "]";
  cell += "]";
  const dataset ds = playaug::parse_csv(header + "p,[],\"" + cell + "\"\n");
  ASSERT_EQ(ds.songs(), tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const float ref = std::strtof(tokens[i].c_str(), nullptr);
    ASSERT_EQ(std::memcmp(&ds.features[i], &ref, sizeof ref), 0)
        << tokens[i] << ": " << ds.features[i] << " vs strtof " << ref;
  }
}

TEST(IoReader, DashReadsStandardInput) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // child: standard input from the fixture
    int code = 3;
    const int fd = ::open(io_fixture("basic.csv").c_str(), O_RDONLY);
    if (fd >= 0 && ::dup2(fd, STDIN_FILENO) == STDIN_FILENO) {
      try {
        const dataset ds = playaug::read_csv("-");
        code = ds.playlists() == 3 && ds.ids[0] == "iso26" && ds.song_count(0) == 2 ? 0 : 1;
      } catch (...) {
        code = 2;
      }
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---------------------------------------------------------------------------------------
// Errors: each names the file, the line where the record starts and the playlist.

TEST(IoReaderErrors, EmptyFileOrMissingColumns) {
  expect_error("", 0, "", "empty file");
  expect_error("\xEF\xBB\xBF", 0, "", "empty file");
  expect_error("\n\n", 0, "", "empty file");
  expect_error(",moods_states\np,[[1]]\n", 1, "", "lacks the column 'features'");
  expect_error(",features,x\np,[[1]],1\n", 1, "", "lacks the column 'moods_states'");
  expect_error("id,a,b\n", 1, "", "lacks the columns 'moods_states' and 'features'");
  expect_error("moods_states,features\n[[1]],[[1]]\n", 1, "", "first column must hold the playlist ids");
  expect_error(",moods_states,features,features\n", 1, "", "duplicate column 'features'");
  try {
    (void)playaug::read_csv("/nonexistent/dir/x.csv");
    ADD_FAILURE() << "no error";
  } catch (const data_error& e) {
    EXPECT_EQ(e.file(), "/nonexistent/dir/x.csv");
    EXPECT_EQ(e.line(), 0u);
    EXPECT_NE(e.message().find("cannot open"), std::string::npos);
  }
}

TEST(IoReaderErrors, FieldCount) {
  expect_error(header + "a,[[1]],[[1]]\nb,[[1]]\n", 3, "b", "record has 2 fields, the header has 3");
  expect_error(header + "a,[[1]],[[1]],extra\n", 2, "a", "record has 4 fields, the header has 3");
  // A quoted line break makes the record span lines 2-3; the next one starts at line 4.
  expect_error(header + "\"x\ny\",[[1]],[[1]]\nb,[[1]]\n", 4, "b", "record has 2 fields");
}

TEST(IoReaderErrors, SongsMustShareTheDimension) {
  expect_error(header + "a,[[1]],\"[[1, 2, 3], [4, 5]]\"\n", 2, "a", "song 2 has 2 features, expected 3");
  // The first song of the file fixes d, for every later playlist.
  expect_error(header + "a,[[1]],\"[[1, 2, 3]]\"\nb,[[1]],[null]\nc,[[1]],\"[[1, 2, 3], [1, 2, 3], [1, 2]]\"\n", 4,
               "c", "song 3 has 2 features, expected 3");
  expect_error(header + "a,[[1]],\"[[1, 2, 3]]\"\nb,[[1]],\"[[1, 2, 3, 4]]\"\n", 3, "b",
               "song 1 has 4 features, expected 3");
  expect_error(header + "a,[[1]],[[]]\n", 2, "a", "song 1 has no features");
}

TEST(IoReaderErrors, NonFiniteAndOutOfRangeNumbers) {
  // The cell starts at column 11 (after `p1,[[1]],"`), NaN at offset 7 of the cell.
  expect_error(header + "p1,[[1]],\"[[0.5, NaN]]\"\n", 2, "p1", "features: expected a number, found 'N' at column 18");
  expect_error(header + "p1,[[1]],\"[[0.5, 1]]\"\np2,[[1]],\"[[Infinity, 1]]\"\n", 3, "p2", "expected a number");
  expect_error(header + "p,[[1]],\"[[-Infinity, 1]]\"\n", 2, "p", "expected a digit after '-'");
  expect_error(header + "p,[[1]],\"[[inf, 1]]\"\n", 2, "p", "expected a number");
  expect_error(header + "p,[[1]],\"[[1, 1e400]]\"\n", 2, "p", "number 1e400 is out of float32 range (song 1, feature 2)");
  expect_error(header + "p,[[1]],\"[[1, 2], [3, -1e39]]\"\n", 2, "p", "number -1e39 is out of float32 range (song 2, feature 2)");
  expect_error(header + "p,[[1]],\"[[1, 3.4028236e38]]\"\n", 2, "p", "out of float32 range");
}

TEST(IoReaderErrors, NumberGrammar) {
  expect_error(header + "p,[[1]],[[01]]\n", 2, "p", "leading zero");
  expect_error(header + "p,[[1]],[[.5]]\n", 2, "p", "expected a number, found '.'");
  expect_error(header + "p,[[1]],[[1.]]\n", 2, "p", "expected a digit after '.'");
  expect_error(header + "p,[[1]],[[+1]]\n", 2, "p", "expected a number, found '+'");
  expect_error(header + "p,[[1]],[[1e]]\n", 2, "p", "expected a digit in the exponent");
  expect_error(header + "p,[[1]],\"[[\"\"1\"\"]]\"\n", 2, "p", "expected a number, found '\"'");
}

TEST(IoReaderErrors, Moods) {
  expect_error(header + "p,[[1.5]],[[1]]\n", 2, "p", "moods_states: expected an integer, found 1.5");
  expect_error(header + "p,[[1e2]],[[1]]\n", 2, "p", "expected an integer, found 1e2");
  expect_error(header + "p,[[2147483648]],[[1]]\n", 2, "p", "integer 2147483648 is out of int32 range (segment 1, mood 1)");
  expect_error(header + "p,\"[1, 2]\",[[1]]\n", 2, "p", "moods_states: expected '[' starting segment 1, found '1'");
  expect_error(header + "p,[[1]]],[[1]]\n", 2, "p", "moods_states: unexpected ']' after the end of the list");
  expect_error(header + "p,[null],[[1]]\n", 2, "p", "moods_states: expected '[' starting segment 1, found 'n'");
  expect_error(header + "p,,[[1]]\n", 2, "p", "moods_states: empty cell");
}

TEST(IoReaderErrors, FeatureNesting) {
  expect_error(header + "p,[[1]],\"[0.5, 0.25]\"\n", 2, "p", "expected '[' starting song 1, found '0'");
  expect_error(header + "p,[[1]],[[[0.5]]]\n", 2, "p", "expected a number, found '['");
  expect_error(header + "p,[[1]],\"[[0.5], null]\"\n", 2, "p", "null is only valid as the whole cell [null] (song 2)");
  expect_error(header + "p,[[1]],null\n", 2, "p", "expected '[' starting the list of songs, found 'n'");
  expect_error(header + "p,[[1]],\n", 2, "p", "features: empty cell");
  expect_error(header + "p,[[1]],\"[null, 1]\"\n", 2, "p", "[null] must be the whole cell");
  expect_error(header + "p,[[1]],[[0.5]] x\n", 2, "p", "unexpected 'x' after the end of the list");
  expect_error(header + "p,[[1]],\"[[0.5],]\"\n", 2, "p", "expected '[' starting song 2, found ']'");
  expect_error(header + "p,[[1]],\"[[0.5, 1]\"\n", 2, "p", "expected ',' or ']' after song 1, found the end of the cell");
}

TEST(IoReaderErrors, ErrorInsideAMultiLineCellNamesItsLine) {
  // The record starts at line 2; the bad number is on line 3, column 3.
  expect_error(header + "p,[[1]],\"[[0.5, 1],\n [x, 2]]\"\n", 2, "p", "expected a number, found 'x' at line 3, column 3");
}

TEST(IoReaderErrors, CsvQuoting) {
  expect_error(header + "a,[[1]],[[1]]\n\"b,[[1]],[[1]]\n", 3, "", "unterminated quoted field (field 1)");
  expect_error(header + "a,[[1]],\"[[1]]\n", 2, "a", "unterminated quoted field (field 3)");
  expect_error(header + "a\"b,[[1]],[[1]]\n", 2, "", "quote inside unquoted field 1");
  expect_error(header + "\"a\"b,[[1]],[[1]]\n", 2, "", "unexpected character after the closing quote of field 1");
  expect_error(header + "\"a\",\"[[1]]\" ,[[1]]\n", 2, "a", "unexpected character after the closing quote of field 2");
}

TEST(IoReaderErrors, TrackIds) {
  const std::string h = ",moods_states,features,track_ids\n";
  expect_error(h + "p,[[1]],\"[[1], [2]]\",\"[\"\"a\"\"]\"\n", 2, "p", "track_ids: 1 track ids for 2 songs");
  expect_error(h + "p,[[1]],[[1]],[a]\n", 2, "p", "track_ids: expected a string, found 'a'");
  expect_error(h + "p,[[1]],[[1]],\"[\"\"a\\q\"\"]\"\n", 2, "p", "track_ids: invalid escape sequence");
  expect_error(h + "p,[[1]],[[1]],\"[\"\"\\ud800\"\"]\"\n", 2, "p", "unpaired surrogate");
}

// ---------------------------------------------------------------------------------------
// Buffering and streaming

/// A synthetic CSV text with `playlists` playlists of varied shapes.
std::string synthetic_csv(std::size_t playlists, std::uint32_t seed, bool track_ids = false) {
  std::mt19937 rng(seed);
  std::string s = track_ids ? ",moods_states,features,track_ids\n" : ",moods_states,features\n";
  for (std::size_t p = 0; p < playlists; ++p) {
    const std::size_t songs = rng() % 12;
    const bool null = songs == 0 && rng() % 2 == 0;
    s += (p % 7 == 3) ? "\"id " + std::to_string(p) + ", \"\"q\"\"\"" : "pl" + std::to_string(p);
    s += ",\"[[" + std::to_string(rng() % 40) + "], [" + std::to_string(rng() % 40) + ", 7]]\",";
    if (null) {
      s += "[null]";
    } else {
      s += "\"[";
      for (std::size_t i = 0; i < songs; ++i) {
        s += i == 0 ? "[" : ",\n [";
        for (int j = 0; j < 5; ++j) s += (j ? ", " : "") + std::to_string(int(rng() % 2000) - 1000) + "." + std::to_string(rng() % 1000);
        s += "]";
      }
      s += "]\"";
    }
    if (track_ids) {
      s += ",\"[";
      for (std::size_t i = 0; i < songs; ++i) s += (i ? ", " : "") + std::string("\"\"t") + std::to_string(p * 100 + i) + "\"\"";
      s += "]\"";
    }
    s += (p % 5 == 0) ? "\r\n" : "\n";
  }
  return s;
}

TEST(IoStreaming, TinyBufferTokenizesLikeMemory) {
  const std::string text = synthetic_csv(200, 7);
  temp_dir dir;
  const std::string path = dir.file("s.csv");
  write_file(path, text);
  for (std::size_t buf : {64u, 100u, 4096u}) {
    playaug::io_detail::csv_tokenizer mem(text, "mem");
    playaug::io_detail::csv_tokenizer file(path, playaug::io_detail::csv_tokenizer::default_max_record, buf);
    playaug::io_detail::csv_record a, b;
    std::size_t records = 0;
    for (;;) {
      const bool more_a = mem.next(a);
      const bool more_b = file.next(b);
      ASSERT_EQ(more_a, more_b);
      if (!more_a) break;
      ++records;
      ASSERT_EQ(a.line, b.line);
      ASSERT_EQ(a.fields, b.fields) << "record at line " << a.line << ", buffer " << buf;
    }
    EXPECT_EQ(records, 201u);
  }
}

TEST(IoStreaming, FileLargerThanTheReadBufferReadsLikeMemory) {
  const std::string text = synthetic_csv(12000, 11, true);
  ASSERT_GT(text.size(), std::size_t{3} << 20);  // several 1 MiB buffers
  temp_dir dir;
  const std::string path = dir.file("big.csv");
  write_file(path, text);
  const dataset from_file = playaug::read_csv(path);
  const dataset from_memory = playaug::parse_csv(text);
  from_file.validate();
  EXPECT_EQ(from_file.playlists(), 12000u);
  EXPECT_TRUE(from_file == from_memory);
  EXPECT_EQ(from_file.track_ids.size(), from_file.songs());
}

TEST(IoStreaming, OneRecordLargerThanTheReadBuffer) {
  std::string cell = "\"[";
  for (int i = 0; i < 300000; ++i) cell += (i ? ", [" : "[") + std::to_string(i) + ".5, 1]";
  cell += "]\"";
  ASSERT_GT(cell.size(), std::size_t{2} << 20);
  const std::string text = header + "a,[[1]],\"[[1, 2]]\"\nbig,[[1]]," + cell + "\nc,[[1]],\"[[3, 4]]\"\n";
  temp_dir dir;
  write_file(dir.file("x.csv"), text);
  const dataset ds = playaug::read_csv(dir.file("x.csv"));
  ASSERT_EQ(ds.playlists(), 3u);
  EXPECT_EQ(ds.song_count(1), 300000u);
  EXPECT_EQ(ds.features[2 + 2 * 299999], 299999.5f);
  EXPECT_EQ(playlist_features(ds, 2), (floats{3, 4}));
}

/// Append every playlist of `chunk` to `all`.
void append_chunk(dataset& all, const dataset& chunk) {
  for (std::size_t p = 0; p < chunk.playlists(); ++p) {
    all.ids.push_back(chunk.ids[p]);
    all.null_features.push_back(chunk.null_features[p]);
    all.song_offsets.push_back(all.song_offsets.back() + chunk.song_count(p));
    const auto s0 = chunk.segment_offsets[p], s1 = chunk.segment_offsets[p + 1];
    for (auto s = s0; s < s1; ++s) {
      for (auto m = chunk.mood_offsets[s]; m < chunk.mood_offsets[s + 1]; ++m) all.moods.push_back(chunk.moods[m]);
      all.mood_offsets.push_back(all.moods.size());
    }
    all.segment_offsets.push_back(all.segment_offsets.back() + (s1 - s0));
  }
  all.features.append(chunk.features.begin(), chunk.features.end());
  all.track_ids.insert(all.track_ids.end(), chunk.track_ids.begin(), chunk.track_ids.end());
  all.dim = chunk.dim;
  all.schema = chunk.schema;
}

TEST(IoStreaming, ChunksConcatenateToTheWholeFile) {
  temp_dir dir;
  const std::string path = dir.file("s.csv");
  write_file(path, synthetic_csv(3000, 5, true));
  const dataset whole = playaug::read_csv(path);
  for (std::size_t max_songs : {std::size_t{1}, std::size_t{40}, std::size_t{1000}}) {
    playaug::csv_reader r(path);
    EXPECT_TRUE(r.has_track_ids());
    EXPECT_EQ(r.path(), path);
    dataset all, chunk;
    std::uint64_t expected_first = 0;
    std::size_t chunks = 0;
    while (r.next(chunk, max_songs)) {
      chunk.validate();
      EXPECT_EQ(r.first_playlist(), expected_first);
      EXPECT_EQ(chunk.dim, 5u);
      // Whole playlists until at least max_songs: dropping the last one falls short.
      const std::size_t without_last = chunk.songs() - chunk.song_count(chunk.playlists() - 1);
      EXPECT_LT(without_last, max_songs);
      expected_first += chunk.playlists();
      append_chunk(all, chunk);
      ++chunks;
    }
    EXPECT_EQ(chunk.playlists(), 0u);  // left empty at the end
    EXPECT_EQ(r.bytes_read(), std::filesystem::file_size(path));
    EXPECT_GT(chunks, 1u);
    EXPECT_TRUE(all == whole) << "max_songs " << max_songs;
  }
  // max_playlists
  playaug::csv_reader r(path);
  dataset chunk;
  ASSERT_TRUE(r.next(chunk, std::size_t{1} << 30, 7));
  EXPECT_EQ(chunk.playlists(), 7u);
  EXPECT_GT(r.bytes_read(), 0u);
  EXPECT_LT(r.bytes_read(), std::filesystem::file_size(path));
  ASSERT_TRUE(r.next(chunk, std::size_t{1} << 30, 7));
  EXPECT_EQ(r.first_playlist(), 7u);
  EXPECT_EQ(chunk.ids[0], whole.ids[7]);
}

TEST(IoStreaming, DimIsZeroUntilTheFirstSongThenFixed) {
  temp_dir dir;
  const std::string path = dir.file("s.csv");
  write_file(path, header + "a,[],[null]\nb,[],[]\nc,[[1]],\"[[1, 2]]\"\nd,[],[null]\ne,[[1]],\"[[1, 2, 3]]\"\n");
  playaug::csv_reader r(path);
  dataset chunk;
  ASSERT_TRUE(r.next(chunk, 1, 2));
  EXPECT_EQ(chunk.dim, 0u);
  EXPECT_EQ(chunk.schema.dim(), 0u);
  ASSERT_TRUE(r.next(chunk, 1, 1));
  EXPECT_EQ(chunk.dim, 2u);
  ASSERT_TRUE(r.next(chunk, 1, 1));
  EXPECT_EQ(chunk.dim, 2u);  // a chunk without songs keeps the file's dim
  try {
    r.next(chunk);
    ADD_FAILURE() << "no error";
  } catch (const data_error& e) {
    EXPECT_EQ(e.line(), 6u);
    EXPECT_EQ(e.playlist(), "e");
    EXPECT_NE(e.message().find("song 1 has 3 features, expected 2"), std::string::npos) << e.what();
  }
}

TEST(IoStreaming, HeaderErrorsAtConstruction) {
  temp_dir dir;
  write_file(dir.file("e.csv"), "");
  write_file(dir.file("m.csv"), "id,features\n");
  EXPECT_THROW(playaug::csv_reader(dir.file("e.csv")), data_error);
  EXPECT_THROW(playaug::csv_reader(dir.file("m.csv")), data_error);
}

}  // namespace
