// The augment operation: parameter checks, the dispatch point and the CPU engine.

#include "playaug/augment.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cpu_impl.hpp"
#include "cuda_impl.hpp"
#include "parallel.hpp"
#include "playaug/error.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/reverse.hpp"

namespace playaug {

namespace {

std::string show(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Output values (features, moods) per parallel task.
constexpr std::size_t kValuesPerTask = std::size_t{1} << 16;

constexpr std::uint32_t kMaxCopies = 0xFFFFFFu;  // the copy field of the random layout

}  // namespace

void augment_params::validate() const {
  if (copies > kMaxCopies) {
    throw usage_error("copies must be at most " + std::to_string(kMaxCopies) + ", got " + std::to_string(copies));
  }
  if (!(protuberance >= 0.0f && protuberance < 1.0f)) {
    throw usage_error("protuberance must be in [0, 1), got " + show(protuberance));
  }
  if (!(phi >= 0.0f && phi <= 1.0f)) {
    throw usage_error("phi must be in [0, 1], got " + show(phi));
  }
  if (!(reverse >= 0.0f && reverse <= 1.0f)) {
    throw usage_error("reverse must be in [0, 1], got " + show(reverse));
  }
}

dataset augment(const resources& res, const dataset& in, const augment_params& prm,
                std::uint64_t first_playlist) {
  prm.validate();
  in.validate();
  const std::uint64_t playlists = in.playlists();
  if (first_playlist > (std::uint64_t{1} << 32) || playlists > (std::uint64_t{1} << 32) - first_playlist) {
    throw usage_error("augment: playlist indices beyond 2^32 cannot be addressed by the random layout");
  }
  if (res.is_cuda()) return cuda_impl::augment(res, in, prm, first_playlist);
  return cpu_impl::augment(res, in, prm, first_playlist);
}

namespace cpu_impl {

dataset augment(const resources& res, const dataset& in, const augment_params& prm,
                std::uint64_t first_playlist) {
  const std::size_t playlists = in.playlists();
  const std::size_t d = in.dim;
  const std::size_t per_playlist = (prm.keep_original ? 1u : 0u) + prm.copies;
  const bool with_tracks = !in.track_ids.empty();

  // Layout of the output, playlist by playlist: a [null] playlist once, any other
  // per_playlist times (original first, then copies 1..K).
  std::vector<std::size_t> out_first(playlists + 1);   // first output playlist of input i
  std::vector<std::uint64_t> moods_first(playlists);   // first output mood of input i
  dataset out;
  out.dim = d;
  out.schema = in.schema;
  std::size_t n_out = 0;
  std::uint64_t n_moods = 0;
  for (std::size_t i = 0; i < playlists; ++i) {
    out_first[i] = n_out;
    moods_first[i] = n_moods;
    const std::size_t rows = in.is_null(i) ? 1 : per_playlist;
    n_out += rows;
    const std::size_t g0 = in.segment_offsets[i], g1 = in.segment_offsets[i + 1];
    n_moods += rows * (in.mood_offsets[g1] - in.mood_offsets[g0]);
  }
  out_first[playlists] = n_out;

  out.ids.resize(n_out);
  out.null_features.resize(n_out);
  out.song_offsets.resize(n_out + 1);
  out.segment_offsets.resize(n_out + 1);
  {
    std::size_t o = 0;
    std::uint64_t songs = 0, segments = 0;
    for (std::size_t i = 0; i < playlists; ++i) {
      const std::size_t n = in.song_count(i);
      const std::size_t g = in.segment_offsets[i + 1] - in.segment_offsets[i];
      for (std::size_t r = out_first[i]; r < out_first[i + 1]; ++r, ++o) {
        out.song_offsets[o] = songs;
        out.segment_offsets[o] = segments;
        songs += n;
        segments += g;
      }
    }
    out.song_offsets[n_out] = songs;
    out.segment_offsets[n_out] = segments;
  }
  out.features.resize(out.songs() * d);
  out.mood_offsets.resize(out.segments() + 1);
  out.mood_offsets[0] = 0;
  out.moods.resize(n_moods);
  if (with_tracks) out.track_ids.resize(out.songs());

  protuberance_params pp;
  pp.p = prm.protuberance;
  pp.phi = prm.phi;
  pp.raw = prm.raw;
  pp.seed = prm.seed;
  pp.stream = purpose::protuberance;
  const protuberance_kernel protuberate_copy(make_feature_rules(in.schema, prm.raw), pp);

  // Write every output row of input playlist i. Rows of different inputs are disjoint, and
  // each value depends only on its address, so any schedule gives the same bytes.
  auto emit = [&](std::size_t i) {
    const std::size_t n = in.song_count(i);
    const std::size_t src_song = in.song_offsets[i];
    const float* src = in.features.data() + src_song * d;
    const std::size_t g0 = in.segment_offsets[i], g1 = in.segment_offsets[i + 1];
    const std::uint64_t m0 = in.mood_offsets[g0];
    const std::uint64_t moods = in.mood_offsets[g1] - m0;
    const std::uint32_t playlist = static_cast<std::uint32_t>(first_playlist + i);
    for (std::size_t o = out_first[i]; o < out_first[i + 1]; ++o) {
      const std::size_t row = o - out_first[i];
      const std::uint32_t k = in.is_null(i) ? 0u : static_cast<std::uint32_t>(prm.keep_original ? row : row + 1);
      out.ids[o] = k == 0 ? in.ids[i] : in.ids[i] + "#aug" + std::to_string(k);
      out.null_features[o] = in.null_features[i];
      const bool rev = k > 0 && reverse_decision(prm.seed, k, playlist, prm.reverse);

      // Songs (and track ids), in order or reversed.
      const std::size_t dst_song = out.song_offsets[o];
      float* dst = out.features.data() + dst_song * d;
      if (!rev) {
        if (n * d != 0) std::memcpy(dst, src, n * d * sizeof(float));
        if (with_tracks) {
          for (std::size_t s = 0; s < n; ++s) out.track_ids[dst_song + s] = in.track_ids[src_song + s];
        }
      } else {
        for (std::size_t s = 0; s < n; ++s) {
          std::memcpy(dst + s * d, src + (n - 1 - s) * d, d * sizeof(float));
          if (with_tracks) out.track_ids[dst_song + s] = in.track_ids[src_song + n - 1 - s];
        }
      }

      // Mood segments, in order or reversed, each segment's contents unchanged.
      const std::size_t h0 = out.segment_offsets[o];
      std::uint64_t m = moods_first[i] + row * moods;
      for (std::size_t t = 0; t < g1 - g0; ++t) {
        const std::size_t g = rev ? g1 - 1 - t : g0 + t;
        const std::uint64_t a = in.mood_offsets[g], b = in.mood_offsets[g + 1];
        if (b != a) std::memcpy(out.moods.data() + m, in.moods.data() + a, (b - a) * sizeof(std::int32_t));
        m += b - a;
        out.mood_offsets[h0 + t + 1] = m;
      }

      if (k > 0) {
        protuberate_copy(dst, n, stream_subsequence(purpose::protuberance, k, playlist));
      }
    }
  };

  // Group consecutive input playlists into tasks of about kValuesPerTask output values.
  std::vector<std::size_t> bounds{0};
  std::size_t values = 0;
  for (std::size_t i = 0; i < playlists; ++i) {
    const std::size_t g0 = in.segment_offsets[i], g1 = in.segment_offsets[i + 1];
    values += (out_first[i + 1] - out_first[i]) *
              (in.song_count(i) * (d + 1) + (in.mood_offsets[g1] - in.mood_offsets[g0]) + 1);
    if (values >= kValuesPerTask) {
      bounds.push_back(i + 1);
      values = 0;
    }
  }
  if (bounds.back() != playlists) bounds.push_back(playlists);
  detail::parallel_for(res.threads(), bounds.size() - 1, [&](std::size_t t) {
    for (std::size_t i = bounds[t]; i < bounds[t + 1]; ++i) emit(i);
  });
  return out;
}

}  // namespace cpu_impl

}  // namespace playaug
