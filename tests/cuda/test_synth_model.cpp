// synth --model on the CUDA engine: the songs are bit-identical to the CPU engine's
// (memcmp), for models with discrete and continuous features, moods and empty playlists,
// several seeds, chunk offsets, and the whole streamed file.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "gpu_util.hpp"
#include "playaug/io.hpp"
#include "playaug/synth.hpp"
#include "playaug/synth_model.hpp"

namespace playaug {
namespace {

synth_model rule_based_model(double empty_fraction) {
  const resources cpu(backend::cpu, 2);
  synth_params p;
  p.playlists = 3000;
  p.seed = 9;
  p.empty_fraction = empty_fraction;
  synth_fit_options fo;
  fo.clusters = 12;
  fo.types = 6;
  return fit_synth_model(cpu, synthesize(cpu, p), fo);
}

void expect_same(const dataset& a, const dataset& b) {
  ASSERT_EQ(a.song_offsets, b.song_offsets);
  ASSERT_EQ(a.moods, b.moods);
  ASSERT_EQ(a.features.size(), b.features.size());
  EXPECT_EQ(std::memcmp(a.features.data(), b.features.data(), a.features.size() * sizeof(float)), 0);
}

TEST(CudaSynthModel, SongsMatchTheCpuBitForBit) {
  PLAYAUG_REQUIRE_GPU();
  const resources cpu(backend::cpu, 2), gpu(backend::cuda);
  for (double empty : {0.0, 0.2}) {
    const synth_model m = rule_based_model(empty);
    for (std::uint64_t seed : {0ull, 1ull, 0xFFFFFFFFFFFFFFFFull}) {
      synth_model_params sp;
      sp.playlists = test::gpu_small() ? 500 : 20000;
      sp.seed = seed;
      expect_same(synthesize(cpu, m, sp, 0, sp.playlists), synthesize(gpu, m, sp, 0, sp.playlists));
      expect_same(synthesize(cpu, m, sp, 123, 77), synthesize(gpu, m, sp, 123, 77));
    }
  }
}

TEST(CudaSynthModel, StreamedFileMatchesTheCpu) {
  PLAYAUG_REQUIRE_GPU();
  const synth_model m = rule_based_model(0.0);
  synth_model_params sp;
  sp.playlists = test::gpu_small() ? 1000 : 50000;
  sp.seed = 5;
  const std::string a = testing::TempDir() + "/synth_model_cpu.csv", b = testing::TempDir() + "/synth_model_gpu.csv";
  write_model_synthetic_csv(resources(backend::cpu, 2), m, sp, a);
  write_model_synthetic_csv(resources(backend::cuda), m, sp, b);
  EXPECT_EQ(test::read_file(a), test::read_file(b));
}

}  // namespace
}  // namespace playaug
