// The PCA aggregate (pca_aggregate.hpp): the per-playlist rules both engines share, the
// projector and pooled averages against a float64 reference computed here (plain loops
// and a cyclic Jacobi eigensolver, independent of LAPACK), synthetic playlists that share
// one subspace (recovered exactly) or disagree (the averaged projector's eigenvalues fall
// below 1 as the weights say), sign and order invariance, skipping, thread and chunking
// independence, the model's method keys, and principal angles.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "detail/pca_aggregate_rule.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/pca.hpp"
#include "playaug/pca_aggregate.hpp"
#include "test_support.hpp"

namespace {

using playaug::backend;
using playaug::pca_aggregate_options;
using playaug::pca_method;
using playaug::pca_model;
using playaug::pca_weight;
using playaug::resources;
namespace rule = playaug::detail::aggregate_rule;

using offsets_view = playaug::vector_view<const std::uint64_t>;

// --- a float64 reference ----------------------------------------------------------------

/// Eigenvalues (descending) and unit eigenvectors (rows) of the symmetric d x d `a`, by
/// cyclic Jacobi rotations.
struct ref_eig {
  std::vector<double> values;
  std::vector<double> vectors;
};
ref_eig jacobi(std::vector<double> a, std::size_t d) {
  std::vector<double> v(d * d, 0.0);
  for (std::size_t i = 0; i < d; ++i) v[i * d + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0, diag = 0.0;
    for (std::size_t i = 0; i < d; ++i) {
      diag += a[i * d + i] * a[i * d + i];
      for (std::size_t j = i + 1; j < d; ++j) off += a[i * d + j] * a[i * d + j];
    }
    if (off <= 1e-34 * diag || off == 0.0) break;
    for (std::size_t p = 0; p < d; ++p) {
      for (std::size_t q = p + 1; q < d; ++q) {
        const double apq = a[p * d + q];
        if (apq == 0.0) continue;
        const double theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (std::size_t k = 0; k < d; ++k) {  // A <- A J
          const double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < d; ++k) {  // A <- J^T A
          const double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < d; ++k) {  // V <- V J (columns are eigenvectors)
          const double vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  std::vector<std::size_t> order(d);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return a[x * d + x] > a[y * d + y]; });
  ref_eig e;
  for (const std::size_t c : order) {
    e.values.push_back(a[c * d + c]);
    for (std::size_t k = 0; k < d; ++k) e.vectors.push_back(v[k * d + c]);
  }
  return e;
}

/// The covariance (ddof 1) of rows r0 .. r0 + n of x, in float64 about the two-pass mean.
std::vector<double> ref_covariance(const std::vector<float>& x, std::size_t d, std::size_t r0, std::size_t n) {
  std::vector<double> mean(d, 0.0), c(d * d, 0.0);
  for (std::size_t r = r0; r < r0 + n; ++r) {
    for (std::size_t j = 0; j < d; ++j) mean[j] += x[r * d + j];
  }
  for (auto& m : mean) m /= static_cast<double>(n);
  for (std::size_t r = r0; r < r0 + n; ++r) {
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) c[i * d + j] += (x[r * d + i] - mean[i]) * (x[r * d + j] - mean[j]);
    }
  }
  for (auto& v : c) v /= static_cast<double>(n - 1);
  return c;
}

/// The projector onto the span of the first k rows of `rows` (orthonormal, d wide).
std::vector<double> projector(const double* rows, std::size_t k, std::size_t d) {
  std::vector<double> p(d * d, 0.0);
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) p[i * d + j] += rows[c * d + i] * rows[c * d + j];
    }
  }
  return p;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

/// The reference aggregate: the averaged matrix of the playlists (rows off[p]..off[p+1]).
struct ref_result {
  std::vector<double> average;
  std::uint64_t aggregated = 0;
};
ref_result ref_aggregate(const std::vector<float>& x, std::size_t d, const std::vector<std::uint64_t>& off,
                         bool pooled, bool by_songs, std::size_t k) {
  ref_result r;
  r.average.assign(d * d, 0.0);
  double total = 0.0;
  for (std::size_t p = 0; p + 1 < off.size(); ++p) {
    const std::size_t n = off[p + 1] - off[p];
    if (n < 2 || (!pooled && n < k + 1)) continue;
    const auto cov = ref_covariance(x, d, off[p], n);
    std::vector<double> m = cov;
    if (!pooled) {
      const ref_eig e = jacobi(cov, d);
      if (!(e.values[k - 1] > 1e-10 * e.values[0])) continue;
      m = projector(e.vectors.data(), k, d);
    }
    const double w = !by_songs ? 1.0 : pooled ? static_cast<double>(n - 1) : static_cast<double>(n);
    for (std::size_t i = 0; i < d * d; ++i) r.average[i] += w * m[i];
    total += w;
    ++r.aggregated;
  }
  for (auto& v : r.average) v /= total;
  return r;
}

