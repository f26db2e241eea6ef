// augment on the GPU. The features are uploaded once; each output row-slot (the original,
// then copies 1..K) is one ragged pass that gathers each playlist's songs, reversed where
// reverse_decision says so (decided on the device), into its place in the output and
// applies the protuberance of that copy, so every output value is written once. The
// output is downloaded once. Ids, mood segments and track ids are tiny and assembled on
// the host exactly as the CPU engine does (the same reverse_decision decides them).
//
// Output layout: input playlist i with n_i songs starting at song s_i owns output songs
// from per_playlist * s_i, slot r (0 .. per_playlist - 1) at per_playlist * s_i + r * n_i
// (a [null] playlist has no songs, so it takes no space whatever its single row).

#include <cstdint>
#include <string>
#include <vector>

#include "cuda_impl.hpp"
#include "detail/common.cuh"
#include "detail/protuberance.cuh"

namespace playaug::cuda_impl {

dataset augment(const resources& res, const dataset& in, const augment_params& prm, std::uint64_t first_playlist) {
  const std::size_t playlists = in.playlists();
  const std::size_t d = in.dim;
  const std::size_t per_playlist = (prm.keep_original ? 1u : 0u) + prm.copies;
  const bool with_tracks = !in.track_ids.empty();

  // --- the layout and the host-side parts, as cpu_impl::augment builds them --------------
  std::vector<std::size_t> out_first(playlists + 1);
  std::vector<std::uint64_t> moods_first(playlists);
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

  for (std::size_t i = 0; i < playlists; ++i) {
    const std::size_t n = in.song_count(i);
    const std::size_t src_song = in.song_offsets[i];
    const std::size_t g0 = in.segment_offsets[i], g1 = in.segment_offsets[i + 1];
    const std::uint64_t moods = in.mood_offsets[g1] - in.mood_offsets[g0];
    const auto playlist = static_cast<std::uint32_t>(first_playlist + i);
    for (std::size_t o = out_first[i]; o < out_first[i + 1]; ++o) {
      const std::size_t row = o - out_first[i];
      const std::uint32_t k = in.is_null(i) ? 0u : static_cast<std::uint32_t>(prm.keep_original ? row : row + 1);
      out.ids[o] = k == 0 ? in.ids[i] : in.ids[i] + "#aug" + std::to_string(k);
      out.null_features[o] = in.null_features[i];
      const bool rev = k > 0 && reverse_decision(prm.seed, k, playlist, prm.reverse);
      const std::size_t dst_song = out.song_offsets[o];
      if (with_tracks) {
        for (std::size_t s = 0; s < n; ++s) {
          out.track_ids[dst_song + s] = in.track_ids[src_song + (rev ? n - 1 - s : s)];
        }
      }
      const std::size_t h0 = out.segment_offsets[o];
      std::uint64_t m = moods_first[i] + row * moods;
      for (std::size_t t = 0; t < g1 - g0; ++t) {
        const std::size_t g = rev ? g1 - 1 - t : g0 + t;
        const std::uint64_t a = in.mood_offsets[g], b = in.mood_offsets[g + 1];
        for (std::uint64_t q = a; q < b; ++q) out.moods[m + (q - a)] = in.moods[q];
        m += b - a;
        out.mood_offsets[h0 + t + 1] = m;
      }
    }
  }

  // --- the features, on the device ----------------------------------------------------------
  const std::size_t in_values = in.songs() * d;
  if (in_values == 0 || per_playlist == 0 || playlists == 0) return out;
  const cudaStream_t stream = detail::state_of(res).stream;
  const detail::device_input<float> src(in.features.data(), in_values, memory_space::host, stream);
  const detail::device_input<std::uint64_t> so(in.song_offsets.data(), playlists + 1, memory_space::host, stream);
  detail::device_buffer<float> dst(out.features.size(), stream);
  const detail::ragged_groups rg = detail::make_ragged_groups(so.get(), playlists, in.songs(), d, stream);
  const detail::device_rules rules(make_feature_rules(in.schema, prm.raw), stream);
  detail::device_buffer<unsigned char> flags(playlists, stream);

  for (std::size_t slot = 0; slot < per_playlist; ++slot) {
    const auto k = static_cast<std::uint32_t>(prm.keep_original ? slot : slot + 1);
    detail::gather_args a;
    a.src = src.get();
    a.dst = dst.data();
    a.song_offsets = so.get();
    a.dst_a = per_playlist;
    a.dst_b = slot;
    if (k > 0) {
      detail::reverse_flags(flags.data(), playlists, prm.seed, k, first_playlist, prm.reverse, stream);
      a.rev = flags.data();
      a.protuberate = true;
      a.p = prm.protuberance;
      a.phi = prm.phi;
      a.seed = prm.seed;
      a.stream = purpose::protuberance;
      a.copy = k;
      a.first_playlist = first_playlist;
    }
    detail::gather_protuberate(rg, rules, d, a, stream);
  }
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(out.features.data(), dst.data(), out.features.size() * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream));
  PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace playaug::cuda_impl
