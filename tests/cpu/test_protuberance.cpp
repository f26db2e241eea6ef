// Protuberance on the CPU engine: distribution of the changes (Kolmogorov-Smirnov against
// the uniform law), the fraction of changed components, the schema rules, independence
// from threads and chunking, and parameter checks.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <limits>
#include <random>
#include <vector>

#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/random.hpp"
#include "playaug/resources.hpp"
#include "test_support.hpp"

namespace {

using playaug::feature_schema;
using playaug::protuberance_params;

/// A [songs x d] matrix of values drawn uniformly from [lo, hi] (std::mt19937, fixed seed).
std::vector<float> random_matrix(std::size_t songs, std::size_t d, float lo, float hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> x(songs * d);
  for (auto& v : x) v = dist(gen);
  return x;
}

/// Offsets of playlists of 1, 2, ..., cycling up to `max_len` songs, covering `songs` songs.
std::vector<std::uint64_t> ragged_offsets(std::size_t songs, std::size_t max_len) {
  std::vector<std::uint64_t> off{0};
  std::size_t len = 1;
  while (off.back() < songs) {
    off.push_back(std::min<std::uint64_t>(songs, off.back() + len));
    len = len % max_len + 1;
  }
  return off;
}

/// Spotify-like songs: every column in its natural range.
std::vector<float> spotify_matrix(std::size_t songs, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::uniform_int_distribution<int> key(1, 11), mode(0, 1);
  std::uniform_real_distribution<float> loud(-30.0f, -1.0f), tempo(60.0f, 200.0f);
  std::vector<float> x(songs * playaug::spotify::n_features);
  for (std::size_t s = 0; s < songs; ++s) {
    float* r = x.data() + s * playaug::spotify::n_features;
    for (int j = 0; j < playaug::spotify::n_features; ++j) r[j] = unit(gen);
    // Half the songs sit near the top of the unit interval, so that clamping is exercised.
    if (s % 2 == 0) {
      for (int j : {0, 1, 2, 3, 5, 8, 10}) r[j] = 0.9f + 0.1f * r[j];
    }
    r[playaug::spotify::key] = static_cast<float>(key(gen));  // never 0, so that a change shows
    r[playaug::spotify::mode] = static_cast<float>(mode(gen));
    r[playaug::spotify::loudness] = loud(gen);
    r[playaug::spotify::tempo] = tempo(gen);
  }
  return x;
}

void run(playaug::matrix_view<float> x, const std::vector<std::uint64_t>& off, const feature_schema& schema,
         const protuberance_params& prm, std::uint32_t copy = 1, std::uint64_t first = 0, int threads = 2) {
  playaug::resources res(playaug::backend::cpu, threads);
  playaug::protuberance(res, x, {off.data(), off.size()}, schema, prm, copy, first);
}

/// Kolmogorov-Smirnov statistic of `v` against the uniform law on [a, b].
double ks_uniform(std::vector<double> v, double a, double b) {
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  double dmax = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double f = std::clamp((v[i] - a) / (b - a), 0.0, 1.0);
    dmax = std::max({dmax, (static_cast<double>(i) + 1.0) / n - f, f - static_cast<double>(i) / n});
  }
  return dmax;
}

TEST(Protuberance, RelativeChangesAreUniformWhenPhiIsOne) {
  const std::size_t songs = 20000, d = 5;
  auto x0 = random_matrix(songs, d, 0.5f, 2.0f, 1);
  auto x = x0;
  const auto off = ragged_offsets(songs, 37);
  protuberance_params prm;
  prm.p = 0.15f;
  prm.phi = 1.0f;
  prm.seed = 2024;
  run({x.data(), songs, d}, off, feature_schema::generic(d), prm);

  std::vector<double> rel(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    rel[i] = static_cast<double>(x[i]) / static_cast<double>(x0[i]) - 1.0;
    // |u| <= p, up to the rounding of 1 + u and of the product (a few float ulps).
    ASSERT_LE(std::abs(rel[i]), 0.15 + 1e-6) << "component " << i;
  }
  const double n = static_cast<double>(rel.size());
  const double dstat = ks_uniform(rel, -0.15, 0.15);
  // Critical value of the one-sample KS test at alpha = 0.001: 1.95 / sqrt(n).
  EXPECT_LT(dstat, 1.95 / std::sqrt(n)) << "KS statistic " << dstat << " over " << n << " changes";

  // The same statistic rejects a law that is clearly not the claimed one (half the width).
  EXPECT_GT(ks_uniform(rel, -0.3, 0.3), 1.95 / std::sqrt(n));
}

