#pragma once
/// @file synth.hpp
/// Synthetic playlist datasets that look like real Spotify data.
///
/// Each playlist has 2 or 3 mood segments of 1 to 3 distinct mood ids in 0..28 (two
/// consecutive segments never hold the same moods), and
/// `min_songs..max_songs` songs with the 11 Spotify audio features of
/// feature_schema::spotify(). The songs are split into contiguous runs, one per segment,
/// and each run's features follow its segment's moods, so that a model can learn the
/// relation between mood transitions and audio features:
///
/// - every mood id sits at a fixed angle on Russell's valence/arousal circle; a segment's
///   position is the mean of its moods' positions;
/// - a playlist has a style (from electronic/pop to acoustic) and a tempo centre shared by
///   all its songs;
/// - energy rises with the segment's arousal and falls with the playlist's acoustic style;
///   loudness rises with energy (-4 dB for the loudest tracks, -20 dB and below for the
///   quietest); acousticness falls with energy; valence follows the segment's valence and
///   energy; danceability follows valence and peaks at moderate tempi; instrumentalness is
///   near zero (below 1e-3, often exactly 0) for most tracks and high for a minority;
///   liveness and speechiness are log-normal and small; key is an integer 0..11 with
///   Spotify's catalogue frequencies; mode is 0 or 1, major more often and more so for
///   positive moods; tempo is a BPM in 60..200.
/// - values carry the precision of Spotify's API: 3 significant digits for the
///   unit-interval features, 3 decimals for loudness and tempo.
///
/// Determinism: every number of playlist p is drawn from the Philox stream
/// `stream_subsequence(purpose::synth, 0, p)` under `seed` (random.hpp), at fixed word
/// offsets: words 0..31 decide the playlist (emptiness, song and segment counts, moods,
/// style), and song s uses words 32 + 16 s .. 32 + 16 s + 15. So playlist p is the same
/// whichever range, chunking or thread count produced it, and a dataset generated in
/// pieces concatenates to the dataset generated at once.

#include <cstddef>
#include <cstdint>
#include <string>

#include "playaug/dataset.hpp"
#include "playaug/resources.hpp"

namespace playaug {

/// What to generate.
struct synth_params {
  std::uint64_t playlists = 1000;  ///< number of playlists (ids syn000001, syn000002, ...)
  std::uint32_t min_songs = 4;     ///< fewest songs per non-empty playlist (>= 1)
  std::uint32_t max_songs = 20;    ///< most songs per playlist (>= min_songs, <= 100000)
  std::uint64_t seed = 0;          ///< Philox key; the same seed gives the same bytes
  /// Probability in [0, 1] that a playlist is `[null]` (no songs, moods kept), as some
  /// real exports contain. 0 by default.
  double empty_fraction = 0.0;
};

/// Throw usage_error unless `params` is valid (see the field comments; playlist indices
/// must fit in 32 bits).
void validate(const synth_params& params);

/// The id of playlist index p (0-based): "syn" followed by p + 1, zero-padded to 6 digits.
std::string synth_playlist_id(std::uint64_t p);

/// Generate playlists [first_playlist, first_playlist + count) of the dataset described by
/// `params` (count is clamped to params.playlists). Uses res.threads() CPU threads; the
/// result does not depend on the thread count. The dataset has dim 11 and the Spotify
/// schema. Throws usage_error for invalid parameters.
dataset synthesize(const resources& res, const synth_params& params, std::uint64_t first_playlist,
                   std::uint64_t count);

/// The whole dataset: synthesize(res, params, 0, params.playlists).
dataset synthesize(const resources& res, const synth_params& params);

/// What write_synthetic_csv() wrote.
struct synth_stats {
  std::uint64_t playlists = 0;
  std::uint64_t empty_playlists = 0;
  std::uint64_t songs = 0;
};

/// Generate the dataset of `params` and write it as CSV (io.hpp format) to `path`,
/// chunk by chunk, so memory stays bounded by a few chunks however many playlists are
/// asked for. Generation of the next chunk overlaps the writing of the current one. The
/// file appears only when complete (atomic_file). The bytes depend only on `params`.
synth_stats write_synthetic_csv(const resources& res, const synth_params& params, const std::string& path);

}  // namespace playaug
