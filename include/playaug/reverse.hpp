#pragma once
/// @file reverse.hpp
/// Reversal: a playlist copy is reversed with probability r, meaning the order of its mood
/// segments and the order of its songs are both reversed; the contents of each segment
/// (and of each song's feature vector) stay as they are.
///
/// The decision for (seed, copy, playlist) is word 0 of the stream
/// (purpose::reverse, copy, playlist): reverse iff uniform01(word) <= r.

#include <cstddef>
#include <cstdint>

#include "playaug/dataset.hpp"
#include "playaug/random.hpp"
#include "playaug/resources.hpp"
#include "playaug/view.hpp"

namespace playaug {

/// Whether copy `copy` of playlist `playlist` is reversed, for probability `r` (0..1).
PLAYAUG_HD bool reverse_decision(std::uint64_t seed, std::uint32_t copy, std::uint64_t playlist,
                                 float r) {
  const std::uint32_t w = philox_word(
      seed, stream_subsequence(purpose::reverse, copy, static_cast<std::uint32_t>(playlist)), 0);
  return uniform01(w) <= r;
}

/// Reverse, in place, the songs and mood segments of playlist p of a host dataset (and its
/// track ids when present).
void reverse_playlist(dataset& ds, std::size_t p);

/// Ragged playlists in one memory space (host or device): the flat layout of `dataset`.
struct playlists_view {
  matrix_view<float> features;                 ///< [songs x d]
  vector_view<const std::uint64_t> song_offsets;     ///< [P + 1]
  vector_view<const std::uint64_t> segment_offsets;  ///< [P + 1]
  vector_view<std::uint64_t> mood_offsets;     ///< [segments + 1]
  vector_view<std::int32_t> moods;             ///< [total moods]
};

/// Reverse every playlist p with flags[p] != 0: songs in `pl.features` and segments in
/// `pl.mood_offsets`/`pl.moods`, in place. Host or device memory (flags in the same space).
/// @note CUDA: stream-ordered on res.stream(); no data leaves the device.
void reverse_playlists(const resources& res, const playlists_view& pl,
                       vector_view<const std::uint8_t> flags);

}  // namespace playaug
