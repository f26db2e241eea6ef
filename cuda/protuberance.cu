// Protuberance on the GPU, and the ragged copy pass that augment shares.
//
// Each thread owns one group of four consecutive words of one playlist: exactly one
// Philox4x32-10 block (cuRAND's curand_Philox4x32_10 on the counter of the documented
// layout, so the words are those of curand_init(seed, subsequence, 4 * group) + curand4,
// without the eager next block), four loads, protuberate() on each component (the same
// PLAYAUG_HD function as the CPU, individually rounded float operations; the feature's
// rule and bounds come from shared memory in one 16-byte load) and four stores:
// one pass over the data, bit-identical to the CPU engine.
//
// Finding the playlist of a group: the groups of playlist p are numbered from
// groups[p] = sum_{q < p} ceil(songs_q * d / 4) (a CUB scan). A warp handles 256
// consecutive groups in eight steps of 32 (lane j takes groups base + j, base + 32 + j,
// ...: coalesced 16-byte accesses). The playlist of the warp's first group is looked up
// once (warp_first, a binary search per warp in a small kernel); each lane then scans
// forward from it, and across steps keeps its playlist's offsets, subsequence and the
// feature index of its next word (advanced by 128 words per step without a division).

#include <curand_kernel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda_impl.hpp"
#include "detail/common.cuh"
#include "detail/protuberance.cuh"

