#pragma once
/// @file augment.hpp
/// The augment operation: for each playlist, the original (unless keep_original is false)
/// followed by K augmented copies with ids `<id>#aug1` .. `<id>#augK`. For copy k of
/// playlist p, reversal is decided first (reverse.hpp, copy index k), then protuberance is
/// applied to the (possibly reversed) songs (protuberance.hpp, copy index k, song index =
/// position in the copy). `[null]` playlists are passed through once and never copied.
///
/// The result depends only on the input and the parameters: not on thread count, chunking
/// (pass first_playlist) or device.

#include <cstdint>

#include "playaug/dataset.hpp"
#include "playaug/resources.hpp"

namespace playaug {

/// The parameters of augment (the CLI options of the same names).
struct augment_params {
  std::uint32_t copies = 1;   ///< K >= 0
  float protuberance = 0.15f; ///< p, 0 <= p < 1
  float phi = 0.5f;           ///< 0 <= phi <= 1
  float reverse = 0.5f;       ///< r, 0 <= r <= 1
  std::uint64_t seed = 0;
  bool keep_original = true;
  bool raw = false;           ///< protuberance ignores the schema

  /// usage_error naming the first bad parameter; the message starts with its name
  /// ("phi must be in [0, 1], got 1.5").
  void validate() const;
};

/// Augment `in` (host memory). `first_playlist` is the index of in's first playlist in the
/// whole file, so that a file processed in chunks gives the same result as in one piece.
dataset augment(const resources& res, const dataset& in, const augment_params& prm,
                std::uint64_t first_playlist = 0);

}  // namespace playaug
