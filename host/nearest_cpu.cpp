// The CPU half of the exact nearest-neighbour search (nearest.hpp). Multithreaded brute
// force over (query block, catalog split) tasks whose partial answers are combined in split
// order, so the result does not depend on the thread count. On x86-64 with AVX2 and FMA
// the inner loop scores 8 rows per instruction with _mm256_fmadd_ps, the same correctly
// rounded operation as std::fma and CUDA's __fmaf_rn, in the same order as nn_score().

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PLAYAUG_NN_X86 1
#else
#define PLAYAUG_NN_X86 0
#endif

#include "cpu_features.hpp"
#include "cpu_impl.hpp"
#include "detail/parallel.hpp"
#include "playaug/error.hpp"
#include "playaug/nearest.hpp"

namespace playaug {

namespace cpu_impl {

namespace {

// Queries per task, and catalog rows per transposed block (12 floats x 512 rows = 24 KB,
// inside L1 on current x86 cores).
constexpr std::size_t kQueriesPerTask = 32;
constexpr std::size_t kBlockRows = 512;

// The best hit for one query among rows [begin, end) of the AoS prepared catalog.
template <bool Floor>
nn_hit scan_scalar(const float* cat, std::size_t begin, std::size_t end, const float* m2z, nn_hit floor) {
  nn_hit best;
  for (std::size_t r = begin; r < end; ++r) {
    const float s = nn_score(m2z, cat + r * nn_stride);
    const auto row = static_cast<std::int32_t>(r);
    if (Floor && !nn_after(s, row, floor)) continue;
    if (s < best.score) {
      best.score = s;
      best.row = row;
    }
  }
  return best;
}

#if PLAYAUG_NN_X86

// soa: nn_stride arrays of `padded` floats (features 0..10, then the squared norms);
// padding rows have features 0 and norm +inf, so they never win.
template <bool Floor>
__attribute__((target("avx2,fma"))) nn_hit scan_avx2(const float* soa, std::size_t padded, std::size_t first_row,
                                                      const float* m2z, nn_hit floor) {
  __m256 q[nn_dim];
  for (std::size_t k = 0; k < nn_dim; ++k) q[k] = _mm256_set1_ps(m2z[k]);
  __m256 best = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  __m256i best_row = _mm256_set1_epi32(-1);
  __m256i rows = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(first_row)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i eight = _mm256_set1_epi32(8);
  const __m256 fs = _mm256_set1_ps(floor.score);
  const __m256i fr = _mm256_set1_epi32(floor.row);
  for (std::size_t j = 0; j < padded; j += 8) {
    __m256 s = _mm256_loadu_ps(soa + nn_dim * padded + j);
    for (std::size_t k = 0; k < nn_dim; ++k) s = _mm256_fmadd_ps(q[k], _mm256_loadu_ps(soa + k * padded + j), s);
    __m256 take = _mm256_cmp_ps(s, best, _CMP_LT_OQ);
    if (Floor) {
      const __m256 above = _mm256_cmp_ps(s, fs, _CMP_GT_OQ);
      const __m256 level = _mm256_cmp_ps(s, fs, _CMP_EQ_OQ);
      const __m256 later = _mm256_castsi256_ps(_mm256_cmpgt_epi32(rows, fr));
      take = _mm256_and_ps(take, _mm256_or_ps(above, _mm256_and_ps(level, later)));
    }
    best = _mm256_blendv_ps(best, s, take);
    best_row = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(best_row), _mm256_castsi256_ps(rows), take));
    rows = _mm256_add_epi32(rows, eight);
  }
  alignas(32) float bs[8];
  alignas(32) std::int32_t br[8];
  _mm256_store_ps(bs, best);
  _mm256_store_si256(reinterpret_cast<__m256i*>(br), best_row);
  nn_hit out;
  for (int l = 0; l < 8; ++l) {
    if (br[l] >= 0 && nn_before({bs[l], br[l]}, out)) out = {bs[l], br[l]};
  }
  return out;
}

#endif  // PLAYAUG_NN_X86

void merge(nn_hit& acc, nn_hit h) {
  if (h.row >= 0 && (acc.row < 0 || nn_before(h, acc))) acc = h;
}

}  // namespace

bool nearest_avx2_available() noexcept {
#if PLAYAUG_NN_X86
  return detail::cpu_has_avx2_fma();
#else
  return false;
#endif
}

