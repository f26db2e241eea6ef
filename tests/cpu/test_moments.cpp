// compute_moments and moments: numpy reference values on real tracks, a float64 two-pass
// reference on random data (edge sizes, a large offset, wide rows), the documented summation
// order bit for bit, independence of the thread count, Chan et al.'s merge, the covariance
// of N = 0, 1, 2 rows, constant features and the JSON form.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/moments.hpp"
#include "test_support.hpp"

namespace {

using playaug::backend;
using playaug::matrix_view;
using playaug::moments;
using playaug::resources;

nlohmann::json load_reference() {
  std::ifstream in(playaug::test::fixture("pca/reference.json"));
  EXPECT_TRUE(in.good()) << "missing tests/fixtures/pca/reference.json";
  return nlohmann::json::parse(in);
}

/// Random rows: feature j ~ offset_j + spread_j * N(0, 1), rounded to float.
std::vector<float> random_rows(std::size_t n, std::size_t d, std::uint32_t seed,
                               double offset = 0.0, double spread = 1.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> mix(d * d);
  for (auto& v : mix) v = normal(gen);
  std::vector<float> x(n * d);
  std::vector<double> z(d);
  for (std::size_t r = 0; r < n; ++r) {
    for (auto& v : z) v = normal(gen);
    for (std::size_t j = 0; j < d; ++j) {
      double s = 0.0;
      for (std::size_t i = 0; i <= j; ++i) s += mix[j * d + i] * z[i];  // correlated features
      x[r * d + j] = static_cast<float>(offset * static_cast<double>(j + 1) + spread * s);
    }
  }
  return x;
}

/// Two-pass float64 reference: mean, then sum of (x - mean)(x - mean)^T.
moments two_pass(const std::vector<float>& x, std::size_t n, std::size_t d) {
  moments m(d);
  m.n = n;
  if (n == 0) return m;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t j = 0; j < d; ++j) m.mean[j] += static_cast<double>(x[r * d + j]);
  }
  for (auto& v : m.mean) v /= static_cast<double>(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < d; ++i) {
      const double a = static_cast<double>(x[r * d + i]) - m.mean[i];
      for (std::size_t j = 0; j < d; ++j) {
        m.comoment[i * d + j] += a * (static_cast<double>(x[r * d + j]) - m.mean[j]);
      }
    }
  }
  return m;
}

/// The summation order documented in docs/pca.md, written as plainly as possible.
moments documented_order(const std::vector<float>& x, std::size_t n, std::size_t d) {
  constexpr std::size_t block = 8192;
  moments m(d);
  m.n = n;
  if (n == 0) return m;
  const std::size_t ms = std::min<std::size_t>(n, 64);
  std::vector<double> k(d, 0.0);
  for (std::size_t r = 0; r < ms; ++r) {
    for (std::size_t j = 0; j < d; ++j) k[j] += static_cast<double>(x[r * d + j]);
  }
  for (auto& v : k) v = static_cast<double>(static_cast<float>(v / static_cast<double>(ms)));
  struct sums {
    std::vector<double> s1, s2;  // s2: full d x d, only i <= j used
  };
  const std::size_t nb = (n + block - 1) / block;
  auto leaf = [&](std::size_t b) {
    sums s{std::vector<double>(d, 0.0), std::vector<double>(d * d, 0.0)};
    for (std::size_t r = b * block; r < std::min(n, (b + 1) * block); ++r) {
      for (std::size_t j = 0; j < d; ++j) s.s1[j] += static_cast<double>(x[r * d + j]) - k[j];
      for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t j = i; j < d; ++j) {
          const double vi = static_cast<double>(x[r * d + i]) - k[i];
          const double vj = static_cast<double>(x[r * d + j]) - k[j];
          s.s2[i * d + j] += vi * vj;
        }
      }
    }
    return s;
  };
  std::function<sums(std::size_t, std::size_t)> tree = [&](std::size_t lo, std::size_t hi) {
    if (hi - lo == 1) return leaf(lo);
    const std::size_t mid = lo + (hi - lo) / 2;
    sums a = tree(lo, mid);
    const sums b = tree(mid, hi);
    for (std::size_t j = 0; j < d; ++j) a.s1[j] += b.s1[j];
    for (std::size_t j = 0; j < d * d; ++j) a.s2[j] += b.s2[j];
    return a;
  };
  const sums s = tree(0, nb);
  const auto nd = static_cast<double>(n);
  for (std::size_t j = 0; j < d; ++j) m.mean[j] = k[j] + s.s1[j] / nd;
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = i; j < d; ++j) {
      const double c = s.s2[i * d + j] - (s.s1[i] * s.s1[j]) / nd;
      m.comoment[i * d + j] = c;
      m.comoment[j * d + i] = c;
    }
  }
  return m;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (const double x : v) m = std::max(m, std::fabs(x));
  return m;
}

