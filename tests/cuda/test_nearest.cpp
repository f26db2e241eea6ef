// The CUDA nearest-neighbour kernel against the CPU engine: identical hits (score bits and
// row) on edge sizes, ties, floors, host and device memory; requery with the catalog
// backend gives the same dataset on both engines.

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#if PLAYAUG_HAS_CUDA
#include <cuda_runtime.h>
#endif

#include "cuda_impl.hpp"
#include "playaug/catalog.hpp"
#include "playaug/error.hpp"
#include "playaug/requery.hpp"
#include "test_support.hpp"

namespace {

using namespace playaug;

// [m x 12] prepared rows from random features with exact duplicates; [q x 11] queries.
struct problem {
  std::vector<float> cat;
  std::vector<float> z;
  std::size_t m = 0, q = 0;
};

problem make_problem(std::size_t m, std::size_t q, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  track_catalog tc;
  for (std::size_t i = 0; i < m; ++i) {
    float row[11];
    if (i > 3 && rng() % 7 == 0) {
      std::memcpy(row, tc.features.data() + (rng() % i) * 11, sizeof row);
    } else {
      for (float& v : row) v = g(rng);
      row[4] = static_cast<float>(rng() % 12);
      row[7] = static_cast<float>(rng() % 2);
    }
    tc.features.append(row, row + 11);
    tc.ids.push_back("t" + std::to_string(i));
  }
  problem p;
  p.m = m;
  p.q = q;
  p.cat.resize(m * 12);
  if (m != 0) {
    const nn_scaler sc = nn_scaler::fit(tc.feature_matrix());
    nn_prepare(sc, tc.feature_matrix(), {p.cat.data(), m, 12});
    p.z.resize(q * 11);
    for (std::size_t i = 0; i < q; ++i) {
      // Half the queries sit exactly on a catalog row (ties with its duplicates).
      if (i % 2 == 0) {
        std::memcpy(p.z.data() + i * 11, p.cat.data() + (rng() % m) * 12, 11 * sizeof(float));
      } else {
        for (int k = 0; k < 11; ++k) p.z[i * 11 + k] = 1.5f * g(rng);
      }
    }
  } else {
    p.z.assign(q * 11, 0.5f);
  }
  return p;
}

std::vector<nn_hit> run(const resources& res, const problem& p, const std::vector<nn_hit>& floors = {}) {
  std::vector<nn_hit> out(p.q, nn_hit{12345.0f, -7});
  nearest(res, {p.cat.data(), p.m, 12}, {p.z.data(), p.q, 11},
          floors.empty() ? vector_view<const nn_hit>{} : vector_view<const nn_hit>{floors.data(), floors.size()},
          {out.data(), out.size()});
  return out;
}

void expect_same(const std::vector<nn_hit>& cpu, const std::vector<nn_hit>& gpu, const std::string& what) {
  ASSERT_EQ(cpu.size(), gpu.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    const bool same = cpu[i].row == gpu[i].row && std::memcmp(&cpu[i].score, &gpu[i].score, sizeof(float)) == 0;
    if (!same && ++bad <= 5) {
      ADD_FAILURE() << what << " query " << i << ": cpu (" << cpu[i].score << ", " << cpu[i].row << ") gpu ("
                    << gpu[i].score << ", " << gpu[i].row << ")";
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

TEST(NearestGpu, MatchesTheCpuBitForBitOnEdgeSizes) {
  PLAYAUG_REQUIRE_GPU();
  resources gpu(backend::cuda), cpu(backend::cpu);
  for (const std::size_t m : {0u, 1u, 2u, 7u, 255u, 256u, 257u, 1000u, 4099u, 70001u}) {
    for (const std::size_t q : {1u, 31u, 1023u, 1024u, 1025u, 3000u}) {
      const problem p = make_problem(m, q, static_cast<std::uint32_t>(m * 7919 + q));
      expect_same(run(cpu, p), run(gpu, p), "m=" + std::to_string(m) + " q=" + std::to_string(q));
    }
  }
}

TEST(NearestGpu, FloorsMatchTheCpu) {
  PLAYAUG_REQUIRE_GPU();
  resources gpu(backend::cuda), cpu(backend::cpu);
  for (const std::size_t m : {1u, 300u, 5001u}) {
    const problem p = make_problem(m, 777, static_cast<std::uint32_t>(m));
    std::vector<nn_hit> floor(p.q, nn_hit{-std::numeric_limits<float>::infinity(), -1});
    // Walk each query's first candidates on both engines.
    for (int step = 0; step < 6; ++step) {
      const auto c = run(cpu, p, floor);
      const auto g = run(gpu, p, floor);
      expect_same(c, g, "m=" + std::to_string(m) + " step " + std::to_string(step));
      floor = c;
      for (auto& f : floor) {
        if (f.row < 0) f = nn_hit{std::numeric_limits<float>::infinity(), std::numeric_limits<std::int32_t>::max()};
      }
    }
  }
}

#if PLAYAUG_HAS_CUDA
TEST(NearestGpu, DeviceMemoryViewsAreStreamOrdered) {
  PLAYAUG_REQUIRE_GPU();
  resources gpu(backend::cuda), cpu(backend::cpu);
  const problem p = make_problem(20000, 4000, 3);
  float *d_cat = nullptr, *d_z = nullptr;
  nn_hit* d_out = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_cat), p.cat.size() * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_z), p.z.size() * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_out), p.q * sizeof(nn_hit)), cudaSuccess);
  cudaMemcpy(d_cat, p.cat.data(), p.cat.size() * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemcpy(d_z, p.z.data(), p.z.size() * sizeof(float), cudaMemcpyHostToDevice);
  // Pageable uploads may still be in flight, and the library's stream does not wait for them.
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  nearest(gpu, {d_cat, p.m, 12, memory_space::device}, {d_z, p.q, 11, memory_space::device}, {},
          {d_out, p.q, memory_space::device});
  gpu.sync();
  std::vector<nn_hit> g(p.q);
  cudaMemcpy(g.data(), d_out, p.q * sizeof(nn_hit), cudaMemcpyDeviceToHost);
  expect_same(run(cpu, p), g, "device views");
  cudaFree(d_cat);
  cudaFree(d_z);
  cudaFree(d_out);
}

