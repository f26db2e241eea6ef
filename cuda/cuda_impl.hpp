#pragma once
// The CUDA halves of playaug's operations: the only functions the host dispatch points
// call when res.is_cuda(). Declared with CUDA-free types so host .cpp files include this
// in every build. A CPU-only build links host/cuda_stubs.cpp instead of cuda/*.cu: every
// symbol exists and throws cuda_unavailable(not_built).
//
// Host-memory arguments are staged to the device and back (the call synchronises);
// device-memory arguments stay where they are and the call is stream-ordered, copying to
// the host only d x d results.

#include <cstdint>
#include <string>
#include <vector>

#include "playaug/augment.hpp"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"
#include "playaug/view.hpp"

namespace playaug::cuda_impl {

// --- devices and state (cuda/resources.cu) ---------------------------------------------
/// Usable devices; 0 with `reason` set when none (no driver, no device). Never throws.
int device_count(std::string* reason) noexcept;
/// The state behind resources::cuda(): stream (borrowed or owned non-blocking), lazily
/// created cuSOLVER handle, scratch.
detail::cuda_state* create_state(stream_handle borrowed);
void destroy_state(detail::cuda_state* s) noexcept;
stream_handle stream_of(detail::cuda_state& s);
void synchronize(detail::cuda_state& s);

// --- operations ------------------------------------------------------------------------
moments compute_moments(const resources& res, matrix_view<const float> x);
eigen_result symmetric_eig(const resources& res, const std::vector<double>& a, std::size_t d);
void transform(const resources& res, const pca_model& model, matrix_view<const float> x,
               matrix_view<float> y);
void inverse_transform(const resources& res, const pca_model& model,
                       matrix_view<const float> y, matrix_view<float> x);
batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets);
void protuberance(const resources& res, matrix_view<float> x,
                  vector_view<const std::uint64_t> offsets, const feature_rules& rules,
                  const protuberance_params& prm, std::uint32_t copy,
                  std::uint64_t first_playlist);
void reverse_playlists(const resources& res, const playlists_view& pl,
                       vector_view<const std::uint8_t> flags);
dataset augment(const resources& res, const dataset& in, const augment_params& prm,
                std::uint64_t first_playlist);

}  // namespace playaug::cuda_impl