namespace playaug {
namespace detail {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;
constexpr int kSteps = 8;                          // 32-group steps per warp
constexpr std::uint64_t kGroupsPerWarp = 32 * kSteps;
constexpr std::size_t kMaxSmemRulesDim = 2048;     // one float4 per feature: 32 KB

__global__ void group_counts_kernel(const std::uint64_t* __restrict__ so, std::uint64_t playlists, std::uint64_t d,
                                    std::uint64_t* __restrict__ counts) {
  const std::uint64_t p = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (p < playlists) counts[p] = ((so[p + 1] - so[p]) * d + 3) / 4;
  if (p == playlists) counts[p] = 0;
}

__global__ void warp_first_kernel(const std::uint64_t* __restrict__ groups, std::uint64_t playlists,
                                  std::uint64_t warps, std::uint64_t* __restrict__ first) {
  const std::uint64_t w = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (w >= warps) return;
  const std::uint64_t g0 = w * kGroupsPerWarp;
  first[w] = g0 < groups[playlists] ? last_le(groups, 0, playlists, g0) : 0;
}

struct kernel_params {
  const float* src;
  float* dst;
  const std::uint64_t* so;
  const std::uint64_t* groups;
  const std::uint64_t* warp_first;
  const unsigned char* rev;
  const unsigned char* rule;
  const float* lo;
  const float* hi;
  std::uint64_t playlists;
  std::uint64_t dst_a, dst_b;
  std::uint64_t seed;
  std::uint64_t first_playlist;
  std::uint32_t d;
  std::uint32_t copy;
  protuberance_constants c;
  int protuberate;
  purpose what;
};

/// The rule of feature f: (rule, lo, hi), from shared memory (one 16-byte load) or global.
template <bool kSmemRules>
__device__ __forceinline__ void rule_of(const float4* s_rules, const kernel_params& k, std::uint32_t f,
                                        feature_rule& rule, float& lo, float& hi) {
  if constexpr (kSmemRules) {
    const float4 r = s_rules[f];
    rule = static_cast<feature_rule>(__float_as_uint(r.z));
    lo = r.x;
    hi = r.y;
  } else {
    rule = static_cast<feature_rule>(k.rule[f]);
    lo = k.lo[f];
    hi = k.hi[f];
  }
}

/// What a lane caches about the playlist of its current group.
struct playlist_cache {
  std::uint64_t p = ~std::uint64_t{0};
  std::uint64_t s0 = 0, ns = 0, words = 0, sub = 0;
  const float* src = nullptr;
  float* dst = nullptr;
  bool rev = false;
};

template <bool kSmemRules>
__global__ void __launch_bounds__(kThreads) gather_kernel(kernel_params k) {
  extern __shared__ float4 s_rules[];  // [d]: lo, hi, rule (as bits), unused
  const std::uint32_t d = k.d;
  if constexpr (kSmemRules) {
    for (std::uint32_t i = threadIdx.x; i < d; i += kThreads) {
      s_rules[i] = make_float4(k.lo[i], k.hi[i], __uint_as_float(k.rule[i]), 0.0f);
    }
    __syncthreads();
  }
  const std::uint64_t warp = blockIdx.x * static_cast<std::uint64_t>(kWarpsPerBlock) + (threadIdx.x >> 5);
  const std::uint64_t total = k.groups[k.playlists];
  const std::uint64_t base = warp * kGroupsPerWarp;
  if (base >= total) return;
  const std::uint32_t key0 = static_cast<std::uint32_t>(k.seed);
  const std::uint32_t key1 = static_cast<std::uint32_t>(k.seed >> 32);
  // Each step moves a lane 32 groups = 128 words further: this many songs and features.
  const std::uint32_t step_songs = 128u / d, step_feats = 128u % d;

  // The lane's playlist: from the warp's first playlist, scan forward (each step moves
  // forward, so the scan is short; empty playlists are skipped).
  std::uint64_t p = k.warp_first[warp];
  std::uint64_t gcur = k.groups[p], gnext = k.groups[p + 1];
  playlist_cache pc;
  std::uint64_t song = 0;  // song and feature of the group's first word
  std::uint32_t f0 = 0;
  std::uint64_t g = base + (threadIdx.x & 31);
  for (int step = 0; step < kSteps; ++step, g += 32) {
    if (g >= total) break;
    while (gnext <= g) {
      ++p;
      gcur = gnext;
      gnext = k.groups[p + 1];
    }
    const std::uint64_t l = g - gcur;  // group within the playlist
    const std::uint64_t w0 = 4 * l;    // its first word
    if (p != pc.p) {
      pc.p = p;
      pc.s0 = k.so[p];
      pc.ns = k.so[p + 1] - pc.s0;
      pc.words = pc.ns * d;
      pc.src = k.src + pc.s0 * d;
      pc.dst = k.dst + (k.dst_a * pc.s0 + k.dst_b * pc.ns) * d;
      pc.rev = k.rev != nullptr && k.rev[p] != 0;
      pc.sub = stream_subsequence(k.what, k.copy, static_cast<std::uint32_t>(k.first_playlist + p));
      if (pc.words <= 0xFFFFFFFFu) {
        const auto w32 = static_cast<std::uint32_t>(w0);
        song = w32 / d;
        f0 = w32 - static_cast<std::uint32_t>(song) * d;
      } else {
        song = w0 / d;
        f0 = static_cast<std::uint32_t>(w0 - song * d);
      }
    } else {
      song += step_songs;
      f0 += step_feats;
      if (f0 >= d) {
        f0 -= d;
        ++song;
      }
    }
    const int cnt = pc.words - w0 < 4 ? static_cast<int>(pc.words - w0) : 4;
    float* dp = pc.dst + w0;
    float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (!pc.rev) {
      const float* sp = pc.src + w0;
      // This lane's next group is usually 128 words further in the same playlist: start
      // fetching it into L2 now, so that more bytes are in flight than registers allow.
      if (step + 1 < kSteps && w0 + 132 <= pc.words) {
        asm volatile("prefetch.global.L2 [%0];" ::"l"(sp + 128));
      }
      if (cnt == 4 && (reinterpret_cast<std::uintptr_t>(sp) & 15u) == 0) {
        const float4 q = *reinterpret_cast<const float4*>(sp);
        v[0] = q.x;
        v[1] = q.y;
        v[2] = q.z;
        v[3] = q.w;
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (j < cnt) v[j] = sp[j];
        }
      }
    } else {
      // Output word w reads song ns - 1 - (w / d) of the source, same feature.
      std::uint64_t s = song;
      std::uint32_t f = f0;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (j < cnt) v[j] = pc.src[(pc.ns - 1 - s) * d + f];
        if (++f == d) {
          f = 0;
          ++s;
        }
      }
    }
    if (k.protuberate) {
      const uint4 r = curand_Philox4x32_10(
          make_uint4(static_cast<std::uint32_t>(l), static_cast<std::uint32_t>(l >> 32),
                     static_cast<std::uint32_t>(pc.sub), static_cast<std::uint32_t>(pc.sub >> 32)),
          make_uint2(key0, key1));
      const std::uint32_t wd[4] = {r.x, r.y, r.z, r.w};
      std::uint32_t f = f0;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (j < cnt) {
          feature_rule rule;
          float lo, hi;
          rule_of<kSmemRules>(s_rules, k, f, rule, lo, hi);
          v[j] = protuberate(v[j], wd[j], k.c, rule, lo, hi);
        }
        if (++f == d) f = 0;
      }
    }
    if (cnt == 4 && (reinterpret_cast<std::uintptr_t>(dp) & 15u) == 0) {
      *reinterpret_cast<float4*>(dp) = make_float4(v[0], v[1], v[2], v[3]);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (j < cnt) dp[j] = v[j];
      }
    }
  }
}

}  // namespace

ragged_groups make_ragged_groups(const std::uint64_t* song_offsets, std::uint64_t playlists, std::uint64_t songs,
                                 std::size_t d, cudaStream_t stream) {
  ragged_groups rg;
  rg.playlists = playlists;
  rg.groups = device_buffer<std::uint64_t>(playlists + 1, stream);
  device_buffer<std::uint64_t> counts(playlists + 1, stream);
  group_counts_kernel<<<grid_for(playlists + 1, 256), 256, 0, stream>>>(song_offsets, playlists, d, counts.data());
  PLAYAUG_CUDA_CHECK_LAUNCH();
  exclusive_scan(counts.data(), rg.groups.data(), playlists, stream);
  // At most songs * d / 4 full groups plus one partial group per playlist.
  const std::uint64_t bound = ceil_div(songs * d, 4) + playlists;
  rg.warps = ceil_div(bound, kGroupsPerWarp);
  rg.warp_first = device_buffer<std::uint64_t>(rg.warps == 0 ? 1 : rg.warps, stream);
  if (rg.warps != 0) {
    warp_first_kernel<<<grid_for(rg.warps, 256), 256, 0, stream>>>(rg.groups.data(), playlists, rg.warps,
                                                                     rg.warp_first.data());
    PLAYAUG_CUDA_CHECK_LAUNCH();
  }
  return rg;
}

