#include "playaug/synth.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "detail/expects.hpp"
#include "detail/generated_csv.hpp"
#include "detail/parallel.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/random.hpp"

namespace playaug {
namespace {

constexpr int kMoods = 29;             // mood ids 0..28
constexpr int kMaxSegments = 3;
constexpr int kMaxMoodsPerSegment = 3;
constexpr std::uint64_t kSongWordBase = 32;  // playlist words 0..31, then 16 words per song
constexpr std::uint64_t kWordsPerSong = 16;
constexpr std::uint32_t kMaxSongsLimit = 100000;
constexpr double kPi = 3.14159265358979323846;

// Spotify catalogue frequencies of the 12 pitch classes (C, C#, ..., B), cumulative.
constexpr std::array<double, 12> kKeyWeights = {0.120, 0.095, 0.105, 0.030, 0.075, 0.085,
                                                0.070, 0.115, 0.065, 0.100, 0.065, 0.075};

/// An unbiased-enough integer in [0, n) from one 32-bit word (Lemire's multiply-shift).
inline std::uint32_t below(std::uint32_t word, std::uint32_t n) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(word) * n) >> 32);
}

inline double unit(std::uint32_t word) { return static_cast<double>(uniform01(word)); }

/// Two standard normals from two words (Box-Muller; the first word is in (0, 1]).
inline void normal_pair(std::uint32_t w0, std::uint32_t w1, double& a, double& b) {
  const double r = std::sqrt(-2.0 * std::log(unit(w0)));
  const double t = 2.0 * kPi * unit(w1);
  a = r * std::cos(t);
  b = r * std::sin(t);
}

inline double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// x in [0, 1] rounded to 3 significant digits (Spotify's precision).
inline double sig3(double x) {
  if (!(x > 0.0)) return 0.0;
  double scale = 1000.0;
  while (x * scale < 100.0 && scale < 1e15) scale *= 10.0;
  return std::round(x * scale) / scale;
}

/// x folded into [lo, hi] by reflection at the bounds (no pile-up at either end).
inline double reflect(double x, double lo, double hi) {
  const double w = hi - lo;
  double t = std::fmod(x - lo, 2.0 * w);
  if (t < 0) t += 2.0 * w;
  return lo + (t <= w ? t : 2.0 * w - t);
}

inline double round3(double x) { return std::round(x * 1000.0) / 1000.0; }

/// What the first 32 words of a playlist decide.
struct playlist_plan {
  std::uint32_t songs = 0;
  bool empty = false;
  int segments = 0;
  std::array<int, kMaxSegments> mood_count{};
  std::array<std::array<std::int32_t, kMaxMoodsPerSegment>, kMaxSegments> moods{};
  std::array<double, kMaxSegments> valence{}, arousal{};
  double style = 0, tempo_centre = 0, dance_offset = 0, loudness_offset = 0;
};

/// True when segments s and t of `plan` hold the same set of moods.
bool same_moods(const playlist_plan& plan, int s, int t) {
  if (plan.mood_count[s] != plan.mood_count[t]) return false;
  for (int i = 0; i < plan.mood_count[s]; ++i) {
    bool found = false;
    for (int j = 0; j < plan.mood_count[t]; ++j) found = found || plan.moods[s][i] == plan.moods[t][j];
    if (!found) return false;
  }
  return true;
}

playlist_plan plan_playlist(const synth_params& p, std::uint64_t index) {
  const std::uint64_t sub = stream_subsequence(purpose::synth, 0, static_cast<std::uint32_t>(index));
  std::array<std::uint32_t, 32> w;
  for (std::uint64_t b = 0; b < 8; ++b) {
    const u32x4 blk = philox_block(p.seed, sub, 4 * b);
    w[4 * b] = blk.x;
    w[4 * b + 1] = blk.y;
    w[4 * b + 2] = blk.z;
    w[4 * b + 3] = blk.w;
  }
  playlist_plan plan;
  plan.empty = p.empty_fraction > 0.0 && unit(w[0]) <= p.empty_fraction;
  plan.songs = plan.empty ? 0 : p.min_songs + below(w[1], p.max_songs - p.min_songs + 1);
  plan.segments = 2 + static_cast<int>(w[2] >> 31);
  for (int s = 0; s < plan.segments; ++s) {
    const int k = 1 + static_cast<int>(below(w[3 + s], kMaxMoodsPerSegment));
    plan.mood_count[s] = k;
    // k distinct moods: the j-th pick indexes the moods not taken yet.
    bool taken[kMoods] = {};
    double v = 0, a = 0;
    for (int j = 0; j < k; ++j) {
      std::uint32_t r = below(w[6 + 3 * s + j], static_cast<std::uint32_t>(kMoods - j));
      int m = 0;
      for (;; ++m) {
        if (taken[m]) continue;
        if (r == 0) break;
        --r;
      }
      taken[m] = true;
      plan.moods[s][j] = m;
      const double angle = 2.0 * kPi * m / kMoods;
      v += std::cos(angle);
      a += std::sin(angle);
    }
    // Consecutive segments are a mood transition: when a segment repeats the previous
    // one's moods, rotate its ids by 1..28 (a rotation of at most 3 of 29 ids never
    // maps the set onto itself, and keeps the ids distinct).
    if (s > 0 && same_moods(plan, s - 1, s)) {
      const int shift = 1 + static_cast<int>(below(w[24 + s], kMoods - 1));
      v = a = 0;
      for (int j = 0; j < k; ++j) {
        const int m = (plan.moods[s][j] + shift) % kMoods;
        plan.moods[s][j] = m;
        const double angle = 2.0 * kPi * m / kMoods;
        v += std::cos(angle);
        a += std::sin(angle);
      }
    }
    plan.valence[s] = v / k;
    plan.arousal[s] = a / k;
  }
  double n0, n1, n2, n3;
  normal_pair(w[16], w[17], n0, n1);
  normal_pair(w[18], w[19], n2, n3);
  plan.style = n0;
  plan.tempo_centre = 118.0 + 10.0 * n1;
  plan.dance_offset = 0.3 * n2;
  plan.loudness_offset = 0.8 * n3;
  return plan;
}

