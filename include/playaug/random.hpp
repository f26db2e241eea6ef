#pragma once
/// @file random.hpp
/// Counter-based random numbers shared bit for bit by the CPU and CUDA engines.
///
/// The generator is Philox4x32-10 (Salmon et al., SC'11) with the word layout of cuRAND's
/// device API, so that `curand_init(seed, subsequence, offset)` followed by `curand()` on a
/// GPU yields exactly `philox_stream(seed, subsequence, offset).next()` here:
///
///     key     = (lo32(seed), hi32(seed))
///     counter = (lo32(offset / 4), hi32(offset / 4), lo32(subsequence), hi32(subsequence))
///     word    = offset % 4 of the 4-word block philox4x32_10(counter, key)
///
/// `uniform01()` is `curand_uniform()`: x * 2^-32 + 2^-33 rounded to float, in (0, 1].
///
/// Every random number playaug draws is addressed, not streamed: it is a pure function of
/// (seed, purpose, copy index, playlist index, song index, feature index), laid out as
///
///     subsequence = purpose << 56 | copy << 32 | playlist      (copy < 2^24, playlist < 2^32)
///     offset      = song * d + feature                         (word index)
///
/// so no result depends on thread count, chunking or device. docs/random-streams.md gives
/// the full table of purposes and what each word is used for.
///
/// Everything here is `PLAYAUG_HD` (host and device) and compiles without the CUDA toolkit.

#include <cstdint>

#if defined(__CUDACC__)
#define PLAYAUG_HD __host__ __device__ __forceinline__
#else
#define PLAYAUG_HD inline
#endif

namespace playaug {

/// Four 32-bit words: a Philox counter or output block.
struct u32x4 {
  std::uint32_t x, y, z, w;
};

/// Which augmentation a random word serves (bits 56..63 of the subsequence).
enum class purpose : std::uint8_t {
  reverse = 1,       ///< one word per (playlist, copy): reverse the copy iff u <= r
  protuberance = 2,  ///< one word per (playlist, copy, song, feature): mask and magnitude
  requery = 3,       ///< like protuberance, for the requery targets (copy = 0)
  synth = 4,         ///< synthetic data generation (rule-based, synth.hpp)
  synth_model = 5,   ///< synthetic data from a learned model (synth_model.hpp)
};

namespace detail {

PLAYAUG_HD std::uint32_t mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
#if defined(__CUDA_ARCH__)
  *hi = __umulhi(a, b);
  return a * b;
#else
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  *hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
#endif
}

/// Philox4x32-10's multipliers and Weyl key increments (Salmon et al. 2011, as in cuRAND).
constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;
constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;

}  // namespace detail

/// One Philox4x32 block: `rounds` rounds (10 for Philox4x32-10) of counter `c` under key
/// (k0, k1).
PLAYAUG_HD u32x4 philox4x32(u32x4 c, std::uint32_t k0, std::uint32_t k1, int rounds = 10) {
  for (int r = 0; r < rounds; ++r) {
    if (r != 0) {
      k0 += detail::kPhiloxW0;
      k1 += detail::kPhiloxW1;
    }
    std::uint32_t hi0, hi1;
    const std::uint32_t lo0 = detail::mulhilo32(detail::kPhiloxM0, c.x, &hi0);
    const std::uint32_t lo1 = detail::mulhilo32(detail::kPhiloxM1, c.z, &hi1);
    c = u32x4{hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0};
  }
  return c;
}

/// The block of Philox4x32-10 that holds word `offset` of `subsequence` under `seed`.
PLAYAUG_HD u32x4 philox_block(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t offset) {
  const std::uint64_t blk = offset >> 2;
  const u32x4 ctr{static_cast<std::uint32_t>(blk), static_cast<std::uint32_t>(blk >> 32),
                  static_cast<std::uint32_t>(subsequence),
                  static_cast<std::uint32_t>(subsequence >> 32)};
  return philox4x32(ctr, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

/// Word i (0..3) of a block.
PLAYAUG_HD std::uint32_t word_of(const u32x4& b, unsigned i) {
  return i == 0 ? b.x : i == 1 ? b.y : i == 2 ? b.z : b.w;
}

/// cuRAND's `curand_uniform`: a 32-bit word to a float in (0, 1].
/// x * 2^-32 is exact after the conversion to float, so fused or not, the sum rounds the same.
PLAYAUG_HD float uniform01(std::uint32_t x) {
  constexpr float k2pow32inv = 2.3283064e-10f;  // 2^-32, as cuRAND writes it
  return static_cast<float>(x) * k2pow32inv + (k2pow32inv / 2.0f);
}

/// The subsequence of the documented layout.
PLAYAUG_HD std::uint64_t stream_subsequence(purpose what, std::uint32_t copy, std::uint32_t playlist) {
  return (static_cast<std::uint64_t>(what) << 56) |
         (static_cast<std::uint64_t>(copy & 0xFFFFFFu) << 32) | playlist;
}

/// The single word at (seed, subsequence, offset), like curand_init(seed, subsequence,
/// offset) followed by one curand().
PLAYAUG_HD std::uint32_t philox_word(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t offset) {
  return word_of(philox_block(seed, subsequence, offset), static_cast<unsigned>(offset & 3u));
}

/// A sequential reader over one subsequence, equivalent to a cuRAND Philox4_32_10 state
/// after curand_init(seed, subsequence, offset): next() is curand(), next_uniform() is
/// curand_uniform(). Useful on the host; kernels address words directly.
class philox_stream {
 public:
  PLAYAUG_HD philox_stream(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t offset = 0)
      : seed_(seed), subsequence_(subsequence), offset_(offset) {
    block_ = philox_block(seed_, subsequence_, offset_);
  }
  PLAYAUG_HD std::uint32_t next() {
    const std::uint32_t v = word_of(block_, static_cast<unsigned>(offset_ & 3u));
    ++offset_;
    if ((offset_ & 3u) == 0) block_ = philox_block(seed_, subsequence_, offset_);
    return v;
  }
  PLAYAUG_HD float next_uniform() { return uniform01(next()); }
  PLAYAUG_HD std::uint64_t offset() const { return offset_; }

 private:
  std::uint64_t seed_, subsequence_, offset_;
  u32x4 block_;
};

}  // namespace playaug
