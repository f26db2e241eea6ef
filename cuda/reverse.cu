// reverse_playlists on the GPU, in place, for playlists in device memory (host memory is
// staged): a GPU pipeline never round-trips through the host.
//
//   songs     one thread per swapped component: flagged playlist p contributes
//             floor(n_p / 2) * d swaps; a CUB scan of those counts maps a thread to its
//             playlist (binary search) and to the pair of rows i, n_p - 1 - i
//   segments  one thread per segment of a flagged playlist, reading a copy of the old
//             mood offsets and moods: old segment s of [s0, s1) becomes slot
//             s0 + s1 - 1 - s, starting at m0 + m1 - old[s + 1] (the CPU's formula)
//   flags     augment's per-copy decisions, reverse_decision() per playlist

#include <cstdint>
#include <string>

#include "cuda_impl.hpp"
#include "detail/common.cuh"
#include "detail/reverse.cuh"
#include "playaug/reverse.hpp"

namespace playaug {
namespace detail {
namespace {

__global__ void swap_counts_kernel(const std::uint64_t* __restrict__ so, const unsigned char* __restrict__ flags,
                                   std::uint64_t playlists, std::uint64_t d, std::uint64_t* __restrict__ counts) {
  const std::uint64_t p = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (p < playlists) counts[p] = flags[p] != 0 ? (so[p + 1] - so[p]) / 2 * d : 0;
  if (p == playlists) counts[p] = 0;
}

__global__ void swap_rows_kernel(float* __restrict__ x, const std::uint64_t* __restrict__ so,
                                 const std::uint64_t* __restrict__ items, std::uint64_t playlists, std::uint64_t d,
                                 std::uint64_t bound) {
  const std::uint64_t total = items[playlists];
  for (std::uint64_t t = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; t < bound && t < total;
       t += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t p = last_le(items, 0, playlists, t);
    const std::uint64_t l = t - items[p];
    const std::uint64_t i = l / d;
    const std::uint64_t f = l - i * d;
    const std::uint64_t s0 = so[p];
    const std::uint64_t n = so[p + 1] - s0;
    float* a = x + (s0 + i) * d + f;
    float* b = x + (s0 + n - 1 - i) * d + f;
    const float va = *a;
    *a = *b;
    *b = va;
  }
}

__global__ void reverse_segments_kernel(const std::uint64_t* __restrict__ seg_off,
                                        const unsigned char* __restrict__ flags, std::uint64_t playlists,
                                        std::uint64_t segments, const std::uint64_t* __restrict__ old_mo,
                                        const std::int32_t* __restrict__ old_moods, std::uint64_t* __restrict__ mo,
                                        std::int32_t* __restrict__ moods) {
  for (std::uint64_t s = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; s < segments;
       s += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t p = last_le(seg_off, 0, playlists, s);
    if (flags[p] == 0) continue;
    const std::uint64_t s0 = seg_off[p], s1 = seg_off[p + 1];
    const std::uint64_t m0 = old_mo[s0], m1 = old_mo[s1];
    const std::uint64_t slot = s0 + s1 - 1 - s;
    const std::uint64_t start = m0 + m1 - old_mo[s + 1];
    if (slot != s0) mo[slot] = start;
    const std::uint64_t a = old_mo[s], b = old_mo[s + 1];
    for (std::uint64_t q = a; q < b; ++q) moods[start + (q - a)] = old_moods[q];
  }
}

__global__ void reverse_flags_kernel(unsigned char* __restrict__ flags, std::uint64_t playlists, std::uint64_t seed,
                                     std::uint32_t copy, std::uint64_t first_playlist, float r) {
  const std::uint64_t p = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (p < playlists) flags[p] = reverse_decision(seed, copy, first_playlist + p, r) ? 1 : 0;
}

unsigned capped_grid(std::uint64_t items) {
  const std::uint64_t g = ceil_div(items, 256);
  return static_cast<unsigned>(g == 0 ? 1 : (g > 1048576 ? 1048576 : g));
}

}  // namespace

/// The reversal of device-resident playlists (every pointer device memory), stream-ordered.
void reverse_device(const playlists_view& pl, const unsigned char* flags, const std::uint64_t* so,
                    const std::uint64_t* seg_off, float* features, std::uint64_t* mood_offsets,
                    std::int32_t* moods, cudaStream_t stream) {
  const std::uint64_t playlists = pl.song_offsets.size - 1;
  const std::uint64_t d = pl.features.cols;
  const std::uint64_t songs = pl.features.rows;
  if (playlists == 0) return;
  if (d != 0 && songs > 1) {
    device_buffer<std::uint64_t> counts(playlists + 1, stream);
    device_buffer<std::uint64_t> items(playlists + 1, stream);
    swap_counts_kernel<<<grid_for(playlists + 1, 256), 256, 0, stream>>>(so, flags, playlists, d, counts.data());
    PLAYAUG_CUDA_CHECK_LAUNCH();
    exclusive_scan(counts.data(), items.data(), playlists, stream);
    const std::uint64_t bound = songs / 2 * d;  // at most this many swaps in all
    swap_rows_kernel<<<capped_grid(bound), 256, 0, stream>>>(features, so, items.data(), playlists, d, bound);
    PLAYAUG_CUDA_CHECK_LAUNCH();
  }
  const std::uint64_t segments = pl.mood_offsets.size - 1;
  if (segments > 1) {
    const std::uint64_t n_moods = pl.moods.size;
    device_buffer<std::uint64_t> old_mo(segments + 1, stream);
    device_buffer<std::int32_t> old_moods(n_moods, stream);
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(old_mo.data(), mood_offsets, (segments + 1) * sizeof(std::uint64_t),
                                     cudaMemcpyDeviceToDevice, stream));
    if (n_moods != 0) {
      PLAYAUG_CUDA_TRY(cudaMemcpyAsync(old_moods.data(), moods, n_moods * sizeof(std::int32_t),
                                       cudaMemcpyDeviceToDevice, stream));
    }
    reverse_segments_kernel<<<capped_grid(segments), 256, 0, stream>>>(seg_off, flags, playlists, segments,
                                                                       old_mo.data(), old_moods.data(), mood_offsets,
                                                                       moods);
    PLAYAUG_CUDA_CHECK_LAUNCH();
  }
}

void reverse_flags(unsigned char* flags, std::uint64_t playlists, std::uint64_t seed, std::uint32_t copy,
                   std::uint64_t first_playlist, float r, cudaStream_t stream) {
  if (playlists == 0) return;
  reverse_flags_kernel<<<grid_for(playlists, 256), 256, 0, stream>>>(flags, playlists, seed, copy,
                                                                       first_playlist, r);
  PLAYAUG_CUDA_CHECK_LAUNCH();
}

}  // namespace detail

