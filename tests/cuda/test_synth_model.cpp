// synth --model on the CUDA engine: the songs are bit-identical to the CPU engine's
// (memcmp), for models with discrete (also conditioned on another) and continuous features,
// moods and empty playlists, several seeds, chunk offsets, and the whole streamed file.

#include <gtest/gtest.h>

#include <cstdint>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

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

/// A model whose second discrete feature is drawn given the first (rows of thresholds).
synth_model parent_model() {
  std::mt19937_64 gen(31);
  std::normal_distribution<double> N;
  dataset ds;
  ds.dim = 3;
  ds.schema = feature_schema::generic(3);
  for (int p = 0; p < 800; ++p) {
    const std::size_t n = 3 + gen() % 10;
    std::vector<float> f;
    for (std::size_t s = 0; s < n; ++s) {
      const int a = static_cast<int>(gen() % 5);
      const int b = (gen() % 10) < static_cast<unsigned>(a % 2 ? 8 : 2) ? 1 : 0;
      f.push_back(static_cast<float>(a));
      f.push_back(static_cast<float>(b));
      f.push_back(static_cast<float>(std::round((N(gen) + b) * 1000) / 1000));
    }
    ds.add_playlist("p" + std::to_string(p), {{p % 3}}, f.data(), n);
  }
  synth_fit_options fo;
  fo.clusters = 5;
  fo.types = 3;
  return fit_synth_model(resources(backend::cpu, 2), ds, fo);
}

TEST(CudaSynthModel, ConditionedDiscreteFeatureMatchesTheCpu) {
  PLAYAUG_REQUIRE_GPU();
  const synth_model m = parent_model();
  ASSERT_EQ(m.marginals[1].parent, 0);
  const resources cpu(backend::cpu, 2), gpu(backend::cuda);
  for (std::uint64_t seed : {0ull, 7ull}) {
    synth_model_params sp;
    sp.playlists = test::gpu_small() ? 500 : 20000;
    sp.seed = seed;
    expect_same(synthesize(cpu, m, sp, 0, sp.playlists), synthesize(gpu, m, sp, 0, sp.playlists));
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
