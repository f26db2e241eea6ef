// The core library's side of the CUDA interface (host/cuda_engine.cpp) on any machine:
// nothing CUDA is mapped by a process that does not use a GPU; the engine library, in a
// CUDA build, loads on request from the build tree and answers through its table; a bad
// PLAYAUG_CUDA_ENGINE gives a reason naming the file; without an engine every entry point
// throws cuda_unavailable.
//
// The engine is loaded at most once per process, so each test that depends on the loader's
// first decision checks that nothing has loaded it yet (ctest runs every test in its own
// process; run as one binary, such a test skips visibly).

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cuda_impl.hpp"
#include "playaug/error.hpp"
#include "playaug/moments.hpp"
#include "playaug/nearest.hpp"
#include "playaug/resources.hpp"

namespace {

using playaug::backend;
using playaug::resources;
namespace ci = playaug::cuda_impl;

std::string mapped_files() {
  std::ifstream in("/proc/self/maps");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool maps_any_cuda_library(const std::string& maps) {
  for (const char* lib : {"libcudart", "libcusolver", "libcurand", "libcublas", "libplayaug_cuda"}) {
    if (maps.find(lib) != std::string::npos) return true;
  }
  return false;
}

#define REQUIRE_FIRST_LOAD()                                                                 \
  do {                                                                                       \
    if (ci::engine_loaded()) GTEST_SKIP() << "the engine was loaded earlier in this process"; \
  } while (0)

TEST(CudaEngine, NoCudaLibraryIsMappedWithoutAGpu) {
  REQUIRE_FIRST_LOAD();
  const resources cpu(backend::cpu);
  const resources automatic(backend::automatic);
  const std::vector<float> x = {1, 2, 3, 4, 5, 7};
  const playaug::moments m = playaug::compute_moments(cpu, playaug::host_matrix<const float>(x.data(), 3, 2));
  EXPECT_EQ(m.n, 3u);
  (void)playaug::cuda_device_count();
  if (automatic.is_cuda()) GTEST_SKIP() << "a CUDA device is present: the engine is in use";
  EXPECT_FALSE(ci::engine_loaded());
  EXPECT_FALSE(maps_any_cuda_library(mapped_files())) << mapped_files();
}

TEST(CudaEngine, LoadsFromTheBuildTreeOnRequest) {
  REQUIRE_FIRST_LOAD();
  const ci::engine_status st = ci::load_engine();
  if (!playaug::cuda_built()) {
    EXPECT_FALSE(st.loaded);
    EXPECT_NE(st.reason.find("built without CUDA"), std::string::npos) << st.reason;
    EXPECT_EQ(ci::nearest_kernel_tuning().threads, 0);
    EXPECT_FALSE(maps_any_cuda_library(mapped_files()));
    return;
  }
  ASSERT_TRUE(st.loaded) << st.reason;
  EXPECT_TRUE(ci::engine_loaded());
  EXPECT_NE(st.path.find("libplayaug_cuda.so"), std::string::npos) << st.path;
  // The table answers, and the process now maps the engine and cuSOLVER behind it (the
  // check of the test above is not blind).
  const ci::nearest_tuning t = ci::nearest_kernel_tuning();
  EXPECT_GT(t.threads, 0);
  EXPECT_GT(t.tile_rows, 0);
  const std::string maps = mapped_files();
  EXPECT_NE(maps.find("libplayaug_cuda"), std::string::npos);
  EXPECT_NE(maps.find("libcusolver"), std::string::npos);
  // An exception thrown inside the engine library is caught by its playaug type here (the
  // engine's copies of the type information match the core's); this check runs before any
  // CUDA call, so it needs no device.
  const resources cpu(backend::cpu);
  const std::vector<float> rows(24);
  try {
    (void)ci::upload_catalog(cpu, {rows.data(), 2, playaug::nn_stride, playaug::memory_space::device});
    ADD_FAILURE() << "upload_catalog accepted device-declared rows";
  } catch (const playaug::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("upload_catalog"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ci::upload_catalog(cpu, {rows.data(), 2, playaug::nn_stride, playaug::memory_space::device}),
               playaug::error);
  // The engine reaches the core through the services it was given: with host rows it asks
  // the core for the stream of CPU resources, and the core's answer (cuda_unavailable)
  // comes back through both libraries.
  try {
    (void)ci::upload_catalog(cpu, {rows.data(), 2, playaug::nn_stride});
    ADD_FAILURE() << "upload_catalog ran on CPU resources";
  } catch (const playaug::cuda_unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("use the CPU"), std::string::npos) << e.what();
  }
  // The device count still comes from the driver first: a reason when it reports none.
  std::string reason;
  const int n = ci::device_count(&reason);
  EXPECT_EQ(reason.empty(), n > 0);
}

TEST(CudaEngine, AMissingEngineFileIsNamedInTheReason) {
  REQUIRE_FIRST_LOAD();
  const std::string path = "/nonexistent/dir/libplayaug_cuda.so";
  ASSERT_EQ(setenv("PLAYAUG_CUDA_ENGINE", path.c_str(), 1), 0);
  const ci::engine_status st = ci::load_engine();
  unsetenv("PLAYAUG_CUDA_ENGINE");
  EXPECT_FALSE(st.loaded);
  if (!playaug::cuda_built()) {
    EXPECT_NE(st.reason.find("built without CUDA"), std::string::npos) << st.reason;
    return;
  }
  EXPECT_NE(st.reason.find("PLAYAUG_CUDA_ENGINE"), std::string::npos) << st.reason;
  EXPECT_NE(st.reason.find(path), std::string::npos) << st.reason;
}

TEST(CudaEngine, ALibraryThatIsNotTheEngineIsRefused) {
  REQUIRE_FIRST_LOAD();
  ASSERT_EQ(setenv("PLAYAUG_CUDA_ENGINE", "libm.so.6", 1), 0);
  const ci::engine_status st = ci::load_engine();
  unsetenv("PLAYAUG_CUDA_ENGINE");
  EXPECT_FALSE(st.loaded);
  if (playaug::cuda_built()) {
    EXPECT_NE(st.reason.find("not a CUDA engine of playaug"), std::string::npos) << st.reason;
  }
  // Every entry point then says why, as cuda_unavailable.
  const resources cpu(backend::cpu);
  const std::vector<float> x = {1, 2};
  try {
    (void)ci::compute_moments(cpu, playaug::host_matrix<const float>(x.data(), 1, 2));
    ADD_FAILURE() << "compute_moments went through without an engine";
  } catch (const playaug::cuda_unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("compute_moments"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ci::create_state(nullptr), playaug::cuda_unavailable);
  EXPECT_THROW(ci::upload_catalog(cpu, {}), playaug::cuda_unavailable);
  EXPECT_EQ(ci::nearest_kernel_tuning().threads, 0);
  EXPECT_FALSE(maps_any_cuda_library(mapped_files()));
}

// The CPU backend's check of real memory spaces asks only a driver already in the process:
// host memory is never "on the device", and asking loads no driver.
TEST(CudaEngine, DevicePointerCheckLoadsNoDriver) {
  const bool driver_before = mapped_files().find("libcuda.so") != std::string::npos;
  std::vector<float> host(16, 1.0f);
  EXPECT_FALSE(ci::on_device(host.data()));
  EXPECT_FALSE(ci::on_device(nullptr));
  EXPECT_FALSE(ci::on_device(&host));
  if (!driver_before) {
    EXPECT_EQ(mapped_files().find("libcuda.so"), std::string::npos);
  }
}

// nearest on the CPU backend names the argument that is not host memory.
TEST(CudaEngine, CpuNearestRefusesDeviceViewsByName) {
  const resources cpu(backend::cpu);
  std::vector<float> cat(24), q(11);
  std::vector<playaug::nn_hit> out(1), floors(1);
  const auto dev = playaug::memory_space::device;
  const auto message = [&](auto&& call) {
    try {
      call();
    } catch (const playaug::usage_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { playaug::nearest(cpu, {cat.data(), 2, 12, dev}, {q.data(), 1, 11}, {}, {out.data(), 1}); })
                .find("catalog is in device memory"),
            std::string::npos);
  EXPECT_NE(message([&] { playaug::nearest(cpu, {cat.data(), 2, 12}, {q.data(), 1, 11, dev}, {}, {out.data(), 1}); })
                .find("queries is in device memory"),
            std::string::npos);
  EXPECT_NE(message([&] { playaug::nearest(cpu, {cat.data(), 2, 12}, {q.data(), 1, 11}, {}, {out.data(), 1, dev}); })
                .find("out is in device memory"),
            std::string::npos);
  EXPECT_NE(message([&] {
              playaug::nearest(cpu, {cat.data(), 2, 12}, {q.data(), 1, 11}, {floors.data(), 1, dev}, {out.data(), 1});
            }).find("floors is in device memory"),
            std::string::npos);
  EXPECT_EQ(message([&] { playaug::nearest(cpu, {cat.data(), 2, 12}, {q.data(), 1, 11}, {}, {out.data(), 1}); }),
            "no error");
}

}  // namespace