/// max |a - b| / max |b| (0 when both are 0).
double rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    diff = std::max(diff, std::fabs(a[i] - b[i]));
  const double scale = max_abs(b);
  return scale == 0.0 ? diff : diff / scale;
}

moments cpu_moments(const std::vector<float>& x, std::size_t n, std::size_t d, int threads = 2) {
  const resources res(backend::cpu, threads);
  return playaug::compute_moments(res, matrix_view<const float>(x.data(), n, d));
}

TEST(Moments, MatchesNumpyOnRealTracks) {
  const auto ref = load_reference();
  const auto ds = playaug::read_csv(playaug::test::fixture("pca/playlists.csv"));
  ASSERT_EQ(ds.dim, 11u);
  ASSERT_EQ(ds.songs(), ref["n"].get<std::size_t>());
  const resources res(backend::cpu, 2);
  const moments m = playaug::compute_moments(res, ds.feature_matrix());
  EXPECT_EQ(m.n, 100u);
  const auto mean = ref["plain"]["mean"].get<std::vector<double>>();
  for (std::size_t j = 0; j < 11; ++j) {
    EXPECT_NEAR(m.mean[j], mean[j], 1e-12 * (std::fabs(mean[j]) + 1.0)) << "feature " << j;
  }
  std::vector<double> comoment;
  std::vector<double> covariance;
  for (const auto& row : ref["plain"]["comoment"]) {
    for (const auto& v : row) comoment.push_back(v.get<double>());
  }
  for (const auto& row : ref["plain"]["covariance"]) {
    for (const auto& v : row) covariance.push_back(v.get<double>());
  }
  EXPECT_LT(rel_diff(m.comoment, comoment), 1e-12);
  EXPECT_LT(rel_diff(m.covariance(), covariance), 1e-12);
  // Every entry, small ones included, to 1e-9 of its own size.
  for (std::size_t i = 0; i < comoment.size(); ++i) {
    EXPECT_NEAR(m.comoment[i], comoment[i], 1e-9 * std::fabs(comoment[i]) + 1e-13) << "entry " << i;
  }
}

TEST(Moments, MatchesTwoPassReferenceAcrossSizes) {
  for (const std::size_t d : {1u, 2u, 3u, 4u, 5u, 11u, 16u, 17u, 33u, 64u, 65u}) {
    for (const std::size_t n : {1u, 2u, 3u, 31u, 63u, 64u, 65u, 8191u, 8192u, 8193u, 20001u}) {
      if (d > 17 && n > 8193) continue;  // keep the reference quick
      const auto x = random_rows(n, d, static_cast<std::uint32_t>(n * 131 + d), 3.0, 2.0);
      const moments got = cpu_moments(x, n, d);
      const moments want = two_pass(x, n, d);
      ASSERT_EQ(got.n, n);
      EXPECT_LT(rel_diff(got.mean, want.mean), 1e-13) << "n=" << n << " d=" << d;
      EXPECT_LT(rel_diff(got.comoment, want.comoment), 1e-12) << "n=" << n << " d=" << d;
      for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t j = 0; j < d; ++j) {
          ASSERT_EQ(got.comoment[i * d + j], got.comoment[j * d + i]) << "not symmetric";
        }
      }
    }
  }
}

