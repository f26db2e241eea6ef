// Fitting the learned synthetic-data model (synth_model.hpp, docs/synth.md): marginals and
// jittered normal scores, per-mood shifts, a Gaussian mixture of song clusters (EM), playlist
// types (a mixture of multinomials over the playlists' cluster counts), the playlist shift,
// the marginal knots, and the mood process.

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "cpu_impl.hpp"
#include "detail/expects.hpp"
#include "detail/parallel.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/synth_model.hpp"

namespace playaug {
namespace {

constexpr std::size_t kBlock = 4096;  // songs per parallel block (fixed: sums in block order)
constexpr double kReg = 1e-3;         // added to the clusters' covariance diagonals
constexpr double kMoodRidge = 20.0;   // shrinks the mood shifts of rare moods towards 0
constexpr double kSmoothing = 1.0;    // pseudo-count of the transition rows
constexpr double kClusterFloor = 0.002;  // a cluster's eigenvalues after giving up B: at least this share of its largest
constexpr double kParentSmoothing = 1.0;  // pseudo-count of a conditioned feature's rows
constexpr double kParentSds = 4.0;    // G-test margin (chi-square sds) for choosing a parent

double phi_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

/// The Philox word used for tie-breaking and initialisation.
std::uint32_t fit_word(std::uint64_t seed, std::uint32_t copy, std::uint64_t index) {
  return philox_word(seed, stream_subsequence(purpose::synth_model, copy, static_cast<std::uint32_t>(index >> 32)),
                     index & 0xFFFFFFFFu);
}

/// Lower Cholesky factor of the d x d SPD matrix a (in place; returns false when not SPD).
bool cholesky(std::vector<double>& a, std::size_t d) {
  for (std::size_t j = 0; j < d; ++j) {
    double s = a[j * d + j];
    for (std::size_t k = 0; k < j; ++k) s -= a[j * d + k] * a[j * d + k];
    if (!(s > 0)) return false;
    const double l = std::sqrt(s);
    a[j * d + j] = l;
    for (std::size_t i = j + 1; i < d; ++i) {
      double t = a[i * d + j];
      for (std::size_t k = 0; k < j; ++k) t -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = t / l;
    }
    for (std::size_t k = j + 1; k < d; ++k) a[j * d + k] = 0.0;
  }
  return true;
}

/// V diag(max(w, floor)) V^T.
/// (symmetric_eig's CPU half: Jacobi, relatively accurate, for the d <= 64 of a model.)
std::vector<double> clip_eig(const std::vector<double>& a, std::size_t d, double rel_floor, double abs_floor) {
  const eigen_result e = cpu_impl::symmetric_eig(a, d);  // rows of e.vectors: the eigenvectors
  double wmax = 0;
  for (double x : e.values) wmax = std::max(wmax, x);
  const double fl = std::max(abs_floor, rel_floor * wmax);
  std::vector<double> out(d * d, 0.0);
  for (std::size_t k = 0; k < d; ++k) {
    const double w = std::max(e.values[k], fl);
    const double* v = e.vectors.data() + k * d;
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j) out[i * d + j] += v[i] * w * v[j];
  }
  return out;
}

/// Smallest number of decimals (0..22) that reproduces every value, or -1; the same for
/// significant digits (1..17, or 0).
void precision_of(const std::vector<float>& col, int& significant, int& decimals) {
  int dec = 0, sig = 1;
  bool dec_ok = true, sig_ok = true;
  for (float f : col) {
    const double x = f;
    while (dec_ok && static_cast<float>(synth_detail::round_to(x, 0, dec)) != f) {
      if (++dec > 10) dec_ok = false;
    }
    while (sig_ok && static_cast<float>(synth_detail::round_to(x, sig, -1)) != f) {
      if (++sig > 9) sig_ok = false;
    }
    if (!dec_ok && !sig_ok) break;
  }
  significant = sig_ok ? sig : 0;
  decimals = dec_ok ? dec : -1;
}

/// Songs' Gaussian mixture (full covariances), fitted by EM.
struct mixture {
  std::size_t K = 0, d = 0;
  std::vector<double> w, mu, cov, chol;  // K, K x d, K x d x d (x2)
  std::vector<double> resp;              // n x K
};

void factor_all(mixture& m) {
  m.chol = m.cov;
  for (std::size_t k = 0; k < m.K; ++k) {
    std::vector<double> a(m.cov.begin() + k * m.d * m.d, m.cov.begin() + (k + 1) * m.d * m.d);
    if (!cholesky(a, m.d)) {
      a = clip_eig(std::vector<double>(m.cov.begin() + k * m.d * m.d, m.cov.begin() + (k + 1) * m.d * m.d), m.d, 0,
                   kReg);
      std::copy(a.begin(), a.end(), m.cov.begin() + k * m.d * m.d);
      cholesky(a, m.d);
    }
    std::copy(a.begin(), a.end(), m.chol.begin() + k * m.d * m.d);
  }
}

/// E-step: responsibilities; returns the mean log-likelihood.
double e_step(int threads, mixture& m, const std::vector<double>& R, std::size_t n) {
  const std::size_t K = m.K, d = m.d;
  std::vector<double> logdet(K), logw(K);
  for (std::size_t k = 0; k < K; ++k) {
    double s = 0;
    for (std::size_t i = 0; i < d; ++i) s += std::log(m.chol[k * d * d + i * d + i]);
    logdet[k] = s;
    logw[k] = std::log(std::max(m.w[k], 1e-300));
  }
  m.resp.resize(n * K);
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> ll(blocks, 0.0);
  const double c0 = 0.5 * static_cast<double>(d) * std::log(2 * M_PI);
  detail::parallel_for(threads, blocks, [&](std::size_t b) {
    std::vector<double> y(d);
    for (std::size_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
      double* r = m.resp.data() + i * K;
      double best = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < K; ++k) {
        const double* L = m.chol.data() + k * d * d;
        double q = 0;
        for (std::size_t a = 0; a < d; ++a) {
          double t = R[i * d + a] - m.mu[k * d + a];
          for (std::size_t c = 0; c < a; ++c) t -= L[a * d + c] * y[c];
          y[a] = t / L[a * d + a];
          q += y[a] * y[a];
        }
        r[k] = logw[k] - logdet[k] - c0 - 0.5 * q;
        best = std::max(best, r[k]);
      }
      double s = 0;
      for (std::size_t k = 0; k < K; ++k) s += (r[k] = std::exp(r[k] - best));
      for (std::size_t k = 0; k < K; ++k) r[k] /= s;
      ll[b] += best + std::log(s);
    }
  });
  double tot = 0;
  for (double x : ll) tot += x;
  return tot / static_cast<double>(n);
}

