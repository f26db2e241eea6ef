// The CPU half of compute_moments: float64 sums around a common shift over fixed blocks of
// rows, combined by a fixed binary tree, so that the result does not depend on the thread
// count (see docs/pca.md, "Numerics").
//
//   K      = float(sum_{r < m} double(x_r) / m),  m = min(n, shift_rows), summed in row order
//   block  = rows [b * block_rows, min((b + 1) * block_rows, n))
//   S1_b   = sum_r (x_r - K),  S2_b = sum_r (x_r - K)(x_r - K)^T  (upper triangle), row order,
//            each product v_i * v_j rounded, then added (no fused multiply-add)
//   S      = tree(0, nb): a leaf is S_b; a node [lo, hi) with hi - lo > 1 is
//            tree(lo, mid) + tree(mid, hi), mid = lo + (hi - lo) / 2
//   mean_j = K_j + S1_j / n,   C_ij = S2_ij - (S1_i * S1_j) / n

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "cpu_features.hpp"
#include "cpu_impl.hpp"
#include "detail/moments_order.hpp"
#include "detail/parallel.hpp"

namespace playaug::cpu_impl {
namespace {

/// Rows per block and rows of the shift: constants of the numerics, shared with the CUDA
/// engine (detail/moments_order.hpp), not tuning knobs.
constexpr std::size_t block_rows = detail::moments_order::block_rows;
constexpr std::size_t shift_rows = detail::moments_order::shift_rows;
/// Column padding of the accumulator tiles (the widest SIMD vector of doubles we target).
constexpr std::size_t lane = 4;

constexpr std::size_t round_up(std::size_t d) { return (d + lane - 1) / lane * lane; }

/// Per-block sums: S1 [d] and the upper triangle of S2 packed row by row [d (d + 1) / 2].
struct block_sums {
  std::vector<double> s1;
  std::vector<double> s2;
  block_sums() = default;
  explicit block_sums(std::size_t d) : s1(d, 0.0), s2(d * (d + 1) / 2, 0.0) {}
  void add(const block_sums& o) {
    for (std::size_t i = 0; i < s1.size(); ++i) s1[i] += o.s1[i];
    for (std::size_t i = 0; i < s2.size(); ++i) s2[i] += o.s2[i];
  }
};

/// The largest dimension the block kernel's tile holds (wider rows take a plain loop).
constexpr std::size_t max_kernel_dim = 64;

template <std::size_t D>
struct fixed_dim {
  static constexpr std::size_t d() { return D; }
  static constexpr std::size_t max_d = D;
  static constexpr bool fixed = true;
  /// Rows folded per pass over the tile (measured on AMD EPYC, AVX2: d = 11 runs 25%
  /// faster with 8 than with 2; wider tiles spill registers and prefer 4).
  static constexpr std::size_t pass_rows = D <= 12 ? 8 : 4;
};
struct runtime_dim {
  std::size_t value;
  std::size_t d() const { return value; }
  static constexpr std::size_t max_d = max_kernel_dim;
  static constexpr bool fixed = false;
  static constexpr std::size_t pass_rows = 4;
};

/// Four doubles (GCC vector extension): one AVX2 register, or two SSE2 registers.
typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
static_assert(lane == 4, "v4d holds one lane group");

// The block kernel. The accumulator is a square [dp x dp] tile (dp = d rounded up to
// `lane`) of which row i uses columns (i & ~(lane-1)) .. dp-1: every element at or above
// the diagonal, plus a few below it inside the diagonal lane groups, which are ignored.
// Each used element receives its products in row order, one rounded product and one
// rounded sum per row, whatever the vector width the compiler picks, so the bits do not
// depend on the instruction set. Several rows are folded per pass over the tile,
// ((acc + p_r) + p_{r+1}) + ..., which is the same sequence of roundings as one row at a
// time, with fewer loads and stores of the accumulators.
template <typename Dim>
__attribute__((always_inline)) inline void accumulate_rows(Dim dim, const float* x,
                                                           std::size_t rows, const double* shift,
                                                           double* s1, double* s2) {
  const std::size_t d = dim.d();
  const std::size_t nv = round_up(d) / lane;  // lane groups per tile row
  constexpr std::size_t max_nv = round_up(Dim::max_d) / lane;
  constexpr std::size_t R = Dim::pass_rows;
  v4d tile[Dim::max_d * max_nv];
  v4d v[R][max_nv];
  v4d sum[max_nv];
  double k[max_nv * lane];
  for (std::size_t g = 0; g < d * nv; ++g) tile[g] = v4d{0.0, 0.0, 0.0, 0.0};
  for (std::size_t g = 0; g < nv; ++g) {
    sum[g] = v4d{0.0, 0.0, 0.0, 0.0};
    for (std::size_t q = 0; q < R; ++q) v[q][g] = v4d{0.0, 0.0, 0.0, 0.0};
  }
  for (std::size_t j = 0; j < d; ++j) k[j] = shift[j];
  std::size_t r = 0;
  for (; r + R <= rows; r += R) {
    const float* a = x + r * d;
    for (std::size_t q = 0; q < R; ++q) {
      for (std::size_t j = 0; j < d; ++j)
        v[q][j / lane][j % lane] = static_cast<double>(a[q * d + j]) - k[j];
    }
    for (std::size_t g = 0; g < nv; ++g) {
      v4d s = sum[g];
      for (std::size_t q = 0; q < R; ++q) s = s + v[q][g];
      sum[g] = s;
    }
    auto tile_row = [&](std::size_t i) __attribute__((always_inline)) {
      v4d* t = tile + i * nv;
      for (std::size_t g = i / lane; g < nv; ++g) {
        v4d acc = t[g];
        for (std::size_t q = 0; q < R; ++q) acc = acc + v[q][i / lane][i % lane] * v[q][g];
        t[g] = acc;
      }
    };
    if constexpr (Dim::fixed) {
#pragma GCC unroll 16
      for (std::size_t i = 0; i < d; ++i) tile_row(i);
    } else {
      for (std::size_t i = 0; i < d; ++i) tile_row(i);
    }
  }
  for (; r < rows; ++r) {
    const float* a = x + r * d;
    for (std::size_t j = 0; j < d; ++j) v[0][j / lane][j % lane] = static_cast<double>(a[j]) - k[j];
    for (std::size_t g = 0; g < nv; ++g) sum[g] += v[0][g];
    for (std::size_t i = 0; i < d; ++i) {
      const double a0 = v[0][i / lane][i % lane];
      v4d* t = tile + i * nv;
      for (std::size_t g = i / lane; g < nv; ++g) t[g] += a0 * v[0][g];
    }
  }
  for (std::size_t j = 0; j < d; ++j) s1[j] = sum[j / lane][j % lane];
  std::size_t p = 0;
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = i; j < d; ++j) s2[p++] = tile[i * nv + j / lane][j % lane];
  }
}

