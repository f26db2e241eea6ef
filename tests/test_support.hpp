#pragma once
// Helpers shared by the test executables.

#include <gtest/gtest.h>

#include <stdlib.h>  // mkdtemp

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include <cstdint>
#include <vector>

#include "playaug/dataset.hpp"
#include "playaug/resources.hpp"

// True when the tests are built with AddressSanitizer, which replaces the allocator
// (redzones, a quarantine of freed blocks, terabytes of reserved shadow memory): resident
// memory and address-space limits (ulimit -v) then measure it rather than playaug.
#if defined(__SANITIZE_ADDRESS__)
#define PLAYAUG_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PLAYAUG_UNDER_ASAN 1
#endif
#endif
#ifndef PLAYAUG_UNDER_ASAN
#define PLAYAUG_UNDER_ASAN 0
#endif

namespace playaug::test {

/// The repository root.
inline std::string source_dir() { return PLAYAUG_SOURCE_DIR; }
/// tests/fixtures/<name>.
inline std::string fixture(const std::string& name) { return source_dir() + "/tests/fixtures/" + name; }
/// ../shared/data beside the repository (override with PLAYAUG_SHARED_DATA).
inline std::string shared_data(const std::string& name) {
  const char* env = std::getenv("PLAYAUG_SHARED_DATA");
  return (env != nullptr ? std::string(env) : source_dir() + "/../shared/data") + "/" + name;
}
/// The playaug executable of this build ("" when the CLI is not built).
inline std::string cli_path() { return PLAYAUG_CLI_PATH; }

/// The whole content of a file, byte for byte ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A fresh directory under the system's temporary directory, removed with its contents.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "playaug-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  /// The path of `name` inside the directory.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// Names of every entry of the directory, hidden ones included.
  std::set<std::string> entries() const {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      out.insert(e.path().filename().string());
    return out;
  }

 private:
  std::filesystem::path path_;
};

/// Playlists [from, to) of `in` as a dataset of their own (a chunk, as a reader hands it).
inline dataset playlist_slice(const dataset& in, std::size_t from, std::size_t to) {
  dataset d;
  d.dim = in.dim;
  d.schema = in.schema;
  for (std::size_t p = from; p < to; ++p) {
    std::vector<std::vector<std::int32_t>> segs;
    for (auto s = in.segment_offsets[p]; s < in.segment_offsets[p + 1]; ++s) {
      segs.emplace_back(in.moods.begin() + static_cast<long>(in.mood_offsets[s]),
                        in.moods.begin() + static_cast<long>(in.mood_offsets[s + 1]));
    }
    d.add_playlist(in.ids[p], segs, in.features.data() + in.song_offsets[p] * in.dim, in.song_count(p),
                   in.is_null(p));
  }
  return d;
}

}  // namespace playaug::test

/// Skip the current test, visibly, when no CUDA device can run it.
#define PLAYAUG_REQUIRE_GPU()                                                                  \
  do {                                                                                         \
    if (::playaug::cuda_device_count() == 0) {                                                 \
      GTEST_SKIP() << "no CUDA device: " << ::playaug::cuda_unavailable_reason();              \
    }                                                                                          \
  } while (0)