namespace cuda_impl {

void reverse_playlists(const resources& res, const playlists_view& pl, vector_view<const std::uint8_t> flags) {
  if (pl.song_offsets.size == 0) return;
  const std::uint64_t playlists = pl.song_offsets.size - 1;
  if (playlists == 0) return;
  const cudaStream_t stream = detail::state_of(res).stream;
  const memory_space sp = pl.features.space;
  const detail::device_input<std::uint8_t> fl(flags.data, flags.size, flags.space, stream);
  const detail::device_input<std::uint64_t> so(pl.song_offsets.data, pl.song_offsets.size, sp, stream);
  const detail::device_input<std::uint64_t> go(pl.segment_offsets.data, pl.segment_offsets.size, sp, stream);
  detail::device_inout<float> feat(pl.features.data, pl.features.size(), sp, stream);
  detail::device_inout<std::uint64_t> mo(pl.mood_offsets.data, pl.mood_offsets.size, sp, stream);
  detail::device_inout<std::int32_t> moods(pl.moods.data, pl.moods.size, sp, stream);
  detail::reverse_device(pl, fl.get(), so.get(), go.get(), feat.get(), mo.get(), moods.get(), stream);
  feat.download();
  mo.download();
  moods.download();
  if (sp == memory_space::host) PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
}

}  // namespace cuda_impl
}  // namespace playaug
