// Writing the playlist CSV format: pandas' quoting and JSON layout, shortest round-trip
// floats, write -> read round trips, and atomic files that never leave partial output.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
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

dataset make_dataset(std::size_t dim) {
  dataset ds;
  ds.dim = dim;
  ds.schema = playaug::feature_schema::for_dim(dim);
  return ds;
}

std::string float_text(float v) {
  std::string s;
  playaug::append_float(s, v);
  return s;
}

std::string double_text(double v) {
  std::string s;
  playaug::append_double(s, v);
  return s;
}

// ---------------------------------------------------------------------------------------
// Format

TEST(IoWriter, WritesWhatPandasWrites) {
  dataset ds = make_dataset(2);
  const float a[] = {0.755f, 0.479f, 1.0f, -15.05f};
  ds.add_playlist("iso26", {{22}, {20}}, a, 2);
  const float b[] = {0.5f, 1e-05f};
  ds.add_playlist("a,b", {{3}}, b, 1);
  ds.add_playlist("say \"hi\"", {{1, 2}, {}}, nullptr, 0, true);
  ds.add_playlist("none", {}, nullptr, 0);
  const float c[] = {100000.0f, 1e16f};
  ds.add_playlist("line\nbreak", {{}}, c, 1);
  // Quoted only where a comma, quote or line break appears; ", " between list items.
  const std::string expected =
      ",moods_states,features\n"
      "iso26,\"[[22], [20]]\",\"[[0.755, 0.479], [1.0, -15.05]]\"\n"
      "\"a,b\",[[3]],\"[[0.5, 1e-05]]\"\n"
      "\"say \"\"hi\"\"\",\"[[1, 2], []]\",[null]\n"
      "none,[],[]\n"
      "\"line\nbreak\",[[]],\"[[100000.0, 1e+16]]\"\n";
  EXPECT_EQ(playaug::to_csv(ds), expected);
}

TEST(IoWriter, TrackIdsColumn) {
  dataset ds = make_dataset(1);
  const float a[] = {0.25f, 0.5f};
  ds.add_playlist("p", {{1}}, a, 2);
  ds.add_playlist("q", {{2}}, nullptr, 0, true);
  ds.track_ids = {"6DCZcSspjsKoFjzjrWoCd", "caf\xC3\xA9 \"x\"\\\n"};
  const std::string expected =
      ",moods_states,features,track_ids\n"
      "p,[[1]],\"[[0.25], [0.5]]\",\"[\"\"6DCZcSspjsKoFjzjrWoCd\"\", \"\"caf\xC3\xA9 \\\"\"x\\\"\"\\\\\\n\"\"]\"\n"
      "q,[[2]],[null],[]\n";
  EXPECT_EQ(playaug::to_csv(ds), expected);
  EXPECT_TRUE(playaug::parse_csv(expected) == ds);
}

TEST(IoWriter, SingleValueCellsAreNotQuoted) {
  dataset ds = make_dataset(1);
  const float a[] = {0.5f};
  ds.add_playlist("p", {{7}}, a, 1);
  EXPECT_EQ(playaug::to_csv(ds), ",moods_states,features\np,[[7]],[[0.5]]\n");
}

TEST(IoWriter, RejectsNonFiniteValuesAndBrokenDatasets) {
  dataset ds = make_dataset(2);
  const float a[] = {0.5f, std::nanf("")};
  ds.add_playlist("p", {{1}}, a, 1);
  try {
    (void)playaug::to_csv(ds);
    ADD_FAILURE() << "no error";
  } catch (const playaug::error& e) {
    EXPECT_NE(std::string(e.what()).find("playlist 'p': song 1, feature 2 is NaN"), std::string::npos) << e.what();
  }
  dataset broken = make_dataset(2);
  broken.ids.push_back("x");  // no offsets
  EXPECT_THROW((void)playaug::to_csv(broken), playaug::error);
  temp_dir dir;
  dataset with_songs = make_dataset(1);
  with_songs.add_playlist("p", {}, a, 1);
  EXPECT_THROW(playaug::csv_writer(dir.file("t.csv"), true).write(with_songs), playaug::usage_error);
  EXPECT_TRUE(dir.entries().empty());
}

// ---------------------------------------------------------------------------------------
// Floats: shortest round-trip digits, laid out as Python's repr() / json.dumps().

