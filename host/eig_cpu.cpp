// The CPU half of symmetric_eig: cyclic two-sided Jacobi up to jacobi_max_dim, LAPACK's
// dsyevd above it (docs/pca.md, "Eigendecomposition").
//
// Why Jacobi: a covariance matrix of unstandardized features is strongly graded (Spotify's
// tempo varies about 1e5 times more than speechiness), and a Householder tridiagonalisation
// (dsyevd, cuSOLVER's syevd) computes every eigenvalue to an absolute error of about
// eps * lambda_max, so the smallest ones carry relative errors near 1e-11 and move by that
// much when the input moves by one rounding. Jacobi's method with the stopping rule
// |a_pq| <= eps * sqrt(|a_pp a_qq|) computes the eigenvalues of a positive definite matrix
// to a relative error of about kappa(R) * eps, where R = D^-1 A D^-1 (D = sqrt(diag A)) is
// the correlation matrix, independent of the scaling D (Demmel and Veselic, "Jacobi's
// method is more accurate than QR", SIAM J. Matrix Anal. Appl. 13, 1992). For the data here
// kappa(R) is about 10-20, so each eigenvalue is right to about 1e-14 relative, and a
// distributed fit, whose moments differ from a single-process fit's by a few roundings,
// agrees with it to about 1e-13 relative (docs/scale-out.md).
//
// The recipe (every choice fixed, so that the result depends on the matrix alone):
//   A = the lower triangle of a (row-major), kept as an upper triangle; V = I
//   sweep: for p = 0..d-2, q = p+1..d-1 (row-cyclic): if a_pq != 0 and
//          |a_pq| > eps * sqrt(|a_pp| |a_qq|), and, in the first 3 sweeps, |a_pq| is at
//          least 0.2 * sum_{i<j} |a_ij| / d^2, rotate (p, q) to annihilate a_pq, with
//          Rutishauser's formulas: theta = (a_qq - a_pp) / (2 a_pq),
//          t = sign(theta) / (|theta| + sqrt(theta^2 + 1))  (1 / (2 theta) past 1e150),
//          s = t / sqrt(t^2 + 1), tau = t / (sqrt(t^2 + 1) + 1)  (= s / (1 + c))
//   until a sweep after the first 3 rotates nothing (at most max_sweeps; numeric_error
//   past them)
//   eigenvalues: the diagonal, descending (ties in index order); eigenvectors: V's columns

#include <lapacke.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

#include "cpu_impl.hpp"
#include "detail/blas_threads.hpp"
#include "playaug/error.hpp"

namespace playaug::cpu_impl {
namespace {

/// Sweeps before Jacobi gives up; it converges quadratically, in 6 to 10 sweeps for d <= 64.
constexpr int max_sweeps = 64;
/// Sweeps that leave the small pairs for later (see jacobi_eig).
constexpr int early_sweeps = 3;

/// Cyclic Jacobi on the row-major symmetric [d x d] matrix `a`, of which the lower
/// triangle is read (what LAPACK's and cuSOLVER's column-major 'U' read).
eigen_result jacobi_eig(const std::vector<double>& a, std::size_t d) {
  // m holds the upper triangle (i <= j) of the working matrix; the rest is not used.
  std::vector<double> m(d * d, 0.0);
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j <= i; ++j) m[j * d + i] = a[i * d + j];
  }
  // vt holds V transposed: row p is column p of V, so both updates of a rotation are
  // contiguous.
  std::vector<double> vt(d * d, 0.0);
  for (std::size_t i = 0; i < d; ++i) vt[i * d + i] = 1.0;
  auto at = [&](std::size_t i, std::size_t j) -> double& { return m[i * d + j]; };  // i <= j

