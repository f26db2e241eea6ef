#pragma once
/// @file synth_model.hpp
/// Synthetic playlists learned from the user's own data: `playaug fit-synth`,
/// `playaug synth --model`, `playaug synth --like` (docs/synth.md).
///
/// The model, in normal-score space z (one coordinate per feature):
///
///   playlist p:  shape (segments, songs) from the data's joint histogram; segment moods
///                from a first-segment distribution and a smoothed transition matrix;
///                a playlist type t ~ type_weights; a playlist shift b ~ N(0, B).
///   song s:      cluster k ~ type_cluster_weights[t];
///                z = cluster_means[k] + L_k e + b + shift(segment of s),  e ~ N(0, I);
///                the segment of song s of n in a playlist of S segments is
///                floor(s * S / n) (contiguous runs in proportion), and its shift is the
///                mean of its moods' mood_shift rows;
///   features:    x_j = M_j(z_j), the model's own marginal CDF of z_j mapped through the
///                data's quantile function (tabulated as knots at fit time), so that the
///                marginals are the data's: discrete features (key, mode) keep their
///                values, atoms (instrumentalness = 0) keep their mass; a discrete
///                feature with a parent (mode given key) takes the thresholds of its
///                parent's category, so the two keep their joint table; then rounded to
///                the data's precision.
///
/// Determinism: every draw is a Philox4x32-10 word at a fixed address under purpose
/// `synth_model` (random.hpp, docs/random-streams.md): copy 0 of playlist p holds the
/// playlist's words, copy 1 the songs' (song s uses words song_words(d) * s ...). Only IEEE
/// basic operations (+ - * / sqrt, rint), each rounded on its own, turn words into values
/// (sm_log, sm_normal below), so the CPU and CUDA engines write the same bytes, and
/// playlist p is the same whatever the chunking, thread count or device.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "playaug/dataset.hpp"
#include "playaug/io.hpp"
#include "playaug/random.hpp"
#include "playaug/resources.hpp"
#include "playaug/synth.hpp"

namespace playaug {

/// One feature's marginal.
struct synth_marginal {
  /// True for a feature with few integer values (key, mode): `values` are the categories,
  /// ascending, `probabilities` their shares and `knots` the C - 1 thresholds in z
  /// (category c for knots[c-1] <= z < knots[c]). Otherwise `values` are the data's
  /// quantiles at the knots (non-decreasing; flat runs are atoms), `knots` the increasing
  /// z positions of those quantiles under the model's marginal, and x is interpolated
  /// linearly in z between knots (constant beyond the ends).
  bool discrete = false;
  std::vector<double> values;
  std::vector<double> knots;
  /// Discrete only (empty otherwise). Without a parent: C shares. With a parent of P
  /// categories: P rows of C shares (row-major), the feature's distribution given each
  /// category of the parent, and `knots` then holds P rows of C - 1 thresholds.
  std::vector<double> probabilities;
  /// Discrete only: the index of an earlier discrete feature that this one is drawn
  /// conditionally on (its category picks the row of thresholds), or -1 for none.
  int parent = -1;
  /// Output precision: round to `significant` significant digits (0: no such rounding)
  /// and to `decimals` decimals (-1: none), whichever is coarser.
  int significant = 0;
  int decimals = -1;
};

/// One (segments, songs) shape of the data and its weight.
struct synth_shape {
  std::uint32_t segments = 0;
  std::uint32_t songs = 0;
  double weight = 0.0;
};

/// A fitted model: what SYNTH.json holds (docs/synth.md).
struct synth_model {
  std::vector<std::string> feature_names;  ///< d names
  std::uint64_t fitted_playlists = 0;
  std::uint64_t fitted_songs = 0;
  std::vector<synth_marginal> marginals;  ///< d

  std::size_t clusters = 0;                ///< K
  std::vector<double> cluster_means;       ///< K x d
  std::vector<double> cluster_cholesky;    ///< K x d x d, lower-triangular factors (row-major)
  std::size_t types = 0;                   ///< T
  std::vector<double> type_weights;        ///< T
  std::vector<double> type_cluster_weights;  ///< T x K, rows sum to 1
  std::vector<double> playlist_cholesky;   ///< d x d, lower-triangular factor of B

