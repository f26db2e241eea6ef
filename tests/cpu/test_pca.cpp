// PCA: symmetric_eig, fit_pca (plain, standardized, --variance rule), transform and its
// inverse, per-playlist PCA and MODEL.json, against numpy/scikit-learn reference values
// (scripts/make_pca_fixture.py) and float64 checks; and the fit-pca / transform commands.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "test_support.hpp"

namespace {

using playaug::test::read_file;
using playaug::test::temp_dir;
using playaug::backend;
using playaug::matrix_view;
using playaug::pca_model;
using playaug::pca_options;
using playaug::resources;

using matrix = std::vector<std::vector<double>>;

const nlohmann::json& reference() {
  static const nlohmann::json ref = [] {
    std::ifstream in(playaug::test::fixture("pca/reference.json"));
    if (!in) throw std::runtime_error("missing tests/fixtures/pca/reference.json");
    return nlohmann::json::parse(in);
  }();
  return ref;
}

std::string fixture_csv() { return playaug::test::fixture("pca/playlists.csv"); }

const playaug::dataset& fixture_data() {
  static const playaug::dataset ds = playaug::read_csv(fixture_csv());
  return ds;
}

std::vector<std::string> names() {
  return reference()["feature_names"].get<std::vector<std::string>>();
}

double dot(const double* a, const double* b, std::size_t d) {
  double s = 0.0;
  for (std::size_t i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

/// Eigenvalues to 1e-6 relative, components to |cos| > 1 - 1e-6 with the same sign.
void expect_eigen_matches(const std::vector<double>& values, const std::vector<double>& vectors,
                          std::size_t count, const nlohmann::json& ref_values,
                          const nlohmann::json& ref_vectors, const std::string& label) {
  const std::size_t d = ref_values.size();
  ASSERT_EQ(values.size(), d) << label;
  const double top = ref_values[0].get<double>();
  for (std::size_t i = 0; i < d; ++i) {
    const double want = ref_values[i].get<double>();
    EXPECT_NEAR(values[i], want, 1e-6 * std::fabs(want) + 1e-12 * top)
        << label << " eigenvalue " << i;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const auto want = ref_vectors[i].get<std::vector<double>>();
    const double c = dot(vectors.data() + i * d, want.data(), d);
    EXPECT_GT(c, 1.0 - 1e-6) << label << " component " << i << " (cos " << c << ")";
  }
}

pca_model fit_fixture(const pca_options& opts, int threads = 2) {
  const resources res(backend::cpu, threads);
  return playaug::fit_pca(res, fixture_data().feature_matrix(), opts, names());
}

// --- symmetric_eig ----------------------------------------------------------------------

std::vector<double> random_symmetric(std::size_t d, std::uint32_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<double> a(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = i; j < d; ++j) a[i * d + j] = a[j * d + i] = normal(gen);
  }
  return a;
}

TEST(SymmetricEig, SolvesTheEigenEquationInDescendingOrder) {
  const resources res(backend::cpu, 1);
  // Both sides of the switch from Jacobi to LAPACK (host/eig_cpu.cpp: jacobi_max_dim = 64).
  for (const std::size_t d : {1u, 2u, 3u, 11u, 32u, 50u, 64u, 65u}) {
    const auto a = random_symmetric(d, static_cast<std::uint32_t>(d));
    const auto e = playaug::symmetric_eig(res, a, d);
    ASSERT_EQ(e.values.size(), d);
    ASSERT_EQ(e.vectors.size(), d * d);
    double norm = 0.0;
    for (const double v : a) norm = std::max(norm, std::fabs(v));
    for (std::size_t i = 0; i < d; ++i) {
      if (i + 1 < d) {
        EXPECT_GE(e.values[i], e.values[i + 1]) << "d=" << d;
      }
      const double* v = e.vectors.data() + i * d;
      for (std::size_t r = 0; r < d; ++r) {  // (A v)_r = lambda v_r
        EXPECT_NEAR(dot(a.data() + r * d, v, d), e.values[i] * v[r], 1e-12 * norm * d) << "d=" << d;
      }
      for (std::size_t k = 0; k < d; ++k) {  // orthonormal rows
        EXPECT_NEAR(dot(v, e.vectors.data() + k * d, d), i == k ? 1.0 : 0.0, 1e-12 * d);
      }
      std::size_t big = 0;  // sign convention
      for (std::size_t j = 1; j < d; ++j) {
        if (std::fabs(v[j]) > std::fabs(v[big])) big = j;
      }
      EXPECT_GT(v[big], 0.0);
    }
  }
}

TEST(SymmetricEig, KnownTwoByTwoAndDiagonal) {
  const resources res(backend::cpu, 1);
  const auto e = playaug::symmetric_eig(res, {2.0, 1.0, 1.0, 2.0}, 2);
  EXPECT_NEAR(e.values[0], 3.0, 1e-15);
  EXPECT_NEAR(e.values[1], 1.0, 1e-15);
  const double h = std::sqrt(0.5);
  EXPECT_NEAR(e.vectors[0], h, 1e-15);
  EXPECT_NEAR(e.vectors[1], h, 1e-15);
  // (h, -h) and (-h, h) tie in magnitude: the first entry decides, so (h, -h).
  EXPECT_NEAR(e.vectors[2], h, 1e-15);
  EXPECT_NEAR(e.vectors[3], -h, 1e-15);
  const auto diag = playaug::symmetric_eig(res, {1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 3.0}, 3);
  EXPECT_EQ(diag.values, (std::vector<double>{5.0, 3.0, 1.0}));
  EXPECT_EQ(diag.vectors, (std::vector<double>{0, 1, 0, 0, 0, 1, 1, 0, 0}));
}

TEST(SymmetricEig, GradedPositiveDefiniteMatrixToRelativeAccuracy) {
  // A covariance of unstandardized features is graded: variances from 2^20 down to 2^-20.
  // Direct sum of 2 x 2 blocks [[a, b], [b, c]] with a = 2^(4k+4), c = 3 * 2^-(4k+4),
  // b = 1/2 (correlation 0.29), and 1 x 1 blocks, its rows and columns interleaved
  // by a fixed permutation. Every entry is exact in float64, and each block's eigenvalues
  // have a closed form, evaluated in long double: lambda_+ = (a + c) / 2 + sqrt(((a - c) / 2)^2
  // + b^2), lambda_- = (a c - b^2) / lambda_+ (no cancellation). Every eigenvalue, from 2^20
  // down to 2^-20, to a few eps relative. (The dense graded case, where a Householder
  // solver loses the small eigenvalues, is checked against 50-digit arithmetic in
  // python/tests/test_pca.py.)
  const std::size_t d = 11;
  const std::size_t perm[d] = {3, 9, 0, 6, 1, 10, 4, 7, 2, 8, 5};
  std::vector<double> a(d * d, 0.0);
  std::vector<long double> expect;
  auto put = [&](std::size_t i, std::size_t j, double v) {
    a[perm[i] * d + perm[j]] = v;
    a[perm[j] * d + perm[i]] = v;
  };
  for (int k = 0; k < 5; ++k) {  // blocks at rows (2k, 2k + 1)
    const double av = std::ldexp(1.0, 4 * k + 4);         // 2^4 .. 2^20
    const double cv = 3.0 * std::ldexp(1.0, -(4 * k + 4));  // 3 * 2^-4 .. 3 * 2^-20
    const double bv = 0.5;
    put(2 * k, 2 * k, av);
    put(2 * k + 1, 2 * k + 1, cv);
    put(2 * k, 2 * k + 1, bv);
    const long double la = av, lc = cv, lb = bv;
    const long double plus = (la + lc) / 2 + std::sqrt(((la - lc) / 2) * ((la - lc) / 2) + lb * lb);
    expect.push_back(plus);
    expect.push_back((la * lc - lb * lb) / plus);
  }
  put(10, 10, std::ldexp(1.0, -20));
  expect.push_back(std::ldexp(1.0L, -20));
  std::sort(expect.begin(), expect.end(), std::greater<long double>());
  const resources res(backend::cpu, 1);
  const auto e = playaug::symmetric_eig(res, a, d);
  for (std::size_t i = 0; i < d; ++i) {
    const auto rel = std::fabs(static_cast<long double>(e.values[i]) - expect[i]) / expect[i];
    EXPECT_LE(static_cast<double>(rel), 8 * DBL_EPSILON) << "eigenvalue " << i << " = " << e.values[i];
  }
}

TEST(SymmetricEig, ReadsTheLowerTriangleOnly) {
  const resources res(backend::cpu, 1);
  for (const std::size_t d : {3u, 65u}) {  // Jacobi and LAPACK
    auto a = random_symmetric(d, 7);
    const auto ref = playaug::symmetric_eig(res, a, d);
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = i + 1; j < d; ++j) a[i * d + j] = 1e6;  // the upper triangle is ignored
    }
    const auto e = playaug::symmetric_eig(res, a, d);
    EXPECT_EQ(e.values, ref.values) << "d=" << d;
    EXPECT_EQ(e.vectors, ref.vectors) << "d=" << d;
  }
}

