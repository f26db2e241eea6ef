#pragma once
/// @file catalog.hpp
/// A track catalog (track ids, optional genres, the 11 Spotify audio features), read from
/// CSV, and its index for the exact nearest-neighbour search of nearest.hpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "playaug/buffer.hpp"
#include "playaug/nearest.hpp"
#include "playaug/view.hpp"

namespace playaug {

/// Tracks with their 11 audio features in the notebook's order (dataset.hpp, namespace
/// spotify): acousticness, danceability, energy, instrumentalness, key, liveness,
/// loudness, mode, speechiness, tempo, valence.
struct track_catalog {
  std::string name;                 ///< where it was read from (for messages)
  std::vector<std::string> ids;     ///< [tracks] track ids; the same id may appear twice
  std::vector<std::string> genres;  ///< [tracks], or empty when the file has no genre column
  buffer<float> features;           ///< [tracks x 11], row-major
  std::vector<std::uint64_t> lines; ///< [tracks] 1-based line where each record starts

  std::size_t size() const noexcept { return ids.size(); }
  bool has_genres() const noexcept { return !genres.empty(); }
  matrix_view<const float> feature_matrix() const noexcept { return {features.data(), ids.size(), 11}; }
};

/// Read a catalog CSV by its header. Required: a track id column (`track_id`, else `id`)
/// and the 11 feature columns by name; optional: a genre column (`track_genre`, else
/// `genre`); other columns are ignored, in any order. RFC 4180 quoting (quoted commas,
/// doubled quotes, quoted newlines), CRLF, a UTF-8 byte-order mark and a missing final
/// newline are accepted. Every feature must be a finite number within float range.
/// Problems raise data_error naming the file and the 1-based line of the record. A catalog
/// without tracks is an error.
track_catalog read_catalog(const std::string& path);
/// The same for CSV text in memory; `name` is used in messages.
track_catalog parse_catalog(std::string_view text, const std::string& name = "<memory>");

/// A catalog ready for search, optionally restricted to some genres.
class catalog_index {
 public:
  /// Standardise `cat` with its own statistics (over all its tracks) and keep the rows
  /// whose genre is one of `genres` (all rows when `genres` is empty). Throws usage_error
  /// when genres are asked of a catalog without a genre column, or when no track matches.
  explicit catalog_index(const track_catalog& cat, const std::vector<std::string>& genres = {});

  /// Candidate rows (after the genre filter).
  std::size_t size() const noexcept { return rows_.size(); }
  /// Catalog row of candidate i (increasing in i).
  std::size_t catalog_row(std::size_t i) const noexcept { return rows_[i]; }
  /// Dense number of candidate i's track id: equal ids, equal numbers.
  std::uint32_t track_key(std::size_t i) const noexcept { return keys_[i]; }
  /// Distinct track ids among the candidates.
  std::size_t distinct_tracks() const noexcept { return distinct_; }
  const nn_scaler& scaler() const noexcept { return scaler_; }
  /// [size() x nn_stride] prepared candidate rows, host memory.
  matrix_view<const float> prepared() const noexcept { return {prepared_.data(), rows_.size(), nn_stride}; }

 private:
  nn_scaler scaler_;
  std::vector<std::size_t> rows_;
  std::vector<std::uint32_t> keys_;
  std::size_t distinct_ = 0;
  buffer<float> prepared_;
};

}  // namespace playaug