/// The 11 Spotify features of song `song` of a playlist.
void make_song(const synth_params& p, std::uint64_t sub, const playlist_plan& plan, std::uint32_t song,
               float* out) {
  std::array<std::uint32_t, 16> w;
  const std::uint64_t base = kSongWordBase + kWordsPerSong * song;
  for (std::uint64_t b = 0; b < 4; ++b) {
    const u32x4 blk = philox_block(p.seed, sub, base + 4 * b);
    w[4 * b] = blk.x;
    w[4 * b + 1] = blk.y;
    w[4 * b + 2] = blk.z;
    w[4 * b + 3] = blk.w;
  }
  double n[10];
  for (int i = 0; i < 5; ++i) normal_pair(w[2 * i], w[2 * i + 1], n[2 * i], n[2 * i + 1]);

  const int seg = static_cast<int>(static_cast<std::uint64_t>(song) * plan.segments / plan.songs);
  const double v = plan.valence[seg];
  const double a = plan.arousal[seg];
  const double style = plan.style;

  const double energy_logit = 0.7 + 0.9 * a - 0.75 * style + 0.6 * n[0];
  const double energy = logistic(energy_logit);
  // A soft limiter keeps loudness below 0 dB without piling tracks up at a bound.
  const double loud_raw = -4.2 - 17.0 * std::pow(1.0 - energy, 1.7) + plan.loudness_offset + 1.8 * n[1];
  const double loudness = std::max(-60.0, -std::log1p(std::exp(-loud_raw)));
  const double acousticness = logistic(-1.5 - 4.5 * (energy - 0.6) + 0.9 * style + 1.2 * n[2]);

  double instrumentalness;
  const double p_instrumental = logistic(-3.2 + 1.1 * style);
  if (unit(w[10]) <= p_instrumental) {
    instrumentalness = logistic(0.9 + 1.3 * n[3]);
  } else if (unit(w[11]) <= 0.3) {
    instrumentalness = 0.0;
  } else {
    instrumentalness = std::pow(10.0, -6.0 + 3.0 * unit(w[12]));
  }

  const double tempo = reflect(plan.tempo_centre + 5.0 * a + 22.0 * n[4], 60.0, 200.0);
  const double valence = logistic(-0.1 + 1.1 * v + 0.45 * (energy_logit - 0.7) + 0.7 * n[5]);
  const double t = (tempo - 118.0) / 30.0;
  const double danceability =
      logistic(0.75 + 0.4 * v - 0.35 * style - 0.35 * t * t + plan.dance_offset + 0.5 * n[6]);
  const double liveness = std::clamp(0.125 * std::exp(0.6 * n[7]), 0.015, 0.99);
  const double speechiness = std::clamp(0.058 * std::exp(0.75 * n[8] + 0.8 * (danceability - 0.6)), 0.022, 0.95);

  const double uk = unit(w[13]);
  int key = 11;
  double acc = 0;
  for (int k = 0; k < 12; ++k) {
    acc += kKeyWeights[k];
    if (uk <= acc) {
      key = k;
      break;
    }
  }
  const int mode = unit(w[14]) <= logistic(0.45 + 0.6 * v) ? 1 : 0;

  out[spotify::acousticness] = static_cast<float>(sig3(acousticness));
  out[spotify::danceability] = static_cast<float>(sig3(danceability));
  out[spotify::energy] = static_cast<float>(sig3(energy));
  out[spotify::instrumentalness] = static_cast<float>(sig3(instrumentalness));
  out[spotify::key] = static_cast<float>(key);
  out[spotify::liveness] = static_cast<float>(sig3(liveness));
  out[spotify::loudness] = static_cast<float>(round3(loudness));
  out[spotify::mode] = static_cast<float>(mode);
  out[spotify::speechiness] = static_cast<float>(sig3(speechiness));
  out[spotify::tempo] = static_cast<float>(round3(tempo));
  out[spotify::valence] = static_cast<float>(sig3(valence));
}