device_rules::device_rules(const feature_rules& rules, cudaStream_t stream) {
  const std::size_t d = rules.rule.size();
  const std::size_t rule_bytes = (d + 15) / 16 * 16;
  std::vector<unsigned char> host(rule_bytes + 2 * d * sizeof(float) + 1, 0);
  for (std::size_t j = 0; j < d; ++j) {
    host[j] = static_cast<unsigned char>(rules.rule[j]);
    all_keep = all_keep && rules.rule[j] == feature_rule::keep;
  }
  std::memcpy(host.data() + rule_bytes, rules.lo.data(), d * sizeof(float));
  std::memcpy(host.data() + rule_bytes + d * sizeof(float), rules.hi.data(), d * sizeof(float));
  buf = device_buffer<unsigned char>(host.size(), stream);
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(buf.data(), host.data(), host.size(), cudaMemcpyHostToDevice, stream));
  rule = buf.data();
  lo = reinterpret_cast<const float*>(buf.data() + rule_bytes);
  hi = lo + d;
}

void gather_protuberate(const ragged_groups& rg, const device_rules& rules, std::size_t d, const gather_args& a,
                        cudaStream_t stream) {
  if (rg.playlists == 0 || rg.warps == 0 || d == 0) return;
  if (d > 0xFFFFFFFFu) throw usage_error("protuberance: too many features");
  kernel_params k{};
  k.src = a.src;
  k.dst = a.dst;
  k.so = a.song_offsets;
  k.groups = rg.groups.data();
  k.warp_first = rg.warp_first.data();
  k.rev = a.rev;
  k.rule = rules.rule;
  k.lo = rules.lo;
  k.hi = rules.hi;
  k.playlists = rg.playlists;
  k.dst_a = a.dst_a;
  k.dst_b = a.dst_b;
  k.seed = a.seed;
  k.first_playlist = a.first_playlist;
  k.d = static_cast<std::uint32_t>(d);
  k.copy = a.copy;
  k.c = make_protuberance_constants(a.p, a.phi);
  k.protuberate = a.protuberate && !rules.all_keep && a.phi > 0.0f ? 1 : 0;
  k.what = a.stream;
  const unsigned grid = grid_for(rg.warps, kWarpsPerBlock);
  if (d <= kMaxSmemRulesDim) {
    const std::size_t smem = d * sizeof(float4);
    gather_kernel<true><<<grid, kThreads, smem, stream>>>(k);
  } else {
    gather_kernel<false><<<grid, kThreads, 0, stream>>>(k);
  }
  PLAYAUG_CUDA_CHECK_LAUNCH();
}

}  // namespace detail

namespace cuda_impl {

void protuberance(const resources& res, matrix_view<float> x, vector_view<const std::uint64_t> offsets,
                  const feature_rules& rules, const protuberance_params& prm, std::uint32_t copy,
                  std::uint64_t first_playlist) {
  const std::uint64_t playlists = offsets.size == 0 ? 0 : offsets.size - 1;
  const std::size_t d = x.cols;
  if (playlists == 0 || x.empty()) return;
  if (rules.rule.size() != d) {
    throw usage_error("protuberance: " + std::to_string(rules.rule.size()) + " feature rules for " +
                      std::to_string(d) + " features");
  }
  // phi == 0 or every feature kept: nothing changes (the CPU engine returns early too).
  bool all_keep = true;
  for (const feature_rule r : rules.rule) all_keep = all_keep && r == feature_rule::keep;
  if (!(prm.phi > 0.0f) || all_keep) return;

  const cudaStream_t stream = detail::state_of(res).stream;
  const detail::device_input<std::uint64_t> so(offsets.data, offsets.size, offsets.space, stream);
  detail::device_inout<float> xs(x.data, x.size(), x.space, stream);
  const detail::ragged_groups rg = detail::make_ragged_groups(so.get(), playlists, x.rows, d, stream);
  const detail::device_rules dr(rules, stream);
  detail::gather_args a;
  a.src = xs.get();
  a.dst = xs.get();
  a.song_offsets = so.get();
  a.protuberate = true;
  a.p = prm.p;
  a.phi = prm.phi;
  a.seed = prm.seed;
  a.stream = prm.stream;
  a.copy = copy;
  a.first_playlist = first_playlist;
  detail::gather_protuberate(rg, dr, d, a, stream);
  xs.download();
  if (x.space == memory_space::host) PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
}

}  // namespace cuda_impl
}  // namespace playaug