TEST(IoFloatFormat, PythonReprLayout) {
  // Each expected string is what Python prints for repr(float(x)) of the same value.
  EXPECT_EQ(float_text(0.755f), "0.755");
  EXPECT_EQ(float_text(-15.05f), "-15.05");
  EXPECT_EQ(float_text(1e-05f), "1e-05");
  EXPECT_EQ(float_text(0.0001f), "0.0001");
  EXPECT_EQ(float_text(100000.0f), "100000.0");
  EXPECT_EQ(float_text(1.0f), "1.0");
  EXPECT_EQ(float_text(0.0f), "0.0");
  EXPECT_EQ(float_text(-0.0f), "-0.0");
  EXPECT_EQ(float_text(123456.7f), "123456.7");
  EXPECT_EQ(float_text(1e16f), "1e+16");
  EXPECT_EQ(float_text(1e15f), "1000000000000000.0");
  EXPECT_EQ(float_text(3.4028235e38f), "3.4028235e+38");
  EXPECT_EQ(float_text(-1.5e-7f), "-1.5e-07");
  EXPECT_EQ(float_text(std::numeric_limits<float>::denorm_min()), "1e-45");
  EXPECT_EQ(double_text(0.1), "0.1");
  EXPECT_EQ(double_text(1e22), "1e+22");
  EXPECT_EQ(double_text(5e-324), "5e-324");
  EXPECT_EQ(double_text(1e15), "1000000000000000.0");
  EXPECT_EQ(double_text(123456789012345680.0), "1.2345678901234568e+17");
  EXPECT_EQ(double_text(std::nan("")), "NaN");
  EXPECT_EQ(double_text(-HUGE_VAL), "-Infinity");
  EXPECT_EQ(float_text(HUGE_VALF), "Infinity");
}

/// The fewest significant digits that read back as `v`, found with printf and strtof.
int shortest_digits_reference(float v) {
  char buf[64];
  for (int p = 1; p <= 9; ++p) {
    std::snprintf(buf, sizeof buf, "%.*e", p - 1, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) return p;
  }
  return 9;
}

/// Significant digits of a decimal string: leading and trailing zeros do not count.
int significant_digits(const std::string& s) {
  std::string digits;
  for (char c : s.substr(0, s.find('e'))) {
    if (c >= '0' && c <= '9') digits += c;
  }
  const auto first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 1;
  const auto last = digits.find_last_not_of('0');
  return static_cast<int>(last - first + 1);
}

TEST(IoFloatFormat, ShortestRoundTripAgainstPrintf) {
  std::mt19937 rng(42);
  for (int i = 0; i < 50000; ++i) {
    std::uint32_t bits = rng();
    float v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    const std::string s = float_text(v);
    const float back = std::strtof(s.c_str(), nullptr);
    ASSERT_EQ(std::memcmp(&back, &v, sizeof v), 0) << s;
    ASSERT_EQ(significant_digits(s), shortest_digits_reference(v)) << s;
  }
  for (int i = 0; i < 30000; ++i) {
    const std::uint64_t bits = (std::uint64_t{rng()} << 32) | rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    const std::string s = double_text(v);
    const double back = std::strtod(s.c_str(), nullptr);
    ASSERT_EQ(std::memcmp(&back, &v, sizeof v), 0) << s;
  }
}

// ---------------------------------------------------------------------------------------
// Round trips

/// A dataset exercising every shape: [null] and [] playlists, empty segments, ids that need
/// quoting, floats from random bit patterns (subnormals and -0.0 included).
dataset random_dataset(std::size_t playlists, std::size_t dim, std::uint32_t seed, bool track_ids) {
  std::mt19937 rng(seed);
  dataset ds = make_dataset(dim);
  const char* odd_ids[] = {"a,b", "q\"uote", "two\nlines", "cr\rlf", "", " space ", "caf\xC3\xA9", "[1, 2]"};
  std::vector<float> feats;
  for (std::size_t p = 0; p < playlists; ++p) {
    const std::size_t songs = rng() % 9;
    const bool null = songs == 0 && rng() % 2 == 0;
    std::string id = p % 5 == 0 ? odd_ids[(p / 5) % 8] + std::to_string(p) : "pl" + std::to_string(p);
    std::vector<std::vector<std::int32_t>> segs(rng() % 4);
    for (auto& s : segs) {
      s.resize(rng() % 3);
      for (auto& m : s) m = static_cast<std::int32_t>(rng());
    }
    feats.clear();
    for (std::size_t i = 0; i < songs * dim; ++i) {
      float v;
      do {
        const std::uint32_t bits = rng();
        std::memcpy(&v, &bits, sizeof v);
      } while (!std::isfinite(v));
      if (i % 7 == 0) v = static_cast<float>(rng() % 1000) / 1000.0f;
      feats.push_back(v);
    }
    ds.add_playlist(id, segs, feats.data(), songs, null);
    if (track_ids) {
      for (std::size_t i = 0; i < songs; ++i) {
        ds.track_ids.push_back(i % 3 == 0 ? "t\"\\/\b\f\n\r\t\x01" + std::to_string(p) : "6DCZcSspjsKoFjzjrWo" + std::to_string(i));
      }
    }
  }
  ds.validate();
  return ds;
}

TEST(IoRoundTrip, WriteThenReadGivesTheSameDataset) {
  temp_dir dir;
  for (bool track_ids : {false, true}) {
    for (std::size_t dim : {1u, 3u, 11u}) {
      const dataset ds = random_dataset(500, dim, static_cast<std::uint32_t>(dim * 7 + track_ids), track_ids);
      const std::string path = dir.file("rt.csv");
      playaug::write_csv(path, ds);
      const dataset back = playaug::read_csv(path);
      EXPECT_TRUE(back == ds) << "dim " << dim << " track_ids " << track_ids;
      EXPECT_EQ(read_file(path), playaug::to_csv(ds));
      EXPECT_TRUE(playaug::parse_csv(playaug::to_csv(ds)) == ds);
    }
  }
}