// --- data -------------------------------------------------------------------------------

/// Playlists of the sizes given whose songs are mean_p + sum_c a_c * basis[c] with small
/// integer coefficients and means (exact in float32): each playlist's covariance has its
/// range inside span(basis), with its own orientation within it.
struct playlists {
  std::size_t d = 0;
  std::vector<float> x;
  std::vector<std::uint64_t> off{0};
};
playlists in_subspace(std::size_t d, const std::vector<std::vector<float>>& basis, const std::vector<std::size_t>& sizes,
                      std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int> coef(-20, 20), shift(-50, 50);
  playlists out;
  out.d = d;
  for (const std::size_t n : sizes) {
    std::vector<float> mean(d);
    for (auto& m : mean) m = static_cast<float>(shift(gen));
    // A per-playlist mix of the basis, so the playlists' principal axes differ.
    const int ca = coef(gen), cb = coef(gen);
    for (std::size_t s = 0; s < n; ++s) {
      const float u = static_cast<float>(coef(gen)), v = static_cast<float>(coef(gen));
      for (std::size_t j = 0; j < d; ++j) {
        float value = mean[j];
        for (std::size_t c = 0; c < basis.size(); ++c) {
          const float a = c == 0 ? u * 3 + v * static_cast<float>(ca % 3) : c == 1 ? v + u * static_cast<float>(cb % 2)
                                                                                   : static_cast<float>(coef(gen));
          value += a * basis[c][j];
        }
        out.x.push_back(value);
      }
    }
    out.off.push_back(out.off.back() + n);
  }
  return out;
}

playlists concat(const playlists& a, const playlists& b) {
  playlists out = a;
  out.x.insert(out.x.end(), b.x.begin(), b.x.end());
  for (std::size_t p = 1; p < b.off.size(); ++p) out.off.push_back(a.off.back() + b.off[p]);
  return out;
}

playlists random_playlists(std::size_t d, const std::vector<std::size_t>& sizes, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  playlists out;
  out.d = d;
  for (const std::size_t n : sizes) {
    for (std::size_t s = 0; s < n; ++s) {
      for (std::size_t j = 0; j < d; ++j) {
        out.x.push_back(static_cast<float>(10.0 * static_cast<double>(j % 3) + (1.0 + 0.5 * j) * normal(gen)));
      }
    }
    out.off.push_back(out.off.back() + n);
  }
  return out;
}

pca_aggregate_options options(pca_method m, pca_weight w, std::size_t k) {
  pca_aggregate_options o;
  o.method = m;
  o.weight = w;
  o.components = k;
  return o;
}

pca_model fit(const playlists& pl, const pca_aggregate_options& o, int threads = 2) {
  const resources cpu(backend::cpu, threads);
  return playaug::fit_pca_aggregate(cpu, {pl.x.data(), pl.off.back(), pl.d}, {pl.off.data(), pl.off.size()}, o, {});
}

std::vector<double> model_projector(const pca_model& m) {
  return projector(m.components.data(), m.n_components, m.dim());
}

// --- the per-playlist rules -------------------------------------------------------------

TEST(AggregateRule, SizesDecideFirst) {
  EXPECT_EQ(rule::size_verdict(false, 0, 2), rule::empty);
  EXPECT_EQ(rule::size_verdict(true, 0, 0), rule::empty);
  EXPECT_EQ(rule::size_verdict(false, 1, 1), rule::too_few_songs);
  EXPECT_EQ(rule::size_verdict(true, 1, 0), rule::too_few_songs);
  EXPECT_EQ(rule::size_verdict(false, 3, 3), rule::too_few_songs);  // rank 3 needs 4 songs
  EXPECT_EQ(rule::size_verdict(false, 4, 3), 1);
  EXPECT_EQ(rule::size_verdict(true, 2, 3), 1);  // pooled needs 2 songs, whatever k
  EXPECT_EQ(rule::size_verdict(false, 2, 0), 1);  // the variance rule decides later
}

