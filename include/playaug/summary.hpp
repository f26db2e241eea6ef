#pragma once
/// @file summary.hpp
/// Counts and per-feature minimum, mean and maximum of a playlist dataset, computed in
/// one streaming pass so that a file of any size is summarised in bounded memory.
///
/// Means are accumulated in float64, song by song in file order, so the result is the
/// same on every run. Minimum and maximum are the exact float32 values of the data.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "playaug/dataset.hpp"
#include "playaug/io.hpp"  // reader_options

namespace playaug {

/// What summarize() reports.
struct dataset_summary {
  std::uint64_t playlists = 0;        ///< every playlist, those without songs included
  std::uint64_t empty_playlists = 0;  ///< playlists without songs (`[null]` or `[]`)
  std::uint64_t songs = 0;
  std::uint64_t segments = 0;         ///< mood segments over all playlists
  std::size_t dim = 0;                ///< features per song (0 when there is no song)
  std::vector<std::string> feature_names;  ///< [dim]
  std::vector<float> min;             ///< [dim]; empty when songs == 0
  std::vector<double> mean;           ///< [dim]; empty when songs == 0
  std::vector<float> max;             ///< [dim]; empty when songs == 0
};

/// Accumulates a summary over datasets fed in order (for example the chunks of a
/// csv_reader). Every chunk with songs must have the same dim (usage_error otherwise).
class summary_builder {
 public:
  void add(const dataset& chunk);
  /// The summary of everything added so far.
  dataset_summary result() const;

 private:
  dataset_summary s_;
  std::vector<double> sum_;
};

/// The summary of an in-memory dataset.
dataset_summary summarize(const dataset& ds);

/// The summary of a dataset file (io.hpp format), read chunk by chunk through
/// open_dataset_reader. Throws data_error for malformed input.
dataset_summary summarize_csv(const std::string& path, const reader_options& options = {});

}  // namespace playaug