void m_step(int threads, mixture& m, const std::vector<double>& R, std::size_t n) {
  const std::size_t K = m.K, d = m.d;
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<std::vector<double>> part(blocks);
  const std::size_t stride = 1 + d + d * d;
  detail::parallel_for(threads, blocks, [&](std::size_t b) {
    std::vector<double>& s = part[b];
    s.assign(K * stride, 0.0);
    for (std::size_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
      const double* x = R.data() + i * d;
      for (std::size_t k = 0; k < K; ++k) {
        const double g = m.resp[i * K + k];
        if (g < 1e-12) continue;
        double* sk = s.data() + k * stride;
        sk[0] += g;
        for (std::size_t a = 0; a < d; ++a) {
          sk[1 + a] += g * x[a];
          const double ga = g * x[a];
          for (std::size_t c = 0; c <= a; ++c) sk[1 + d + a * d + c] += ga * x[c];
        }
      }
    }
  });
  std::vector<double> s(K * stride, 0.0);
  for (const auto& p : part)
    for (std::size_t i = 0; i < s.size(); ++i) s[i] += p[i];
  for (std::size_t k = 0; k < K; ++k) {
    const double* sk = s.data() + k * stride;
    const double nk = std::max(sk[0], 1e-10);
    m.w[k] = sk[0] / static_cast<double>(n);
    for (std::size_t a = 0; a < d; ++a) m.mu[k * d + a] = sk[1 + a] / nk;
    for (std::size_t a = 0; a < d; ++a) {
      for (std::size_t c = 0; c <= a; ++c) {
        double v = sk[1 + d + a * d + c] / nk - m.mu[k * d + a] * m.mu[k * d + c];
        if (a == c) v += kReg;
        m.cov[k * d * d + a * d + c] = m.cov[k * d * d + c * d + a] = v;
      }
    }
  }
  double ws = 0;
  for (double x : m.w) ws += x;
  for (double& x : m.w) x /= ws;
}