TEST(AggregateRule, RankFromComponentsOrVarianceAndTheZeroTest) {
  const double tol = pca_aggregate_options::rank_tolerance;
  const std::vector<double> desc{8.0, 1.0, 0.5, 0.5, 0.0};
  const std::vector<double> asc(desc.rbegin(), desc.rend());
  for (int k = 1; k <= 4; ++k) EXPECT_EQ(rule::playlist_rank(false, desc.data(), 1, 5, 10, k, 0.0, tol), k);
  EXPECT_EQ(rule::playlist_rank(false, desc.data(), 1, 5, 10, 5, 0.0, tol), rule::low_rank);
  // The same eigenvalues read ascending from the end (the CUDA layout).
  for (int k = 1; k <= 5; ++k) {
    EXPECT_EQ(rule::playlist_rank(false, asc.data() + 4, -1, 5, 10, k, 0.0, tol),
              rule::playlist_rank(false, desc.data(), 1, 5, 10, k, 0.0, tol));
  }
  // fit_pca's rule: ratios 0.8, 0.1, 0.05, 0.05; cumulative strictly above F.
  EXPECT_EQ(rule::playlist_rank(false, desc.data(), 1, 5, 10, 0, 0.5, tol), 1);
  EXPECT_EQ(rule::playlist_rank(false, desc.data(), 1, 5, 10, 0, 0.8, tol), 2);
  EXPECT_EQ(rule::playlist_rank(false, desc.data(), 1, 5, 10, 0, 0.89, tol), 2);
  EXPECT_EQ(rule::playlist_rank(false, desc.data(), 1, 5, 10, 0, 0.91, tol), 3);
  EXPECT_EQ(rule::playlist_rank(false, desc.data(), 1, 5, 3, 0, 0.91, tol), rule::too_few_songs);
  // Rounding below zero counts as zero; an all-zero covariance has no rank at all.
  const std::vector<double> zero{0.0, -1e-18, -1e-17};
  EXPECT_EQ(rule::playlist_rank(false, zero.data(), 1, 3, 5, 1, 0.0, tol), rule::low_rank);
  EXPECT_EQ(rule::playlist_rank(false, zero.data(), 1, 3, 5, 0, 0.5, tol), rule::low_rank);
  const std::vector<double> tiny{1.0, 1e-15, 0.0};  // 1e-15 < 64 eps: zero to rounding
  EXPECT_EQ(rule::playlist_rank(false, tiny.data(), 1, 3, 5, 2, 0.0, tol), rule::low_rank);
  const std::vector<double> small{1.0, 1e-12, 0.0};
  EXPECT_EQ(rule::playlist_rank(false, small.data(), 1, 3, 5, 2, 0.0, tol), 2);
}

TEST(AggregateRule, WeightsAndProjectorEntries) {
  EXPECT_EQ(rule::playlist_weight(false, false, 7), 1.0);
  EXPECT_EQ(rule::playlist_weight(false, true, 7), 1.0);
  EXPECT_EQ(rule::playlist_weight(true, false, 7), 7.0);
  EXPECT_EQ(rule::playlist_weight(true, true, 7), 6.0);
  // Rows (0.6, 0.8, 0) and (0, 0, 1): the projector entries, also read column-major from
  // the end as the CUDA engine stores syevj's ascending columns.
  const std::vector<double> rows{0.6, 0.8, 0.0, 0.0, 0.0, 1.0};
  const std::vector<double> want{0.36, 0.48, 0.0, 0.48, 0.64, 0.0, 0.0, 0.0, 1.0};
  std::vector<double> cols(9, 0.0);  // ascending columns: the third column is rows[0]
  for (int i = 0; i < 3; ++i) {
    cols[2 * 3 + i] = rows[i];
    cols[1 * 3 + i] = rows[3 + i];
  }
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(rule::projector_entry(rows.data(), 3, 1, 2, i, j), want[i * 3 + j], 1e-15);
      EXPECT_NEAR(rule::projector_entry(cols.data() + 6, -3, 1, 2, i, j), want[i * 3 + j], 1e-15);
    }
  }
}

TEST(AggregateRule, ProjectorsIgnoreSignsAndTheOrderWithinTheKeptBlock) {
  std::mt19937_64 gen(3);
  const std::size_t d = 7, k = 3;
  // An orthonormal basis from the reference solver of a random symmetric matrix.
  std::normal_distribution<double> normal;
  std::vector<double> a(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j <= i; ++j) a[i * d + j] = a[j * d + i] = normal(gen);
  }
  const auto basis = jacobi(a, d).vectors;
  std::vector<double> flipped = basis;
  for (std::size_t j = 0; j < d; ++j) flipped[0 * d + j] = -flipped[0 * d + j];
  for (std::size_t j = 0; j < d; ++j) flipped[2 * d + j] = -flipped[2 * d + j];
  std::vector<double> swapped = basis;  // rows 0 and 2 exchanged, one flipped
  for (std::size_t j = 0; j < d; ++j) {
    swapped[0 * d + j] = -basis[2 * d + j];
    swapped[2 * d + j] = basis[0 * d + j];
  }
  for (int i = 0; i < static_cast<int>(d); ++i) {
    for (int j = 0; j < static_cast<int>(d); ++j) {
      const double want = rule::projector_entry(basis.data(), d, 1, k, i, j);
      EXPECT_NEAR(rule::projector_entry(flipped.data(), d, 1, k, i, j), want, 1e-15);
      EXPECT_NEAR(rule::projector_entry(swapped.data(), d, 1, k, i, j), want, 1e-15);
    }
  }
}

