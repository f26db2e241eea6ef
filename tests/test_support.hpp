#pragma once
// Helpers shared by the test executables.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "playaug/resources.hpp"

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

}  // namespace playaug::test

/// Skip the current test, visibly, when no CUDA device can run it.
#define PLAYAUG_REQUIRE_GPU()                                                                  \
  do {                                                                                         \
    if (::playaug::cuda_device_count() == 0) {                                                 \
      GTEST_SKIP() << "no CUDA device: " << ::playaug::cuda_unavailable_reason();              \
    }                                                                                          \
  } while (0)