mixture fit_mixture(int threads, const std::vector<double>& R, std::size_t n, std::size_t d, std::size_t K,
                    int iterations, std::uint64_t seed) {
  mixture m;
  m.K = K;
  m.d = d;
  // k-means++ seeding, then Lloyd iterations, on a fixed subsample of at most 20000 songs.
  const std::size_t step = std::max<std::size_t>(1, n / 20000);
  std::vector<std::size_t> sample;
  for (std::size_t i = 0; i < n; i += step) sample.push_back(i);
  const std::size_t ns = sample.size();
  auto dist2 = [&](std::size_t i, const double* c) {
    double s = 0;
    for (std::size_t a = 0; a < d; ++a) s += (R[i * d + a] - c[a]) * (R[i * d + a] - c[a]);
    return s;
  };
  m.mu.assign(K * d, 0.0);
  std::vector<double> best(ns, std::numeric_limits<double>::infinity());
  std::size_t first = sample[static_cast<std::size_t>(fit_word(seed, 3, 0)) % ns];
  std::copy(R.begin() + first * d, R.begin() + (first + 1) * d, m.mu.begin());
  for (std::size_t k = 1; k < K; ++k) {
    double tot = 0;
    for (std::size_t s = 0; s < ns; ++s) {
      best[s] = std::min(best[s], dist2(sample[s], m.mu.data() + (k - 1) * d));
      tot += best[s];
    }
    const double target = synth_detail::word_unit(fit_word(seed, 3, k)) * tot;
    double acc = 0;
    std::size_t pickc = ns - 1;
    for (std::size_t s = 0; s < ns; ++s) {
      acc += best[s];
      if (acc >= target) {
        pickc = s;
        break;
      }
    }
    std::copy(R.begin() + sample[pickc] * d, R.begin() + (sample[pickc] + 1) * d, m.mu.begin() + k * d);
  }
  std::vector<std::size_t> assign(ns);
  for (int it = 0; it < 10; ++it) {
    std::vector<double> sum(K * d, 0.0), cnt(K, 0.0);
    for (std::size_t s = 0; s < ns; ++s) {
      double bd = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < K; ++k) {
        const double dd = dist2(sample[s], m.mu.data() + k * d);
        if (dd < bd) {
          bd = dd;
          assign[s] = k;
        }
      }
      cnt[assign[s]] += 1;
      for (std::size_t a = 0; a < d; ++a) sum[assign[s] * d + a] += R[sample[s] * d + a];
    }
    for (std::size_t k = 0; k < K; ++k)
      if (cnt[k] > 0)
        for (std::size_t a = 0; a < d; ++a) m.mu[k * d + a] = sum[k * d + a] / cnt[k];
  }
  // Hard responsibilities of the whole data set to the nearest centre start EM.
  m.w.assign(K, 1.0 / static_cast<double>(K));
  m.cov.assign(K * d * d, 0.0);
  m.resp.assign(n * K, 0.0);
  detail::parallel_for(threads, (n + kBlock - 1) / kBlock, [&](std::size_t b) {
    for (std::size_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
      std::size_t bk = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < K; ++k) {
        const double dd = dist2(i, m.mu.data() + k * d);
        if (dd < bd) {
          bd = dd;
          bk = k;
        }
      }
      m.resp[i * K + bk] = 1.0;
    }
  });
  m_step(threads, m, R, n);
  factor_all(m);
  double prev = -std::numeric_limits<double>::infinity();
  for (int it = 0; it < iterations; ++it) {
    const double ll = e_step(threads, m, R, n);
    m_step(threads, m, R, n);
    factor_all(m);
    if (std::fabs(ll - prev) < 1e-5) break;
    prev = ll;
  }
  e_step(threads, m, R, n);
  return m;
}

}  // namespace