// --- the aggregate against the float64 reference ------------------------------------------

TEST(PcaAggregate, MatchesTheReferenceForBothMethodsAndWeights) {
  const std::size_t d = 6;
  const auto pl = random_playlists(d, {0, 1, 2, 3, 4, 7, 12, 30, 5, 0, 9, 2, 50, 17, 3, 6, 8, 21, 4, 13}, 11);
  for (const pca_method m : {pca_method::projector, pca_method::pooled}) {
    for (const pca_weight w : {pca_weight::playlists, pca_weight::songs}) {
      for (const std::size_t k : {1u, 2u, 3u}) {
        SCOPED_TRACE(std::string(playaug::to_string(m)) + " " + playaug::to_string(w) + " k=" + std::to_string(k));
        const bool pooled = m == pca_method::pooled;
        const auto ref = ref_aggregate(pl.x, d, pl.off, pooled, w == pca_weight::songs, k);
        const resources cpu(backend::cpu, 2);
        const auto sum = playaug::aggregate_playlists(cpu, {pl.x.data(), pl.off.back(), d},
                                                      {pl.off.data(), pl.off.size()}, options(m, w, k));
        EXPECT_EQ(sum.aggregated, ref.aggregated);
        std::vector<double> avg(d * d);
        for (std::size_t i = 0; i < d * d; ++i) avg[i] = sum.sum[i] / sum.weight;
        double scale = 0.0;
        for (const double v : ref.average) scale = std::max(scale, std::fabs(v));
        EXPECT_LT(max_abs_diff(avg, ref.average), 1e-10 * scale);

        const pca_model model = fit(pl, options(m, w, k));
        EXPECT_EQ(model.method, m);
        EXPECT_EQ(model.weight, w);
        ASSERT_EQ(model.n_components, k);
        const ref_eig e = jacobi(ref.average, d);
        for (std::size_t i = 0; i < d; ++i) EXPECT_NEAR(model.eigenvalues[i], e.values[i], 1e-10 * scale) << i;
        // The kept subspace, which is what transform uses (eigenvalues here are distinct).
        EXPECT_LT(max_abs_diff(model_projector(model), projector(e.vectors.data(), k, d)), 1e-8);
        // The model centres on the mean of every song, as the global model does.
        const playaug::moments all = playaug::compute_moments(cpu, {pl.x.data(), pl.off.back(), d});
        EXPECT_EQ(model.mean, all.mean);
        EXPECT_EQ(model.n_samples, pl.off.back());
        EXPECT_EQ(model.scale, std::vector<double>(d, 1.0));
        // explained_variance_ratio: the songs' variance along each component, over the total.
        const auto s = all.covariance();
        double trace = 0.0;
        for (std::size_t j = 0; j < d; ++j) trace += s[j * d + j];
        double total = 0.0;
        for (std::size_t c = 0; c < d; ++c) {
          const double* v = e.vectors.data() + c * d;
          double q = 0.0;
          for (std::size_t i = 0; i < d; ++i) {
            for (std::size_t j = 0; j < d; ++j) q += v[i] * s[i * d + j] * v[j];
          }
          EXPECT_NEAR(model.explained_variance_ratio[c], q / trace, 1e-8) << c;
          total += model.explained_variance_ratio[c];
        }
        EXPECT_NEAR(total, 1.0, 1e-12);  // an orthonormal basis carries all the variance
        if (!pooled) {
          for (const double v : model.eigenvalues) {
            EXPECT_GE(v, 0.0);
            EXPECT_LE(v, 1.0);
          }
          double trace_p = 0.0;
          for (const double v : model.eigenvalues) trace_p += v;
          EXPECT_NEAR(trace_p, static_cast<double>(k), 1e-12);  // trace of a mean of rank-k projectors
        }
      }
    }
  }
}

// --- synthetic subspaces ----------------------------------------------------------------

