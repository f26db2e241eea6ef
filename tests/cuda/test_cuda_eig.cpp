// symmetric_eig on the CUDA engine (cuSOLVER syevd) against LAPACK on the CPU and against
// matrices with known eigenpairs; the whole fit_pca on the GPU against the CPU.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gpu_util.hpp"
#include "playaug/error.hpp"
#include "playaug/pca.hpp"
#include "playaug/resources.hpp"

namespace {

using playaug::backend;
using playaug::resources;

/// A random orthogonal d x d matrix (rows), by Gram-Schmidt on normal vectors.
std::vector<double> random_orthogonal(std::size_t d, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<double> q(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    for (;;) {
      for (std::size_t j = 0; j < d; ++j) q[i * d + j] = normal(gen);
      for (std::size_t k = 0; k < i; ++k) {
        double dot = 0;
        for (std::size_t j = 0; j < d; ++j) dot += q[i * d + j] * q[k * d + j];
        for (std::size_t j = 0; j < d; ++j) q[i * d + j] -= dot * q[k * d + j];
      }
      double norm = 0;
      for (std::size_t j = 0; j < d; ++j) norm += q[i * d + j] * q[i * d + j];
      norm = std::sqrt(norm);
      if (norm < 1e-6) continue;
      for (std::size_t j = 0; j < d; ++j) q[i * d + j] /= norm;
      break;
    }
  }
  return q;
}

/// A = Q^T diag(lambda) Q with the given eigenvalues (rows of Q are the eigenvectors).
std::vector<double> with_spectrum(const std::vector<double>& q, const std::vector<double>& lambda) {
  const std::size_t d = lambda.size();
  std::vector<double> a(d * d, 0.0);
  for (std::size_t k = 0; k < d; ++k) {
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) a[i * d + j] += lambda[k] * q[k * d + i] * q[k * d + j];
    }
  }
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j < i; ++j) a[i * d + j] = a[j * d + i];  // exactly symmetric
  }
  return a;
}

void check_spectrum(std::size_t d, std::uint64_t seed) {
  SCOPED_TRACE("d=" + std::to_string(d));
  const auto q = random_orthogonal(d, seed);
  std::vector<double> lambda(d);
  for (std::size_t k = 0; k < d; ++k) lambda[k] = 10.0 * static_cast<double>(d - k) + 0.5;  // distinct, descending
  const auto a = with_spectrum(q, lambda);
  const resources gpu(backend::cuda), cpu(backend::cpu);
  const auto eg = playaug::symmetric_eig(gpu, a, d);
  const auto ec = playaug::symmetric_eig(cpu, a, d);
  ASSERT_EQ(eg.values.size(), d);
  ASSERT_EQ(eg.vectors.size(), d * d);
  const double top = lambda[0];
  for (std::size_t i = 0; i < d; ++i) {
    EXPECT_NEAR(eg.values[i], lambda[i], 1e-11 * top) << "eigenvalue " << i;
    EXPECT_NEAR(eg.values[i], ec.values[i], 1e-11 * top) << "eigenvalue " << i << " vs CPU";
    // The known eigenvector up to sign, and exactly the CPU's sign.
    double dot = 0.0, best = 0.0;
    std::size_t arg = 0;
    for (std::size_t j = 0; j < d; ++j) {
      dot += eg.vectors[i * d + j] * q[i * d + j];
      if (std::fabs(eg.vectors[i * d + j]) > best) {
        best = std::fabs(eg.vectors[i * d + j]);
        arg = j;
      }
    }
    EXPECT_NEAR(std::fabs(dot), 1.0, 1e-10) << "eigenvector " << i;
    EXPECT_GT(eg.vectors[i * d + arg], 0.0) << "sign convention, eigenvector " << i;
    for (std::size_t j = 0; j < d; ++j) {
      EXPECT_NEAR(eg.vectors[i * d + j], ec.vectors[i * d + j], 1e-9) << "vector " << i << " entry " << j;
    }
  }
}

TEST(CudaEig, KnownSpectraAgainstLapack) {
  PLAYAUG_REQUIRE_GPU();
  std::uint64_t seed = 1;
  for (std::size_t d : {1u, 2u, 3u, 5u, 11u, 16u, 33u, 64u}) check_spectrum(d, seed++);
}

TEST(CudaEig, DiagonalWithTiesAndZeroMatrix) {
  PLAYAUG_REQUIRE_GPU();
  const resources gpu(backend::cuda);
  // diag(1, 3, 2): sorted 3, 2, 1 with unit vectors e1, e2, e0 (positive).
  const auto e = playaug::symmetric_eig(gpu, {1, 0, 0, 0, 3, 0, 0, 0, 2}, 3);
  EXPECT_NEAR(e.values[0], 3.0, 1e-14);
  EXPECT_NEAR(e.values[1], 2.0, 1e-14);
  EXPECT_NEAR(e.values[2], 1.0, 1e-14);
  EXPECT_NEAR(e.vectors[0 * 3 + 1], 1.0, 1e-14);
  EXPECT_NEAR(e.vectors[1 * 3 + 2], 1.0, 1e-14);
  EXPECT_NEAR(e.vectors[2 * 3 + 0], 1.0, 1e-14);
  const auto z = playaug::symmetric_eig(gpu, std::vector<double>(16, 0.0), 4);
  for (const double v : z.values) EXPECT_NEAR(v, 0.0, 1e-14);
}

TEST(CudaEig, NonFiniteInputIsANumericError) {
  PLAYAUG_REQUIRE_GPU();
  const resources gpu(backend::cuda);
  std::vector<double> a{1, 0, 0, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_THROW(playaug::symmetric_eig(gpu, a, 2), playaug::numeric_error);
}

TEST(CudaEig, FitPcaMatchesCpu) {
  PLAYAUG_REQUIRE_GPU();
  const std::size_t n = playaug::test::gpu_small() ? 3000 : 200003;
  const std::size_t d = 11;
  const auto x = playaug::test::random_rows(n, d, 21, {0.5, 120.0, -7.0});
  const resources gpu(backend::cuda), cpu(backend::cpu);
  for (const bool standardize : {false, true}) {
    SCOPED_TRACE(standardize ? "standardized" : "covariance");
    playaug::pca_options opts;
    opts.standardize = standardize;
    opts.variance = 0.9;
    const auto mg = playaug::fit_pca(gpu, playaug::matrix_view<const float>(x.data(), n, d), opts, {});
    const auto mc = playaug::fit_pca(cpu, playaug::matrix_view<const float>(x.data(), n, d), opts, {});
    EXPECT_EQ(mg.n_samples, mc.n_samples);
    EXPECT_EQ(mg.n_components, mc.n_components);
    for (std::size_t j = 0; j < d; ++j) {
      EXPECT_NEAR(mg.mean[j], mc.mean[j], 1e-12 * (std::fabs(mc.mean[j]) + 1.0));
      EXPECT_NEAR(mg.scale[j], mc.scale[j], 1e-12 * mc.scale[j]);
      EXPECT_NEAR(mg.eigenvalues[j], mc.eigenvalues[j], 1e-10 * mc.eigenvalues[0]);
      EXPECT_NEAR(mg.explained_variance_ratio[j], mc.explained_variance_ratio[j], 1e-10);
    }
    ASSERT_EQ(mg.components.size(), mc.components.size());
    for (std::size_t i = 0; i < mg.components.size(); ++i) {
      EXPECT_NEAR(mg.components[i], mc.components[i], 1e-8) << "component entry " << i;
    }
  }
}

}  // namespace
