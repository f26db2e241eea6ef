// The CPU half of reversal: rows swapped in place, mood segments reversed by two passes of
// std::reverse, playlists grouped into parallel tasks.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "cpu_impl.hpp"
#include "detail/parallel.hpp"

namespace playaug {

namespace {

// Songs per parallel task.
constexpr std::size_t kSongsPerTask = std::size_t{1} << 13;

/// Reverse the order of the `songs` rows of x ([songs x d]) in place.
void reverse_rows(float* x, std::size_t songs, std::size_t d) {
  for (std::size_t i = 0, j = songs; i + 1 < j; ++i) {
    --j;
    std::swap_ranges(x + i * d, x + (i + 1) * d, x + j * d);
  }
}

/// Reverse the order of segments s0 .. s1 in place, keeping each segment's contents.
/// mood_offsets[s0] and mood_offsets[s1] do not change; the entries in between become
/// M0 + M1 - old[s0 + s1 - s] (the lengths in reverse order).
void reverse_segments(std::uint64_t* mood_offsets, std::int32_t* moods, std::size_t s0, std::size_t s1) {
  if (s1 - s0 < 2) return;
  const std::uint64_t m0 = mood_offsets[s0], m1 = mood_offsets[s1];
  for (std::size_t i = s0 + 1, j = s1 - 1; i <= j; ++i, --j) {
    const std::uint64_t oi = mood_offsets[i], oj = mood_offsets[j];
    mood_offsets[i] = m0 + m1 - oj;
    mood_offsets[j] = m0 + m1 - oi;
  }
  // Reversing the whole range reverses the segment order and each segment's contents;
  // reversing each segment again restores its contents.
  std::reverse(moods + m0, moods + m1);
  for (std::size_t s = s0; s < s1; ++s) std::reverse(moods + mood_offsets[s], moods + mood_offsets[s + 1]);
}

}  // namespace

namespace cpu_impl {

void reverse_playlist(dataset& ds, std::size_t p) {
  const std::size_t first = ds.song_offsets[p], n = ds.song_count(p);
  reverse_rows(ds.features.data() + first * ds.dim, n, ds.dim);
  if (!ds.track_ids.empty()) {
    std::reverse(ds.track_ids.begin() + static_cast<std::ptrdiff_t>(first),
                 ds.track_ids.begin() + static_cast<std::ptrdiff_t>(first + n));
  }
  reverse_segments(ds.mood_offsets.data(), ds.moods.data(), ds.segment_offsets[p], ds.segment_offsets[p + 1]);
}

void reverse_playlists(const resources& res, const playlists_view& pl,
                       vector_view<const std::uint8_t> flags) {
  const std::size_t playlists = flags.size;
  const std::size_t d = pl.features.cols;
  std::vector<std::size_t> bounds{0};
  std::size_t songs = 0;
  for (std::size_t i = 0; i < playlists; ++i) {
    songs += pl.song_offsets[i + 1] - pl.song_offsets[i] + 1;
    if (songs >= kSongsPerTask) {
      bounds.push_back(i + 1);
      songs = 0;
    }
  }
  if (bounds.back() != playlists) bounds.push_back(playlists);
  detail::parallel_for(res.threads(), bounds.size() - 1, [&](std::size_t t) {
    for (std::size_t i = bounds[t]; i < bounds[t + 1]; ++i) {
      if (flags[i] == 0) continue;
      const std::size_t first = pl.song_offsets[i];
      reverse_rows(pl.features.data + first * d, pl.song_offsets[i + 1] - first, d);
      reverse_segments(pl.mood_offsets.data, pl.moods.data, pl.segment_offsets[i], pl.segment_offsets[i + 1]);
    }
  });
}

}  // namespace cpu_impl

}  // namespace playaug