TEST(Protuberance, RelativeChangesAreUniformForSmallPhiToo) {
  // Given that a component is chosen (r <= phi), u = r (2p / phi) - p is uniform on (-p, p].
  const std::size_t songs = 40000, d = 3;
  auto x0 = random_matrix(songs, d, 1.0f, 3.0f, 7);
  auto x = x0;
  const auto off = ragged_offsets(songs, 11);
  protuberance_params prm;
  prm.p = 0.4f;
  prm.phi = 0.25f;
  prm.seed = 99;
  run({x.data(), songs, d}, off, feature_schema::generic(d), prm, 3, 1000);
  std::vector<double> rel;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] != x0[i]) rel.push_back(static_cast<double>(x[i]) / static_cast<double>(x0[i]) - 1.0);
  }
  ASSERT_GT(rel.size(), 20000u);
  const double dstat = ks_uniform(rel, -0.4, 0.4);
  EXPECT_LT(dstat, 1.95 / std::sqrt(static_cast<double>(rel.size()))) << "KS statistic " << dstat;
}

TEST(Protuberance, TheRecipeIsWithinTwoRoundingsOfTheExactChange) {
  // u = min(fl(fl(r * fl(2p / phi)) - p), p) against the exact p (2 r / phi - 1) in
  // double: three roundings of values at most 2p, so within 3 ulp(2p) = 6 ulp(p), and never
  // outside [-p, p], for many (p, phi), including r == phi (where r * scale may round above
  // 2p) and the smallest r.
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> pd(0.001f, 0.999f), phid(1e-4f, 1.0f);
  std::size_t checked = 0, clipped = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const float p = pd(gen);
    const float phi = trial % 3 == 0 ? 1.0f : phid(gen);
    const auto c = playaug::make_protuberance_constants(p, phi);
    ASSERT_EQ(c.scale, 2.0f * p / phi);
    const float ulp = std::nextafter(p, 2.0f) - p;
    for (std::uint32_t i = 0; i < 64; ++i) {
      std::uint32_t w = static_cast<std::uint32_t>(gen());
      if (i == 0) w = 0;  // the smallest r, 2^-32
      float r = playaug::uniform01(w);
      if (i == 1) r = phi;  // the largest chosen r
      if (!(r <= phi)) continue;
      // protuberate(1, ...) is 1 + u, whose rounding hides u; recompute u as it does.
      float u = r * c.scale + -p;
      u = u > p ? p : u;
      clipped += (r * c.scale + -p) > p;
      const double exact = static_cast<double>(p) * (2.0 * static_cast<double>(r) / static_cast<double>(phi) - 1.0);
      ASSERT_LE(std::fabs(static_cast<double>(u) - exact), 6.0 * ulp) << "p " << p << " phi " << phi << " r " << r;
      ASSERT_GE(u, -p);
      ASSERT_LE(u, p);
      // protuberate() applies exactly this u (its r is the word's, so not at i == 1).
      const float x = 1.5f;
      if (i != 1) {
        ASSERT_EQ(playaug::protuberate(x, w, c, playaug::feature_rule::free, 0, 0), x * (1.0f + u));
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 30000u);
  EXPECT_GT(clipped, 0u);  // the min is needed: r * scale does round above 2p at r == phi
}

TEST(Protuberance, AboutPhiOfTheComponentsChange) {
  const std::size_t songs = 30000, d = 4;
  auto x0 = random_matrix(songs, d, 0.5f, 2.0f, 3);
  auto x = x0;
  const auto off = ragged_offsets(songs, 23);
  protuberance_params prm;
  prm.p = 0.15f;
  prm.phi = 0.3f;
  prm.seed = 5;
  run({x.data(), songs, d}, off, feature_schema::generic(d), prm);
  std::size_t changed = 0;
  std::vector<std::size_t> per_feature(d, 0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] != x0[i]) {
      ++changed;
      ++per_feature[i % d];
    }
  }
  // Binomial(n, 0.3): mean 0.3 n, sd sqrt(n 0.3 0.7); allow 5 standard deviations.
  const double n = static_cast<double>(x.size());
  const double sd = std::sqrt(n * 0.3 * 0.7);
  EXPECT_NEAR(static_cast<double>(changed), 0.3 * n, 5.0 * sd);
  const double nf = static_cast<double>(songs);
  for (std::size_t j = 0; j < d; ++j) {
    EXPECT_NEAR(static_cast<double>(per_feature[j]), 0.3 * nf, 5.0 * std::sqrt(nf * 0.21)) << "feature " << j;
  }
}