TEST(SymmetricEig, SignConventionPicksTheFirstLargestEntry) {
  playaug::eigen_result e;
  e.values = {1.0, 0.5, 0.2};
  e.vectors = {-0.6, 0.6,  0.2,    // tie between entries 0 and 1: the first is negative: flip
               0.1,  -0.9, 0.3,    // largest is negative: flip
               0.0,  0.8,  -0.8};  // tie, the first is positive: keep
  playaug::canonicalize_signs(e, 3);
  EXPECT_EQ(e.vectors, (std::vector<double>{0.6, -0.6, -0.2, -0.1, 0.9, -0.3, 0.0, 0.8, -0.8}));
}

TEST(SymmetricEig, RejectsBadShapesAndNonFiniteEntries) {
  const resources res(backend::cpu, 1);
  EXPECT_THROW(playaug::symmetric_eig(res, {1.0, 2.0, 3.0}, 2), playaug::usage_error);
  EXPECT_THROW(playaug::symmetric_eig(res, {1.0, NAN, NAN, 1.0}, 2), playaug::numeric_error);
  EXPECT_TRUE(playaug::symmetric_eig(res, {}, 0).values.empty());
}

// --- fit_pca against numpy and scikit-learn ----------------------------------------------

TEST(FitPca, MatchesNumpyOnRealTracks) {
  const auto& ref = reference()["plain"];
  const pca_model m = fit_fixture({});
  EXPECT_EQ(m.n_samples, 100u);
  EXPECT_EQ(m.n_components, 11u);
  EXPECT_EQ(m.feature_names, names());
  EXPECT_EQ(m.scale, std::vector<double>(11, 1.0));
  EXPECT_TRUE(m.constant_features.empty());
  const auto mean = ref["mean"].get<std::vector<double>>();
  for (std::size_t j = 0; j < 11; ++j) {
    EXPECT_NEAR(m.mean[j], mean[j], 1e-6 * std::fabs(mean[j]) + 1e-15) << j;
  }
  expect_eigen_matches(m.eigenvalues, m.components, 11, ref["eigenvalues"], ref["eigenvectors"],
                       "plain");
  const auto ratio = ref["explained_variance_ratio"].get<std::vector<double>>();
  for (std::size_t i = 0; i < 11; ++i) {
    EXPECT_NEAR(m.explained_variance_ratio[i], ratio[i], 1e-6 * ratio[i] + 1e-15) << i;
  }
  for (std::size_t c = 0; c < 11; ++c) {
    EXPECT_NEAR(dot(m.components.data() + c * 11, m.components.data() + c * 11, 11), 1.0, 1e-12);
  }
}

TEST(FitPca, StandardizedMatchesTheCorrelationMatrix) {
  const auto& ref = reference()["standardized"];
  pca_options o;
  o.standardize = true;
  const pca_model m = fit_fixture(o);
  const auto scale = ref["scale"].get<std::vector<double>>();
  for (std::size_t j = 0; j < 11; ++j) EXPECT_NEAR(m.scale[j], scale[j], 1e-9 * scale[j]) << j;
  expect_eigen_matches(m.eigenvalues, m.components, 11, ref["eigenvalues"], ref["eigenvectors"],
                       "standardized");
  double total = 0.0;
  for (const double v : m.eigenvalues) total += v;
  EXPECT_NEAR(total, 11.0, 1e-12);  // trace of a correlation matrix
}

TEST(FitPca, VarianceRuleMatchesScikitLearn) {
  for (const char* kind : {"plain", "standardized"}) {
    for (const auto& item : reference()[kind]["k_for_variance"].items()) {
      pca_options o;
      o.standardize = std::string(kind) == "standardized";
      o.variance = std::stod(item.key());
      const pca_model m = fit_fixture(o);
      EXPECT_EQ(m.n_components, item.value().get<std::size_t>())
          << kind << " variance " << item.key();
      EXPECT_EQ(m.components.size(), m.n_components * 11);
      EXPECT_EQ(m.eigenvalues.size(), 11u);  // all eigenvalues are kept in the model
    }
  }
}