  bool converged = false;
  for (int sweep = 0; sweep < max_sweeps && !converged; ++sweep) {
    // The first sweeps skip the pairs below a fifth of the mean off-diagonal magnitude
    // (the largest ones first: fewer rotations in all); convergence is only declared by a
    // sweep that tests every pair against the final rule.
    double skip_below = 0.0;
    if (sweep < early_sweeps) {
      double off = 0.0;
      for (std::size_t p = 0; p + 1 < d; ++p) {
        for (std::size_t q = p + 1; q < d; ++q) off += std::fabs(at(p, q));
      }
      skip_below = 0.2 * off / static_cast<double>(d * d);
    }
    converged = sweep >= early_sweeps;
    for (std::size_t p = 0; p + 1 < d; ++p) {
      for (std::size_t q = p + 1; q < d; ++q) {
        const double apq = at(p, q);
        if (apq == 0.0) continue;
        const double app = at(p, p);
        const double aqq = at(q, q);
        if (std::fabs(apq) <= DBL_EPSILON * std::sqrt(std::fabs(app)) * std::sqrt(std::fabs(aqq))) continue;
        converged = false;
        if (std::fabs(apq) < skip_below) continue;
        const double theta = (aqq - app) / (2.0 * apq);
        const double t = std::fabs(theta) > 1e150
                             ? 1.0 / (2.0 * theta)
                             : std::copysign(1.0, theta) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double root = std::sqrt(t * t + 1.0);  // 1 / c
        const double s = t / root;
        const double tau = t / (root + 1.0);  // s / (1 + c), without waiting for s and c
        at(p, p) = app - t * apq;
        at(q, q) = aqq + t * apq;
        at(p, q) = 0.0;
        auto rotate = [s, tau](double& g, double& h) {
          const double gv = g;
          const double hv = h;
          g = gv - s * (hv + gv * tau);
          h = hv + s * (gv - hv * tau);
        };
        for (std::size_t r = 0; r < p; ++r) rotate(at(r, p), at(r, q));
        for (std::size_t r = p + 1; r < q; ++r) rotate(at(p, r), at(r, q));
        for (std::size_t r = q + 1; r < d; ++r) rotate(at(p, r), at(q, r));
        double* vp = vt.data() + p * d;
        double* vq = vt.data() + q * d;
        for (std::size_t r = 0; r < d; ++r) rotate(vp[r], vq[r]);
      }
    }
  }
  if (!converged) {
    throw numeric_error("symmetric_eig: Jacobi's method did not converge in " + std::to_string(max_sweeps) +
                        " sweeps");
  }
  std::vector<std::size_t> order(d);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return m[x * d + x] > m[y * d + y]; });
  eigen_result e;
  e.values.resize(d);
  e.vectors.resize(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    const std::size_t src = order[i];
    e.values[i] = m[src * d + src];
    std::copy(vt.begin() + static_cast<std::ptrdiff_t>(src * d),
              vt.begin() + static_cast<std::ptrdiff_t>((src + 1) * d),
              e.vectors.begin() + static_cast<std::ptrdiff_t>(i * d));
  }
  return e;
}

/// LAPACK dsyevd, for the matrices too large for Jacobi's O(d^3) sweeps.
eigen_result lapack_eig(const std::vector<double>& a, std::size_t d) {
  // A symmetric matrix reads the same in either layout; column-major spares LAPACKE a
  // transposed copy. dsyevd overwrites the matrix with the eigenvectors (columns) and
  // returns the eigenvalues in ascending order.
  std::vector<double> w(a);
  std::vector<double> values(d);
  const auto n = static_cast<lapack_int>(d);
  const detail::single_threaded_blas blas_guard;
  const lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, w.data(), n, values.data());
  if (info < 0) {
    throw numeric_error("symmetric_eig: LAPACK dsyevd rejected argument " + std::to_string(-info));
  }
  if (info > 0) {
    throw numeric_error("symmetric_eig: LAPACK dsyevd did not converge (info " + std::to_string(info) + ")");
  }
  eigen_result e;
  e.values.resize(d);
  e.vectors.resize(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    const std::size_t src = d - 1 - i;
    e.values[i] = values[src];
    std::copy(w.begin() + static_cast<std::ptrdiff_t>(src * d),
              w.begin() + static_cast<std::ptrdiff_t>((src + 1) * d),
              e.vectors.begin() + static_cast<std::ptrdiff_t>(i * d));
  }
  return e;
}

}  // namespace

eigen_result symmetric_eig(const std::vector<double>& a, std::size_t d) {
  if (d == 0) return {};
  eigen_result e = d <= jacobi_max_dim ? jacobi_eig(a, d) : lapack_eig(a, d);
  canonicalize_signs(e, d);
  return e;
}

}  // namespace playaug::cpu_impl
