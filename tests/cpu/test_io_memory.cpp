// Memory use of the reader: reading a file of 1e6 songs must not need more than twice the
// bytes of the resulting dataset, and streaming it chunk by chunk stays bounded.
//
// Each measurement runs in a forked child, which returns free heap memory to the system
// (malloc_trim), resets its peak resident set size (writing 5 to /proc/self/clear_refs),
// reads the file and reports VmHWM - VmRSS(before) through a pipe.

#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "playaug/io.hpp"
#include "test_support.hpp"

#define PLAYAUG_SKIP_UNDER_ASAN() \
  if (PLAYAUG_UNDER_ASAN) GTEST_SKIP() << "resident memory is not meaningful under AddressSanitizer"

namespace {

using playaug::dataset;
namespace fs = std::filesystem;

constexpr std::size_t kPlaylists = 50000;
constexpr std::size_t kSongsPerPlaylist = 20;
constexpr std::size_t kDim = 11;

/// kB value of a /proc/self/status field ("VmRSS", "VmHWM"), or -1.
long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0) return std::strtol(line.c_str() + key.size(), nullptr, 10);
  }
  return -1;
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

std::size_t string_bytes(const std::string& s) {
  // The object, plus its heap block when the text does not fit the small-string buffer.
  return sizeof(std::string) + (s.capacity() > 15 ? s.capacity() + 1 : 0);
}

/// Bytes of what the dataset holds (sizes, not capacities).
std::size_t dataset_bytes(const dataset& ds) {
  std::size_t b = ds.features.size() * sizeof(float) + ds.moods.size() * sizeof(std::int32_t) +
                  (ds.song_offsets.size() + ds.segment_offsets.size() + ds.mood_offsets.size()) *
                      sizeof(std::uint64_t) +
                  ds.null_features.size();
  for (const auto& s : ds.ids) b += string_bytes(s);
  for (const auto& s : ds.track_ids) b += string_bytes(s);
  return b;
}

struct measurement {
  long rss_before_kb = 0;
  long peak_kb = 0;
  std::uint64_t bytes = 0;  ///< the reference size the test compares against
  std::uint64_t songs = 0;
  int ok = 0;
};

/// Run `body` in a forked child after resetting its peak RSS; `body` fills bytes and songs.
measurement measure_in_child(const std::function<void(measurement&)>& body) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    measurement m;
    try {
      ::malloc_trim(0);
      if (reset_peak_rss()) {
        m.rss_before_kb = status_kb("VmRSS");
        body(m);
        m.peak_kb = status_kb("VmHWM");
        m.ok = 1;
      } else {
        m.ok = 2;  // clear_refs not available
      }
    } catch (...) {
      m.ok = 0;
    }
    const ssize_t n = ::write(fds[1], &m, sizeof m);
    ::_exit(n == static_cast<ssize_t>(sizeof m) ? 0 : 1);
  }
  ::close(fds[1]);
  measurement m;
  const ssize_t n = ::read(fds[0], &m, sizeof m);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (n != static_cast<ssize_t>(sizeof m)) m.ok = 0;
  return m;
}

class IoMemory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "playaug-iomem-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (fs::path(dir_) / "songs.csv").string();
    // 50 000 playlists of 20 songs with 11 features: 1e6 songs, as the notebook's data.
    std::mt19937 rng(1);
    playaug::csv_writer w(path_);
    dataset chunk;
    chunk.dim = kDim;
    chunk.schema = playaug::feature_schema::for_dim(kDim);
    std::vector<float> f(kSongsPerPlaylist * kDim);
    for (std::size_t p = 0; p < kPlaylists; ++p) {
      for (auto& v : f) v = static_cast<float>(rng() % 100000) / 1000.0f;
      chunk.add_playlist("playlist" + std::to_string(p), {{int(rng() % 40)}, {int(rng() % 40), 3}}, f.data(),
                         kSongsPerPlaylist);
      if (chunk.playlists() == 1000) {
        w.write(chunk);
        chunk = dataset();
        chunk.dim = kDim;
        chunk.schema = playaug::feature_schema::for_dim(kDim);
      }
    }
    w.write(chunk);
    w.commit();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string dir_;
  static std::string path_;
};
std::string IoMemory::dir_;
std::string IoMemory::path_;

TEST_F(IoMemory, ReadingNeedsAtMostTwiceTheDatasetBytes) {
  PLAYAUG_SKIP_UNDER_ASAN();
  const measurement m = measure_in_child([](measurement& out) {
    const dataset ds = playaug::read_csv(path_);
    out.bytes = dataset_bytes(ds);
    out.songs = ds.songs();
  });
  if (m.ok == 2) GTEST_SKIP() << "/proc/self/clear_refs is not writable: cannot reset the peak RSS";
  ASSERT_EQ(m.ok, 1);
  EXPECT_EQ(m.songs, kPlaylists * kSongsPerPlaylist);
  const long growth_kb = m.peak_kb - m.rss_before_kb;
  std::printf("file %llu bytes, dataset %llu bytes, peak RSS growth %ld kB\n",
              static_cast<unsigned long long>(fs::file_size(path_)), static_cast<unsigned long long>(m.bytes),
              growth_kb);
  EXPECT_GT(growth_kb * 1024, static_cast<long>(m.bytes) / 2);  // the measurement sees the dataset
  EXPECT_LE(growth_kb * 1024, static_cast<long>(2 * m.bytes));
}

TEST_F(IoMemory, StreamingStaysBounded) {
  PLAYAUG_SKIP_UNDER_ASAN();
  constexpr std::size_t kChunkSongs = 20000;
  const measurement m = measure_in_child([](measurement& out) {
    playaug::csv_reader r(path_);
    dataset chunk;
    std::size_t largest = 0;
    while (r.next(chunk, kChunkSongs)) {
      out.songs += chunk.songs();
      largest = std::max(largest, dataset_bytes(chunk));
    }
    out.bytes = largest;
  });
  if (m.ok == 2) GTEST_SKIP() << "/proc/self/clear_refs is not writable: cannot reset the peak RSS";
  ASSERT_EQ(m.ok, 1);
  EXPECT_EQ(m.songs, kPlaylists * kSongsPerPlaylist);
  const long growth_kb = m.peak_kb - m.rss_before_kb;
  std::printf("largest chunk %llu bytes, peak RSS growth %ld kB\n", static_cast<unsigned long long>(m.bytes),
              growth_kb);
  // The chunk (reused from one call to the next, so at most twice its bytes while its
  // arrays grow) plus the 1 MiB read buffer, a small fraction of the 44 MB of features.
  EXPECT_LE(growth_kb * 1024, static_cast<long>(2 * m.bytes + (std::size_t{2} << 20)));
}

}  // namespace
