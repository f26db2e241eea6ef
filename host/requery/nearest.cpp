// Exact nearest-neighbour search: standardisation, the prepared catalog, the dispatch
// point and the CPU engine.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PLAYAUG_NN_X86 1
#else
#define PLAYAUG_NN_X86 0
#endif

#include "cpu_features.hpp"
#include "nearest_cpu.hpp"
#include "detail/expects.hpp"
#include "detail/parallel.hpp"
#include "playaug/catalog.hpp"
#include "playaug/error.hpp"
#include "requery_impl.hpp"

namespace playaug {

// ---------------------------------------------------------------------------------------
// Standardisation and prepared rows
// ---------------------------------------------------------------------------------------

nn_scaler nn_scaler::fit(matrix_view<const float> x) {
  if (x.cols != nn_dim) {
    throw usage_error("nn_scaler::fit: expected " + std::to_string(nn_dim) + " columns, got " +
                      std::to_string(x.cols));
  }
  if (x.rows == 0) throw usage_error("nn_scaler::fit: no rows");
  if (x.space != memory_space::host) throw usage_error("nn_scaler::fit: x must be in host memory");
  nn_scaler s;
  const double n = static_cast<double>(x.rows);
  for (std::size_t k = 0; k < nn_dim; ++k) {
    double sum = 0.0;
    for (std::size_t i = 0; i < x.rows; ++i) sum += static_cast<double>(x(i, k));
    const double mean = sum / n;
    double ss = 0.0;
    for (std::size_t i = 0; i < x.rows; ++i) {
      const double d = static_cast<double>(x(i, k)) - mean;
      ss += d * d;
    }
    const double sd = std::sqrt(ss / n);
    s.mean[k] = mean;
    s.sd[k] = (sd > 0.0 && std::isfinite(sd)) ? sd : 1.0;
  }
  return s;
}

void nn_scaler::apply(const float* x, float* z) const noexcept {
  for (std::size_t k = 0; k < nn_dim; ++k) {
    z[k] = static_cast<float>((static_cast<double>(x[k]) - mean[k]) / sd[k]);
  }
}

void nn_scaler::apply(matrix_view<const float> x, matrix_view<float> z) const {
  if (x.cols != nn_dim || z.cols != nn_dim || z.rows != x.rows) {
    throw usage_error("nn_scaler::apply: x is [" + std::to_string(x.rows) + " x " + std::to_string(x.cols) +
                      "], z is [" + std::to_string(z.rows) + " x " + std::to_string(z.cols) + "]; both must be [n x " +
                      std::to_string(nn_dim) + "]");
  }
  if (x.space != memory_space::host || z.space != memory_space::host) {
    throw usage_error("nn_scaler::apply: host memory only");
  }
  float tmp[nn_dim];
  for (std::size_t i = 0; i < x.rows; ++i) {
    apply(x.row(i), tmp);
    std::memcpy(z.row(i), tmp, sizeof tmp);
  }
}

void nn_prepare(const nn_scaler& scaler, matrix_view<const float> x, matrix_view<float> out) {
  if (x.cols != nn_dim || out.cols != nn_stride || out.rows != x.rows) {
    throw usage_error("nn_prepare: x must be [n x " + std::to_string(nn_dim) + "] and out [n x " +
                      std::to_string(nn_stride) + "]; got [" + std::to_string(x.rows) + " x " +
                      std::to_string(x.cols) + "] and [" + std::to_string(out.rows) + " x " +
                      std::to_string(out.cols) + "]");
  }
  if (x.space != memory_space::host || out.space != memory_space::host) {
    throw usage_error("nn_prepare: host memory only");
  }
  for (std::size_t i = 0; i < x.rows; ++i) {
    float z[nn_dim];
    scaler.apply(x.row(i), z);
    double norm = 0.0;
    for (std::size_t k = 0; k < nn_dim; ++k) norm += static_cast<double>(z[k]) * static_cast<double>(z[k]);
    float* o = out.row(i);
    std::memcpy(o, z, sizeof z);
    o[nn_dim] = static_cast<float>(norm);
  }
}

catalog_index::catalog_index(const track_catalog& cat, const std::vector<std::string>& genres) {
  if (cat.size() == 0) throw usage_error("catalog " + cat.name + " holds no tracks");
  if (cat.features.size() != cat.size() * nn_dim) {
    throw usage_error("catalog " + cat.name + ": features hold " + std::to_string(cat.features.size()) +
                      " values for " + std::to_string(cat.size()) + " tracks");
  }
  if (cat.size() >= (std::size_t{1} << 31)) {
    throw usage_error("catalog " + cat.name + " holds more than 2^31 - 1 tracks");
  }
  scaler_ = nn_scaler::fit(cat.feature_matrix());

  if (genres.empty()) {
    rows_.resize(cat.size());
    for (std::size_t i = 0; i < cat.size(); ++i) rows_[i] = i;
  } else {
    if (!cat.has_genres()) {
      throw usage_error("catalog " + cat.name + " has no genre column (track_genre or genre), so --genre cannot select tracks");
    }
    for (std::size_t i = 0; i < cat.size(); ++i) {
      if (std::find(genres.begin(), genres.end(), cat.genres[i]) != genres.end()) rows_.push_back(i);
    }
    for (const auto& g : genres) {
      if (std::find(cat.genres.begin(), cat.genres.end(), g) == cat.genres.end()) {
        throw usage_error("catalog " + cat.name + " has no track of genre '" + g + "'");
      }
    }
  }

  std::unordered_map<std::string, std::uint32_t> key_of;
  keys_.resize(rows_.size());
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    auto it = key_of.emplace(cat.ids[rows_[i]], static_cast<std::uint32_t>(key_of.size())).first;
    keys_[i] = it->second;
  }
  distinct_ = key_of.size();

