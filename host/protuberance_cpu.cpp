// The CPU half of protuberance: a branch-free loop over tiles of whole songs, bitwise equal
// to protuberate() on every component, shared with augment's CPU engine.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu_impl.hpp"
#include "detail/parallel.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/random.hpp"

namespace playaug {

namespace {

// Words per parallel task: large enough to amortise the hand-out, small enough to balance.
constexpr std::size_t kWordsPerTask = std::size_t{1} << 16;
// Words per tile of the CPU loop (the random words of a tile live on the stack).
constexpr std::size_t kTargetTileWords = 1024;

}  // namespace

namespace cpu_impl {

protuberance_kernel::protuberance_kernel(const feature_rules& rules, const protuberance_params& prm)
    : d_(rules.rule.size()), c_(make_protuberance_constants(prm.p, prm.phi)), seed_(prm.seed) {
  if (d_ == 0) return;
  // A tile of whole songs, about kTargetTileWords words and a multiple of 4, so that tiles
  // start on Philox block boundaries.
  const std::size_t tile_songs = std::max<std::size_t>(4, kTargetTileWords / d_ / 4 * 4);
  tile_words_ = tile_songs * d_;
  thr_.resize(tile_words_);
  lo_.resize(tile_words_);
  hi_.resize(tile_words_);
  bool any = false;
  for (std::size_t i = 0; i < tile_words_; ++i) {
    const std::size_t j = i % d_;
    const feature_rule rule = rules.rule[j];
    // r is in (0, 1], so a threshold of -1 never chooses a kept feature; infinite bounds
    // make the clamp of a free feature the identity (NaN stays NaN, as in protuberate()).
    thr_[i] = rule == feature_rule::keep ? -1.0f : c_.phi;
    lo_[i] = rule == feature_rule::clamp ? rules.lo[j] : -std::numeric_limits<float>::infinity();
    hi_[i] = rule == feature_rule::clamp ? rules.hi[j] : std::numeric_limits<float>::infinity();
    any = any || rule != feature_rule::keep;
  }
  noop_ = !any || !(c_.phi > 0.0f);
}

namespace {

/// Words [4 * blk0, 4 * (blk0 + blocks)) of (seed, subsequence), in order.
void philox_words(std::uint32_t* __restrict w, std::uint64_t blk0, std::size_t blocks, std::uint64_t seed,
                  std::uint64_t subsequence) {
  const std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  const std::uint32_t s0 = static_cast<std::uint32_t>(subsequence);
  const std::uint32_t s1 = static_cast<std::uint32_t>(subsequence >> 32);
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::uint64_t blk = blk0 + i;
    const u32x4 b = philox4x32({static_cast<std::uint32_t>(blk), static_cast<std::uint32_t>(blk >> 32), s0, s1}, k0, k1);
    w[4 * i] = b.x;
    w[4 * i + 1] = b.y;
    w[4 * i + 2] = b.z;
    w[4 * i + 3] = b.w;
  }
}

/// protuberate() on n components without branches. The float operations are those of
/// protuberate(), in the same order, each rounded individually (the library is built with
/// -ffp-contract=off), so vectorised or not the bits are the same.
void apply(float* __restrict x, const std::uint32_t* __restrict w, std::size_t n, const float* __restrict thr,
           const float* __restrict lo, const float* __restrict hi, float p, float scale) {
  for (std::size_t i = 0; i < n; ++i) {
    const float r = uniform01(w[i]);
    float u = r * scale + -p;
    u = u > p ? p : u;
    float y = x[i] * (1.0f + u);
    y = y > max_finite_float && x[i] <= max_finite_float ? max_finite_float : y;
    y = y < -max_finite_float && x[i] >= -max_finite_float ? -max_finite_float : y;
    y = y < lo[i] ? lo[i] : y;
    y = y > hi[i] ? hi[i] : y;
    x[i] = r <= thr[i] ? y : x[i];
  }
}

}  // namespace

void protuberance_kernel::operator()(float* x, std::size_t songs, std::uint64_t subsequence) const {
  if (noop_ || songs == 0) return;
  const std::size_t n = songs * d_;
  std::uint32_t stack_words[kTargetTileWords];
  std::vector<std::uint32_t> heap_words;
  std::uint32_t* w = stack_words;
  if (tile_words_ > kTargetTileWords) {
    heap_words.resize(tile_words_);
    w = heap_words.data();
  }
  for (std::size_t base = 0; base < n; base += tile_words_) {
    const std::size_t count = std::min(tile_words_, n - base);
    philox_words(w, base / 4, (count + 3) / 4, seed_, subsequence);
    apply(x + base, w, count, thr_.data(), lo_.data(), hi_.data(), c_.p, c_.scale);
  }
}

void protuberance(const resources& res, matrix_view<float> x,
                  vector_view<const std::uint64_t> offsets, const feature_rules& rules,
                  const protuberance_params& prm, std::uint32_t copy,
                  std::uint64_t first_playlist) {
  const std::size_t playlists = offsets.size == 0 ? 0 : offsets.size - 1;
  const std::size_t d = x.cols;
  if (playlists == 0 || x.empty()) return;

  // Group consecutive playlists into tasks of about kWordsPerTask words. Every word is a
  // pure function of its address, so the grouping does not affect the result.
  std::vector<std::size_t> bounds{0};
  std::size_t words = 0;
  for (std::size_t i = 0; i < playlists; ++i) {
    words += (offsets[i + 1] - offsets[i]) * d;
    if (words >= kWordsPerTask) {
      bounds.push_back(i + 1);
      words = 0;
    }
  }
  if (bounds.back() != playlists) bounds.push_back(playlists);

  const protuberance_kernel kernel(rules, prm);
  detail::parallel_for(res.threads(), bounds.size() - 1, [&](std::size_t t) {
    for (std::size_t i = bounds[t]; i < bounds[t + 1]; ++i) {
      const std::uint64_t sub = stream_subsequence(prm.stream, copy, static_cast<std::uint32_t>(first_playlist + i));
      kernel(x.data + offsets[i] * d, offsets[i + 1] - offsets[i], sub);
    }
  });
}

}  // namespace cpu_impl

}  // namespace playaug