/// Moments whose covariance is diag(v) (n = 5).
playaug::moments diagonal_moments(const std::vector<double>& v) {
  const std::size_t d = v.size();
  playaug::moments m(d);
  m.n = 5;
  for (std::size_t j = 0; j < d; ++j) m.comoment[j * d + j] = 4.0 * v[j];
  return m;
}

TEST(FitPca, VarianceRuleIsStrictlyGreater) {
  // Eigenvalues 2, 1, 1 -> ratios 0.5, 0.25, 0.25 (exact), cumulative 0.5, 0.75, 1.
  const resources res(backend::cpu, 1);
  const auto m = diagonal_moments({1.0, 2.0, 1.0});
  const std::pair<double, std::size_t> cases[] = {{0.25, 1},      {0.4999999, 1}, {0.5, 2},
                                                  {0.5000001, 2}, {0.74, 2},      {0.75, 3},
                                                  {0.99, 3},      {1e-12, 1},     {1.0 - 1e-12, 3}};
  for (const auto& [f, k] : cases) {
    pca_options o;
    o.variance = f;
    const auto model = playaug::fit_pca(res, m, o, {"a", "b", "c"});
    EXPECT_EQ(model.n_components, k) << "variance " << f;
  }
  const auto model = playaug::fit_pca(res, m, {}, {"a", "b", "c"});
  EXPECT_EQ(model.explained_variance_ratio, (std::vector<double>{0.5, 0.25, 0.25}));
  EXPECT_EQ(model.components[0], 0.0);
  EXPECT_EQ(model.components[1], 1.0);  // the variance-2 feature comes first
}

TEST(FitPca, ValidatesOptions) {
  const resources res(backend::cpu, 1);
  const auto m = diagonal_moments({1.0, 2.0, 3.0});
  const std::vector<std::string> n3{"a", "b", "c"};
  pca_options both;
  both.components = 2;
  both.variance = 0.9;
  EXPECT_THROW(playaug::fit_pca(res, m, both, n3), playaug::usage_error);
  for (const std::size_t k : {0u, 4u}) {
    pca_options o;
    o.components = k;
    EXPECT_THROW(playaug::fit_pca(res, m, o, n3), playaug::usage_error) << k;
  }
  for (const double f : {0.0, 1.0, -0.5, 1.5, std::nan("")}) {
    pca_options o;
    o.variance = f;
    EXPECT_THROW(playaug::fit_pca(res, m, o, n3), playaug::usage_error) << f;
  }
  EXPECT_THROW(playaug::fit_pca(res, m, {}, {"a", "b"}), playaug::usage_error);
  pca_options two;
  two.components = 2;
  EXPECT_EQ(playaug::fit_pca(res, m, two, n3).n_components, 2u);
  // N < 2: a clear numeric error.
  playaug::moments one(3);
  one.n = 1;
  EXPECT_THROW(playaug::fit_pca(res, one, {}, n3), playaug::numeric_error);
  EXPECT_THROW(playaug::fit_pca(res, playaug::moments(3), {}, n3), playaug::numeric_error);
}

TEST(FitPca, ConstantFeatureDoesNotBreakTheFit) {
  // The fixture's songs with a constant column appended: the covariance gains a zero
  // row and column, so the eigenvalues are numpy's plus a 0 and the new vector is e_11.
  const auto& ds = fixture_data();
  const std::size_t n = ds.songs();
  std::vector<float> x(n * 12);
  for (std::size_t r = 0; r < n; ++r) {
    std::copy(ds.features.data() + r * 11, ds.features.data() + (r + 1) * 11, x.data() + r * 12);
    x[r * 12 + 11] = 4.0f;
  }
  auto n12 = names();
  n12.push_back("constant");
  const resources res(backend::cpu, 2);
  const pca_model m = playaug::fit_pca(res, matrix_view<const float>(x.data(), n, 12), {}, n12);
  const auto& ref = reference()["plain"];
  for (std::size_t i = 0; i < 11; ++i) {
    const double want = ref["eigenvalues"][i].get<double>();
    EXPECT_NEAR(m.eigenvalues[i], want, 1e-6 * want) << i;
  }
  EXPECT_EQ(m.eigenvalues[11], 0.0);
  EXPECT_EQ(m.explained_variance_ratio[11], 0.0);
  EXPECT_NEAR(m.components[11 * 12 + 11], 1.0, 1e-12);
  EXPECT_EQ(m.mean[11], 4.0);

  pca_options o;
  o.standardize = true;
  const pca_model z = playaug::fit_pca(res, matrix_view<const float>(x.data(), n, 12), o, n12);
  EXPECT_EQ(z.constant_features, (std::vector<std::size_t>{11}));
  EXPECT_EQ(z.scale[11], 1.0);
  const auto& zref = reference()["standardized"];
  for (std::size_t i = 0; i < 11; ++i) {
    const double want = zref["eigenvalues"][i].get<double>();
    EXPECT_NEAR(z.eigenvalues[i], want, 1e-6 * want) << i;
  }
  EXPECT_EQ(z.eigenvalues[11], 0.0);
  // It transforms: the constant feature contributes nothing.
  std::vector<float> y(n * 12);
  playaug::transform(res, z, matrix_view<const float>(x.data(), n, 12),
                     matrix_view<float>(y.data(), n, 12));
  for (const float v : y) EXPECT_TRUE(std::isfinite(v));
}

TEST(FitPca, FromRowsEqualsFromMomentsAndIgnoresThreads) {
  const auto& ds = fixture_data();
  const resources res1(backend::cpu, 1);
  const resources res3(backend::cpu, 3);
  const pca_model a = playaug::fit_pca(res1, ds.feature_matrix(), {}, names());
  const pca_model b =
      playaug::fit_pca(res3, playaug::compute_moments(res3, ds.feature_matrix()), {}, names());
  EXPECT_EQ(a.to_json(), b.to_json());
}

// --- transform ----------------------------------------------------------------------------

/// The fixture's rows listed in reference()["plain"]["transform_rows"].
std::vector<float> reference_rows() {
  std::vector<float> x;
  for (const auto& r : reference()["plain"]["transform_rows"]) {
    const auto row = r.get<std::size_t>();
    x.insert(x.end(), fixture_data().features.data() + row * 11,
             fixture_data().features.data() + (row + 1) * 11);
  }
  return x;
}

