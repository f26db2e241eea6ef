// The requery engine's CUDA entry points in a CPU-only build (PLAYAUG_ENABLE_CUDA=OFF):
// they exist and throw cuda_unavailable(not_built). The dispatch point never reaches them,
// because resources never resolve to the CUDA backend in such a build.

#include "playaug/error.hpp"
#include "requery_impl.hpp"

namespace playaug::cuda_impl {

namespace {
[[noreturn]] void not_built(const char* what) {
  throw cuda_unavailable(cuda_unavailable::reason_t::not_built, what);
}
}  // namespace

void nearest(const resources&, matrix_view<const float>, matrix_view<const float>, vector_view<const nn_hit>,
             vector_view<nn_hit>) {
  not_built("nearest");
}

std::shared_ptr<const float> upload_catalog(const resources&, matrix_view<const float>) {
  not_built("upload_catalog");
}

nearest_tuning nearest_kernel_tuning() noexcept { return {}; }

}  // namespace playaug::cuda_impl