TEST(PcaAggregate, RecoversASharedSubspaceExactly) {
  const std::size_t d = 6;
  // Two directions with entries exact in float32; every playlist spans them with its own
  // principal axes (its own mix of the two), so no two playlists share eigenvectors.
  const std::vector<std::vector<float>> basis{{1, 1, 0, 0, 0, 0}, {0, 0, 1, -1, 1, 0}};
  const auto pl = in_subspace(d, basis, {5, 8, 13, 4, 30, 6, 9, 11, 3, 20}, 5);
  std::vector<double> rows;
  rows.insert(rows.end(), {1 / std::sqrt(2.0), 1 / std::sqrt(2.0), 0, 0, 0, 0});
  rows.insert(rows.end(), {0, 0, 1 / std::sqrt(3.0), -1 / std::sqrt(3.0), 1 / std::sqrt(3.0), 0});
  const auto truth = projector(rows.data(), 2, d);
  for (const pca_method m : {pca_method::projector, pca_method::pooled}) {
    for (const pca_weight w : {pca_weight::playlists, pca_weight::songs}) {
      SCOPED_TRACE(std::string(playaug::to_string(m)) + " " + playaug::to_string(w));
      const pca_model model = fit(pl, options(m, w, 2));
      EXPECT_LT(max_abs_diff(model_projector(model), truth), 1e-12);
      if (m == pca_method::projector) {
        EXPECT_NEAR(model.eigenvalues[0], 1.0, 1e-12);
        EXPECT_NEAR(model.eigenvalues[1], 1.0, 1e-12);
        for (std::size_t i = 2; i < d; ++i) EXPECT_NEAR(model.eigenvalues[i], 0.0, 1e-12);
      }
    }
  }
}

TEST(PcaAggregate, DisagreeingPlaylistsLowerTheAgreementAsTheWeightsSay) {
  const std::size_t d = 5;
  // Group A spans (e0, e1), group B spans (e0, e2): the mean projector is
  // e0 e0^T + a e1 e1^T + b e2 e2^T with a, b the groups' shares of the weight.
  const std::vector<std::vector<float>> plane_a{{1, 0, 0, 0, 0}, {0, 1, 0, 0, 0}};
  const std::vector<std::vector<float>> plane_b{{1, 0, 0, 0, 0}, {0, 0, 1, 0, 0}};
  const std::vector<std::size_t> sizes_a{10, 12, 8};        // 3 playlists, 30 songs
  const std::vector<std::size_t> sizes_b{5, 4, 6, 5, 20};   // 5 playlists, 40 songs
  const auto pl = concat(in_subspace(d, plane_a, sizes_a, 1), in_subspace(d, plane_b, sizes_b, 2));
  struct expectation {
    pca_weight w;
    double a, b;
  };
  for (const expectation& x : {expectation{pca_weight::playlists, 3.0 / 8, 5.0 / 8},
                               expectation{pca_weight::songs, 30.0 / 70, 40.0 / 70}}) {
    SCOPED_TRACE(playaug::to_string(x.w));
    pca_aggregate_options o = options(pca_method::projector, x.w, 2);
    o.components.reset();
    o.variance = 0.999999;  // every playlist has rank 2 exactly: the rule keeps 2
    const pca_model model = fit(pl, o);
    EXPECT_EQ(model.n_components, 2u);
    EXPECT_NEAR(model.eigenvalues[0], 1.0, 1e-12);
    EXPECT_NEAR(model.eigenvalues[1], std::max(x.a, x.b), 1e-12);
    EXPECT_NEAR(model.eigenvalues[2], std::min(x.a, x.b), 1e-12);
    EXPECT_NEAR(model.eigenvalues[3], 0.0, 1e-12);
    EXPECT_LT(model.eigenvalues[1], 1.0 - 0.3);  // the playlists disagree on the second axis
    // The kept plane: e0 and the majority's second axis.
    std::vector<double> rows(2 * d, 0.0);
    rows[0] = 1.0;
    rows[d + (x.b > x.a ? 2 : 1)] = 1.0;
    EXPECT_LT(max_abs_diff(model_projector(model), projector(rows.data(), 2, d)), 1e-12);
  }
}

TEST(PcaAggregate, VarianceRuleKeepsTheMeanRank) {
  const std::size_t d = 4;
  const std::vector<std::vector<float>> line{{1, 0, 0, 0}};
  const std::vector<std::vector<float>> plane{{1, 0, 0, 0}, {0, 1, 0, 0}};
  const std::vector<std::vector<float>> space{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}};
  // Ranks 1, 1, 2, 3, 3, 3 by playlist: mean 13/6 = 2.17, so 2 kept; by songs (weights
  // 4, 4, 5, 20, 20, 20): (4 + 4 + 10 + 180) / 73 = 2.71, so 3 kept.
  auto pl = concat(in_subspace(d, line, {4, 4}, 1), in_subspace(d, plane, {5}, 2));
  pl = concat(pl, in_subspace(d, space, {20, 20, 20}, 3));
  pca_aggregate_options o;
  o.variance = 0.9999999;
  const pca_model model = fit(pl, o);
  EXPECT_EQ(model.n_components, 2u);
  double trace = 0.0;
  for (const double v : model.eigenvalues) trace += v;
  EXPECT_NEAR(trace, 13.0 / 6.0, 1e-12);
  o.weight = pca_weight::songs;
  const resources cpu(backend::cpu, 1);
  const auto sum = playaug::aggregate_playlists(cpu, {pl.x.data(), pl.off.back(), d}, {pl.off.data(), pl.off.size()}, o);
  EXPECT_DOUBLE_EQ(sum.rank_weight / sum.weight, (4.0 + 4.0 + 10.0 + 180.0) / 73.0);
  EXPECT_EQ(fit(pl, o).n_components, 3u);
  // Pooled: the rule on the pooled covariance's own eigenvalues.
  o.method = pca_method::pooled;
  o.weight = pca_weight::playlists;
  o.variance = 0.5;
  const pca_model pooled = fit(pl, o);
  double total = 0.0;
  for (const double v : pooled.eigenvalues) total += v;
  double cumulative = 0.0;
  std::size_t want = 0;
  for (std::size_t i = 0; i < d; ++i) {
    cumulative += pooled.eigenvalues[i] / total;
    if (cumulative > 0.5) {
      want = i + 1;
      break;
    }
  }
  EXPECT_EQ(pooled.n_components, want);
}