void expect_rows_near(const std::vector<float>& got, const nlohmann::json& want, std::size_t cols,
                      double rel, const std::string& label) {
  ASSERT_EQ(got.size(), want.size() * cols) << label;
  for (std::size_t r = 0; r < want.size(); ++r) {
    const auto w = want[r].get<std::vector<double>>();
    double norm = 0.0;
    for (const double v : w) norm += v * v;
    norm = std::sqrt(norm);
    for (std::size_t c = 0; c < cols; ++c) {
      EXPECT_NEAR(got[r * cols + c], w[c], rel * (std::fabs(w[c]) + norm))
          << label << " row " << r << " col " << c;
    }
  }
}

TEST(Transform, MatchesNumpyProjections) {
  const resources res(backend::cpu, 2);
  const auto x = reference_rows();
  const std::size_t rows = x.size() / 11;
  for (const bool standardize : {false, true}) {
    const auto& ref = reference()[standardize ? "standardized" : "plain"];
    const std::string label = standardize ? "standardized" : "plain";
    pca_options o3;
    o3.components = 3;
    o3.standardize = standardize;
    const pca_model m3 = fit_fixture(o3);
    std::vector<float> y3(rows * 3);
    playaug::transform(res, m3, matrix_view<const float>(x.data(), rows, 11),
                       matrix_view<float>(y3.data(), rows, 3));
    expect_rows_near(y3, ref["transform_k3"], 3, 1e-6, label + " k=3");
    std::vector<float> back(rows * 11);
    playaug::inverse_transform(res, m3, matrix_view<const float>(y3.data(), rows, 3),
                               matrix_view<float>(back.data(), rows, 11));
    expect_rows_near(back, ref["inverse_k3"], 11, 1e-6, label + " inverse k=3");

    pca_options all;
    all.standardize = standardize;
    const pca_model m = fit_fixture(all);
    std::vector<float> y(rows * 11);
    playaug::transform(res, m, matrix_view<const float>(x.data(), rows, 11),
                       matrix_view<float>(y.data(), rows, 11));
    expect_rows_near(y, ref["transform_all"], 11, 1e-6, label + " all");
  }
}

TEST(Transform, RoundTripWithAllComponents) {
  const auto& ds = fixture_data();
  const std::size_t n = ds.songs();
  const resources res(backend::cpu, 2);
  for (const bool standardize : {false, true}) {
    pca_options o;
    o.standardize = standardize;
    const pca_model m = fit_fixture(o);
    std::vector<float> y(n * 11), back(n * 11);
    playaug::transform(res, m, ds.feature_matrix(), matrix_view<float>(y.data(), n, 11));
    playaug::inverse_transform(res, m, matrix_view<const float>(y.data(), n, 11),
                               matrix_view<float>(back.data(), n, 11));
    for (std::size_t r = 0; r < n; ++r) {
      double norm = 0.0, err = 0.0;
      for (std::size_t j = 0; j < 11; ++j) {
        const double xj = ds.features[r * 11 + j];
        norm += xj * xj;
        err += (back[r * 11 + j] - xj) * (back[r * 11 + j] - xj);
      }
      EXPECT_LE(std::sqrt(err), 1e-5 * std::sqrt(norm)) << "row " << r;
    }
  }
}

TEST(Transform, EqualsTheFloat64FormulaAcrossSizes) {
  // y = (x - mean) / scale . P^T and x = y . P * scale + mean, each sum in index order
  // from 0, rounded once to float: the documented arithmetic, for sizes around the tiles.
  pca_options o;
  o.components = 4;
  o.standardize = true;
  const pca_model m = fit_fixture(o);
  const std::size_t d = 11, k = 4;
  std::mt19937 gen(8);
  std::uniform_real_distribution<float> unit(-1.0f, 130.0f);
  const resources res(backend::cpu, 2);
  for (const std::size_t n : {1u, 2u, 63u, 64u, 65u, 4095u, 4096u, 4097u, 9000u}) {
    std::vector<float> x(n * d), y(n * k), back(n * d);
    for (auto& v : x) v = unit(gen);
    playaug::transform(res, m, matrix_view<const float>(x.data(), n, d),
                       matrix_view<float>(y.data(), n, k));
    playaug::inverse_transform(res, m, matrix_view<const float>(y.data(), n, k),
                               matrix_view<float>(back.data(), n, d));
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t c = 0; c < k; ++c) {
        double s = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
          s += ((static_cast<double>(x[r * d + j]) - m.mean[j]) / m.scale[j]) *
               m.components[c * d + j];
        }
        ASSERT_EQ(y[r * k + c], static_cast<float>(s)) << "n=" << n << " row " << r;
      }
      for (std::size_t j = 0; j < d; ++j) {
        double s = 0.0;
        for (std::size_t c = 0; c < k; ++c) {
          s += static_cast<double>(y[r * k + c]) * m.components[c * d + j];
        }
        ASSERT_EQ(back[r * d + j], static_cast<float>(s * m.scale[j] + m.mean[j])) << "n=" << n;
      }
    }
  }
}

TEST(Transform, IndependentOfTheThreadCount) {
  const std::size_t n = 20000;
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(1.0f, 2.0f);
  std::vector<float> x(n * 11);
  for (auto& v : x) v = normal(gen);
  pca_options o;
  o.components = 4;
  o.standardize = true;
  const resources res1(backend::cpu, 1);
  const pca_model m = playaug::fit_pca(res1, matrix_view<const float>(x.data(), n, 11), o, {});
  std::vector<float> y1(n * 4), y3(n * 4), b1(n * 11), b3(n * 11);
  const resources res3(backend::cpu, 3);
  playaug::transform(res1, m, matrix_view<const float>(x.data(), n, 11),
                     matrix_view<float>(y1.data(), n, 4));
  playaug::transform(res3, m, matrix_view<const float>(x.data(), n, 11),
                     matrix_view<float>(y3.data(), n, 4));
  EXPECT_EQ(std::memcmp(y1.data(), y3.data(), y1.size() * sizeof(float)), 0);
  playaug::inverse_transform(res1, m, matrix_view<const float>(y1.data(), n, 4),
                             matrix_view<float>(b1.data(), n, 11));
  playaug::inverse_transform(res3, m, matrix_view<const float>(y1.data(), n, 4),
                             matrix_view<float>(b3.data(), n, 11));
  EXPECT_EQ(std::memcmp(b1.data(), b3.data(), b1.size() * sizeof(float)), 0);
}