synth_model fit_synth_model(const resources& res, const dataset& ds, const synth_fit_options& opts) {
  using detail::expects;
  const int threads = res.threads();
  const std::size_t d = ds.dim;
  const std::size_t n = static_cast<std::size_t>(ds.songs());
  const std::size_t P = ds.playlists();
  expects(n >= 2, "fit_synth_model", "the data holds ", n, " songs; a model needs at least 2");
  expects(d >= 1 && d <= synth_detail::max_dim, "fit_synth_model", "at most 64 features, got ", d);
  expects(opts.knots >= 3 && opts.knots <= 100000, "fit_synth_model", "knots must be in 3..100000");
  expects(opts.clusters >= 1 && opts.types >= 1, "fit_synth_model", "clusters and types must be at least 1");
  std::int32_t max_mood = -1;
  for (std::int32_t m : ds.moods) {
    expects(m >= 0 && m < 4096, "fit_synth_model", "mood ids must be in 0..4095, got ", m);
    max_mood = std::max(max_mood, m);
  }
  synth_model model;
  model.feature_names = ds.schema.dim() == d ? ds.schema.names() : feature_schema::for_dim(d).names();
  model.fitted_playlists = P;
  model.fitted_songs = n;
  const std::size_t M = static_cast<std::size_t>(max_mood + 1);
  model.moods = M;

  // Segment of every song (contiguous runs in proportion): the range of its moods.
  std::vector<std::uint64_t> seg_of(n, 0);
  std::vector<char> has_seg(n, 0);
  for (std::size_t p = 0; p < P; ++p) {
    const std::uint64_t lo = ds.song_offsets[p], hi = ds.song_offsets[p + 1];
    const std::uint64_t S = ds.segment_offsets[p + 1] - ds.segment_offsets[p];
    for (std::uint64_t s = lo; s < hi; ++s) {
      if (S > 0) {
        seg_of[s] = ds.segment_offsets[p] + (s - lo) * S / (hi - lo);
        has_seg[s] = ds.mood_offsets[seg_of[s] + 1] > ds.mood_offsets[seg_of[s]];
      }
    }
  }

  // 1. Marginals and jittered normal scores.
  std::vector<double> Z(n * d);
  model.marginals.resize(d);
  detail::parallel_for(threads, d, [&](std::size_t j) {
    std::vector<float> col(n);
    for (std::size_t i = 0; i < n; ++i) col[i] = ds.features[i * d + j];
    synth_marginal& mg = model.marginals[j];
    precision_of(col, mg.significant, mg.decimals);
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::vector<std::uint32_t> jitter(n);
    for (std::size_t i = 0; i < n; ++i) jitter[i] = fit_word(opts.seed, 2 + 0x10 * static_cast<std::uint32_t>(j + 1), i);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return col[a] != col[b] ? col[a] < col[b] : (jitter[a] != jitter[b] ? jitter[a] < jitter[b] : a < b);
    });
    for (std::size_t r = 0; r < n; ++r) {
      Z[order[r] * d + j] = synth_detail::sm_normal((static_cast<double>(r) + 0.5) / static_cast<double>(n));
    }
    std::vector<float> s(n);
    for (std::size_t r = 0; r < n; ++r) s[r] = col[order[r]];
    // Discrete: integers with at most 32 distinct values.
    std::map<float, std::size_t> distinct;
    bool integral = true;
    for (float v : s) {
      if (v != std::nearbyint(v)) integral = false;
      if (integral && distinct.size() <= 32) ++distinct[v];
    }
    mg.discrete = integral && distinct.size() <= 32;
    if (mg.discrete) {
      for (const auto& [v, c] : distinct) {
        mg.values.push_back(v);
        mg.probabilities.push_back(static_cast<double>(c) / static_cast<double>(n));
      }
      mg.significant = 0;
      mg.decimals = -1;
    } else {
      const std::size_t Q = opts.knots;
      for (std::size_t i = 0; i < Q; ++i) {
        const double pos = static_cast<double>(i) / static_cast<double>(Q - 1) * static_cast<double>(n - 1);
        const std::size_t lo = static_cast<std::size_t>(pos);
        const std::size_t hi = std::min(n - 1, lo + 1);
        const double f = pos - static_cast<double>(lo);
        mg.values.push_back(static_cast<double>(s[lo]) + (static_cast<double>(s[hi]) - s[lo]) * f);
      }
      for (std::size_t i = 1; i < Q; ++i) mg.values[i] = std::max(mg.values[i], mg.values[i - 1]);
    }
  });

  // 1b. Discrete features drawn given an earlier discrete one. A Gaussian copula ties two
  //     categorical features only through the order of their categories, which cannot
  //     make, say, Spotify's key-by-mode table. So each discrete feature takes as its
  //     parent the earlier discrete feature of the strongest association, when the G-test
  //     finds one (G = 2 sum n_ab log(n n_ab / (n_a n_b)) above its chi-square mean by
  //     kParentSds sds); its probabilities become one row per parent category, and its
  //     normal scores are ranked within each category of the parent (the conditional
  //     probability transform), so that they carry what the feature says beyond its parent
  //     and are independent of it.
  {
    std::vector<std::vector<std::uint32_t>> cat(d);
    for (std::size_t j = 0; j < d; ++j) {
      const synth_marginal& mg = model.marginals[j];
      if (!mg.discrete) continue;
      cat[j].resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        const double x = ds.features[i * d + j];
        cat[j][i] = static_cast<std::uint32_t>(std::lower_bound(mg.values.begin(), mg.values.end(), x) - mg.values.begin());
      }
    }
    for (std::size_t j = 0; j < d; ++j) {
      synth_marginal& mg = model.marginals[j];
      if (!mg.discrete || mg.values.size() < 2) continue;
      const std::size_t C = mg.values.size();
      double best_score = 0;
      std::vector<double> best_counts;
      for (std::size_t q = 0; q < j; ++q) {
        const std::size_t Cq = model.marginals[q].values.size();
        if (!model.marginals[q].discrete || Cq < 2) continue;
        std::vector<double> nab(Cq * C, 0.0), na(Cq, 0.0), nb(C, 0.0);
        for (std::size_t i = 0; i < n; ++i) nab[cat[q][i] * C + cat[j][i]] += 1;
        for (std::size_t a = 0; a < Cq; ++a)
          for (std::size_t b = 0; b < C; ++b) {
            na[a] += nab[a * C + b];
            nb[b] += nab[a * C + b];
          }
        double g = 0;
        for (std::size_t a = 0; a < Cq; ++a)
          for (std::size_t b = 0; b < C; ++b)
            if (nab[a * C + b] > 0) g += 2 * nab[a * C + b] * std::log(static_cast<double>(n) * nab[a * C + b] / (na[a] * nb[b]));
        const double dof = static_cast<double>((Cq - 1) * (C - 1));
        const double score = (g - dof) / std::sqrt(2 * dof);
        if (score > kParentSds && score > best_score) {
          best_score = score;
          mg.parent = static_cast<int>(q);
          best_counts = nab;
        }
      }
      if (mg.parent < 0) continue;
      const std::size_t P = model.marginals[static_cast<std::size_t>(mg.parent)].values.size();
      const std::vector<double> overall = mg.probabilities;
      mg.probabilities.assign(P * C, 0.0);
      for (std::size_t a = 0; a < P; ++a) {
        double na = 0;
        for (std::size_t b = 0; b < C; ++b) na += best_counts[a * C + b];
        for (std::size_t b = 0; b < C; ++b)
          mg.probabilities[a * C + b] = (best_counts[a * C + b] + kParentSmoothing * overall[b]) / (na + kParentSmoothing);
      }
      // Normal scores ranked within each parent category (ties broken by the same words).
      const std::vector<std::uint32_t>& pc = cat[static_cast<std::size_t>(mg.parent)];
      std::vector<std::vector<std::size_t>> members(P);
      for (std::size_t i = 0; i < n; ++i) members[pc[i]].push_back(i);
      for (std::size_t a = 0; a < P; ++a) {
        std::vector<std::size_t>& o = members[a];
        std::vector<std::uint32_t> jit(o.size());
        for (std::size_t r = 0; r < o.size(); ++r) jit[r] = fit_word(opts.seed, 2 + 0x10 * static_cast<std::uint32_t>(j + 1), o[r]);
        std::vector<std::size_t> idx(o.size());
        std::iota(idx.begin(), idx.end(), std::size_t{0});
        std::sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) {
          const std::uint32_t cx = cat[j][o[x]], cy = cat[j][o[y]];
          return cx != cy ? cx < cy : (jit[x] != jit[y] ? jit[x] < jit[y] : o[x] < o[y]);
        });
        const double m = static_cast<double>(o.size());
        for (std::size_t r = 0; r < o.size(); ++r)
          Z[o[idx[r]] * d + j] = synth_detail::sm_normal((static_cast<double>(r) + 0.5) / m);
      }
    }
  }

  // 2. Mood shifts (ridge regression of a song's scores on the mean of its segment's moods,
  //    by damped Jacobi iterations).
  model.mood_shift.assign(M * d, 0.0);
  std::vector<double> segshift(n * d, 0.0);
  auto compute_segshift = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      double* out = segshift.data() + i * d;
      std::fill(out, out + d, 0.0);
      if (!has_seg[i]) continue;
      const std::uint64_t lo = ds.mood_offsets[seg_of[i]], hi = ds.mood_offsets[seg_of[i] + 1];
      for (std::uint64_t k = lo; k < hi; ++k)
        for (std::size_t a = 0; a < d; ++a) out[a] += model.mood_shift[static_cast<std::size_t>(ds.moods[k]) * d + a];
      for (std::size_t a = 0; a < d; ++a) out[a] /= static_cast<double>(hi - lo);
    }
  };
  if (M > 0) {
    for (int it = 0; it < 30; ++it) {
      compute_segshift();
      std::vector<double> num(M * d, 0.0), den(M, 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        if (!has_seg[i]) continue;
        const std::uint64_t lo = ds.mood_offsets[seg_of[i]], hi = ds.mood_offsets[seg_of[i] + 1];
        const double kk = static_cast<double>(hi - lo);
        for (std::uint64_t q = lo; q < hi; ++q) {
          const std::size_t m = static_cast<std::size_t>(ds.moods[q]);
          for (std::size_t a = 0; a < d; ++a) {
            const double r = Z[i * d + a] - segshift[i * d + a] + model.mood_shift[m * d + a] / kk;
            num[m * d + a] += r / kk;
          }
          den[m] += 1.0 / (kk * kk);
        }
      }
      for (std::size_t m = 0; m < M; ++m)
        for (std::size_t a = 0; a < d; ++a)
          model.mood_shift[m * d + a] =
              0.5 * model.mood_shift[m * d + a] + 0.5 * num[m * d + a] / (den[m] + kMoodRidge);
    }
    compute_segshift();
  }
  // The residuals of the mood shifts, in Z's place (Z is not needed after this).
  std::vector<double> R = std::move(Z);
  for (std::size_t i = 0; i < n * d; ++i) R[i] -= segshift[i];
  std::vector<double> shift_mean(d, 0.0), shift_var(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < d; ++a) shift_mean[a] += segshift[i * d + a] / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < d; ++a)
      shift_var[a] += (segshift[i * d + a] - shift_mean[a]) * (segshift[i * d + a] - shift_mean[a]) / static_cast<double>(n);
  segshift.clear();
  segshift.shrink_to_fit();

  // 3. Song clusters.
  const std::size_t K = std::max<std::size_t>(1, std::min(opts.clusters, n / 20));
  mixture mix = fit_mixture(threads, R, n, d, K, opts.iterations, opts.seed);

  // 4. Playlist types: a mixture of multinomials over the playlists' soft cluster counts.
  std::vector<std::size_t> song_playlists;  // playlists with songs
  for (std::size_t p = 0; p < P; ++p)
    if (ds.song_offsets[p + 1] > ds.song_offsets[p]) song_playlists.push_back(p);
  const std::size_t Pn = song_playlists.size();
  const std::size_t T = std::max<std::size_t>(1, std::min(opts.types, Pn / 4));
  std::vector<double> C(Pn * K, 0.0);
  for (std::size_t q = 0; q < Pn; ++q) {
    const std::size_t p = song_playlists[q];
    for (std::uint64_t s = ds.song_offsets[p]; s < ds.song_offsets[p + 1]; ++s)
      for (std::size_t k = 0; k < K; ++k) C[q * K + k] += mix.resp[s * K + k];
  }
  std::vector<double> rho(T, 1.0 / static_cast<double>(T)), pi(T * K);
  for (std::size_t t = 0; t < T; ++t) {
    double s = 0;
    for (std::size_t k = 0; k < K; ++k) {
      const double r = synth_detail::word_unit(fit_word(opts.seed, 4, t * K + k));
      pi[t * K + k] = 0.5 * mix.w[k] + 0.5 * r;
      s += pi[t * K + k];
    }
    for (std::size_t k = 0; k < K; ++k) pi[t * K + k] /= s;
  }
  if (T > 1) {
    std::vector<double> Rt(Pn * T);
    for (int it = 0; it < 200; ++it) {
      std::vector<double> lpi(T * K);
      for (std::size_t i = 0; i < T * K; ++i) lpi[i] = std::log(pi[i]);
      for (std::size_t q = 0; q < Pn; ++q) {
        double best = -std::numeric_limits<double>::infinity();
        for (std::size_t t = 0; t < T; ++t) {
          double l = std::log(std::max(rho[t], 1e-300));
          for (std::size_t k = 0; k < K; ++k) l += C[q * K + k] * lpi[t * K + k];
          Rt[q * T + t] = l;
          best = std::max(best, l);
        }
        double s = 0;
        for (std::size_t t = 0; t < T; ++t) s += (Rt[q * T + t] = std::exp(Rt[q * T + t] - best));
        for (std::size_t t = 0; t < T; ++t) Rt[q * T + t] /= s;
      }
      double rs = 0;
      for (std::size_t t = 0; t < T; ++t) {
        rho[t] = 1e-9;
        for (std::size_t q = 0; q < Pn; ++q) rho[t] += Rt[q * T + t];
        rs += rho[t];
        double s = 0;
        for (std::size_t k = 0; k < K; ++k) {
          double v = 0.5;  // Dirichlet smoothing
          for (std::size_t q = 0; q < Pn; ++q) v += Rt[q * T + t] * C[q * K + k];
          pi[t * K + k] = v;
          s += v;
        }
        for (std::size_t k = 0; k < K; ++k) pi[t * K + k] /= s;
      }
      for (double& r : rho) r /= rs;
    }
  } else {
    for (std::size_t k = 0; k < K; ++k) pi[k] = mix.w[k];
  }

  // 5. The playlist shift B: the between-playlist covariance of the scores (one-way ANOVA)
  //    less what the types already explain; the clusters' covariances give B up.
  std::vector<double> B(d * d, 0.0);
  if (Pn >= 2) {
    std::vector<double> means(Pn * d, 0.0), W(d * d, 0.0), mean_all(d, 0.0);
    std::vector<double> sizes(Pn);
    double inv_mean = 0;
    for (std::size_t q = 0; q < Pn; ++q) {
      const std::size_t p = song_playlists[q];
      const std::uint64_t lo = ds.song_offsets[p], hi = ds.song_offsets[p + 1];
      sizes[q] = static_cast<double>(hi - lo);
      inv_mean += 1.0 / sizes[q] / static_cast<double>(Pn);
      for (std::uint64_t s = lo; s < hi; ++s)
        for (std::size_t a = 0; a < d; ++a) means[q * d + a] += R[s * d + a] / sizes[q];
      for (std::uint64_t s = lo; s < hi; ++s)
        for (std::size_t a = 0; a < d; ++a)
          for (std::size_t c = 0; c < d; ++c)
            W[a * d + c] += (R[s * d + a] - means[q * d + a]) * (R[s * d + c] - means[q * d + c]);
      for (std::size_t a = 0; a < d; ++a) mean_all[a] += sizes[q] * means[q * d + a] / static_cast<double>(n);
    }
    const double dof = static_cast<double>(n) - static_cast<double>(Pn);
    std::vector<double> Bz(d * d, 0.0);
    for (std::size_t q = 0; q < Pn; ++q)
      for (std::size_t a = 0; a < d; ++a)
        for (std::size_t c = 0; c < d; ++c)
          Bz[a * d + c] += sizes[q] * (means[q * d + a] - mean_all[a]) * (means[q * d + c] - mean_all[c]) /
                           static_cast<double>(n);
    if (dof > 0)
      for (std::size_t i = 0; i < d * d; ++i) Bz[i] -= W[i] / dof * inv_mean;
    // Between-type covariance of the type means.
    std::vector<double> mt(T * d, 0.0), m0(d, 0.0);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t k = 0; k < K; ++k)
        for (std::size_t a = 0; a < d; ++a) mt[t * d + a] += pi[t * K + k] * mix.mu[k * d + a];
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t a = 0; a < d; ++a) m0[a] += rho[t] * mt[t * d + a];
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t a = 0; a < d; ++a)
        for (std::size_t c = 0; c < d; ++c) Bz[a * d + c] -= rho[t] * (mt[t * d + a] - m0[a]) * (mt[t * d + c] - m0[c]);
    B = clip_eig(Bz, d, 0.0, 0.0);
    for (std::size_t k = 0; k < K; ++k) {
      std::vector<double> S(mix.cov.begin() + k * d * d, mix.cov.begin() + (k + 1) * d * d);
      for (std::size_t i = 0; i < d * d; ++i) S[i] -= B[i];
      S = clip_eig(S, d, kClusterFloor, kReg);
      std::copy(S.begin(), S.end(), mix.cov.begin() + k * d * d);
    }
    factor_all(mix);
  }
  model.clusters = K;
  model.cluster_means = mix.mu;
  model.cluster_cholesky = mix.chol;
  model.types = T;
  model.type_weights = rho;
  model.type_cluster_weights = pi;
  {
    std::vector<double> Bc = B;
    for (std::size_t a = 0; a < d; ++a) Bc[a * d + a] += 1e-12;
    if (!cholesky(Bc, d)) {
      Bc = clip_eig(B, d, 0.0, 1e-12);
      cholesky(Bc, d);
    }
    model.playlist_cholesky = Bc;
  }

  // 6. Knots: the model's own marginal CDF of each score, inverted at the data's
  //    probabilities (quantile knots, category thresholds).
  std::vector<double> wk(K, 0.0);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t k = 0; k < K; ++k) wk[k] += rho[t] * pi[t * K + k];
  detail::parallel_for(threads, d, [&](std::size_t j) {
    std::vector<double> mu(K), sd(K);
    for (std::size_t k = 0; k < K; ++k) {
      mu[k] = mix.mu[k * d + j] + shift_mean[j];
      sd[k] = std::sqrt(mix.cov[k * d * d + j * d + j] + B[j * d + j] + shift_var[j]);
    }
    auto G = [&](double z) {
      double s = 0;
      for (std::size_t k = 0; k < K; ++k) s += wk[k] * phi_cdf((z - mu[k]) / sd[k]);
      return s;
    };
    auto inv = [&](double p) {
      double lo = -40, hi = 40;
      for (int it = 0; it < 200 && hi - lo > 1e-13; ++it) {
        const double mid = 0.5 * (lo + hi);
        (G(mid) < p ? lo : hi) = mid;
      }
      return 0.5 * (lo + hi);
    };
    synth_marginal& mg = model.marginals[j];
    std::vector<double> probs;
    if (mg.discrete) {
      // One row of C - 1 thresholds per parent category (one row without a parent); each
      // row restarts the increasing order below.
      const std::size_t C = mg.values.size();
      for (std::size_t r = 0; r < mg.probabilities.size() / C; ++r) {
        double acc = 0;
        for (std::size_t c = 0; c + 1 < C; ++c) probs.push_back(acc += mg.probabilities[r * C + c]);
      }
    } else {
      const std::size_t Q = mg.values.size();
      const double p0 = std::min(0.5 / static_cast<double>(n), 0.5 / static_cast<double>(Q - 1));
      for (std::size_t i = 0; i < Q; ++i) {
        double p = static_cast<double>(i) / static_cast<double>(Q - 1);
        probs.push_back(std::min(std::max(p, p0), 1.0 - p0));
      }
    }
    mg.knots.clear();
    const std::size_t row = mg.discrete ? mg.values.size() - 1 : probs.size();
    for (std::size_t i = 0; i < probs.size(); ++i) {
      double z = inv(probs[i]);
      if (i % row != 0 && !(z > mg.knots.back())) z = std::nextafter(mg.knots.back(), 1e300);
      mg.knots.push_back(z);
    }
  });

  // 7. The mood process and the shapes.
  model.first_moods.assign(M, 0.0);
  model.transitions.assign(M * M, 0.0);
  std::vector<double> overall(M, 0.0), mps;
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> shapes;
  for (std::size_t p = 0; p < P; ++p) {
    const std::uint64_t S = ds.segment_offsets[p + 1] - ds.segment_offsets[p];
    shapes[{static_cast<std::uint32_t>(S), static_cast<std::uint32_t>(ds.song_offsets[p + 1] - ds.song_offsets[p])}] += 1;
    for (std::uint64_t s = 0; s < S; ++s) {
      const std::uint64_t g = ds.segment_offsets[p] + s;
      const std::uint64_t lo = ds.mood_offsets[g], hi = ds.mood_offsets[g + 1];
      const std::size_t k = static_cast<std::size_t>(hi - lo);
      if (k == 0) continue;
      if (mps.size() < std::min<std::size_t>(k, 16)) mps.resize(std::min<std::size_t>(k, 16), 0.0);
      mps[std::min<std::size_t>(k, 16) - 1] += 1;
      for (std::uint64_t q = lo; q < hi; ++q) {
        overall[static_cast<std::size_t>(ds.moods[q])] += 1.0 / static_cast<double>(k);
        if (s == 0) model.first_moods[static_cast<std::size_t>(ds.moods[q])] += 1.0 / static_cast<double>(k);
      }
      if (s + 1 < S) {
        const std::uint64_t lo2 = ds.mood_offsets[g + 1], hi2 = ds.mood_offsets[g + 2];
        if (hi2 == lo2) continue;
        const double wgt = 1.0 / static_cast<double>(k * (hi2 - lo2));
        for (std::uint64_t q = lo; q < hi; ++q)
          for (std::uint64_t r = lo2; r < hi2; ++r)
            model.transitions[static_cast<std::size_t>(ds.moods[q]) * M + static_cast<std::size_t>(ds.moods[r])] += wgt;
      }
    }
  }
  if (M > 0) {
    double ot = 0;
    for (double v : overall) ot += v;
    for (double& v : overall) v /= ot;
    double ft = 0;
    for (double v : model.first_moods) ft += v;
    for (std::size_t m = 0; m < M; ++m) model.first_moods[m] = (model.first_moods[m] + kSmoothing * overall[m]) / (ft + kSmoothing);
    for (std::size_t a = 0; a < M; ++a) {
      double rt = 0;
      for (std::size_t b = 0; b < M; ++b) rt += model.transitions[a * M + b];
      for (std::size_t b = 0; b < M; ++b)
        model.transitions[a * M + b] = (model.transitions[a * M + b] + kSmoothing * overall[b]) / (rt + kSmoothing);
    }
    double mt = 0;
    for (double v : mps) mt += v;
    if (mps.empty()) mps.assign(1, 1.0), mt = 1.0;
    for (double& v : mps) v /= mt;
  }
  model.moods_per_segment = mps;
  for (const auto& [key, c] : shapes) {
    synth_shape s;
    s.segments = M == 0 ? 0 : key.first;
    s.songs = key.second;
    s.weight = c / static_cast<double>(P);
    model.shapes.push_back(s);
  }
  return model;
}