TEST(PcaAggregate, AnIsotropicPlaneGivesTheSameProjectorWhateverBasisTheSolverPicks) {
  // Playlists whose covariance is exactly c I on a plane: its eigenvectors there are any
  // orthonormal pair (the solver's choice), its rank-2 projector is unique.
  const std::size_t d = 4;
  playlists pl;
  pl.d = d;
  for (int p = 0; p < 6; ++p) {
    const float m = static_cast<float>(p * 3);
    const float r = static_cast<float>(1 + p);
    const float pts[4][2] = {{r, 0}, {-r, 0}, {0, r}, {0, -r}};
    for (const auto& pt : pts) {
      // the plane spanned by (1, 0, 0, 1)/sqrt2 and (0, 1, 0, 0)
      pl.x.insert(pl.x.end(), {m + pt[0], pt[1] - m, 7.0f, m + pt[0]});
    }
    pl.off.push_back(pl.off.back() + 4);
  }
  const pca_model model = fit(pl, options(pca_method::projector, pca_weight::playlists, 2));
  std::vector<double> rows{1 / std::sqrt(2.0), 0, 0, 1 / std::sqrt(2.0), 0, 1, 0, 0};
  EXPECT_LT(max_abs_diff(model_projector(model), projector(rows.data(), 2, d)), 1e-12);
  EXPECT_NEAR(model.eigenvalues[1], 1.0, 1e-12);
}

// --- skipping, threads, chunks -------------------------------------------------------------

TEST(PcaAggregate, SkipsAndCountsPlaylistsThatCannotTakePart) {
  const std::size_t d = 3;
  playlists pl = random_playlists(d, {0, 1, 2, 3, 10, 0}, 4);
  // A playlist of 4 identical songs: enough songs, covariance zero.
  for (int s = 0; s < 4; ++s) pl.x.insert(pl.x.end(), {1.5f, -2.0f, 3.0f});
  pl.off.push_back(pl.off.back() + 4);
  const resources cpu(backend::cpu, 2);
  const playaug::matrix_view<const float> xv(pl.x.data(), pl.off.back(), d);
  const offsets_view ov(pl.off.data(), pl.off.size());
  auto s = playaug::aggregate_playlists(cpu, xv, ov, options(pca_method::projector, pca_weight::playlists, 2));
  EXPECT_EQ(s.playlists, 7u);
  EXPECT_EQ(s.empty, 2u);
  EXPECT_EQ(s.too_few_songs, 2u);  // 1 song; 2 songs for a rank-2 projector
  EXPECT_EQ(s.low_rank, 1u);       // the identical songs
  EXPECT_EQ(s.aggregated, 2u);     // 3 and 10 songs
  EXPECT_EQ(s.songs, 13u);
  EXPECT_EQ(s.weight, 2.0);
  EXPECT_EQ(s.rank_weight, 4.0);
  s = playaug::aggregate_playlists(cpu, xv, ov, options(pca_method::pooled, pca_weight::songs, 2));
  EXPECT_EQ(s.too_few_songs, 1u);
  EXPECT_EQ(s.low_rank, 0u);
  EXPECT_EQ(s.aggregated, 4u);  // 2, 3, 10 and the identical songs (zero within-variance)
  EXPECT_EQ(s.weight, 1.0 + 2.0 + 9.0 + 3.0);
  // Nothing to aggregate: fit says so.
  const playlists few = random_playlists(d, {0, 1, 2}, 5);
  playaug::pca_aggregator agg(options(pca_method::projector, pca_weight::playlists, 2));
  agg.add(cpu, {few.x.data(), few.off.back(), d}, {few.off.data(), few.off.size()});
  EXPECT_THROW(agg.fit(cpu, {}), playaug::numeric_error);
}