TEST(IoRoundTrip, ChunkedWriterMatchesWholeWrite) {
  const dataset ds = random_dataset(300, 4, 3, true);
  temp_dir dir;
  playaug::write_csv(dir.file("whole.csv"), ds);
  {
    playaug::csv_reader r(dir.file("whole.csv"));
    playaug::csv_writer w(dir.file("chunked.csv"), r.has_track_ids());
    dataset chunk;
    while (r.next(chunk, 17)) w.write(chunk);
    w.commit();
  }
  EXPECT_EQ(read_file(dir.file("chunked.csv")), read_file(dir.file("whole.csv")));
}

TEST(IoRoundTrip, NotebookFixtureRewritesInPandasLayout) {
  const dataset ds = playaug::read_csv(playaug::test::fixture("io/basic.csv"));
  EXPECT_EQ(playaug::to_csv(ds),
            ",moods_states,features\n"
            "iso26,\"[[22], [20]]\",\"[[0.755, 0.479, 7.0], [0.5, -15.05, 1e-05]]\"\n"
            "empty1,[[3]],[null]\n"
            "one,\"[[1, 2], []]\",\"[[0.25, 100000.0, -0.0]]\"\n");
}

// ---------------------------------------------------------------------------------------
// atomic_file

TEST(IoAtomicFile, CommitMovesTheFileIntoPlace) {
  temp_dir dir;
  const std::string path = dir.file("out.csv");
  {
    playaug::atomic_file f(path);
    f.write("hello ");
    EXPECT_FALSE(fs::exists(path));  // nothing at the destination before commit
    EXPECT_EQ(dir.entries().size(), 1u);  // the temporary, in the same directory
    f.write("world\n");
    f.commit();
    EXPECT_THROW(f.write("more"), playaug::usage_error);
    EXPECT_THROW(f.commit(), playaug::usage_error);
  }
  EXPECT_EQ(read_file(path), "hello world\n");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.csv"});
  // Mode as for any new file: 0666 minus the umask (not the 0600 of a temporary file).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u & ~mask);
}

TEST(IoAtomicFile, UncommittedFileLeavesNothing) {
  temp_dir dir;
  {
    playaug::atomic_file f(dir.file("out.csv"));
    f.write("partial");
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(IoAtomicFile, FailedRewriteKeepsTheOldFile) {
  temp_dir dir;
  const std::string path = dir.file("out.csv");
  const dataset good = random_dataset(20, 2, 1, false);
  playaug::write_csv(path, good);
  const std::string before = read_file(path);
  dataset bad = make_dataset(2);
  const float a[] = {1.0f, 2.0f, 3.0f, INFINITY};
  bad.add_playlist("ok", {}, a, 1);
  bad.add_playlist("bad", {}, a + 2, 1);
  EXPECT_THROW(playaug::write_csv(path, bad), playaug::error);
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.csv"});
  // A writer that throws between chunks leaves the old file as well.
  try {
    playaug::csv_writer w(path);
    w.write(good);
    w.write(bad);
    w.commit();
    ADD_FAILURE() << "no error";
  } catch (const playaug::error&) {
  }
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.csv"});
}

TEST(IoAtomicFile, Failures) {
  temp_dir dir;
  EXPECT_THROW(playaug::atomic_file(dir.file("missing/out.csv")), playaug::error);
  EXPECT_THROW(playaug::atomic_file(dir.file("sub/")), playaug::error);
  // A directory is refused before any temporary is made.
  fs::create_directories(dir.file("taken/x"));
  EXPECT_THROW(playaug::atomic_file(dir.file("taken")), playaug::error);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"taken"});
  EXPECT_TRUE(fs::is_directory(dir.file("taken")));
}

TEST(IoAtomicFile, DashWritesStandardOutput) {
  temp_dir dir;
  const dataset ds = random_dataset(10, 2, 9, false);
  const std::string captured = dir.file("stdout.csv");
  std::fflush(stdout);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // child: standard output into a file
    int code = 3;
    const int fd = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0 && ::dup2(fd, STDOUT_FILENO) == STDOUT_FILENO) {
      try {
        playaug::write_csv("-", ds);
        code = 0;
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
  EXPECT_EQ(read_file(captured), playaug::to_csv(ds));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"stdout.csv"});
}

TEST(IoAtomicFile, RelativePath) {
  temp_dir dir;
  const fs::path old = fs::current_path();
  fs::current_path(dir.file(""));
  {
    playaug::atomic_file f("rel.txt");
    f.write("x");
    f.commit();
  }
  fs::current_path(old);
  EXPECT_EQ(read_file(dir.file("rel.txt")), "x");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"rel.txt"});
}

}  // namespace