TEST(Transform, ChecksShapesAndMemorySpaces) {
  const resources res(backend::cpu, 1);
  pca_options o;
  o.components = 3;
  const pca_model m = fit_fixture(o);
  std::vector<float> x(10 * 11), y(10 * 3), wide(10 * 12);
  try {
    playaug::transform(res, m, matrix_view<const float>(wide.data(), 10, 12),
                       matrix_view<float>(y.data(), 10, 3));
    ADD_FAILURE() << "no error";
  } catch (const playaug::usage_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("12"), std::string::npos) << what;
    EXPECT_NE(what.find("11"), std::string::npos) << what;
  }
  EXPECT_THROW(playaug::transform(res, m, matrix_view<const float>(x.data(), 10, 11),
                                  matrix_view<float>(y.data(), 9, 3)),
               playaug::usage_error);
  EXPECT_THROW(playaug::transform(res, m, matrix_view<const float>(x.data(), 10, 11),
                                  matrix_view<float>(x.data(), 10, 11)),
               playaug::usage_error);
  EXPECT_THROW(playaug::inverse_transform(res, m, matrix_view<const float>(x.data(), 10, 11),
                                          matrix_view<float>(x.data(), 10, 11)),
               playaug::usage_error);
  const auto dev = playaug::memory_space::device;
  EXPECT_THROW(playaug::transform(res, m, matrix_view<const float>(x.data(), 10, 11, dev),
                                  matrix_view<float>(y.data(), 10, 3, dev)),
               playaug::usage_error);
  EXPECT_THROW(playaug::transform(res, m, matrix_view<const float>(x.data(), 10, 11, dev),
                                  matrix_view<float>(y.data(), 10, 3)),
               playaug::usage_error);
  pca_model broken = m;
  broken.components.pop_back();
  EXPECT_THROW(playaug::transform(res, broken, matrix_view<const float>(x.data(), 10, 11),
                                  matrix_view<float>(y.data(), 10, 3)),
               playaug::usage_error);
  // Zero rows is fine.
  EXPECT_NO_THROW(playaug::transform(res, m, matrix_view<const float>(nullptr, 0, 11),
                                     matrix_view<float>(nullptr, 0, 3)));
}

// --- MODEL.json ---------------------------------------------------------------------------

TEST(PcaModel, JsonHasExactlyTheRequiredKeysAndRoundTrips) {
  pca_options o;
  o.components = 3;
  const pca_model m = fit_fixture(o);
  const std::string text = m.to_json();
  const auto j = nlohmann::json::parse(text);
  std::set<std::string> keys;
  for (const auto& item : j.items()) keys.insert(item.key());
  EXPECT_EQ(keys, (std::set<std::string>{"format", "version", "feature_names", "n_samples", "mean",
                                         "scale", "eigenvalues", "explained_variance_ratio",
                                         "n_components", "components"}));
  EXPECT_EQ(j["format"], "playaug-pca");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["n_samples"], 100);
  EXPECT_EQ(j["n_components"], 3);
  EXPECT_EQ(j["feature_names"].get<std::vector<std::string>>(), names());
  EXPECT_EQ(j["eigenvalues"].size(), 11u);
  EXPECT_EQ(j["explained_variance_ratio"].size(), 11u);
  ASSERT_EQ(j["components"].size(), 3u);
  EXPECT_EQ(j["components"][2].size(), 11u);

  const pca_model back = pca_model::from_json(text);
  EXPECT_EQ(back.feature_names, m.feature_names);
  EXPECT_EQ(back.n_samples, m.n_samples);
  EXPECT_EQ(back.mean, m.mean);  // exact: shortest round-trip numbers
  EXPECT_EQ(back.scale, m.scale);
  EXPECT_EQ(back.eigenvalues, m.eigenvalues);
  EXPECT_EQ(back.explained_variance_ratio, m.explained_variance_ratio);
  EXPECT_EQ(back.n_components, m.n_components);
  EXPECT_EQ(back.components, m.components);
  EXPECT_EQ(back.to_json(), text);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(PcaModel, SaveAndLoad) {
  const temp_dir dir;
  pca_options o;
  o.standardize = true;
  o.variance = 0.9;
  const pca_model m = fit_fixture(o);
  m.save(dir.file("model.json"));
  const pca_model back = pca_model::load(dir.file("model.json"));
  EXPECT_EQ(back.to_json(), m.to_json());
  EXPECT_EQ(back.scale, m.scale);
  try {
    (void)pca_model::load(dir.file("missing.json"));
    ADD_FAILURE() << "no error";
  } catch (const playaug::data_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
  }
}

TEST(PcaModel, RejectsMalformedModels) {
  pca_options o;
  o.components = 2;
  const auto good = nlohmann::json::parse(fit_fixture(o).to_json());
  auto expect_bad = [](const nlohmann::json& j, const std::string& why) {
    try {
      (void)pca_model::from_json(j.dump(), "m.json");
      ADD_FAILURE() << "accepted: " << why;
    } catch (const playaug::data_error& e) {
      EXPECT_NE(std::string(e.what()).find("m.json"), std::string::npos) << e.what();
    }
  };
  for (const char* key :
       {"format", "version", "feature_names", "n_samples", "mean", "scale", "eigenvalues",
        "explained_variance_ratio", "n_components", "components"}) {
    auto j = good;
    j.erase(key);
    expect_bad(j, std::string("missing ") + key);
  }
  auto j = good;
  j["extra"] = 1;
  expect_bad(j, "unknown key");
  j = good;
  j["format"] = "playaug-moments";
  expect_bad(j, "format");
  j = good;
  j["version"] = 2;
  expect_bad(j, "version");
  j = good;
  j["n_components"] = 3;
  expect_bad(j, "k != rows");
  j = good;
  j["n_components"] = 0;
  expect_bad(j, "k = 0");
  j = good;
  j["components"][1].erase(0);
  expect_bad(j, "short row");
  j = good;
  j["mean"].erase(0);
  expect_bad(j, "short mean");
  j = good;
  j["scale"][0] = 0.0;
  expect_bad(j, "zero scale");
  j = good;
  j["mean"][0] = "x";
  expect_bad(j, "string in mean");
  EXPECT_THROW(pca_model::from_json("{not json", "m.json"), playaug::data_error);
}

// --- per-playlist PCA ---------------------------------------------------------------------

