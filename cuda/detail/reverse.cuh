#pragma once
// The reversal decisions of augment's copies on the device (cuda/reverse.cu).

#include <cuda_runtime.h>

#include <cstdint>

namespace playaug::detail {

/// flags[p] = reverse_decision(seed, copy, first_playlist + p, r) for p < P. Stream-ordered.
void reverse_flags(unsigned char* flags, std::uint64_t playlists, std::uint64_t seed, std::uint32_t copy,
                   std::uint64_t first_playlist, float r, cudaStream_t stream);

}  // namespace playaug::detail
