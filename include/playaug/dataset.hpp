#pragma once
/// @file dataset.hpp
/// The in-memory playlist dataset and its feature schema.
///
/// A dataset is a sequence of playlists. Each playlist has an id, a list of mood-state
/// segments (each a list of mood ids) and a [songs x d] matrix of audio features. All
/// playlists are stored flat, so that an operation over every song is one pass over one
/// contiguous float32 array:
///
///     features        [total_songs x d], row-major, float32
///     song_offsets    [playlists + 1]; playlist p owns rows song_offsets[p] .. song_offsets[p+1]
///     segment_offsets [playlists + 1]; playlist p owns segments segment_offsets[p] .. [p+1]
///     mood_offsets    [total_segments + 1]; segment s holds moods mood_offsets[s] .. [s+1]
///     moods           [total_moods], int32
///
/// A playlist whose features cell was `[null]` is kept, with zero songs, and flagged in
/// `null_features`, so that writing the dataset back reproduces the `[null]`.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "playaug/buffer.hpp"
#include "playaug/view.hpp"

namespace playaug {

/// What values a feature takes; drives schema-aware augmentation and synthetic data.
enum class feature_kind : std::uint8_t {
  unit_interval,  ///< a real number in [0, 1]
  categorical,    ///< an integer code (Spotify's key: -1..11)
  binary,         ///< 0 or 1 (Spotify's mode)
  decibels,       ///< loudness in dB, typically -60..0
  tempo,          ///< beats per minute, > 0
  continuous,     ///< any real number
};

/// A feature's name, kind and valid range [lo, hi] (infinite where unbounded).
struct feature_spec {
  std::string name;
  feature_kind kind = feature_kind::continuous;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};

/// The names and kinds of the d feature columns.
class feature_schema {
 public:
  feature_schema() = default;
  explicit feature_schema(std::vector<feature_spec> specs) : specs_(std::move(specs)) {}

  /// The 11 Spotify audio features in the notebook's order: acousticness, danceability,
  /// energy, instrumentalness, key, liveness, loudness, mode, speechiness, tempo, valence.
  static feature_schema spotify();
  /// d continuous features named f0 .. f{d-1}.
  static feature_schema generic(std::size_t d);
  /// spotify() when d == 11, generic(d) otherwise.
  static feature_schema for_dim(std::size_t d);

  std::size_t dim() const noexcept { return specs_.size(); }
  const feature_spec& operator[](std::size_t i) const { return specs_[i]; }
  const std::vector<feature_spec>& specs() const noexcept { return specs_; }
  std::vector<std::string> names() const;
  /// Index of the feature called `name`, or -1.
  int find(const std::string& name) const noexcept;

  friend bool operator==(const feature_schema& a, const feature_schema& b) noexcept;

 private:
  std::vector<feature_spec> specs_;
};

/// Index of each Spotify feature in the 11-column layout.
namespace spotify {
/// Column indices.
enum : int {
  acousticness = 0,
  danceability = 1,
  energy = 2,
  instrumentalness = 3,
  key = 4,
  liveness = 5,
  loudness = 6,
  mode = 7,
  speechiness = 8,
  tempo = 9,
  valence = 10,
  n_features = 11,
};
}  // namespace spotify

/// A playlist dataset stored flat (see the file comment for the layout).
struct dataset {
  std::size_t dim = 0;                        ///< d, features per song (0 when unknown)
  std::vector<std::string> ids;               ///< [playlists]
  std::vector<std::uint8_t> null_features;    ///< [playlists], 1 where features were [null]
  std::vector<std::uint64_t> song_offsets{0};     ///< [playlists + 1]
  buffer<float> features;                     ///< [songs x dim], row-major
  std::vector<std::uint64_t> segment_offsets{0};  ///< [playlists + 1]
  std::vector<std::uint64_t> mood_offsets{0};     ///< [segments + 1]
  std::vector<std::int32_t> moods;            ///< [total moods]
  /// Optional per-song track ids (the `track_ids` column written by requery); either
  /// empty or [songs].
  std::vector<std::string> track_ids;
  feature_schema schema;                      ///< schema.dim() == dim

  std::size_t playlists() const noexcept { return ids.size(); }
  std::size_t songs() const noexcept { return song_offsets.back(); }
  std::size_t segments() const noexcept { return segment_offsets.back(); }
  std::size_t song_count(std::size_t p) const noexcept {
    return song_offsets[p + 1] - song_offsets[p];
  }
  bool is_null(std::size_t p) const noexcept { return null_features[p] != 0; }
  std::size_t null_playlists() const noexcept;

  /// The whole [songs x dim] feature matrix.
  matrix_view<float> feature_matrix() noexcept { return {features.data(), songs(), dim}; }
  matrix_view<const float> feature_matrix() const noexcept { return {features.data(), songs(), dim}; }
  /// The [song_count(p) x dim] features of playlist p.
  matrix_view<const float> playlist_features(std::size_t p) const noexcept {
    return {features.data() + song_offsets[p] * dim, song_count(p), dim};
  }

  /// Append a playlist. `features` holds n_songs * dim values; `segments` its mood
  /// segments. Pass is_null for a `[null]` playlist (then n_songs must be 0).
  void add_playlist(const std::string& id, const std::vector<std::vector<std::int32_t>>& segments,
                    const float* feats, std::size_t n_songs, bool is_null = false);

  /// Check every invariant of the layout; throws playaug::error naming the first broken one.
  void validate() const;

  friend bool operator==(const dataset& a, const dataset& b) noexcept;
};

}  // namespace playaug