TEST(PcaAggregate, IndependentOfThreadsAndMergeableAcrossChunks) {
  std::mt19937_64 gen(8);
  std::vector<std::size_t> sizes(300);
  for (auto& n : sizes) n = gen() % 25;
  const std::size_t d = 11;
  const auto pl = random_playlists(d, sizes, 9);
  const playaug::matrix_view<const float> xv(pl.x.data(), pl.off.back(), d);
  const offsets_view ov(pl.off.data(), pl.off.size());
  for (const pca_method m : {pca_method::projector, pca_method::pooled}) {
    const auto o = options(m, pca_weight::songs, 3);
    const auto s1 = playaug::aggregate_playlists(resources(backend::cpu, 1), xv, ov, o);
    const auto s3 = playaug::aggregate_playlists(resources(backend::cpu, 3), xv, ov, o);
    EXPECT_EQ(s1.sum, s3.sum);  // bit for bit
    EXPECT_EQ(s1.weight, s3.weight);
    EXPECT_EQ(fit(pl, o, 1).components, fit(pl, o, 3).components);
    // The same playlists in three chunks (cut anywhere between playlists).
    playaug::pca_aggregator agg(o), tail(o);
    const resources cpu(backend::cpu, 2);
    const std::size_t cuts[] = {0, 37, 201, 300};
    for (int c = 0; c < 3; ++c) {
      const std::size_t p0 = cuts[c], p1 = cuts[c + 1];
      std::vector<std::uint64_t> off;
      for (std::size_t p = p0; p <= p1; ++p) off.push_back(pl.off[p] - pl.off[p0]);
      const playaug::matrix_view<const float> part(pl.x.data() + pl.off[p0] * d, off.back(), d);
      (c == 0 ? agg : tail).add(cpu, part, {off.data(), off.size()});
    }
    agg.merge(tail);
    EXPECT_EQ(agg.sum().aggregated, s1.aggregated);
    EXPECT_EQ(agg.sum().playlists, 300u);
    EXPECT_EQ(agg.sum().weight, s1.weight);
    for (std::size_t i = 0; i < d * d; ++i) EXPECT_NEAR(agg.sum().sum[i], s1.sum[i], 1e-12 * (1 + std::fabs(s1.sum[i])));
    const pca_model whole = fit(pl, o), chunked = agg.fit(cpu, {});
    EXPECT_LT(max_abs_diff(model_projector(whole), model_projector(chunked)), 1e-10);
    EXPECT_EQ(chunked.n_samples, whole.n_samples);
  }
}

TEST(PcaAggregate, ChecksItsArguments) {
  const resources cpu(backend::cpu, 1);
  const std::vector<float> x(12, 1.0f);
  const std::vector<std::uint64_t> off{0, 2, 4};
  const playaug::matrix_view<const float> xv(x.data(), 4, 3);
  pca_aggregate_options o;  // projector without a rank
  EXPECT_THROW(playaug::pca_aggregator{o}, playaug::usage_error);
  o.components = 2;
  o.variance = 0.5;
  EXPECT_THROW(playaug::pca_aggregator{o}, playaug::usage_error);
  o.variance.reset();
  o.components = 4;  // more than d
  EXPECT_THROW(playaug::aggregate_playlists(cpu, xv, {off.data(), off.size()}, o), playaug::usage_error);
  o.method = pca_method::covariance;
  o.components = 1;
  EXPECT_THROW(playaug::pca_aggregator{o}, playaug::usage_error);
  o.method = pca_method::pooled;
  o.components.reset();
  playaug::pca_aggregator agg(o);  // pooled keeps all d by default
  const std::vector<std::uint64_t> decreasing{0, 3, 2};
  EXPECT_THROW(playaug::aggregate_playlists(cpu, xv, {decreasing.data(), 3}, o), playaug::usage_error);
  const std::vector<std::uint64_t> short_off{0, 2};
  EXPECT_THROW(agg.add(cpu, xv, {short_off.data(), 2}), playaug::usage_error);  // rows 2..4 in no playlist
  EXPECT_THROW(playaug::aggregate_playlists(cpu, playaug::device_matrix<const float>(x.data(), 4, 3),
                                            {off.data(), off.size()}, o),
               playaug::usage_error);
}

// --- the model file and principal angles ----------------------------------------------------

