#pragma once
// The CPU halves of playaug's operations (host/<operation>_cpu.cpp), called by the dispatch
// points (one per operation, in host/<operation>.cpp) when the backend is the CPU. Host
// memory only; the dispatch points have checked every argument.

#include <cstdint>
#include <vector>

#include "playaug/augment.hpp"
#include "playaug/moments.hpp"
#include "playaug/nearest.hpp"
#include "playaug/pca.hpp"
#include "playaug/pca_aggregate.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"
#include "playaug/view.hpp"

namespace playaug::cpu_impl {

moments compute_moments(const resources& res, matrix_view<const float> x);
/// Symmetric eigendecomposition (host/eig_cpu.cpp): Jacobi's method up to this dimension,
/// relatively accurate for positive definite matrices; LAPACK dsyevd above it.
inline constexpr std::size_t jacobi_max_dim = 64;
eigen_result symmetric_eig(const std::vector<double>& a, std::size_t d);
void transform(const resources& res, const pca_model& model, matrix_view<const float> x,
               matrix_view<float> y);
void inverse_transform(const resources& res, const pca_model& model,
                       matrix_view<const float> y, matrix_view<float> x);
batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets);
pca_aggregate_sum aggregate_playlists(const resources& res, matrix_view<const float> x,
                                      vector_view<const std::uint64_t> offsets, const pca_aggregate_options& opts);
void protuberance(const resources& res, matrix_view<float> x,
                  vector_view<const std::uint64_t> offsets, const feature_rules& rules,
                  const protuberance_params& prm, std::uint32_t copy,
                  std::uint64_t first_playlist);
/// The CPU protuberance loop, shared by protuberance and augment; bitwise equal to calling
/// protuberate() on every component. Built once per call: the rules are tiled over a few
/// songs so that the inner loop runs branch-free over contiguous words, and each Philox
/// block is computed once for its four words.
class protuberance_kernel {
 public:
  protuberance_kernel(const feature_rules& rules, const protuberance_params& prm);
  /// Protuberance of one playlist's [songs x d] rows in place, component (s, j) drawing
  /// word s * d + j of `subsequence`.
  void operator()(float* x, std::size_t songs, std::uint64_t subsequence) const;

 private:
  std::size_t d_ = 0;
  std::size_t tile_words_ = 0;       // whole songs, a multiple of 4 words
  protuberance_constants c_;
  std::uint64_t seed_ = 0;
  bool noop_ = true;                 // phi == 0 or every feature kept
  std::vector<float> thr_, lo_, hi_;  // [tile_words_]: chosen iff r <= thr, then clamp
};
void reverse_playlists(const resources& res, const playlists_view& pl,
                       vector_view<const std::uint8_t> flags);
void reverse_playlist(dataset& ds, std::size_t p);
dataset augment(const resources& res, const dataset& in, const augment_params& prm,
                std::uint64_t first_playlist);


/// The exact nearest-neighbour search (nearest.hpp, host/nearest_cpu.cpp). `path` picks the
/// inner loop: automatic takes avx2 when the processor has AVX2 and FMA.
enum class nn_path { automatic, scalar, avx2 };
/// True when the processor can run the AVX2 path.
bool nearest_avx2_available() noexcept;
void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out, nn_path path = nn_path::automatic);

}  // namespace playaug::cpu_impl
