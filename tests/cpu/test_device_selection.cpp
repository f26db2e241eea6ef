// Backend selection on any machine: parsing, the CPU backend, automatic fallback with a
// reason, and --device cuda without a usable device (or without CUDA in the build) giving
// cuda_unavailable in the library and exit code 1 with a clear message in the CLI. On a
// machine with a GPU the same tests check that CUDA is picked instead.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "playaug/error.hpp"
#include "playaug/resources.hpp"
#include "test_support.hpp"

namespace {

using playaug::backend;
using playaug::resources;

TEST(DeviceSelection, ParseAndPrintBackends) {
  EXPECT_EQ(playaug::parse_backend("auto"), backend::automatic);
  EXPECT_EQ(playaug::parse_backend("cpu"), backend::cpu);
  EXPECT_EQ(playaug::parse_backend("cuda"), backend::cuda);
  EXPECT_THROW(playaug::parse_backend("tpu"), playaug::usage_error);
  EXPECT_EQ(playaug::to_string(backend::automatic), "auto");
  EXPECT_EQ(playaug::to_string(backend::cpu), "cpu");
  EXPECT_EQ(playaug::to_string(backend::cuda), "cuda");
}

TEST(DeviceSelection, CpuBackendHasNoStream) {
  const resources res(backend::cpu, 3);
  EXPECT_EQ(res.kind(), backend::cpu);
  EXPECT_FALSE(res.is_cuda());
  EXPECT_EQ(res.threads(), 3);
  EXPECT_TRUE(res.fallback_reason().empty());
  EXPECT_THROW(res.stream(), playaug::cuda_unavailable);
  EXPECT_NO_THROW(res.sync());
}

TEST(DeviceSelection, DeviceCountNeverThrows) {
  int n = -1;
  EXPECT_NO_THROW(n = playaug::cuda_device_count());
  EXPECT_GE(n, 0);
  if (!playaug::cuda_built()) {
    EXPECT_EQ(n, 0);
  }
  EXPECT_EQ(playaug::cuda_unavailable_reason().empty(), n > 0);
}

TEST(DeviceSelection, AutomaticFallsBackWithAReason) {
  const resources res(backend::automatic);
  if (playaug::cuda_device_count() > 0) {
    EXPECT_TRUE(res.is_cuda());
    EXPECT_TRUE(res.fallback_reason().empty());
  } else {
    EXPECT_EQ(res.kind(), backend::cpu);
    EXPECT_FALSE(res.fallback_reason().empty());
  }
}

TEST(DeviceSelection, CudaWithoutDeviceIsCudaUnavailable) {
  if (playaug::cuda_device_count() > 0) {
    const resources res(backend::cuda);
    EXPECT_TRUE(res.is_cuda());
    return;
  }
  try {
    const resources res(backend::cuda);
    FAIL() << "resources(backend::cuda) succeeded without a device";
  } catch (const playaug::cuda_unavailable& e) {
    EXPECT_EQ(e.reason(), playaug::cuda_built() ? playaug::cuda_unavailable::reason_t::no_device
                                                : playaug::cuda_unavailable::reason_t::not_built);
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
  }
}

/// Run the CLI with `args`; returns the exit code and fills `err` with stderr.
int run_cli(const std::string& args, std::string& err) {
  const auto dir = std::filesystem::temp_directory_path() / ("playaug-devsel-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto err_file = dir / "stderr.txt";
  const std::string cmd = "'" + playaug::test::cli_path() + "' " + args + " > /dev/null 2> '" + err_file.string() + "'";
  const int status = std::system(cmd.c_str());
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  err = ss.str();
  in.close();
  std::filesystem::remove_all(dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(DeviceSelection, CliDeviceCudaWithoutDevice) {
  if (playaug::test::cli_path().empty()) GTEST_SKIP() << "the CLI is not built";
  const auto dir = std::filesystem::temp_directory_path() / ("playaug-devsel-out-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto out = dir / "out.csv";
  std::string err;
  const int rc = run_cli("augment '" + (dir / "missing.csv").string() + "' -o '" + out.string() + "' --device cuda", err);
  if (playaug::cuda_device_count() > 0) {
    // With a GPU the device is fine and the missing input is the error.
    EXPECT_EQ(rc, 1) << err;
    EXPECT_EQ(err.find("CUDA requested"), std::string::npos) << err;
  } else {
    EXPECT_EQ(rc, 1) << err;
    EXPECT_NE(err.find("CUDA requested"), std::string::npos) << err;
  }
  EXPECT_FALSE(std::filesystem::exists(out)) << "no output on failure";
  EXPECT_EQ(run_cli("augment x.csv -o y.csv --device tpu", err), 2) << err;
  std::filesystem::remove_all(dir);
}

}  // namespace
