// Songs of a learned synthetic dataset on the GPU: one thread per song runs
// synth_detail::sample_song (include/playaug/synth_model.hpp), the same __host__ __device__
// function as the CPU engine. Its Philox words come from philox_block (the layout of
// cuRAND's curand_init(seed, subsequence, offset)), and every floating-point operation is
// an explicitly rounded intrinsic (__dmul_rn, __dadd_rn, __ddiv_rn, __dsqrt_rn; no FMA
// contraction, this file is also compiled with -fmad=false), so the bytes equal the CPU's.
//
// The model's tables (a few hundred KB) and the chunk's plan (song offsets, playlist types,
// segment shifts) are staged to the device for each call; the songs come back to the host.

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "cuda_impl.hpp"
#include "detail/check.cuh"
#include "detail/state.cuh"

namespace playaug {
namespace {

constexpr int kThreads = 128;

__global__ void synth_songs_kernel(synth_detail::tables t, std::uint64_t seed, std::uint64_t first_playlist,
                                   std::uint64_t playlists, const std::uint64_t* __restrict__ song_offsets,
                                   const std::uint32_t* __restrict__ types,
                                   const std::uint64_t* __restrict__ shift_offsets,
                                   const double* __restrict__ shifts, float* __restrict__ out) {
  const std::uint64_t songs = song_offsets[playlists];
  const std::uint64_t i = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (i >= songs) return;
  // The playlist of song i: the last p with song_offsets[p] <= i (binary search).
  std::uint64_t lo = 0, hi = playlists;
  while (hi - lo > 1) {
    const std::uint64_t mid = (lo + hi) / 2;
    if (song_offsets[mid] <= i) lo = mid; else hi = mid;
  }
  while (song_offsets[lo + 1] <= i) ++lo;  // skips empty playlists at equal offsets
  const std::uint64_t n = song_offsets[lo + 1] - song_offsets[lo];
  const std::uint64_t s = i - song_offsets[lo];
  const std::uint64_t rows = shift_offsets[lo + 1] - shift_offsets[lo];
  const std::uint64_t seg = s * rows / n;
  synth_detail::sample_song(t, seed, static_cast<std::uint32_t>(first_playlist + lo), static_cast<std::uint32_t>(s),
                            types[lo], shifts + (shift_offsets[lo] + seg) * t.d, out + i * t.d);
}

/// A device copy of a host array, freed with the object.
template <class T>
struct device_array {
  T* ptr = nullptr;
  device_array(const T* host, std::size_t n, cudaStream_t stream) {
    PLAYAUG_CUDA_TRY(cudaMalloc(&ptr, (n ? n : 1) * sizeof(T)));
    if (n) PLAYAUG_CUDA_TRY(cudaMemcpyAsync(ptr, host, n * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  explicit device_array(std::size_t n) { PLAYAUG_CUDA_TRY(cudaMalloc(&ptr, (n ? n : 1) * sizeof(T))); }
  ~device_array() { cudaFree(ptr); }
  device_array(const device_array&) = delete;
  device_array& operator=(const device_array&) = delete;
};

}  // namespace

namespace cuda_impl {

void synth_model_songs(const resources& res, const synth_detail::tables& t, const synth_detail::chunk_plan& c) {
  const cudaStream_t stream = detail::state_of(res).stream;
  const std::size_t d = t.d;
  const std::size_t K = t.clusters;
  const std::size_t nknots = t.knot_begin[d], nvalues = t.value_begin[d];
  device_array<double> means(t.means, K * d, stream), chol(t.chol, K * d * d, stream),
      type_cum(t.type_cum, static_cast<std::size_t>(t.types) * K, stream), knots(t.knots, nknots ? nknots : 1, stream),
      values(t.values, nvalues, stream);
  device_array<std::uint32_t> kb(t.knot_begin, d + 1, stream), vb(t.value_begin, d + 1, stream);
  device_array<std::int32_t> info(t.feature_info, synth_detail::info_width * d, stream);
  const std::uint64_t songs = c.song_offsets[c.playlists];
  const std::uint64_t rows = c.shift_offsets[c.playlists];
  device_array<std::uint64_t> so(c.song_offsets, c.playlists + 1, stream), sho(c.shift_offsets, c.playlists + 1, stream);
  device_array<std::uint32_t> types(c.types, c.playlists, stream);
  device_array<double> shifts(c.shifts, rows * d, stream);
  device_array<float> out(songs * d);
  synth_detail::tables dt = t;
  dt.means = means.ptr;
  dt.chol = chol.ptr;
  dt.type_cum = type_cum.ptr;
  dt.knots = knots.ptr;
  dt.values = values.ptr;
  dt.knot_begin = kb.ptr;
  dt.value_begin = vb.ptr;
  dt.feature_info = info.ptr;
  if (songs > 0) {
    const std::uint64_t blocks = (songs + kThreads - 1) / kThreads;
    synth_songs_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        dt, c.seed, c.first_playlist, c.playlists, so.ptr, types.ptr, sho.ptr, shifts.ptr, out.ptr);
    PLAYAUG_CUDA_CHECK_LAUNCH();
    PLAYAUG_CUDA_TRY(cudaMemcpyAsync(c.out, out.ptr, songs * d * sizeof(float), cudaMemcpyDeviceToHost, stream));
  }
  PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
}

}  // namespace cuda_impl
}  // namespace playaug