TEST(Moments, AccurateWhenTheMeanDwarfsTheSpread) {
  // Features around 1e4 * (j + 1) with a spread of 1e-2: a naive sum of squares would lose
  // every digit; the shifted sums keep the two-pass reference's.
  const std::size_t n = 50000;
  const std::size_t d = 11;
  const auto x = random_rows(n, d, 7, 1e4, 1e-2);
  const moments got = cpu_moments(x, n, d);
  const moments want = two_pass(x, n, d);
  EXPECT_LT(rel_diff(got.mean, want.mean), 1e-14);
  EXPECT_LT(rel_diff(got.comoment, want.comoment), 1e-10);
}

TEST(Moments, FollowsTheDocumentedSummationOrderBitForBit) {
  // docs/pca.md fixes the order of every float64 operation, so that another engine can
  // reproduce the CPU's bits; the vectorised kernels must not change them.
  for (const std::size_t d : {1u, 3u, 4u, 11u, 16u, 20u, 64u, 70u}) {
    for (const std::size_t n : {1u, 2u, 5u, 64u, 65u, 8192u, 3 * 8192u + 7u}) {
      if (d > 16 && n > 8192) continue;
      const auto x = random_rows(n, d, static_cast<std::uint32_t>(1000 + n + d), 1.5, 1.0);
      const moments got = cpu_moments(x, n, d, 3);
      const moments want = documented_order(x, n, d);
      EXPECT_TRUE(same_bits(got.mean, want.mean)) << "mean, n=" << n << " d=" << d;
      EXPECT_TRUE(same_bits(got.comoment, want.comoment)) << "comoment, n=" << n << " d=" << d;
    }
  }
}

TEST(Moments, IndependentOfTheThreadCount) {
  const std::size_t n = 123457;  // 16 blocks, the last one partial
  for (const std::size_t d : {3u, 11u, 24u}) {
    const auto x = random_rows(n, d, 11, 0.5, 1.0);
    const moments one = cpu_moments(x, n, d, 1);
    for (const int threads : {2, 3, 4, 7, 16}) {
      const moments m = cpu_moments(x, n, d, threads);
      EXPECT_EQ(m.n, one.n);
      EXPECT_TRUE(same_bits(m.mean, one.mean)) << threads << " threads, d=" << d;
      EXPECT_TRUE(same_bits(m.comoment, one.comoment)) << threads << " threads, d=" << d;
    }
    // And run to run.
    const moments again = cpu_moments(x, n, d, 2);
    EXPECT_TRUE(same_bits(again.comoment, one.comoment));
  }
}

TEST(Moments, ChanMergeOfRandomSplitsEqualsTheWhole) {
  const std::size_t n = 30000;
  const std::size_t d = 11;
  const auto x = random_rows(n, d, 21, 50.0, 3.0);
  const moments whole = two_pass(x, n, d);
  std::mt19937 gen(5);
  for (int trial = 0; trial < 20; ++trial) {
    // Cut points, including empty pieces and single rows.
    std::vector<std::size_t> cuts{0, n};
    const int pieces = 1 + trial % 7;
    for (int c = 0; c < pieces; ++c)
      cuts.push_back(std::uniform_int_distribution<std::size_t>(0, n)(gen));
    if (trial % 3 == 0) cuts.push_back(cuts[2] + 1 <= n ? cuts[2] + 1 : n);
    std::sort(cuts.begin(), cuts.end());
    std::vector<moments> parts;
    for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
      const std::size_t r0 = cuts[c];
      const std::vector<float> piece(x.begin() + static_cast<std::ptrdiff_t>(r0 * d),
                                     x.begin() + static_cast<std::ptrdiff_t>(cuts[c + 1] * d));
      parts.push_back(cpu_moments(piece, cuts[c + 1] - r0, d));
    }
    std::shuffle(parts.begin(), parts.end(), gen);  // merge order does not matter either
    moments total;
    for (const auto& p : parts) total.merge(p);
    ASSERT_EQ(total.n, n) << "trial " << trial;
    EXPECT_LT(rel_diff(total.mean, whole.mean), 1e-12) << "trial " << trial;
    EXPECT_LT(rel_diff(total.comoment, whole.comoment), 1e-12) << "trial " << trial;
  }
}