synth_model fit_synth_model(const resources& res, const std::vector<std::string>& paths,
                            const synth_fit_options& opts, const reader_options& ropts) {
  detail::expects(!paths.empty(), "fit_synth_model", "no data files");
  dataset all;
  for (std::size_t f = 0; f < paths.size(); ++f) {
    dataset ds = read_csv(paths[f], ropts);
    if (f == 0) {
      all = std::move(ds);
      continue;
    }
    if (ds.playlists() == 0) continue;
    if (all.playlists() == 0) {
      all = std::move(ds);
      continue;
    }
    if (ds.dim != all.dim || !(ds.schema.names() == all.schema.names())) {
      throw data_error(paths[f], 0, "its features differ from those of " + paths[0]);
    }
    const std::uint64_t song0 = all.songs(), seg0 = all.segment_offsets.back(), mood0 = all.moods.size();
    for (std::size_t p = 0; p < ds.playlists(); ++p) {
      all.ids.push_back(ds.ids[p]);
      all.null_features.push_back(ds.null_features[p]);
      all.song_offsets.push_back(song0 + ds.song_offsets[p + 1]);
      all.segment_offsets.push_back(seg0 + ds.segment_offsets[p + 1]);
    }
    for (std::size_t g = 1; g < ds.mood_offsets.size(); ++g) all.mood_offsets.push_back(mood0 + ds.mood_offsets[g]);
    all.moods.insert(all.moods.end(), ds.moods.begin(), ds.moods.end());
    const std::size_t old = all.features.size();
    all.features.resize(old + ds.features.size());
    std::copy(ds.features.begin(), ds.features.end(), all.features.begin() + old);
  }
  if (all.songs() < 2) throw data_error(paths[0], 0, "the data holds fewer than 2 songs; a model needs at least 2");
  if (all.schema.dim() != all.dim) all.schema = feature_schema::for_dim(all.dim);
  return fit_synth_model(res, all, opts);
}

}  // namespace playaug