TEST(PcaAggregate, ModelJsonCarriesTheMethodAndReadsBack) {
  const auto pl = random_playlists(4, {5, 6, 7, 8}, 12);
  const pca_model m = fit(pl, options(pca_method::projector, pca_weight::songs, 2));
  const std::string text = m.to_json();
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["method"], "projector");
  EXPECT_EQ(j["weight"], "songs");
  EXPECT_EQ(j.size(), 12u);
  const pca_model back = pca_model::from_json(text, "m.json");
  EXPECT_EQ(back.method, pca_method::projector);
  EXPECT_EQ(back.weight, pca_weight::songs);
  EXPECT_EQ(back.components, m.components);
  EXPECT_EQ(back.eigenvalues, m.eigenvalues);
  EXPECT_EQ(back.to_json(), text);
  // An ordinary model has neither key, and the reader wants both or none, with known values.
  const resources cpu(backend::cpu, 1);
  const pca_model plain = playaug::fit_pca(cpu, {pl.x.data(), pl.off.back(), 4}, {}, {});
  EXPECT_EQ(nlohmann::json::parse(plain.to_json()).count("method"), 0u);
  auto bad = [&](nlohmann::json v, const std::string& why) {
    try {
      pca_model::from_json(v.dump(), "m.json");
      ADD_FAILURE() << "accepted: " << why;
    } catch (const playaug::data_error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  auto v = j;
  v.erase("weight");
  bad(v, "\"method\" without \"weight\"");
  v = j;
  v.erase("method");
  bad(v, "\"weight\" without \"method\"");
  v = j;
  v["method"] = "average";
  bad(v, "\"method\" is not \"projector\" or \"pooled\"");
  v = j;
  v["weight"] = 3;
  bad(v, "\"weight\" is not \"playlists\" or \"songs\"");
  v = j;
  v["extra"] = 1;
  bad(v, "unknown key \"extra\"");
}

TEST(PrincipalAngles, KnownAnglesAndEdgeCases) {
  const std::size_t d = 4;
  auto model = [&](std::vector<double> rows) {
    pca_model m;
    m.mean.assign(d, 0.0);
    m.scale.assign(d, 1.0);
    m.n_components = rows.size() / d;
    m.components = std::move(rows);
    return m;
  };
  const double t = 0.3, u = 1e-9;
  // span(e0, e1) against span(cos t e0 + sin t e2, e1) and span(e1 + u e3 (normalised)).
  const pca_model a = model({1, 0, 0, 0, 0, 1, 0, 0});
  const pca_model b = model({std::cos(t), 0, std::sin(t), 0, 0, 1, 0, 0});
  auto ab = playaug::principal_angles(a, b);
  ASSERT_EQ(ab.size(), 2u);
  EXPECT_NEAR(ab[0], 0.0, 1e-15);
  EXPECT_NEAR(ab[1], t, 1e-15);
  const double nrm = std::sqrt(1 + u * u);
  const pca_model c = model({0, 1 / nrm, 0, u / nrm});
  auto ac = playaug::principal_angles(c, a);  // fewer components first or second: the same
  ASSERT_EQ(ac.size(), 1u);
  EXPECT_NEAR(ac[0], std::atan(u), 1e-20);  // small angles keep their precision
  EXPECT_EQ(playaug::principal_angles(a, c), ac);
  const pca_model orth = model({0, 0, 1, 0, 0, 0, 0, 1});
  for (const double x : playaug::principal_angles(a, orth)) EXPECT_NEAR(x, std::acos(0.0), 1e-15);
  pca_model wrong = model({1, 0, 0});
  wrong.mean.assign(3, 0.0);
  EXPECT_THROW(playaug::principal_angles(a, wrong), playaug::usage_error);
}

TEST(PcaAggregate, OnTheShippedSampleTheAggregateIsCloseToTheGlobalModel) {
  const playaug::dataset ds = playaug::read_csv(playaug::test::source_dir() + "/data/sample/playlists.csv");
  const resources cpu(backend::cpu, 2);
  const auto o = options(pca_method::projector, pca_weight::playlists, 3);
  const pca_model agg = playaug::fit_pca_aggregate(cpu, ds.feature_matrix(),
                                                   {ds.song_offsets.data(), ds.song_offsets.size()}, o,
                                                   ds.schema.names());
  pca_model::from_json(agg.to_json(), "agg.json");  // transform's reader takes it
  playaug::pca_options g;
  g.components = 3;
  const pca_model whole = playaug::fit_pca(cpu, ds.feature_matrix(), g, ds.schema.names());
  const auto angles = playaug::principal_angles(agg, whole);
  ASSERT_EQ(angles.size(), 3u);
  // Tempo dominates both: the first direction agrees closely.
  EXPECT_LT(angles[0], 0.05);
  double kept = 0.0;
  for (std::size_t i = 0; i < 3; ++i) kept += agg.explained_variance_ratio[i];
  double best = 0.0;
  for (std::size_t i = 0; i < 3; ++i) best += whole.explained_variance_ratio[i];
  EXPECT_LE(kept, best + 1e-12);  // the global model keeps the most variance of any k-subspace
  EXPECT_GT(kept, 0.5);
}

}  // namespace
