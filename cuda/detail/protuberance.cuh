#pragma once
// The ragged copy-and-protuberance pass (cuda/protuberance.cu), shared by protuberance and
// augment.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "detail/state.cuh"
#include "playaug/protuberance.hpp"
#include "playaug/random.hpp"

namespace playaug::detail {

/// How each thread finds its playlist: per playlist p, G_p = ceil(songs_p * d / 4) groups
/// of four words (one Philox block each); `groups` are their exclusive prefix sums
/// ([P + 1], groups[P] the total) and `warp_first` the playlist of the first group of each
/// warp's range of kGroupsPerWarp groups. Built once per (offsets, d).
struct ragged_groups {
  device_buffer<std::uint64_t> groups;      ///< [P + 1]
  device_buffer<std::uint64_t> warp_first;  ///< [warps]
  std::uint64_t playlists = 0;
  std::uint64_t warps = 0;                  ///< an upper bound on the warps needed
};

/// Build the group index of playlists with song offsets `song_offsets` ([P + 1], device
/// memory, song_offsets[0] == 0) over `songs` rows of d features. Stream-ordered; needs no
/// host copy of the offsets (launch sizes use the bound songs * d / 4 + P groups).
ragged_groups make_ragged_groups(const std::uint64_t* song_offsets, std::uint64_t playlists,
                                 std::uint64_t songs, std::size_t d, cudaStream_t stream);

/// Feature rules in device memory: rule [d] (uint8), then lo [d], hi [d] (float).
struct device_rules {
  device_buffer<unsigned char> buf;
  const unsigned char* rule = nullptr;
  const float* lo = nullptr;
  const float* hi = nullptr;
  bool all_keep = true;
  device_rules(const feature_rules& rules, cudaStream_t stream);
};

/// One pass over every word of every playlist: for playlist p (songs n_p from src row
/// s_p = song_offsets[p]), write its songs, reversed when rev && rev[p], to dst rows
/// dst_a * s_p + dst_b * n_p onward, and when `protuberate` apply the protuberance of
/// copy `copy` (playlist index first_playlist + p, word = position in the output).
/// In place (src == dst) is allowed without reversal.
struct gather_args {
  const float* src = nullptr;
  float* dst = nullptr;
  const std::uint64_t* song_offsets = nullptr;
  const unsigned char* rev = nullptr;  ///< [P] or null (no reversal)
  std::uint64_t dst_a = 1, dst_b = 0;
  bool protuberate = false;
  float p = 0.0f, phi = 0.0f;
  std::uint64_t seed = 0;
  purpose stream = purpose::protuberance;
  std::uint32_t copy = 0;
  std::uint64_t first_playlist = 0;
};
void gather_protuberate(const ragged_groups& rg, const device_rules& rules, std::size_t d, const gather_args& a,
                        cudaStream_t stream);

}  // namespace playaug::detail