playaug::batched_pca per_playlist(const playaug::dataset& ds, int threads) {
  const resources res(backend::cpu, threads);
  return playaug::fit_pca_per_playlist(
      res, ds.feature_matrix(),
      playaug::vector_view<const std::uint64_t>(ds.song_offsets.data(), ds.song_offsets.size()));
}

TEST(PerPlaylist, MatchesNumpyPerPlaylist) {
  const auto& ds = fixture_data();
  const auto b = per_playlist(ds, 2);
  const std::size_t d = 11;
  ASSERT_EQ(b.dim, d);
  const auto& ref = reference()["per_playlist"];
  ASSERT_EQ(b.n.size(), ref.size());
  for (std::size_t p = 0; p < ref.size(); ++p) {
    const auto& r = ref[p];
    ASSERT_EQ(ds.ids[p], r["id"].get<std::string>());
    EXPECT_EQ(b.n[p], r["n"].get<std::uint64_t>()) << p;
    const std::vector<double> values(
        b.eigenvalues.begin() + static_cast<std::ptrdiff_t>(p * d),
        b.eigenvalues.begin() + static_cast<std::ptrdiff_t>((p + 1) * d));
    const std::vector<double> vectors(
        b.components.begin() + static_cast<std::ptrdiff_t>(p * d * d),
        b.components.begin() + static_cast<std::ptrdiff_t>((p + 1) * d * d));
    if (b.n[p] < 2) {
      EXPECT_EQ(values, std::vector<double>(d, 0.0)) << p;
      for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t j = 0; j < d; ++j) EXPECT_EQ(vectors[i * d + j], i == j ? 1.0 : 0.0);
      }
      for (std::size_t j = 0; j < d; ++j) {
        const double want = b.n[p] == 0 ? 0.0 : ds.features[ds.song_offsets[p] * d + j];
        EXPECT_EQ(b.mean[p * d + j], want) << p;
      }
      continue;
    }
    const auto mean = r["mean"].get<std::vector<double>>();
    for (std::size_t j = 0; j < d; ++j) {
      EXPECT_NEAR(b.mean[p * d + j], mean[j], 1e-12 * (std::fabs(mean[j]) + 1.0)) << p;
    }
    // Compare the vectors whose eigenvalue is separated from its neighbours (a 2-song
    // playlist has one non-zero eigenvalue and a degenerate null space).
    const auto rv = r["eigenvalues"].get<std::vector<double>>();
    std::size_t compared = 0;
    for (std::size_t i = 0; i < d; ++i) {
      const double gap = std::min(i == 0 ? INFINITY : rv[i - 1] - rv[i],
                                  i + 1 == d ? INFINITY : rv[i] - rv[i + 1]);
      if (rv[i] <= 1e-12 * rv[0] || gap <= 1e-9 * rv[0]) continue;
      ++compared;
      const auto want = r["eigenvectors"][i].get<std::vector<double>>();
      const double c = dot(vectors.data() + i * d, want.data(), d);
      EXPECT_GT(c, 1.0 - 1e-6) << "playlist " << p << " component " << i << " (cos " << c << ")";
    }
    // (Some playlists have an eigenvalue near 1e-12 of the largest: instrumentalness is
    // almost always 0 in them.)
    EXPECT_GE(compared, b.n[p] == 2 ? 1u : d - 1) << "playlist " << p;
    expect_eigen_matches(values, vectors, 0, r["eigenvalues"], r["eigenvectors"],
                         "playlist " + std::to_string(p));
  }
}

TEST(PerPlaylist, EqualsTheWholeMatrixPathOnEachPlaylistAndIgnoresThreads) {
  const auto& ds = fixture_data();
  const auto b1 = per_playlist(ds, 1);
  const auto b3 = per_playlist(ds, 3);
  EXPECT_EQ(b1.eigenvalues, b3.eigenvalues);
  EXPECT_EQ(b1.components, b3.components);
  EXPECT_EQ(b1.mean, b3.mean);
  const resources res(backend::cpu, 2);
  const std::size_t d = ds.dim;
  for (std::size_t p = 0; p < ds.playlists(); ++p) {
    if (ds.song_count(p) < 2) continue;
    const auto m = playaug::compute_moments(res, ds.playlist_features(p));
    auto e = playaug::symmetric_eig(res, m.covariance(), d);
    for (auto& v : e.values) v = std::max(v, 0.0);
    EXPECT_EQ(std::vector<double>(b1.mean.begin() + static_cast<std::ptrdiff_t>(p * d),
                                  b1.mean.begin() + static_cast<std::ptrdiff_t>((p + 1) * d)),
              m.mean)
        << p;
    EXPECT_EQ(
        std::vector<double>(b1.eigenvalues.begin() + static_cast<std::ptrdiff_t>(p * d),
                            b1.eigenvalues.begin() + static_cast<std::ptrdiff_t>((p + 1) * d)),
        e.values)
        << p;
    EXPECT_EQ(
        std::vector<double>(b1.components.begin() + static_cast<std::ptrdiff_t>(p * d * d),
                            b1.components.begin() + static_cast<std::ptrdiff_t>((p + 1) * d * d)),
        e.vectors)
        << p;
  }
}

TEST(PerPlaylist, ValidatesOffsets) {
  const resources res(backend::cpu, 1);
  std::vector<float> x(6 * 2, 1.0f);
  const matrix_view<const float> xv(x.data(), 6, 2);
  using offsets_view = playaug::vector_view<const std::uint64_t>;
  const std::vector<std::uint64_t> decreasing{0, 4, 2, 6};
  const std::vector<std::uint64_t> too_far{0, 3, 7};
  const std::vector<std::uint64_t> fine{0, 3, 6};
  EXPECT_THROW(playaug::fit_pca_per_playlist(res, xv, offsets_view(decreasing.data(), 4)),
               playaug::usage_error);
  EXPECT_THROW(playaug::fit_pca_per_playlist(res, xv, offsets_view(too_far.data(), 3)),
               playaug::usage_error);
  EXPECT_THROW(playaug::fit_pca_per_playlist(res, xv, offsets_view()), playaug::usage_error);
  EXPECT_THROW(playaug::fit_pca_per_playlist(
                   res, matrix_view<const float>(x.data(), 6, 2, playaug::memory_space::device),
                   offsets_view(fine.data(), 3)),
               playaug::usage_error);
  const auto b = playaug::fit_pca_per_playlist(res, xv, offsets_view(fine.data(), 3));
  EXPECT_EQ(b.n, (std::vector<std::uint64_t>{3, 3}));
  EXPECT_EQ(b.eigenvalues, std::vector<double>(4, 0.0));  // constant rows
}

