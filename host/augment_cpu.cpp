// The CPU half of augment: the plan (detail/augment_plan.hpp) fixes the layout, then every
// input playlist's output rows are copied, reversed where the plan says so, and
// protuberated, in parallel over groups of playlists.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu_impl.hpp"
#include "detail/augment_plan.hpp"
#include "detail/parallel.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/random.hpp"

namespace playaug {

namespace {

// Output feature values per parallel task.
constexpr std::size_t kValuesPerTask = std::size_t{1} << 16;

}  // namespace

namespace cpu_impl {

dataset augment(const resources& res, const dataset& in, const augment_params& prm,
                std::uint64_t first_playlist) {
  detail::augment_plan plan;
  dataset out = detail::plan_augment(in, prm, first_playlist, res.threads(), plan);
  const std::size_t playlists = in.playlists();
  const std::size_t d = in.dim;

  protuberance_params pp;
  pp.p = prm.protuberance;
  pp.phi = prm.phi;
  pp.raw = prm.raw;
  pp.seed = prm.seed;
  pp.stream = purpose::protuberance;
  const protuberance_kernel protuberate_copy(make_feature_rules(in.schema, prm.raw), pp);

  // The features of every output row of input playlist i: its songs in order or reversed,
  // then the copy's protuberance. Rows of different inputs are disjoint, and each value
  // depends only on its address, so any schedule gives the same bytes.
  auto emit = [&](std::size_t i) {
    const std::size_t n = in.song_count(i);
    const float* src = in.features.data() + in.song_offsets[i] * d;
    const auto playlist = static_cast<std::uint32_t>(first_playlist + i);
    for (std::size_t o = plan.out_first[i]; o < plan.out_first[i + 1]; ++o) {
      float* dst = out.features.data() + out.song_offsets[o] * d;
      if (plan.reversed[o] == 0) {
        if (n * d != 0) std::memcpy(dst, src, n * d * sizeof(float));
      } else {
        for (std::size_t s = 0; s < n; ++s) std::memcpy(dst + s * d, src + (n - 1 - s) * d, d * sizeof(float));
      }
      const std::uint32_t k = plan.copy[o];
      if (k > 0) protuberate_copy(dst, n, stream_subsequence(purpose::protuberance, k, playlist));
    }
  };

  // Group consecutive input playlists into tasks of about kValuesPerTask output values.
  std::vector<std::size_t> bounds{0};
  std::size_t values = 0;
  for (std::size_t i = 0; i < playlists; ++i) {
    values += (plan.out_first[i + 1] - plan.out_first[i]) * in.song_count(i) * d + 1;
    if (values >= kValuesPerTask) {
      bounds.push_back(i + 1);
      values = 0;
    }
  }
  if (bounds.back() != playlists) bounds.push_back(playlists);
  detail::parallel_for(res.threads(), bounds.size() - 1, [&](std::size_t t) {
    for (std::size_t i = bounds[t]; i < bounds[t + 1]; ++i) emit(i);
  });
  return out;
}

}  // namespace cpu_impl

}  // namespace playaug