/// Playlists per parallel task.
constexpr std::uint64_t kPlaylistsPerTask = 2048;

dataset generate(int threads, const synth_params& p, std::uint64_t first, std::uint64_t count) {
  dataset ds;
  ds.dim = spotify::n_features;
  ds.schema = feature_schema::spotify();
  if (first >= p.playlists) return ds;
  count = std::min(count, p.playlists - first);
  if (count == 0) return ds;

  const std::size_t n = static_cast<std::size_t>(count);
  const std::size_t tasks = static_cast<std::size_t>((count + kPlaylistsPerTask - 1) / kPlaylistsPerTask);
  auto task_range = [&](std::size_t t) {
    const std::size_t lo = t * kPlaylistsPerTask;
    return std::pair<std::size_t, std::size_t>(lo, std::min<std::size_t>(n, lo + kPlaylistsPerTask));
  };

  // Pass 1: the shape of every playlist.
  std::vector<playlist_plan> plans(n);
  ds.ids.resize(n);
  detail::parallel_for(threads, tasks, [&](std::size_t t) {
    const auto [lo, hi] = task_range(t);
    for (std::size_t i = lo; i < hi; ++i) {
      plans[i] = plan_playlist(p, first + i);
      ds.ids[i] = synth_playlist_id(first + i);
    }
  });

  // Layout.
  ds.null_features.resize(n);
  ds.song_offsets.resize(n + 1);
  ds.segment_offsets.resize(n + 1);
  std::uint64_t songs = 0, segments = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& pl = plans[i];
    ds.null_features[i] = pl.empty ? 1 : 0;
    songs += pl.songs;
    ds.song_offsets[i + 1] = songs;
    for (int s = 0; s < pl.segments; ++s) {
      for (int j = 0; j < pl.mood_count[s]; ++j) ds.moods.push_back(pl.moods[s][j]);
      ds.mood_offsets.push_back(ds.moods.size());
    }
    segments += static_cast<std::uint64_t>(pl.segments);
    ds.segment_offsets[i + 1] = segments;
  }

  // Pass 2: the songs.
  ds.features.resize(static_cast<std::size_t>(songs) * ds.dim);
  detail::parallel_for(threads, tasks, [&](std::size_t t) {
    const auto [lo, hi] = task_range(t);
    for (std::size_t i = lo; i < hi; ++i) {
      const std::uint64_t sub = stream_subsequence(purpose::synth, 0, static_cast<std::uint32_t>(first + i));
      float* row = ds.features.data() + ds.song_offsets[i] * ds.dim;
      for (std::uint32_t s = 0; s < plans[i].songs; ++s, row += ds.dim) make_song(p, sub, plans[i], s, row);
    }
  });
  return ds;
}

}  // namespace

void validate(const synth_params& p) {
  using detail::expects;
  expects(p.playlists <= (std::uint64_t{1} << 32), "synth", "at most 4294967296 playlists, got ", p.playlists);
  expects(p.min_songs >= 1, "synth", "min_songs must be at least 1");
  expects(p.max_songs >= p.min_songs, "synth", "max_songs (", p.max_songs, ") is below min_songs (", p.min_songs,
          ")");
  expects(p.max_songs <= kMaxSongsLimit, "synth", "max_songs must be at most ", kMaxSongsLimit, ", got ",
          p.max_songs);
  expects(p.empty_fraction >= 0.0 && p.empty_fraction <= 1.0, "synth", "empty_fraction must be in [0, 1]");
}

std::string synth_playlist_id(std::uint64_t p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "syn%06llu", static_cast<unsigned long long>(p + 1));
  return buf;
}

dataset synthesize(const resources& res, const synth_params& params, std::uint64_t first_playlist,
                   std::uint64_t count) {
  validate(params);
  return generate(res.threads(), params, first_playlist, count);
}

dataset synthesize(const resources& res, const synth_params& params) {
  return synthesize(res, params, 0, params.playlists);
}

synth_stats write_synthetic_csv(const resources& res, const synth_params& params, const std::string& path) {
  validate(params);
  const int threads = res.threads();
  // About 2^18 songs per chunk: large enough to keep both cores busy, small enough that
  // two chunks in flight stay around 25 MB.
  const std::uint64_t mean_songs = (std::uint64_t{params.min_songs} + params.max_songs) / 2;
  const std::uint64_t chunk = std::max<std::uint64_t>(1, (std::uint64_t{1} << 18) / std::max<std::uint64_t>(1, mean_songs));

  return detail::write_generated_csv(path, threads, params.playlists, chunk,
                                     [&params, threads](std::uint64_t first, std::uint64_t count) {
                                       return generate(threads, params, first, count);
                                     });
}

}  // namespace playaug