TEST(Moments, MergeFollowsChanGolubLeVeque) {
  // Two rows each: a = {0, 2}, b = {10, 14} in one dimension. Whole: mean 6.5,
  // C = sum (x - 6.5)^2 = 42.25 + 20.25 + 12.25 + 56.25 = 131.
  moments a(1), b(1);
  a.n = 2;
  a.mean = {1.0};
  a.comoment = {2.0};
  b.n = 2;
  b.mean = {12.0};
  b.comoment = {8.0};
  const moments m = playaug::merge(a, b);
  EXPECT_EQ(m.n, 4u);
  EXPECT_DOUBLE_EQ(m.mean[0], 6.5);
  EXPECT_DOUBLE_EQ(m.comoment[0], 131.0);
}

TEST(Moments, MergeWithEmptySidesAndMismatchedDimensions) {
  const auto x = random_rows(100, 4, 3);
  const moments m = cpu_moments(x, 100, 4);
  moments left = m;
  left.merge(moments(4));  // empty, same dimension
  EXPECT_TRUE(same_bits(left.mean, m.mean));
  EXPECT_TRUE(same_bits(left.comoment, m.comoment));
  moments right(4);
  right.merge(m);
  EXPECT_TRUE(same_bits(right.comoment, m.comoment));
  EXPECT_EQ(right.n, 100u);
  moments unset;  // default-constructed: the identity
  unset.merge(m);
  EXPECT_TRUE(same_bits(unset.comoment, m.comoment));
  moments copy = m;
  copy.merge(moments{});
  EXPECT_TRUE(same_bits(copy.comoment, m.comoment));
  moments other(3);
  other.n = 5;
  moments target = m;
  EXPECT_THROW(target.merge(other), playaug::usage_error);
}

TEST(Moments, CovarianceNeedsTwoRows) {
  const std::vector<float> x{1.0f, 2.0f, 4.0f, 8.0f};
  const moments none = cpu_moments(x, 0, 2);
  EXPECT_EQ(none.n, 0u);
  EXPECT_THROW(none.covariance(), playaug::numeric_error);
  const moments one = cpu_moments(x, 1, 2);
  EXPECT_EQ(one.mean, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(one.comoment, (std::vector<double>(4, 0.0)));
  try {
    (void)one.covariance();
    ADD_FAILURE() << "no error for N = 1";
  } catch (const playaug::numeric_error& e) {
    EXPECT_NE(std::string(e.what()).find("at least 2"), std::string::npos) << e.what();
  }
  // N = 2: rows (1, 2) and (4, 8); unbiased covariance = diff diff^T / 2.
  const moments two = cpu_moments(x, 2, 2);
  EXPECT_EQ(two.covariance(), (std::vector<double>{4.5, 9.0, 9.0, 18.0}));
  EXPECT_EQ(two.mean, (std::vector<double>{2.5, 5.0}));
}

TEST(Moments, ConstantFeatureHasExactlyZeroVariance) {
  const std::size_t n = 20000;
  const std::size_t d = 5;
  auto x = random_rows(n, d, 9, 1.0, 1.0);
  for (std::size_t r = 0; r < n; ++r) x[r * d + 2] = 0.1f;
  const moments m = cpu_moments(x, n, d);
  EXPECT_EQ(m.mean[2], static_cast<double>(0.1f));
  for (std::size_t j = 0; j < d; ++j) {
    EXPECT_EQ(m.comoment[2 * d + j], 0.0);
    EXPECT_EQ(m.comoment[j * d + 2], 0.0);
  }
  // Merged from chunks too.
  moments total;
  for (std::size_t r0 = 0; r0 < n; r0 += 7000) {
    const std::size_t rows = std::min<std::size_t>(7000, n - r0);
    const std::vector<float> piece(x.begin() + static_cast<std::ptrdiff_t>(r0 * d),
                                   x.begin() + static_cast<std::ptrdiff_t>((r0 + rows) * d));
    total.merge(cpu_moments(piece, rows, d));
  }
  EXPECT_EQ(total.comoment[2 * d + 2], 0.0);
}

TEST(Moments, JsonRoundTripIsExact) {
  const auto x = random_rows(5000, 11, 17, 123.0, 0.01);
  const moments m = cpu_moments(x, 5000, 11);
  const std::string text = m.to_json();
  const moments back = moments::from_json(text);
  EXPECT_EQ(back.n, m.n);
  EXPECT_TRUE(same_bits(back.mean, m.mean));
  EXPECT_TRUE(same_bits(back.comoment, m.comoment));
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["format"], "playaug-moments");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["n"], 5000);
  ASSERT_EQ(j["comoment"].size(), 11u);
  EXPECT_EQ(j["comoment"][0].size(), 11u);
  // Extreme magnitudes survive too.
  moments e(2);
  e.n = 3;
  e.mean = {1e-300, -5e-324};
  e.comoment = {1.7976931348623157e308, 0.1, 0.1, 2.2250738585072014e-308};
  const moments eb = moments::from_json(e.to_json());
  EXPECT_TRUE(same_bits(eb.mean, e.mean));
  EXPECT_TRUE(same_bits(eb.comoment, e.comoment));
  // Empty moments.
  const moments z = moments::from_json(moments(3).to_json());
  EXPECT_EQ(z.n, 0u);
  EXPECT_EQ(z.dim(), 3u);
}