  std::size_t moods = 0;                   ///< M: mood ids 0..M-1
  std::vector<double> mood_shift;          ///< M x d
  std::vector<double> first_moods;         ///< M, sums to 1
  std::vector<double> transitions;         ///< M x M, rows sum to 1
  std::vector<double> moods_per_segment;   ///< entry i: weight of i + 1 moods
  std::vector<synth_shape> shapes;

  std::size_t dim() const { return feature_names.size(); }

  /// The SYNTH.json text (format "playaug-synth", version 2).
  std::string to_json() const;
  /// Parse and validate SYNTH.json text; problems throw data_error naming `source` and
  /// the key.
  static synth_model from_json(const std::string& text, const std::string& source = "<synth model>");
  static synth_model load(const std::string& path);
  /// Written atomically.
  void save(const std::string& path) const;
};

/// How fit_synth_model() fits.
struct synth_fit_options {
  std::size_t clusters = 60;  ///< song clusters K (capped at songs / 20, at least 1)
  std::size_t types = 40;     ///< playlist types T (capped at playlists / 4, at least 1)
  std::size_t knots = 513;    ///< quantile knots per continuous feature
  int iterations = 60;        ///< EM iterations of the song mixture
  std::uint64_t seed = 0;     ///< initialisation and tie-breaking
};

/// Fit a model on `data` (every song is held in memory: about (20 d + 8 K + 9) bytes per
/// song). Uses res.threads() CPU threads; the result does not depend on them. Throws
/// usage_error for a dataset without songs, more than 64 features, or mood ids outside
/// 0..4095.
synth_model fit_synth_model(const resources& res, const dataset& data, const synth_fit_options& opts = {});

/// Read the files (each once, whole) and fit on all their playlists; the files must have
/// the same features.
synth_model fit_synth_model(const resources& res, const std::vector<std::string>& paths,
                            const synth_fit_options& opts = {}, const reader_options& ropts = {});

/// Playlists per block of shape strata (synth_shape_stratum).
inline constexpr std::uint64_t synth_shape_block = 256;

/// The shape stratum of playlist i: its place in a seeded permutation of 0..255 within its
/// block of 256 consecutive playlists (i / 256). Playlist i draws its shape at
/// u = (stratum + r) / 256 (r in (0, 1) its word 0), so the shapes of every whole block are
/// stratified over the model's shape distribution: in each block, the count of playlists
/// at or below any shape is within 1 of 256 times its cumulative weight (independent draws
/// would be off by up to 8), while playlist i still depends only on i and the seed (a
/// shorter run is a prefix of a longer one). The permutation: a 4-round Feistel network on
/// two 4-bit halves, round k's function the low 4 bits of Philox word 16 k + right of
/// purpose synth_model, copy 2, playlist = the block.
std::uint32_t synth_shape_stratum(std::uint64_t seed, std::uint64_t i);

/// What to sample.
struct synth_model_params {
  std::uint64_t playlists = 1000;  ///< ids syn000001, syn000002, ...
  std::uint64_t seed = 0;
};

/// Playlists [first, first + count) (clamped to params.playlists). On res's backend
/// (CPU threads or the CUDA engine); the bytes do not depend on either.
dataset synthesize(const resources& res, const synth_model& model, const synth_model_params& params,
                   std::uint64_t first, std::uint64_t count);

/// Stream the whole dataset to `path` chunk by chunk (bounded memory), atomically.
synth_stats write_model_synthetic_csv(const resources& res, const synth_model& model,
                                      const synth_model_params& params, const std::string& path);

// ---------------------------------------------------------------------------------------
// The per-song arithmetic shared by the CPU and the CUDA engine.
// ---------------------------------------------------------------------------------------
namespace synth_detail {

inline constexpr std::size_t max_dim = 64;

PLAYAUG_HD double dmul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
PLAYAUG_HD double dadd(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
PLAYAUG_HD double dsub(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}
PLAYAUG_HD double ddiv(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}
PLAYAUG_HD double dsqrt(double a) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(a);
#else
  return __builtin_sqrt(a);
#endif
}
PLAYAUG_HD double drint(double a) {
#if defined(__CUDA_ARCH__)
  return rint(a);
#else
  return __builtin_rint(a);
#endif
}

/// Natural logarithm of a positive normal double from IEEE basic operations only:
/// x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1),
/// |s| < 0.172, by its series to s^25 (relative error below 1e-16 in the series; the
/// result within a few ulps of std::log).
PLAYAUG_HD double sm_log(double x) {
  std::uint64_t bits;
#if defined(__CUDA_ARCH__)
  bits = static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::memcpy(&bits, &x, sizeof bits);
#endif
  int e = static_cast<int>((bits >> 52) & 0x7FF) - 1023;
  bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
  double m;
#if defined(__CUDA_ARCH__)
  m = __longlong_as_double(static_cast<long long>(bits));
#else
  std::memcpy(&m, &bits, sizeof m);
#endif
  if (m > 1.4142135623730951) {
    m = dmul(m, 0.5);
    e += 1;
  }
  const double s = ddiv(dsub(m, 1.0), dadd(m, 1.0));
  const double s2 = dmul(s, s);
  double poly = 1.0 / 25.0;
  for (int k = 11; k >= 0; --k) poly = dadd(ddiv(1.0, static_cast<double>(2 * k + 1)), dmul(s2, poly));
  constexpr double ln2_hi = 6.93147180369123816490e-01;  // high bits of ln 2 (exact times e)
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  const double fe = static_cast<double>(e);
  return dadd(dmul(fe, ln2_hi), dadd(dmul(dmul(2.0, s), poly), dmul(fe, ln2_lo)));
}

/// The standard normal quantile of u in (0, 1) (Wichura's algorithm AS 241, PPND16:
/// rational approximations with relative error about 1e-16), from IEEE basic operations
/// and sm_log.
PLAYAUG_HD double horner(const double* c, int n, double x) {
  double r = c[n - 1];
  for (int i = n - 2; i >= 0; --i) r = dadd(dmul(r, x), c[i]);
  return r;
}

PLAYAUG_HD double sm_normal(double u) {
  const double q = dsub(u, 0.5);
  if ((q < 0 ? -q : q) <= 0.425) {
    const double a[8] = {3.387132872796366608,     1.3314166789178437745e+2, 1.9715909503065514427e+3,
                         1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
                         3.3430575583588128105e+4, 2.5090809287301226727e+3};
    const double b[8] = {1.0,                      4.2313330701600911252e+1, 6.8718700749205790830e+2,
                         5.3941960214247511077e+3, 2.1213794301586595867e+4, 3.9307895800092710610e+4,
                         2.8729085735721942674e+4, 5.2264952788528545610e+3};
    const double r = dsub(0.180625, dmul(q, q));
    return ddiv(dmul(q, horner(a, 8, r)), horner(b, 8, r));
  }
  double r = q < 0 ? u : dsub(1.0, u);
  r = dsqrt(-sm_log(r));
  double v;
  if (r <= 5.0) {
    const double c[8] = {1.42343711074968357734,     4.63033784615654529590,     5.76949722146069140550,
                         3.64784832476320460504,     1.27045825245236838258,     2.41780725177450611770e-1,
                         2.27238449892691845833e-2,  7.74545014278341407640e-4};
    const double d[8] = {1.0,                        2.05319162663775882187,     1.67638483018380384940,
                         6.89767334985100004550e-1,  1.48103976427480074590e-1,  1.51986665636164571966e-2,
                         5.47593808499534494600e-4,  1.05075007164441684324e-9};
    r = dsub(r, 1.6);
    v = ddiv(horner(c, 8, r), horner(d, 8, r));
  } else {
    const double c[8] = {6.65790464350110377720,     5.46378491116411436990,     1.78482653991729133580,
                         2.96560571828504891230e-1,  2.65321895265761230930e-2,  1.24266094738807843860e-3,
                         2.71155556874348757815e-5,  2.01033439929228813265e-7};
    const double d[8] = {1.0,                        5.99832206555887937690e-1,  1.36929880922735805310e-1,
                         1.48753612908506148525e-2,  7.86869131145613259100e-4,  1.84631831751005468180e-5,
                         1.42151175831644588870e-7,  2.04426310338993978564e-15};
    r = dsub(r, 5.0);
    v = ddiv(horner(c, 8, r), horner(d, 8, r));
  }
  return q < 0 ? -v : v;
}

/// A word to a double in (0, 1): (w + 1/2) 2^-32, exact.
PLAYAUG_HD double word_unit(std::uint32_t w) { return (static_cast<double>(w) + 0.5) * 2.3283064365386962890625e-10; }

/// Words per song: one for the cluster, d for the normals, rounded up to whole blocks.
PLAYAUG_HD std::uint64_t song_words(std::size_t d) { return (d + 1 + 3) / 4 * 4; }

/// Index of the first entry of the increasing cumulative table c[0..n) that is >= u
/// (n - 1 when none is).
PLAYAUG_HD std::uint32_t pick(const double* c, std::uint32_t n, double u) {
  std::uint32_t lo = 0, hi = n - 1;
  while (lo < hi) {
    const std::uint32_t mid = (lo + hi) / 2;
    if (c[mid] >= u) hi = mid; else lo = mid + 1;
  }
  return lo;
}

/// x rounded to `significant` digits and `decimals` decimals, whichever is coarser.
PLAYAUG_HD double round_to(double x, int significant, int decimals) {
  if (x == 0.0) return x;
  const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                          1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  int keep = decimals;  // decimals kept; -1 means any
  if (significant > 0) {
    const double a = x < 0 ? -x : x;
    // e: the decimal exponent of a (10^e <= a < 10^(e+1)), for |e| <= 22.
    int e = 0;
    if (a >= 1.0) {
      while (e < 22 && a >= p10[e + 1]) ++e;
    } else {
      e = -1;
      while (e > -22 && dmul(a, p10[-e]) < 1.0) --e;
    }
    const int sig_dec = significant - 1 - e;
    keep = keep < 0 ? sig_dec : (sig_dec < keep ? sig_dec : keep);
  }
  if (keep < 0) {
    if (decimals < 0 && significant <= 0) return x;
    const int k = -keep > 22 ? 22 : -keep;
    return dmul(drint(ddiv(x, p10[k])), p10[k]);
  }
  if (keep > 22) return x;
  return ddiv(drint(dmul(x, p10[keep])), p10[keep]);
}

/// The flat, pointer-only view of a model that the sampler reads (host or device memory).
struct tables {
  std::uint32_t d = 0, clusters = 0, types = 0;
  const double* means = nullptr;       ///< K x d
  const double* chol = nullptr;        ///< K x d x d
  const double* type_cum = nullptr;    ///< T x K cumulative cluster weights
  const double* knots = nullptr;       ///< all features' knots, concatenated
  const double* values = nullptr;      ///< all features' values, concatenated
  const std::uint32_t* knot_begin = nullptr;   ///< d + 1 offsets into knots
  const std::uint32_t* value_begin = nullptr;  ///< d + 1 offsets into values
  const std::int32_t* feature_info = nullptr;  ///< d x info_width: see below
};

/// feature_info's entries per feature: discrete (0/1), significant, decimals, and the
/// parent feature's index (-1: none).
inline constexpr std::uint32_t info_width = 4;

/// Map z through feature j's marginal. For a discrete feature, *category receives the
/// index of the category (0 otherwise); cats holds the categories of the features before j
/// (read for a conditioned feature's parent).
PLAYAUG_HD double marginal_map(const tables& t, std::uint32_t j, double z, const std::uint32_t* cats,
                               std::uint32_t* category) {
  const std::int32_t* info = t.feature_info + info_width * j;
  const double* v = t.values + t.value_begin[j];
  *category = 0;
  if (info[0] != 0) {
    // category: number of thresholds <= z, in the parent category's row of thresholds
    const std::uint32_t nk = t.value_begin[j + 1] - t.value_begin[j] - 1;
    const double* k = t.knots + t.knot_begin[j] + (info[3] >= 0 ? cats[info[3]] * nk : 0u);
    std::uint32_t lo = 0, hi = nk;
    while (lo < hi) {
      const std::uint32_t mid = (lo + hi) / 2;
      if (k[mid] <= z) lo = mid + 1; else hi = mid;
    }
    *category = lo;
    return v[lo];
  }
  const double* k = t.knots + t.knot_begin[j];
  const std::uint32_t nk = t.knot_begin[j + 1] - t.knot_begin[j];
  if (!(z > k[0])) return v[0];
  if (!(z < k[nk - 1])) return v[nk - 1];
  std::uint32_t lo = 0, hi = nk - 1;  // k[lo] < z < k[hi]
  while (hi - lo > 1) {
    const std::uint32_t mid = (lo + hi) / 2;
    if (k[mid] <= z) lo = mid; else hi = mid;
  }
  const double f = ddiv(dsub(z, k[lo]), dsub(k[hi], k[lo]));
  return dadd(v[lo], dmul(dsub(v[hi], v[lo]), f));
}

/// Song `song` of playlist `playlist` of type `type`, whose segment shift (playlist shift
/// included) is shift[0..d): the d features, rounded, into out.
PLAYAUG_HD void sample_song(const tables& t, std::uint64_t seed, std::uint32_t playlist, std::uint32_t song,
                            std::uint32_t type, const double* shift, float* out) {
  const std::uint32_t d = t.d;
  const std::uint64_t sub = stream_subsequence(purpose::synth_model, 1, playlist);
  const std::uint64_t base = song_words(d) * song;
  double e[max_dim];
  std::uint32_t cats[max_dim];
  u32x4 blk = philox_block(seed, sub, base);
  const std::uint32_t cw = blk.x;
  for (std::uint32_t j = 0; j < d; ++j) {
    const std::uint64_t w = j + 1;
    if ((w & 3u) == 0) blk = philox_block(seed, sub, base + w);
    e[j] = sm_normal(word_unit(word_of(blk, static_cast<unsigned>(w & 3u))));
  }
  const std::uint32_t k = pick(t.type_cum + static_cast<std::size_t>(type) * t.clusters, t.clusters, word_unit(cw));
  const double* mu = t.means + static_cast<std::size_t>(k) * d;
  const double* L = t.chol + static_cast<std::size_t>(k) * d * d;
  for (std::uint32_t j = 0; j < d; ++j) {
    double z = dadd(mu[j], shift[j]);
    for (std::uint32_t i = 0; i <= j; ++i) z = dadd(z, dmul(L[j * d + i], e[i]));
    const double x = marginal_map(t, j, z, cats, &cats[j]);
    out[j] = static_cast<float>(
        round_to(x, t.feature_info[info_width * j + 1], t.feature_info[info_width * j + 2]));
  }
}

/// Owns the arrays behind a `tables` view of a model (host memory).
struct table_storage {
  std::uint32_t d = 0, clusters = 0, types = 0;
  std::vector<double> means, chol, type_cum, knots, values;
  std::vector<std::uint32_t> knot_begin, value_begin;
  std::vector<std::int32_t> feature_info;
  tables view() const {
    tables t;
    t.d = d;
    t.clusters = clusters;
    t.types = types;
    t.means = means.data();
    t.chol = chol.data();
    t.type_cum = type_cum.data();
    t.knots = knots.data();
    t.values = values.data();
    t.knot_begin = knot_begin.data();
    t.value_begin = value_begin.data();
    t.feature_info = feature_info.data();
    return t;
  }
};

/// The tables of `model` (validated).
table_storage make_tables(const synth_model& model);

/// One chunk of planned playlists whose songs the engines fill in (host memory).
struct chunk_plan {
  std::uint64_t seed = 0;
  std::uint64_t first_playlist = 0;  ///< index of playlist 0 of the chunk
  std::uint64_t playlists = 0;
  const std::uint64_t* song_offsets = nullptr;   ///< playlists + 1
  const std::uint32_t* types = nullptr;          ///< playlists
  const std::uint64_t* shift_offsets = nullptr;  ///< playlists + 1, in rows of d doubles (>= 1 row each)
  const double* shifts = nullptr;
  float* out = nullptr;                          ///< song_offsets[playlists] x d
};

}  // namespace synth_detail
}  // namespace playaug
