// augment on the GPU. The features are uploaded once; each output row-slot (the original,
// then copies 1..K) is one ragged pass that gathers each playlist's songs, reversed where
// reverse_decision says so (decided on the device), into its place in the output and
// applies the protuberance of that copy, so every output value is written once. The
// output is downloaded once. Ids, mood segments and track ids are tiny and assembled on
// the host by plan_augment (host/augment_plan.hpp), which the CPU engine uses too.
//
// Output layout: input playlist i with n_i songs starting at song s_i owns output songs
// from per_playlist * s_i, slot r (0 .. per_playlist - 1) at per_playlist * s_i + r * n_i
// (a [null] playlist has no songs, so it takes no space whatever its single row).

#include <cstdint>
#include <string>
#include <vector>

#include "detail/augment_plan.hpp"
#include "cuda_impl.hpp"
#include "detail/common.cuh"
#include "detail/protuberance.cuh"
#include "detail/reverse.cuh"

namespace playaug::cuda_impl {

dataset augment(const resources& res, const dataset& in, const augment_params& prm, std::uint64_t first_playlist) {
  const std::size_t playlists = in.playlists();
  const std::size_t d = in.dim;
  // Everything but the feature values, exactly as the CPU engine lays it out.
  detail::augment_plan plan;
  dataset out = detail::plan_augment(in, prm, first_playlist, res.threads(), plan);
  const std::size_t per_playlist = plan.per_playlist;

  // --- the features, on the device ----------------------------------------------------------
  const std::size_t in_values = in.songs() * d;
  if (in_values == 0 || per_playlist == 0 || playlists == 0) return out;
  const cudaStream_t stream = detail::state_of(res).stream;
  const detail::device_input<float> src(in.features.data(), in_values, memory_space::host, stream);
  const detail::device_input<std::uint64_t> so(in.song_offsets.data(), playlists + 1, memory_space::host, stream);
  detail::device_buffer<float> dst(out.features.size(), stream);
  const detail::ragged_groups rg = detail::make_ragged_groups(so.get(), playlists, in.songs(), d, stream);
  const detail::device_rules rules(make_feature_rules(in.schema, prm.raw), stream);
  detail::device_buffer<unsigned char> flags(playlists, stream);

  for (std::size_t slot = 0; slot < per_playlist; ++slot) {
    const auto k = static_cast<std::uint32_t>(prm.keep_original ? slot : slot + 1);
    detail::gather_args a;
    a.src = src.get();
    a.dst = dst.data();
    a.song_offsets = so.get();
    a.dst_a = per_playlist;
    a.dst_b = slot;
    if (k > 0) {
      detail::reverse_flags(flags.data(), playlists, prm.seed, k, first_playlist, prm.reverse, stream);
      a.rev = flags.data();
      a.protuberate = true;
      a.p = prm.protuberance;
      a.phi = prm.phi;
      a.seed = prm.seed;
      a.stream = purpose::protuberance;
      a.copy = k;
      a.first_playlist = first_playlist;
    }
    detail::gather_protuberate(rg, rules, d, a, stream);
  }
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(out.features.data(), dst.data(), out.features.size() * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream));
  PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace playaug::cuda_impl