TEST(Moments, JsonRejectsMalformedInput) {
  const std::string good =
      R"({"format":"playaug-moments","version":1,"n":2,"mean":[1,2],"comoment":[[1,0],[0,1]]})";
  EXPECT_NO_THROW(moments::from_json(good));
  const char* bad[] = {
      "",
      "[1,2]",
      R"({"format":"playaug-pca","version":1,"n":2,"mean":[1,2],"comoment":[[1,0],[0,1]]})",
      R"({"format":"playaug-moments","version":2,"n":2,"mean":[1,2],"comoment":[[1,0],[0,1]]})",
      R"({"format":"playaug-moments","version":1,"n":-2,"mean":[1,2],"comoment":[[1,0],[0,1]]})",
      R"({"format":"playaug-moments","version":1,"n":2,"mean":[1,2],"comoment":[[1,0]]})",
      R"({"format":"playaug-moments","version":1,"n":2,"mean":[1,2],"comoment":[[1,0],[0]]})",
      R"({"format":"playaug-moments","version":1,"n":2,"mean":[1,"x"],"comoment":[[1,0],[0,1]]})",
      R"({"format":"playaug-moments","version":1,"mean":[1,2],"comoment":[[1,0],[0,1]]})",
      R"({"format":"playaug-moments","version":1,"n":2,"mean":[1,2],"comoment":[[1,0],[0,1]])",
  };
  for (const char* text : bad) {
    EXPECT_THROW(moments::from_json(text), playaug::error) << text;
  }
  moments nan(1);
  nan.n = 2;
  nan.mean = {std::nan("")};
  EXPECT_THROW(nan.to_json(), playaug::numeric_error);
}

TEST(Moments, RejectsDeviceMemoryOnTheCpuAndNullData) {
  const resources res(backend::cpu, 1);
  std::vector<float> x(8, 1.0f);
  EXPECT_THROW(playaug::compute_moments(
                   res, matrix_view<const float>(x.data(), 4, 2, playaug::memory_space::device)),
               playaug::usage_error);
  EXPECT_THROW(playaug::compute_moments(res, matrix_view<const float>(nullptr, 4, 2)),
               playaug::usage_error);
  const moments empty = playaug::compute_moments(res, matrix_view<const float>(nullptr, 0, 2));
  EXPECT_EQ(empty.n, 0u);
  EXPECT_EQ(empty.dim(), 2u);
}

}  // namespace