using kernel_fn = void (*)(std::size_t d, const float* x, std::size_t rows, const double* shift,
                           double* s1, double* s2);

template <std::size_t D>
void kernel_fixed(std::size_t, const float* x, std::size_t rows, const double* shift, double* s1,
                  double* s2) {
  accumulate_rows(fixed_dim<D>{}, x, rows, shift, s1, s2);
}
template <std::size_t D>
__attribute__((target("avx2"))) void kernel_fixed_avx2(std::size_t, const float* x,
                                                       std::size_t rows, const double* shift,
                                                       double* s1, double* s2) {
  accumulate_rows(fixed_dim<D>{}, x, rows, shift, s1, s2);
}
void kernel_runtime(std::size_t d, const float* x, std::size_t rows, const double* shift,
                    double* s1, double* s2) {
  accumulate_rows(runtime_dim{d}, x, rows, shift, s1, s2);
}
__attribute__((target("avx2"))) void kernel_runtime_avx2(std::size_t d, const float* x,
                                                         std::size_t rows, const double* shift,
                                                         double* s1, double* s2) {
  accumulate_rows(runtime_dim{d}, x, rows, shift, s1, s2);
}

/// Dimensions up to this get a kernel compiled for their exact size.
constexpr std::size_t max_fixed_dim = 16;

/// The kernel for dimension d (<= max_kernel_dim) on this processor. The AVX2 and the
/// baseline kernels produce the same bits; only their speed differs.
template <std::size_t... Ds>
kernel_fn pick_kernel(std::size_t d, std::index_sequence<Ds...>) {
  const bool avx2 = detail::cpu_has_avx2();
  kernel_fn fn = avx2 ? &kernel_runtime_avx2 : &kernel_runtime;
  ((d == Ds + 1 ? (fn = avx2 ? &kernel_fixed_avx2<Ds + 1> : &kernel_fixed<Ds + 1>) : fn), ...);
  return fn;
}