// --- the fit-pca and transform commands ---------------------------------------------------

struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

run_result run_cli(const temp_dir& dir, const std::vector<std::string>& args) {
  std::string cmd = quote(playaug::test::cli_path());
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(dir.file("stdout.txt")) + " 2>" + quote(dir.file("stderr.txt"));
  const int status = std::system(cmd.c_str());
  run_result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(dir.file("stdout.txt"));
  r.err = read_file(dir.file("stderr.txt"));
  return r;
}

#define REQUIRE_CLI()                                                       \
  do {                                                                      \
    if (playaug::test::cli_path().empty()) GTEST_SKIP() << "CLI not built"; \
  } while (0)

/// The fixture's lines: header, then one line per playlist.
std::vector<std::string> fixture_lines() {
  std::istringstream in(read_file(fixture_csv()));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(FitPcaCommand, WritesTheModelAndTheScreeTable) {
  REQUIRE_CLI();
  const temp_dir dir;
  const auto r = run_cli(dir, {"fit-pca", fixture_csv(), "-o", dir.file("m.json"), "--device",
                               "cpu", "--variance", "0.99"});
  ASSERT_EQ(r.code, 0) << r.err;
  const pca_model m = pca_model::load(dir.file("m.json"));
  EXPECT_EQ(m.n_components, reference()["plain"]["k_for_variance"]["0.99"].get<std::size_t>());
  expect_eigen_matches(m.eigenvalues, m.components, m.n_components,
                       reference()["plain"]["eigenvalues"], reference()["plain"]["eigenvectors"],
                       "cli");
  EXPECT_NE(r.out.find("keeping 2 of 11 components"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("97.98%"), std::string::npos) << r.out;  // first component's ratio
  EXPECT_NE(r.out.find("#######"), std::string::npos) << r.out;
  // --quiet: nothing on stdout.
  const auto q =
      run_cli(dir, {"fit-pca", fixture_csv(), "-o", dir.file("q.json"), "--device", "cpu", "-q"});
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(q.out, "");
  EXPECT_EQ(pca_model::load(dir.file("q.json")).n_components, 11u);
}

TEST(FitPcaCommand, StreamsSeveralFilesInSmallChunks) {
  REQUIRE_CLI();
  const temp_dir dir;
  const auto lines = fixture_lines();
  std::string a = lines[0] + "\n", b = lines[0] + "\n";
  for (std::size_t i = 1; i < lines.size(); ++i) (i <= 4 ? a : b) += lines[i] + "\n";
  write_file(dir.file("a.csv"), a);
  write_file(dir.file("b.csv"), b);
  for (const bool standardize : {false, true}) {
    std::vector<std::string> whole{"fit-pca", fixture_csv(), "-o", dir.file("whole.json"), "-q"};
    std::vector<std::string> parts{"fit-pca",
                                   dir.file("a.csv"),
                                   dir.file("b.csv"),
                                   "-o",
                                   dir.file("parts.json"),
                                   "--chunk-songs",
                                   "7",
                                   "-q"};
    if (standardize) {
      whole.push_back("--standardize");
      parts.push_back("--standardize");
    }
    ASSERT_EQ(run_cli(dir, whole).code, 0);
    const auto r = run_cli(dir, parts);
    ASSERT_EQ(r.code, 0) << r.err;
    const pca_model w = pca_model::load(dir.file("whole.json"));
    const pca_model p = pca_model::load(dir.file("parts.json"));
    EXPECT_EQ(p.n_samples, 100u);
    for (std::size_t j = 0; j < 11; ++j) {
      EXPECT_NEAR(p.mean[j], w.mean[j], 1e-12 * (std::fabs(w.mean[j]) + 1.0));
      EXPECT_NEAR(p.scale[j], w.scale[j], 1e-12 * w.scale[j]);
      EXPECT_NEAR(p.eigenvalues[j], w.eigenvalues[j], 1e-10 * w.eigenvalues[0]);
    }
    for (std::size_t c = 0; c < 8; ++c) {
      EXPECT_GT(dot(p.components.data() + c * 11, w.components.data() + c * 11, 11), 1.0 - 1e-9)
          << c;
    }
  }
}

TEST(FitPcaCommand, ErrorsLeaveNoOutput) {
  REQUIRE_CLI();
  const temp_dir dir;
  write_file(dir.file("three.csv"), ",moods_states,features\nx,[[1]],\"[[1, 2, 3], [4, 5, 7]]\"\n");
  write_file(dir.file("one.csv"),
             ",moods_states,features\nx,[[1]],\"[[1, 2, 3]]\"\ny,[[1]],[null]\n");
  write_file(dir.file("none.csv"), ",moods_states,features\ny,[[1]],[null]\n");
  auto r = run_cli(
      dir, {"fit-pca", fixture_csv(), dir.file("three.csv"), "-o", dir.file("m.json"), "-q"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("three.csv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 features"), std::string::npos) << r.err;
  r = run_cli(dir, {"fit-pca", dir.file("one.csv"), "-o", dir.file("m.json"), "-q"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("at least 2 songs"), std::string::npos) << r.err;
  r = run_cli(dir, {"fit-pca", dir.file("none.csv"), "-o", dir.file("m.json"), "-q"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no songs"), std::string::npos) << r.err;
  r = run_cli(dir, {"fit-pca", dir.file("absent.csv"), "-o", dir.file("m.json"), "-q"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(
      run_cli(dir, {"fit-pca", fixture_csv(), "-o", dir.file("m.json"), "--variance", "1.5"}).code,
      2);
  EXPECT_EQ(
      run_cli(dir, {"fit-pca", fixture_csv(), "-o", dir.file("m.json"), "--components", "12"}).code,
      2);
  EXPECT_EQ(run_cli(dir, {"fit-pca", fixture_csv(), "-o", dir.file("m.json"), "--components", "2",
                          "--variance", "0.5"})
                .code,
            2);
  EXPECT_EQ(run_cli(dir, {"fit-pca", fixture_csv()}).code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.json")));
  for (const auto& entry : std::filesystem::directory_iterator(dir.file(""))) {
    const auto name = entry.path().filename().string();
    EXPECT_TRUE(name.size() >= 4 &&
                (name.substr(name.size() - 4) == ".csv" || name.substr(name.size() - 4) == ".txt"))
        << "left behind: " << name;
  }
}

TEST(FitPcaCommand, StandardizeWarnsAboutAConstantFeature) {
  REQUIRE_CLI();
  const temp_dir dir;
  write_file(dir.file("c.csv"),
             ",moods_states,features\n"
             "a,[[1]],\"[[1, 7, 0.5], [2, 7, 0.25], [4, 7, 1.5]]\"\n"
             "b,[[2]],\"[[3, 7, 2.5], [0, 7, 0.75]]\"\n");
  const auto r =
      run_cli(dir, {"fit-pca", dir.file("c.csv"), "-o", dir.file("m.json"), "--standardize", "-q"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: feature 'f1' is constant"), std::string::npos) << r.err;
  const pca_model m = pca_model::load(dir.file("m.json"));
  EXPECT_EQ(m.scale[1], 1.0);
  EXPECT_EQ(m.mean[1], 7.0);
  EXPECT_EQ(m.eigenvalues[2], 0.0);
  EXPECT_NEAR(m.eigenvalues[0] + m.eigenvalues[1], 2.0, 1e-12);  // two unit variances
}

TEST(FitPcaCommand, PerPlaylist) {
  REQUIRE_CLI();
  const temp_dir dir;
  const auto r = run_cli(dir, {"fit-pca", fixture_csv(), "--per-playlist", "-o",
                               dir.file("pp.json"), "--chunk-songs", "20", "--device", "cpu"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const auto j = nlohmann::json::parse(read_file(dir.file("pp.json")));
  EXPECT_EQ(j["format"], "playaug-pca-per-playlist");
  EXPECT_EQ(j["feature_names"].get<std::vector<std::string>>(), names());
  const auto& ref = reference()["per_playlist"];
  ASSERT_EQ(j["playlists"].size(), ref.size());
  for (std::size_t p = 0; p < ref.size(); ++p) {
    const auto& got = j["playlists"][p];
    EXPECT_EQ(got["id"], ref[p]["id"]);
    EXPECT_EQ(got["n"], ref[p]["n"]);
    ASSERT_EQ(got["components"].size(), 11u);
    if (ref[p]["n"].get<int>() < 2) continue;
    const auto values = got["eigenvalues"].get<std::vector<double>>();
    std::vector<double> vectors;
    for (const auto& row : got["components"]) {
      for (const auto& v : row) vectors.push_back(v.get<double>());
    }
    expect_eigen_matches(values, vectors, 1, ref[p]["eigenvalues"], ref[p]["eigenvectors"],
                         "cli playlist " + std::to_string(p));
  }
  EXPECT_EQ(run_cli(dir, {"fit-pca", fixture_csv(), "--per-playlist", "--standardize", "-o",
                          dir.file("x.json")})
                .code,
            2);
}

TEST(TransformCommand, ProjectsAndReconstructs) {
  REQUIRE_CLI();
  const temp_dir dir;
  ASSERT_EQ(
      run_cli(dir, {"fit-pca", fixture_csv(), "-o", dir.file("m.json"), "-k", "3", "-q"}).code, 0);
  auto r = run_cli(dir, {"transform", fixture_csv(), "--model", dir.file("m.json"), "-o",
                         dir.file("y.csv"), "--chunk-songs", "9", "--device", "cpu"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const auto in = fixture_data();
  const auto y = playaug::read_csv(dir.file("y.csv"));
  ASSERT_EQ(y.dim, 3u);
  EXPECT_EQ(y.ids, in.ids);
  EXPECT_EQ(y.null_features, in.null_features);
  EXPECT_EQ(y.song_offsets, in.song_offsets);
  EXPECT_EQ(y.segment_offsets, in.segment_offsets);
  EXPECT_EQ(y.mood_offsets, in.mood_offsets);
  EXPECT_EQ(y.moods, in.moods);
  EXPECT_NE(read_file(dir.file("y.csv")).find(",[null]"), std::string::npos);
  std::vector<float> rows;
  for (const auto& row : reference()["plain"]["transform_rows"]) {
    const auto i = row.get<std::size_t>();
    rows.insert(rows.end(), y.features.data() + i * 3, y.features.data() + (i + 1) * 3);
  }
  expect_rows_near(rows, reference()["plain"]["transform_k3"], 3, 1e-6, "cli k=3");

  r = run_cli(dir, {"transform", dir.file("y.csv"), "--model", dir.file("m.json"), "-o",
                    dir.file("x.csv"), "--inverse", "-q"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto x = playaug::read_csv(dir.file("x.csv"));
  ASSERT_EQ(x.dim, 11u);
  EXPECT_EQ(x.ids, in.ids);
  rows.clear();
  for (const auto& row : reference()["plain"]["transform_rows"]) {
    const auto i = row.get<std::size_t>();
    rows.insert(rows.end(), x.features.data() + i * 11, x.features.data() + (i + 1) * 11);
  }
  expect_rows_near(rows, reference()["plain"]["inverse_k3"], 11, 1e-6, "cli inverse k=3");
}

TEST(TransformCommand, ErrorsLeaveNoOutput) {
  REQUIRE_CLI();
  const temp_dir dir;
  ASSERT_EQ(
      run_cli(dir, {"fit-pca", fixture_csv(), "-o", dir.file("m.json"), "-k", "3", "-q"}).code, 0);
  write_file(dir.file("three.csv"), ",moods_states,features\nx,[[1]],\"[[1, 2, 3], [4, 5, 7]]\"\n");
  write_file(dir.file("bad.json"), "{\"format\": \"playaug-pca\"}");
  // Data with the wrong dimension (the forward transform wants 11 values, --inverse 3).
  auto r = run_cli(dir, {"transform", dir.file("three.csv"), "--model", dir.file("m.json"), "-o",
                         dir.file("out.csv")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("3 values"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("11 features"), std::string::npos) << r.err;
  r = run_cli(dir, {"transform", fixture_csv(), "--model", dir.file("m.json"), "-o",
                    dir.file("out.csv"), "--inverse"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("3 components"), std::string::npos) << r.err;
  r = run_cli(dir, {"transform", fixture_csv(), "--model", dir.file("bad.json"), "-o",
                    dir.file("out.csv")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  r = run_cli(dir, {"transform", fixture_csv(), "--model", dir.file("absent.json"), "-o",
                    dir.file("out.csv")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("absent.json"), std::string::npos) << r.err;
  EXPECT_EQ(run_cli(dir, {"transform", fixture_csv(), "-o", dir.file("out.csv")}).code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.csv")));
}

}  // namespace
