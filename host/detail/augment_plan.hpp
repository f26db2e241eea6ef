#pragma once
// The layout of augment's output, shared by the CPU and CUDA engines: which output rows
// each input playlist owns, which copy each row is, which copies are reversed, and every
// part of the output dataset except the feature values (ids, [null] flags, offsets, mood
// segments, track ids). The engines then only write the features.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "playaug/augment.hpp"
#include "playaug/dataset.hpp"

namespace playaug::detail {

struct augment_plan {
  /// Output rows of a non-[null] input playlist: the original (unless dropped) + K copies.
  std::size_t per_playlist = 0;
  /// [playlists + 1]: input playlist i owns output rows out_first[i] .. out_first[i + 1].
  std::vector<std::size_t> out_first;
  /// [output rows]: the copy index of each row (0 for an original or a [null] pass-through).
  std::vector<std::uint32_t> copy;
  /// [output rows]: 1 where the row's songs and segments are reversed.
  std::vector<std::uint8_t> reversed;
};

/// Plan augment(in, prm) and build the output dataset with everything but the feature
/// values (`features` is sized, not written). Work is split over `threads` threads; the
/// result does not depend on their number.
dataset plan_augment(const dataset& in, const augment_params& prm, std::uint64_t first_playlist,
                     int threads, augment_plan& plan);

}  // namespace playaug::detail