  buffer<float> raw(rows_.size() * nn_dim);
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    std::memcpy(raw.data() + i * nn_dim, cat.features.data() + rows_[i] * nn_dim, nn_dim * sizeof(float));
  }
  prepared_.resize(rows_.size() * nn_stride);
  nn_prepare(scaler_, {raw.data(), rows_.size(), nn_dim}, {prepared_.data(), rows_.size(), nn_stride});
}

// ---------------------------------------------------------------------------------------
// The dispatch point
// ---------------------------------------------------------------------------------------

void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out) {
  if (catalog.cols != nn_stride) {
    throw usage_error("nearest: catalog must have " + std::to_string(nn_stride) + " columns (prepared rows), got " +
                      std::to_string(catalog.cols));
  }
  if (queries.cols != nn_dim) {
    throw usage_error("nearest: queries must have " + std::to_string(nn_dim) + " columns, got " +
                      std::to_string(queries.cols));
  }
  if (out.size != queries.rows) {
    throw usage_error("nearest: out has " + std::to_string(out.size) + " entries for " +
                      std::to_string(queries.rows) + " queries");
  }
  if (floors.size != 0 && floors.size != queries.rows) {
    throw usage_error("nearest: floors has " + std::to_string(floors.size) + " entries for " +
                      std::to_string(queries.rows) + " queries (pass none or one per query)");
  }
  if (catalog.rows >= (std::size_t{1} << 31)) {
    throw usage_error("nearest: the catalog has " + std::to_string(catalog.rows) + " rows; at most 2^31 - 1");
  }
  if (queries.rows >= (std::size_t{1} << 31)) {
    throw usage_error("nearest: " + std::to_string(queries.rows) + " queries; at most 2^31 - 1 per call");
  }
  detail::expect_host_memory(res, "nearest", "catalog", catalog);
  detail::expect_host_memory(res, "nearest", "queries", queries);
  detail::expect_host_memory(res, "nearest", "out", out);
  if (floors.size != 0) detail::expect_host_memory(res, "nearest", "floors", floors);
  if (queries.rows == 0) return;
  if (res.is_cuda()) return cuda_impl::nearest(res, catalog, queries, floors, out);
  return cpu_impl::nearest(res, catalog, queries, floors, out);
}

// ---------------------------------------------------------------------------------------
// The CPU engine
// ---------------------------------------------------------------------------------------

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
