// The search index of a track catalog (catalog.hpp): the genre filter, dense track keys
// and the prepared, standardised rows that nearest() searches.

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/error.hpp"

namespace playaug {

catalog_index::catalog_index(const track_catalog& cat, const std::vector<std::string>& genres) {
  if (cat.size() == 0) throw usage_error("catalog " + cat.name + " holds no tracks");
  if (cat.features.size() != cat.size() * nn_dim) {
    throw usage_error("catalog " + cat.name + ": features hold " + std::to_string(cat.features.size()) +
                      " values for " + std::to_string(cat.size()) + " tracks");
  }
  if (cat.size() >= (std::size_t{1} << 31)) {
    throw usage_error("catalog " + cat.name + " holds more than 2^31 - 1 tracks");
  }
  scaler_ = nn_scaler::fit(cat.feature_matrix());

  if (genres.empty()) {
    rows_.resize(cat.size());
    for (std::size_t i = 0; i < cat.size(); ++i) rows_[i] = i;
  } else {
    if (!cat.has_genres()) {
      throw usage_error("catalog " + cat.name + " has no genre column (track_genre or genre), so --genre cannot select tracks");
    }
    for (std::size_t i = 0; i < cat.size(); ++i) {
      if (std::find(genres.begin(), genres.end(), cat.genres[i]) != genres.end()) rows_.push_back(i);
    }
    for (const auto& g : genres) {
      if (std::find(cat.genres.begin(), cat.genres.end(), g) == cat.genres.end()) {
        throw usage_error("catalog " + cat.name + " has no track of genre '" + g + "'");
      }
    }
  }

  std::unordered_map<std::string, std::uint32_t> key_of;
  keys_.resize(rows_.size());
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    auto it = key_of.emplace(cat.ids[rows_[i]], static_cast<std::uint32_t>(key_of.size())).first;
    keys_[i] = it->second;
  }
  distinct_ = key_of.size();

  buffer<float> raw(rows_.size() * nn_dim);
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    std::memcpy(raw.data() + i * nn_dim, cat.features.data() + rows_[i] * nn_dim, nn_dim * sizeof(float));
  }
  prepared_.resize(rows_.size() * nn_stride);
  nn_prepare(scaler_, {raw.data(), rows_.size(), nn_dim}, {prepared_.data(), rows_.size(), nn_stride});
}

}  // namespace playaug