TEST(Protuberance, PhiZeroChangesNothing) {
  const std::size_t songs = 5000;
  auto x0 = spotify_matrix(songs, 11);
  // Values outside their bounds too: phi = 0 must not even clamp them.
  x0[0] = 1.5f;
  x0[1] = -0.25f;
  auto x = x0;
  protuberance_params prm;
  prm.p = 0.9f;
  prm.phi = 0.0f;
  prm.seed = 1;
  run({x.data(), songs, 11}, ragged_offsets(songs, 17), feature_schema::spotify(), prm);
  EXPECT_EQ(x, x0);
}

TEST(Protuberance, SchemaAwareKeepsCategoricalAndClampsUnitInterval) {
  const std::size_t songs = 20000;
  const std::size_t d = playaug::spotify::n_features;
  auto x0 = spotify_matrix(songs, 12);
  auto x = x0;
  protuberance_params prm;
  prm.p = 0.15f;
  prm.phi = 1.0f;
  prm.seed = 77;
  run({x.data(), songs, d}, ragged_offsets(songs, 30), feature_schema::spotify(), prm);
  const auto schema = feature_schema::spotify();
  std::size_t at_one = 0, key_changed = 0;
  for (std::size_t s = 0; s < songs; ++s) {
    for (std::size_t j = 0; j < d; ++j) {
      const float a = x0[s * d + j], b = x[s * d + j];
      switch (schema[j].kind) {
        case playaug::feature_kind::categorical:
        case playaug::feature_kind::binary:
          ASSERT_EQ(a, b) << "song " << s << " feature " << schema[j].name;
          break;
        case playaug::feature_kind::unit_interval:
          ASSERT_GE(b, 0.0f) << "song " << s << " feature " << schema[j].name;
          ASSERT_LE(b, 1.0f) << "song " << s << " feature " << schema[j].name;
          if (b == 1.0f) ++at_one;
          break;
        case playaug::feature_kind::decibels:
          ASSERT_LT(b, 0.0f);
          break;
        case playaug::feature_kind::tempo:
          ASSERT_GT(b, 0.0f);
          break;
        default:
          break;
      }
      if (j == playaug::spotify::key && a != b) ++key_changed;
    }
  }
  EXPECT_EQ(key_changed, 0u);
  // Values in [0.9, 1] moved by up to +15% overshoot 1 about a third of the time.
  EXPECT_GT(at_one, songs);
}