// A device pointer in a view that says host memory is refused by the CPU backend (the
// driver tells), instead of being read by the CPU engine; managed memory is accepted.
TEST(NearestGpu, CpuBackendRefusesDevicePointersDeclaredAsHost) {
  PLAYAUG_REQUIRE_GPU();
  const resources cpu(backend::cpu);
  const problem p = make_problem(64, 8, 4);
  float* d_cat = nullptr;
  float* m_cat = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_cat), p.cat.size() * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMallocManaged(reinterpret_cast<void**>(&m_cat), p.cat.size() * sizeof(float)), cudaSuccess);
  std::memcpy(m_cat, p.cat.data(), p.cat.size() * sizeof(float));
  EXPECT_TRUE(cuda_impl::on_device(d_cat));
  EXPECT_FALSE(cuda_impl::on_device(m_cat));
  EXPECT_FALSE(cuda_impl::on_device(p.cat.data()));
  std::vector<nn_hit> out(p.q);
  try {
    nearest(cpu, {d_cat, p.m, 12}, {p.z.data(), p.q, 11}, {}, {out.data(), p.q});
    ADD_FAILURE() << "the CPU backend read a device pointer";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("catalog points into device memory"), std::string::npos) << e.what();
  }
  nearest(cpu, {m_cat, p.m, 12}, {p.z.data(), p.q, 11}, {}, {out.data(), p.q});
  expect_same(run(cpu, p), out, "managed catalog");
  cudaFree(d_cat);
  cudaFree(m_cat);
}
#endif

TEST(NearestGpu, RequeryWithTheCatalogBackendIsIdenticalOnBothEngines) {
  PLAYAUG_REQUIRE_GPU();
  const track_catalog cat = read_catalog(test::fixture("requery/synthetic_catalog.csv"));
  // Songs: catalog rows, some repeated within a playlist to force second choices.
  dataset in;
  in.dim = 11;
  in.schema = feature_schema::spotify();
  std::mt19937 rng(5);
  for (int p = 0; p < 200; ++p) {
    const std::size_t n = 1 + rng() % 15;
    std::vector<float> f;
    for (std::size_t s = 0; s < n; ++s) {
      const std::size_t r = s > 0 && rng() % 3 == 0 ? (rng() % 3) : rng() % cat.size();
      f.insert(f.end(), cat.features.data() + r * 11, cat.features.data() + r * 11 + 11);
    }
    in.add_playlist("p" + std::to_string(p), {{p % 7}}, f.data(), n);
  }
  for (const bool repeats : {false, true}) {
    requery_params prm;
    prm.seed = 11;
    prm.allow_repeats = repeats;
    catalog_recommender rec_cpu(cat), rec_gpu(cat);
    const dataset a = requery(resources(backend::cpu), in, rec_cpu, prm);
    const dataset b = requery(resources(backend::cuda), in, rec_gpu, prm);
    EXPECT_EQ(a.track_ids, b.track_ids);
    EXPECT_TRUE(a == b);
    EXPECT_EQ(rec_cpu.last_rounds(), rec_gpu.last_rounds());
  }
}

}  // namespace
