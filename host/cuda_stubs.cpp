// The CUDA entry points of a CPU-only build (PLAYAUG_ENABLE_CUDA=OFF): every symbol of
// cuda/cuda_impl.hpp exists and throws cuda_unavailable(not_built). The dispatch points
// never reach them, because resources never resolve to the CUDA backend in such a build.

#include "cuda_impl.hpp"
#include "playaug/error.hpp"

namespace playaug::cuda_impl {

namespace {
[[noreturn]] void not_built(const char* what) {
  throw cuda_unavailable(cuda_unavailable::reason_t::not_built, what);
}
}  // namespace

int device_count(std::string* reason) noexcept {
  if (reason != nullptr) *reason = "this playaug was built without CUDA";
  return 0;
}
detail::cuda_state* create_state(stream_handle) { not_built("create_state"); }
void destroy_state(detail::cuda_state*) noexcept {}
stream_handle stream_of(detail::cuda_state&) { not_built("stream"); }
void synchronize(detail::cuda_state&) { not_built("synchronize"); }

moments compute_moments(const resources&, matrix_view<const float>) { not_built("compute_moments"); }
eigen_result symmetric_eig(const resources&, const std::vector<double>&, std::size_t) {
  not_built("symmetric_eig");
}
void transform(const resources&, const pca_model&, matrix_view<const float>, matrix_view<float>) {
  not_built("transform");
}
void inverse_transform(const resources&, const pca_model&, matrix_view<const float>, matrix_view<float>) {
  not_built("inverse_transform");
}
batched_pca fit_pca_per_playlist(const resources&, matrix_view<const float>,
                                 vector_view<const std::uint64_t>) {
  not_built("fit_pca_per_playlist");
}
void protuberance(const resources&, matrix_view<float>, vector_view<const std::uint64_t>,
                  const feature_rules&, const protuberance_params&, std::uint32_t, std::uint64_t) {
  not_built("protuberance");
}
void reverse_playlists(const resources&, const playlists_view&, vector_view<const std::uint8_t>) {
  not_built("reverse_playlists");
}
dataset augment(const resources&, const dataset&, const augment_params&, std::uint64_t) {
  not_built("augment");
}

}  // namespace playaug::cuda_impl