TEST(Protuberance, RawModeChangesEveryComponentAndDoesNotClamp) {
  const std::size_t songs = 10000;
  const std::size_t d = playaug::spotify::n_features;
  auto x0 = spotify_matrix(songs, 13);
  auto x = x0;
  protuberance_params prm;
  prm.p = 0.15f;
  prm.phi = 1.0f;
  prm.raw = true;
  prm.seed = 77;
  run({x.data(), songs, d}, ragged_offsets(songs, 30), feature_schema::spotify(), prm);
  std::size_t key_changed = 0, mode_changed = 0, mode_ones = 0, above_one = 0;
  for (std::size_t s = 0; s < songs; ++s) {
    const float* a = x0.data() + s * d;
    const float* b = x.data() + s * d;
    if (a[playaug::spotify::key] != b[playaug::spotify::key]) ++key_changed;
    if (a[playaug::spotify::mode] == 1.0f) {
      ++mode_ones;
      if (b[playaug::spotify::mode] != 1.0f) ++mode_changed;
    }
    for (int j : {0, 1, 2, 3, 5, 8, 10}) {
      if (b[j] > 1.0f) ++above_one;
    }
  }
  EXPECT_GT(key_changed, songs * 99 / 100);
  EXPECT_GT(mode_changed, mode_ones * 99 / 100);
  EXPECT_GT(above_one, songs);
}

TEST(Protuberance, WordAddressDoesNotDependOnTheRule) {
  // Loudness and tempo are changed in both modes; their words sit at the same addresses
  // whether key and mode (kept in schema mode) are skipped or not.
  const std::size_t songs = 3000;
  const std::size_t d = playaug::spotify::n_features;
  auto x0 = spotify_matrix(songs, 14);
  auto a = x0, b = x0;
  protuberance_params prm;
  prm.p = 0.2f;
  prm.phi = 0.6f;
  prm.seed = 31337;
  const auto off = ragged_offsets(songs, 9);
  run({a.data(), songs, d}, off, feature_schema::spotify(), prm);
  prm.raw = true;
  run({b.data(), songs, d}, off, feature_schema::spotify(), prm);
  for (std::size_t s = 0; s < songs; ++s) {
    for (int j : {playaug::spotify::loudness, playaug::spotify::tempo}) {
      ASSERT_EQ(a[s * d + j], b[s * d + j]) << "song " << s << " feature " << j;
    }
  }
}

TEST(Protuberance, MatchesAnIndependentFloat64Recomputation) {
  const std::size_t songs = 500, d = 7;
  auto x0 = random_matrix(songs, d, -3.0f, 3.0f, 21);
  auto x = x0;
  const auto off = ragged_offsets(songs, 13);
  protuberance_params prm;
  prm.p = 0.3f;
  prm.phi = 0.7f;
  prm.seed = 0xDEADBEEFCAFEULL;
  const std::uint32_t copy = 5;
  const std::uint64_t first = 123456;
  run({x.data(), songs, d}, off, feature_schema::generic(d), prm, copy, first);
  for (std::size_t p = 0; p + 1 < off.size(); ++p) {
    // subsequence = purpose << 56 | copy << 32 | playlist, offset = song * d + feature
    const std::uint64_t subseq = (std::uint64_t{2} << 56) | (std::uint64_t{copy} << 32) | (first + p);
    for (std::uint64_t s = 0; s < off[p + 1] - off[p]; ++s) {
      for (std::size_t j = 0; j < d; ++j) {
        const std::size_t idx = (off[p] + s) * d + j;
        const std::uint32_t w = playaug::philox_word(prm.seed, subseq, s * d + j);
        const double r = static_cast<double>(static_cast<float>(static_cast<double>(w) * 0x1p-32 + 0x1p-33));
        if (r <= static_cast<double>(prm.phi)) {
          const double u = static_cast<double>(prm.p) * (2.0 * r / static_cast<double>(prm.phi) - 1.0);
          const double want = static_cast<double>(x0[idx]) * (1.0 + u);
          ASSERT_NEAR(x[idx], want, 4e-7 * std::abs(want) + 1e-30) << "playlist " << p << " song " << s;
        } else {
          ASSERT_EQ(x[idx], x0[idx]) << "playlist " << p << " song " << s;
        }
      }
    }
  }
}

