#include "detail/augment_plan.hpp"

#include <cstring>
#include <string>

#include "detail/parallel.hpp"
#include "playaug/reverse.hpp"

namespace playaug::detail {

namespace {
constexpr std::size_t kPlaylistsPerTask = 4096;
}  // namespace

dataset plan_augment(const dataset& in, const augment_params& prm, std::uint64_t first_playlist,
                     int threads, augment_plan& plan) {
  const std::size_t playlists = in.playlists();
  const bool with_tracks = !in.track_ids.empty();
  plan.per_playlist = (prm.keep_original ? 1u : 0u) + prm.copies;

  // Rows and moods per input playlist: a [null] playlist once, any other per_playlist
  // times (original first, then copies 1..K).
  plan.out_first.assign(playlists + 1, 0);
  std::vector<std::uint64_t> moods_first(playlists);
  std::size_t n_out = 0;
  std::uint64_t n_moods = 0;
  for (std::size_t i = 0; i < playlists; ++i) {
    plan.out_first[i] = n_out;
    moods_first[i] = n_moods;
    const std::size_t rows = in.is_null(i) ? 1 : plan.per_playlist;
    n_out += rows;
    const std::size_t g0 = in.segment_offsets[i], g1 = in.segment_offsets[i + 1];
    n_moods += rows * (in.mood_offsets[g1] - in.mood_offsets[g0]);
  }
  plan.out_first[playlists] = n_out;

  dataset out;
  out.dim = in.dim;
  out.schema = in.schema;
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
      for (std::size_t r = plan.out_first[i]; r < plan.out_first[i + 1]; ++r, ++o) {
        out.song_offsets[o] = songs;
        out.segment_offsets[o] = segments;
        songs += n;
        segments += g;
      }
    }
    out.song_offsets[n_out] = songs;
    out.segment_offsets[n_out] = segments;
  }
  out.features.resize(out.songs() * out.dim);
  out.mood_offsets.resize(out.segments() + 1);
  out.mood_offsets[0] = 0;
  out.moods.resize(n_moods);
  if (with_tracks) out.track_ids.resize(out.songs());
  plan.copy.assign(n_out, 0);
  plan.reversed.assign(n_out, 0);

  // Every output row of input playlist i; rows of different inputs are disjoint.
  auto fill = [&](std::size_t i) {
    const std::size_t n = in.song_count(i);
    const std::size_t src_song = in.song_offsets[i];
    const std::size_t g0 = in.segment_offsets[i], g1 = in.segment_offsets[i + 1];
    const std::uint64_t moods = in.mood_offsets[g1] - in.mood_offsets[g0];
    const auto playlist = static_cast<std::uint32_t>(first_playlist + i);
    for (std::size_t o = plan.out_first[i]; o < plan.out_first[i + 1]; ++o) {
      const std::size_t row = o - plan.out_first[i];
      const std::uint32_t k =
          in.is_null(i) ? 0u : static_cast<std::uint32_t>(prm.keep_original ? row : row + 1);
      const bool rev = k > 0 && reverse_decision(prm.seed, k, playlist, prm.reverse);
      plan.copy[o] = k;
      plan.reversed[o] = rev ? 1 : 0;
      out.ids[o] = k == 0 ? in.ids[i] : in.ids[i] + "#aug" + std::to_string(k);
      out.null_features[o] = in.null_features[i];
      if (with_tracks) {
        const std::size_t dst_song = out.song_offsets[o];
        for (std::size_t s = 0; s < n; ++s) {
          out.track_ids[dst_song + s] = in.track_ids[src_song + (rev ? n - 1 - s : s)];
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
    }
  };
  const std::size_t tasks = (playlists + kPlaylistsPerTask - 1) / kPlaylistsPerTask;
  parallel_for(threads, tasks, [&](std::size_t t) {
    const std::size_t end = std::min(playlists, (t + 1) * kPlaylistsPerTask);
    for (std::size_t i = t * kPlaylistsPerTask; i < end; ++i) fill(i);
  });
  return out;
}

}  // namespace playaug::detail
