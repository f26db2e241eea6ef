// protuberance on the CUDA engine: bit-identical to the CPU engine (memcmp) for ragged
// playlists (empty ones, long runs of empty ones, every small size), many dimensions,
// schema-aware and raw, extreme seeds, copy indices and playlist indices, host and device
// memory, aligned and misaligned rows, and values whose protuberance overflows float32.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gpu_util.hpp"
#include "playaug/dataset.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/resources.hpp"

namespace {

using playaug::backend;
using playaug::feature_schema;
using playaug::protuberance_params;
using playaug::resources;

/// Playlist sizes: every size 0..40, runs of up to 100 empty playlists (more than a warp's
/// window of 32 boundaries), and a few long playlists.
std::vector<std::uint64_t> tricky_sizes(std::uint64_t seed, std::size_t extra) {
  std::vector<std::uint64_t> sizes;
  for (std::uint64_t s = 0; s <= 40; ++s) sizes.push_back(s);
  for (int i = 0; i < 100; ++i) sizes.push_back(0);
  sizes.push_back(1);
  for (int i = 0; i < 40; ++i) sizes.push_back(0);
  sizes.push_back(1000);
  sizes.push_back(3);
  std::mt19937_64 gen(seed);
  for (std::size_t i = 0; i < extra; ++i) {
    const auto r = gen() % 10;
    sizes.push_back(r == 0 ? 0 : (r == 1 ? 1 + gen() % 2000 : gen() % 60));
  }
  return sizes;
}

/// Values that exercise the clamps: spotify-like ranges and negative numbers.
std::vector<float> values(std::size_t songs, std::size_t d, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(-0.2f, 1.2f);
  std::vector<float> x(songs * d);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (i % 7 == 3) ? -60.0f * u(gen) : u(gen);
  return x;
}

void check(const std::vector<std::uint64_t>& sizes, const feature_schema& schema, const protuberance_params& prm,
           std::uint32_t copy, std::uint64_t first_playlist, std::uint64_t seed) {
  const std::size_t d = schema.dim();
  const std::string what = "d=" + std::to_string(d) + " playlists=" + std::to_string(sizes.size()) +
                           " phi=" + std::to_string(prm.phi) + " raw=" + std::to_string(prm.raw) +
                           " copy=" + std::to_string(copy) + " first=" + std::to_string(first_playlist) +
                           " seed=" + std::to_string(prm.seed);
  SCOPED_TRACE(what);
  const auto off = playaug::test::offsets_from_sizes(sizes);
  const std::size_t n = off.back();
  const auto x0 = values(n, d, seed);
  const resources cpu(backend::cpu), gpu(backend::cuda);
  const playaug::vector_view<const std::uint64_t> ho(off.data(), off.size());
  auto xc = x0;
  auto xg = x0;
  playaug::protuberance(cpu, {xc.data(), n, d}, ho, schema, prm, copy, first_playlist);
  playaug::protuberance(gpu, {xg.data(), n, d}, ho, schema, prm, copy, first_playlist);
  ASSERT_EQ(std::memcmp(xc.data(), xg.data(), xc.size() * sizeof(float)), 0) << what << ": host memory";
  if (prm.phi > 0.0f && n * d > 100) {
    EXPECT_NE(std::memcmp(xc.data(), x0.data(), x0.size() * sizeof(float)), 0) << "nothing changed";
  }
#if PLAYAUG_HAS_CUDA
  // Device memory, and device memory starting one float past a 16-byte boundary.
  for (std::size_t shift : {0u, 1u}) {
    std::vector<float> padded(shift + x0.size());
    std::copy(x0.begin(), x0.end(), padded.begin() + static_cast<std::ptrdiff_t>(shift));
    playaug::test::device_array<float> dx(padded);
    playaug::test::device_array<std::uint64_t> doff(off);
    playaug::protuberance(gpu, playaug::device_matrix<float>(dx.data() + shift, n, d),
                          playaug::vector_view<const std::uint64_t>(doff.data(), doff.size(), playaug::memory_space::device),
                          schema, prm, copy, first_playlist);
    gpu.sync();
    const auto back = dx.download();
    ASSERT_EQ(std::memcmp(back.data() + shift, xc.data(), xc.size() * sizeof(float)), 0)
        << what << ": device memory, offset " << shift;
  }
#endif
}

TEST(CudaProtuberance, BitIdenticalAcrossDimensions) {
  PLAYAUG_REQUIRE_GPU();
  std::uint64_t seed = 1;
  for (std::size_t d : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 11u, 16u, 17u}) {
    protuberance_params prm;
    prm.p = 0.3f;
    prm.phi = 0.6f;
    prm.seed = 0x0123456789ABCDEFull + d;
    check(tricky_sizes(seed, 200), feature_schema::for_dim(d), prm, 1, 0, seed);
    ++seed;
  }
}