TEST(Protuberance, IndependentOfThreadsAndChunking) {
  const std::size_t songs = 40000, d = 11;
  const auto x0 = spotify_matrix(songs, 15);
  const auto off = ragged_offsets(songs, 41);
  protuberance_params prm;
  prm.seed = 8;
  auto ref = x0;
  run({ref.data(), songs, d}, off, feature_schema::spotify(), prm, 2, 10, 1);
  for (int threads : {2, 3, 8}) {
    auto x = x0;
    run({x.data(), songs, d}, off, feature_schema::spotify(), prm, 2, 10, threads);
    EXPECT_EQ(x, ref) << threads << " threads";
  }
  // The same playlists processed in two pieces, the second one told where it starts.
  auto x = x0;
  const std::size_t cut = off.size() / 3;
  std::vector<std::uint64_t> off1(off.begin(), off.begin() + static_cast<std::ptrdiff_t>(cut) + 1);
  std::vector<std::uint64_t> off2;
  for (std::size_t i = cut; i < off.size(); ++i) off2.push_back(off[i] - off[cut]);
  run({x.data(), off[cut], d}, off1, feature_schema::spotify(), prm, 2, 10);
  run({x.data() + off[cut] * d, songs - off[cut], d}, off2, feature_schema::spotify(), prm, 2, 10 + cut);
  EXPECT_EQ(x, ref);
  // Another copy index or seed draws other words.
  auto y = x0;
  run({y.data(), songs, d}, off, feature_schema::spotify(), prm, 3, 10);
  EXPECT_NE(y, ref);
}

TEST(Protuberance, FeatureRules) {
  const auto rules = playaug::make_feature_rules(feature_schema::spotify(), false);
  ASSERT_EQ(rules.rule.size(), 11u);
  using playaug::feature_rule;
  EXPECT_EQ(rules.rule[playaug::spotify::key], feature_rule::keep);
  EXPECT_EQ(rules.rule[playaug::spotify::mode], feature_rule::keep);
  EXPECT_EQ(rules.rule[playaug::spotify::loudness], feature_rule::free);
  EXPECT_EQ(rules.rule[playaug::spotify::tempo], feature_rule::free);
  for (int j : {0, 1, 2, 3, 5, 8, 10}) {
    EXPECT_EQ(rules.rule[j], feature_rule::clamp);
    EXPECT_EQ(rules.lo[j], 0.0f);
    EXPECT_EQ(rules.hi[j], 1.0f);
  }
  const auto raw = playaug::make_feature_rules(feature_schema::spotify(), true);
  for (auto r : raw.rule) EXPECT_EQ(r, feature_rule::free);
  const auto generic = playaug::make_feature_rules(feature_schema::generic(4), false);
  for (auto r : generic.rule) EXPECT_EQ(r, feature_rule::free);
}

TEST(Protuberance, RejectsBadParametersAndShapes) {
  const std::size_t d = 3;
  std::vector<float> x(6 * d, 1.0f);
  const std::vector<std::uint64_t> off{0, 2, 6};
  auto bad = [&](float p, float phi) {
    protuberance_params prm;
    prm.p = p;
    prm.phi = phi;
    return prm;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto prm : {bad(1.0f, 0.5f), bad(-0.01f, 0.5f), bad(nan, 0.5f), bad(0.1f, 1.01f), bad(0.1f, -0.1f),
                   bad(0.1f, nan), bad(std::numeric_limits<float>::infinity(), 0.5f)}) {
    EXPECT_THROW(prm.validate(), playaug::usage_error);
    EXPECT_THROW(run({x.data(), 6, d}, off, feature_schema::generic(d), prm), playaug::usage_error);
  }
  EXPECT_NO_THROW(bad(0.0f, 0.0f).validate());
  EXPECT_NO_THROW(bad(0.999f, 1.0f).validate());

  protuberance_params ok;
  EXPECT_THROW(run({x.data(), 6, d}, off, feature_schema::generic(4), ok), playaug::usage_error);
  EXPECT_THROW(run({x.data(), 5, d}, off, feature_schema::generic(d), ok), playaug::usage_error);
  EXPECT_THROW(run({x.data(), 6, d}, {1, 2, 6}, feature_schema::generic(d), ok), playaug::usage_error);
  EXPECT_THROW(run({x.data(), 6, d}, {0, 4, 2, 6}, feature_schema::generic(d), ok), playaug::usage_error);
  EXPECT_THROW(run({x.data(), 6, d}, off, feature_schema::generic(d), ok, 1u << 24), playaug::usage_error);
  EXPECT_THROW(run({x.data(), 6, d}, off, feature_schema::generic(d), ok, 1, (std::uint64_t{1} << 32) - 1),
               playaug::usage_error);
  EXPECT_NO_THROW(run({x.data(), 6, d}, off, feature_schema::generic(d), ok, 1, (std::uint64_t{1} << 32) - 2));
}