/// Sums of one block of rows into `out` (zeroed by the caller).
void block_sum(const float* x, std::size_t rows, std::size_t d, const double* shift,
               block_sums& out) {
  if (d <= max_kernel_dim) {
    pick_kernel(d, std::make_index_sequence<max_fixed_dim>{})(d, x, rows, shift, out.s1.data(),
                                                              out.s2.data());
    return;
  }
  // Wide rows: the same sequence of roundings, one row at a time, packed upper triangle.
  std::vector<double> v(d);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* a = x + r * d;
    for (std::size_t j = 0; j < d; ++j) v[j] = static_cast<double>(a[j]) - shift[j];
    for (std::size_t j = 0; j < d; ++j) out.s1[j] += v[j];
    double* t = out.s2.data();
    for (std::size_t i = 0; i < d; ++i) {
      const double a0 = v[i];
      for (std::size_t j = i; j < d; ++j) *t++ += a0 * v[j];
    }
  }
}

struct tree_job {
  const float* x;
  std::size_t n;
  std::size_t d;
  const double* shift;

  std::size_t blocks() const { return (n + block_rows - 1) / block_rows; }

  /// tree(lo, hi) into `out` (zeroed by the caller).
  void sum(std::size_t lo, std::size_t hi, block_sums& out) const {
    if (hi - lo == 1) {
      const std::size_t r0 = lo * block_rows;
      const std::size_t r1 = std::min(n, r0 + block_rows);
      block_sum(x + r0 * d, r1 - r0, d, shift, out);
      return;
    }
    const std::size_t mid = lo + (hi - lo) / 2;
    sum(lo, mid, out);
    block_sums right(d);
    sum(mid, hi, right);
    out.add(right);
  }
};

/// Tree nodes of at most `grain` blocks, left to right, split as tree_job::sum splits.
void collect_tasks(std::size_t lo, std::size_t hi, std::size_t grain,
                   std::vector<std::pair<std::size_t, std::size_t>>& tasks) {
  if (hi - lo <= grain) {
    tasks.emplace_back(lo, hi);
    return;
  }
  const std::size_t mid = lo + (hi - lo) / 2;
  collect_tasks(lo, mid, grain, tasks);
  collect_tasks(mid, hi, grain, tasks);
}

/// Recombine the task results exactly as tree_job::sum would have.
void combine_tasks(std::size_t lo, std::size_t hi,
                   const std::vector<std::pair<std::size_t, std::size_t>>& tasks,
                   std::vector<block_sums>& results, std::size_t& next, block_sums& out) {
  if (next < tasks.size() && tasks[next].first == lo && tasks[next].second == hi) {
    out = std::move(results[next++]);
    return;
  }
  const std::size_t mid = lo + (hi - lo) / 2;
  combine_tasks(lo, mid, tasks, results, next, out);
  block_sums right;
  combine_tasks(mid, hi, tasks, results, next, right);
  out.add(right);
}

}  // namespace

moments compute_moments(const resources& res, matrix_view<const float> x) {
  const std::size_t n = x.rows;
  const std::size_t d = x.cols;
  moments m(d);
  m.n = n;
  if (n == 0 || d == 0) return m;

  // The shift: mean of the first rows in float64, rounded to float.
  const std::size_t ms = std::min(n, shift_rows);
  std::vector<double> shift(d, 0.0);
  for (std::size_t r = 0; r < ms; ++r) {
    for (std::size_t j = 0; j < d; ++j) shift[j] += static_cast<double>(x(r, j));
  }
  for (std::size_t j = 0; j < d; ++j) {
    shift[j] = static_cast<double>(static_cast<float>(shift[j] / static_cast<double>(ms)));
  }

  const tree_job job{x.data, n, d, shift.data()};
  const std::size_t nb = job.blocks();
  const auto threads = static_cast<std::size_t>(std::max(res.threads(), 1));
  // Any grain gives the same bits; this one balances the load and bounds memory.
  const std::size_t grain = std::max<std::size_t>(1, nb / (4 * threads));
  std::vector<std::pair<std::size_t, std::size_t>> tasks;
  collect_tasks(0, nb, grain, tasks);
  std::vector<block_sums> results(tasks.size());
  detail::parallel_for(res.threads(), tasks.size(), [&](std::size_t t) {
    block_sums s(d);
    job.sum(tasks[t].first, tasks[t].second, s);
    results[t] = std::move(s);
  });
  block_sums total;
  std::size_t next = 0;
  combine_tasks(0, nb, tasks, results, next, total);

  const auto nd = static_cast<double>(n);
  for (std::size_t j = 0; j < d; ++j) m.mean[j] = shift[j] + total.s1[j] / nd;
  std::size_t p = 0;
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = i; j < d; ++j, ++p) {
      const double c = total.s2[p] - (total.s1[i] * total.s1[j]) / nd;
      m.comoment[i * d + j] = c;
      m.comoment[j * d + i] = c;
    }
  }
  return m;
}

}  // namespace playaug::cpu_impl