TEST(CudaProtuberance, SpotifySchemaRawAndPhiExtremes) {
  PLAYAUG_REQUIRE_GPU();
  const auto sizes = tricky_sizes(7, 300);
  std::uint64_t seed = 10;
  for (const bool raw : {false, true}) {
    for (const float phi : {0.0f, 0.25f, 1.0f}) {
      protuberance_params prm;
      prm.p = 0.15f;
      prm.phi = phi;
      prm.raw = raw;
      prm.seed = seed;
      check(sizes, feature_schema::spotify(), prm, 3, 12345, seed++);
    }
  }
}

TEST(CudaProtuberance, ExtremeAddresses) {
  PLAYAUG_REQUIRE_GPU();
  const auto sizes = tricky_sizes(8, 50);
  protuberance_params prm;
  prm.p = 0.99f;
  prm.phi = 0.9f;
  prm.seed = ~0ull;
  const std::uint64_t last_first = (std::uint64_t{1} << 32) - sizes.size();  // indices up to 2^32 - 1
  check(sizes, feature_schema::spotify(), prm, 0xFFFFFF, last_first, 81);
  prm.seed = 0;
  prm.stream = playaug::purpose::requery;
  check(sizes, feature_schema::spotify(), prm, 0, 0, 82);
}

TEST(CudaProtuberance, OverflowSaturatesLikeTheCpu) {
  PLAYAUG_REQUIRE_GPU();
  // Values near the float32 maximum: growing ones saturate to +-FLT_MAX on both engines.
  const auto sizes = tricky_sizes(9, 100);
  const auto off = playaug::test::offsets_from_sizes(sizes);
  const std::size_t d = 11, n = off.back();
  std::vector<float> x0(n * d);
  for (std::size_t i = 0; i < x0.size(); ++i) {
    const float mag = i % 3 == 0 ? 3.4e38f : (i % 3 == 1 ? 3.1e38f : 0.5f);
    x0[i] = i % 2 == 0 ? mag : -mag;
  }
  const resources cpu(backend::cpu), gpu(backend::cuda);
  const playaug::vector_view<const std::uint64_t> ho(off.data(), off.size());
  for (const bool raw : {false, true}) {
    protuberance_params prm;
    prm.p = 0.15f;
    prm.phi = 0.75f;
    prm.raw = raw;
    prm.seed = 77;
    auto xc = x0;
    auto xg = x0;
    playaug::protuberance(cpu, {xc.data(), n, d}, ho, feature_schema::for_dim(d), prm, 2, 0);
    playaug::protuberance(gpu, {xg.data(), n, d}, ho, feature_schema::for_dim(d), prm, 2, 0);
    ASSERT_EQ(std::memcmp(xc.data(), xg.data(), xc.size() * sizeof(float)), 0) << "raw=" << raw;
    std::size_t saturated = 0;
    for (const float v : xg) {
      ASSERT_TRUE(std::isfinite(v));
      saturated += std::fabs(v) == playaug::max_finite_float;
    }
    EXPECT_GT(saturated, 0u);
  }
}

TEST(CudaProtuberance, LargeInput) {
  PLAYAUG_REQUIRE_GPU();
  if (playaug::test::gpu_small()) GTEST_SKIP() << "large sizes skipped (PLAYAUG_GPU_TEST_SMALL)";
  std::mt19937_64 gen(90);
  std::vector<std::uint64_t> sizes;
  std::uint64_t total = 0;
  while (total < 1000003) {
    const std::uint64_t s = std::min<std::uint64_t>(gen() % 120, 1000003 - total);
    sizes.push_back(s);
    total += s;
  }
  protuberance_params prm;
  prm.seed = 2024;
  check(sizes, feature_schema::spotify(), prm, 2, 77, 91);
}

}  // namespace
