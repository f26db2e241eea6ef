#include "playaug/summary.hpp"

#include <algorithm>

#include "detail/expects.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug {

void summary_builder::add(const dataset& chunk) {
  s_.playlists += chunk.playlists();
  s_.segments += chunk.segments();
  for (std::size_t p = 0; p < chunk.playlists(); ++p) {
    if (chunk.song_count(p) == 0) ++s_.empty_playlists;
  }
  const std::size_t n = chunk.songs();
  if (n == 0) return;
  const std::size_t d = chunk.dim;
  if (s_.songs == 0) {
    s_.dim = d;
    s_.feature_names = chunk.schema.dim() == d ? chunk.schema.names() : feature_schema::for_dim(d).names();
    s_.min.assign(chunk.features.data(), chunk.features.data() + d);
    s_.max = s_.min;
    sum_.assign(d, 0.0);
  } else {
    detail::expect_shape("summary", {"a chunk", d, "features"}, {"earlier ones", s_.dim, "features"});
  }
  const float* x = chunk.features.data();
  for (std::size_t i = 0; i < n; ++i, x += d) {
    for (std::size_t j = 0; j < d; ++j) {
      s_.min[j] = std::min(s_.min[j], x[j]);
      s_.max[j] = std::max(s_.max[j], x[j]);
      sum_[j] += static_cast<double>(x[j]);
    }
  }
  s_.songs += n;
}

dataset_summary summary_builder::result() const {
  dataset_summary out = s_;
  if (out.songs != 0) {
    out.mean.resize(out.dim);
    for (std::size_t j = 0; j < out.dim; ++j) out.mean[j] = sum_[j] / static_cast<double>(out.songs);
  }
  return out;
}

dataset_summary summarize(const dataset& ds) {
  summary_builder b;
  b.add(ds);
  return b.result();
}

dataset_summary summarize_csv(const std::string& path, const reader_options& options) {
  const auto reader = open_dataset_reader(path, options);
  summary_builder b;
  dataset chunk;
  while (reader->next(chunk)) b.add(chunk);
  return b.result();
}

}  // namespace playaug