TEST(Protuberance, EmptyInputs) {
  protuberance_params prm;
  prm.phi = 1.0f;
  std::vector<float> none;
  EXPECT_NO_THROW(run({none.data(), 0, 3}, {0}, feature_schema::generic(3), prm));
  EXPECT_NO_THROW(run({none.data(), 0, 3}, {0, 0, 0}, feature_schema::generic(3), prm));
}

}  // namespace

namespace {

TEST(Protuberance, EngineEqualsProtuberateOnEveryComponent) {
  // The CUDA engine applies protuberate() per component; the CPU engine must give the same
  // bits, including for zeros, negative values, infinities, NaN and out-of-range values,
  // for any feature count (tiles of whole songs, a heap-allocated tile beyond 256 features).
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 1.5f, -0.25f, inf, -inf,
                            std::numeric_limits<float>::quiet_NaN(), 1e-38f, 3e38f};
  for (std::size_t d : {1u, 2u, 3u, 4u, 5u, 11u, 13u, 300u}) {
    std::vector<playaug::feature_spec> specs(d);
    for (std::size_t j = 0; j < d; ++j) {
      specs[j].name = "f" + std::to_string(j);
      specs[j].kind = j % 3 == 0 ? playaug::feature_kind::unit_interval
                    : j % 3 == 1 ? playaug::feature_kind::categorical
                                 : playaug::feature_kind::decibels;
      if (specs[j].kind == playaug::feature_kind::unit_interval) {
        specs[j].lo = 0.0;
        specs[j].hi = 1.0;
      }
    }
    const feature_schema schema(specs);
    const std::size_t songs = 700 / d + 3;
    auto x0 = random_matrix(songs, d, -2.0f, 2.0f, static_cast<unsigned>(d));
    for (std::size_t i = 0; i < x0.size(); i += 3) x0[i] = specials[(i / 3) % std::size(specials)];
    const auto off = ragged_offsets(songs, 6);
    for (bool raw : {false, true}) {
      protuberance_params prm;
      prm.p = 0.35f;
      prm.phi = 0.45f;
      prm.raw = raw;
      prm.seed = 17 + d;
      auto x = x0;
      run({x.data(), songs, d}, off, schema, prm, 9, 40);
      const auto rules = playaug::make_feature_rules(schema, raw);
      for (std::size_t p = 0; p + 1 < off.size(); ++p) {
        const auto sub = playaug::stream_subsequence(playaug::purpose::protuberance, 9, static_cast<std::uint32_t>(40 + p));
        for (std::size_t s = 0; s < off[p + 1] - off[p]; ++s) {
          for (std::size_t j = 0; j < d; ++j) {
            const std::size_t idx = (off[p] + s) * d + j;
            const float want = playaug::protuberate(x0[idx], playaug::philox_word(prm.seed, sub, s * d + j),
                                                    playaug::make_protuberance_constants(prm.p, prm.phi), rules.rule[j], rules.lo[j], rules.hi[j]);
            std::uint32_t a, b;
            std::memcpy(&a, &x[idx], 4);
            std::memcpy(&b, &want, 4);
            ASSERT_EQ(a, b) << "d " << d << " raw " << raw << " playlist " << p << " song " << s << " feature " << j
                            << ": " << x[idx] << " vs " << want;
          }
        }
      }
    }
  }
}

}  // namespace
