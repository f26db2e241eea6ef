#include "playaug/dataset.hpp"

#include <algorithm>
#include <cstring>

#include "detail/expects.hpp"
#include "playaug/error.hpp"

namespace playaug {

feature_schema feature_schema::spotify() {
  using k = feature_kind;
  return feature_schema({
      {"acousticness", k::unit_interval, 0.0, 1.0},
      {"danceability", k::unit_interval, 0.0, 1.0},
      {"energy", k::unit_interval, 0.0, 1.0},
      {"instrumentalness", k::unit_interval, 0.0, 1.0},
      {"key", k::categorical, -1.0, 11.0},
      {"liveness", k::unit_interval, 0.0, 1.0},
      {"loudness", k::decibels, -60.0, 0.0},
      {"mode", k::binary, 0.0, 1.0},
      {"speechiness", k::unit_interval, 0.0, 1.0},
      {"tempo", k::tempo, 0.0, std::numeric_limits<double>::infinity()},
      {"valence", k::unit_interval, 0.0, 1.0},
  });
}

feature_schema feature_schema::generic(std::size_t d) {
  std::vector<feature_spec> specs(d);
  for (std::size_t i = 0; i < d; ++i) specs[i].name = "f" + std::to_string(i);
  return feature_schema(std::move(specs));
}

feature_schema feature_schema::for_dim(std::size_t d) {
  return d == spotify::n_features ? spotify() : generic(d);
}

std::vector<std::string> feature_schema::names() const {
  std::vector<std::string> out;
  out.reserve(specs_.size());
  for (const auto& s : specs_) out.push_back(s.name);
  return out;
}

int feature_schema::find(const std::string& name) const noexcept {
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool operator==(const feature_schema& a, const feature_schema& b) noexcept {
  if (a.specs_.size() != b.specs_.size()) return false;
  for (std::size_t i = 0; i < a.specs_.size(); ++i) {
    const auto& x = a.specs_[i];
    const auto& y = b.specs_[i];
    if (x.name != y.name || x.kind != y.kind || x.lo != y.lo || x.hi != y.hi) return false;
  }
  return true;
}

std::size_t dataset::null_playlists() const noexcept {
  return static_cast<std::size_t>(std::count(null_features.begin(), null_features.end(), 1));
}

void dataset::add_playlist(const std::string& id, const std::vector<std::vector<std::int32_t>>& segments,
                           const float* feats, std::size_t n_songs, bool is_null) {
  detail::expects(!is_null || n_songs == 0, "dataset::add_playlist", "a [null] playlist cannot have songs");
  ids.push_back(id);
  null_features.push_back(is_null ? 1 : 0);
  features.append(feats, feats + n_songs * dim);
  song_offsets.push_back(song_offsets.back() + n_songs);
  for (const auto& seg : segments) {
    moods.insert(moods.end(), seg.begin(), seg.end());
    mood_offsets.push_back(moods.size());
  }
  segment_offsets.push_back(segment_offsets.back() + segments.size());
}

void dataset::validate() const {
  const std::size_t p = ids.size();
  auto fail = [](const std::string& what) { throw error("invalid dataset: " + what); };
  if (null_features.size() != p) fail("null_features has " + std::to_string(null_features.size()) + " entries for " + std::to_string(p) + " playlists");
  if (song_offsets.size() != p + 1 || song_offsets.front() != 0) fail("song_offsets must have playlists + 1 entries starting at 0");
  if (segment_offsets.size() != p + 1 || segment_offsets.front() != 0) fail("segment_offsets must have playlists + 1 entries starting at 0");
  if (!std::is_sorted(song_offsets.begin(), song_offsets.end())) fail("song_offsets must be non-decreasing");
  if (!std::is_sorted(segment_offsets.begin(), segment_offsets.end())) fail("segment_offsets must be non-decreasing");
  if (mood_offsets.size() != segment_offsets.back() + 1 || mood_offsets.front() != 0) fail("mood_offsets must have segments + 1 entries starting at 0");
  if (!std::is_sorted(mood_offsets.begin(), mood_offsets.end()) || mood_offsets.back() != moods.size()) fail("mood_offsets must be non-decreasing and end at moods.size()");
  if (features.size() != songs() * dim) fail("features has " + std::to_string(features.size()) + " values, expected songs x dim = " + std::to_string(songs() * dim));
  if (schema.dim() != dim) fail("schema has " + std::to_string(schema.dim()) + " features, dim is " + std::to_string(dim));
  if (!track_ids.empty() && track_ids.size() != songs()) fail("track_ids must be empty or one per song");
  for (std::size_t i = 0; i < p; ++i) {
    if (null_features[i] != 0 && song_count(i) != 0) fail("playlist " + ids[i] + " is [null] but has songs");
  }
}

bool operator==(const dataset& a, const dataset& b) noexcept {
  return a.dim == b.dim && a.ids == b.ids && a.null_features == b.null_features &&
         a.song_offsets == b.song_offsets && a.features == b.features &&
         a.segment_offsets == b.segment_offsets && a.mood_offsets == b.mood_offsets &&
         a.moods == b.moods && a.track_ids == b.track_ids && a.schema == b.schema;
}

}  // namespace playaug