void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out, nn_path path) {
  if (catalog.space != memory_space::host || queries.space != memory_space::host ||
      out.space != memory_space::host || (floors.size != 0 && floors.space != memory_space::host)) {
    throw usage_error("nearest: the CPU engine needs host memory for every argument");
  }
  const std::size_t q = queries.rows;
  const std::size_t m = catalog.rows;
  if (q == 0) return;
  if (m == 0) {
    std::fill(out.begin(), out.end(), nn_hit{});
    return;
  }
  bool use_avx2 = false;
  if (path == nn_path::avx2) {
    if (!nearest_avx2_available()) throw usage_error("nearest: this processor lacks AVX2/FMA");
    use_avx2 = true;
  } else if (path == nn_path::automatic) {
    use_avx2 = nearest_avx2_available();
  }
  const bool has_floor = floors.size != 0;

  // Tasks: query blocks x catalog splits; enough of them to keep every thread busy.
  const int threads = std::max(1, res.threads());
  const std::size_t qblocks = (q + kQueriesPerTask - 1) / kQueriesPerTask;
  const std::size_t mblocks = (m + kBlockRows - 1) / kBlockRows;
  const std::size_t want = 4 * static_cast<std::size_t>(threads);
  std::size_t splits = qblocks >= want ? 1 : std::min(mblocks, (want + qblocks - 1) / qblocks);
  const std::size_t blocks_per_split = (mblocks + splits - 1) / splits;
  splits = (mblocks + blocks_per_split - 1) / blocks_per_split;
  const std::size_t rows_per_split = blocks_per_split * kBlockRows;

  std::vector<nn_hit> partial(splits * q);
  detail::parallel_for(threads, qblocks * splits, [&](std::size_t task) {
    const std::size_t qb = task / splits;
    const std::size_t sp = task % splits;
    const std::size_t q0 = qb * kQueriesPerTask;
    const std::size_t q1 = std::min(q, q0 + kQueriesPerTask);
    const std::size_t r0 = sp * rows_per_split;
    const std::size_t r1 = std::min(m, r0 + rows_per_split);

    float m2z[kQueriesPerTask][nn_dim];
    for (std::size_t i = q0; i < q1; ++i) {
      for (std::size_t k = 0; k < nn_dim; ++k) m2z[i - q0][k] = -2.0f * queries(i, k);
    }
    nn_hit* dst = partial.data() + sp * q;
    for (std::size_t i = q0; i < q1; ++i) dst[i] = nn_hit{};

#if PLAYAUG_NN_X86
    if (use_avx2) {
      std::vector<float> soa(nn_stride * kBlockRows);
      for (std::size_t b0 = r0; b0 < r1; b0 += kBlockRows) {
        const std::size_t n = std::min(kBlockRows, r1 - b0);
        const std::size_t padded = (n + 7) / 8 * 8;
        for (std::size_t j = 0; j < n; ++j) {
          const float* src = catalog.row(b0 + j);
          for (std::size_t k = 0; k < nn_stride; ++k) soa[k * padded + j] = src[k];
        }
        for (std::size_t j = n; j < padded; ++j) {
          for (std::size_t k = 0; k < nn_dim; ++k) soa[k * padded + j] = 0.0f;
          soa[nn_dim * padded + j] = std::numeric_limits<float>::infinity();
        }
        for (std::size_t i = q0; i < q1; ++i) {
          const nn_hit h = has_floor ? scan_avx2<true>(soa.data(), padded, b0, m2z[i - q0], floors[i])
                                     : scan_avx2<false>(soa.data(), padded, b0, m2z[i - q0], nn_hit{});
          merge(dst[i], h);
        }
      }
      return;
    }
#endif
    for (std::size_t b0 = r0; b0 < r1; b0 += kBlockRows) {
      const std::size_t b1 = std::min(r1, b0 + kBlockRows);
      for (std::size_t i = q0; i < q1; ++i) {
        const nn_hit h = has_floor ? scan_scalar<true>(catalog.data, b0, b1, m2z[i - q0], floors[i])
                                   : scan_scalar<false>(catalog.data, b0, b1, m2z[i - q0], nn_hit{});
        merge(dst[i], h);
      }
    }
  });

  for (std::size_t i = 0; i < q; ++i) {
    nn_hit acc;
    for (std::size_t sp = 0; sp < splits; ++sp) merge(acc, partial[sp * q + i]);
    out[i] = acc;
  }
}

}  // namespace cpu_impl

}  // namespace playaug
