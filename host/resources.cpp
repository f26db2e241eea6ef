#include "playaug/resources.hpp"

#include <algorithm>

#include "cuda_impl.hpp"
#include "detail/parallel.hpp"
#include "playaug/error.hpp"

namespace playaug {

std::string_view to_string(backend b) noexcept {
  switch (b) {
    case backend::automatic: return "auto";
    case backend::cpu: return "cpu";
    case backend::cuda: return "cuda";
  }
  return "?";
}

backend parse_backend(std::string_view name) {
  if (name == "auto" || name == "automatic") return backend::automatic;
  if (name == "cpu") return backend::cpu;
  if (name == "cuda" || name == "gpu") return backend::cuda;
  throw usage_error("unknown device '" + std::string(name) + "' (expected auto, cpu or cuda)");
}

bool cuda_built() noexcept { return PLAYAUG_HAS_CUDA != 0; }

int cuda_device_count() noexcept {
  std::string reason;
  return cuda_impl::device_count(&reason);
}

std::string cuda_unavailable_reason() {
  std::string reason;
  return cuda_impl::device_count(&reason) > 0 ? std::string() : reason;
}

void detail::cuda_state_deleter::operator()(cuda_state* s) const noexcept {
  cuda_impl::destroy_state(s);
}

resources::resources(backend requested, int threads) {
  set_threads(threads);
  if (requested == backend::cpu) {
    kind_ = backend::cpu;
    return;
  }
  std::string reason;
  const int devices = cuda_impl::device_count(&reason);
  if (devices > 0) {
    kind_ = backend::cuda;
    return;
  }
  if (requested == backend::cuda) {
    throw cuda_unavailable(cuda_built() ? cuda_unavailable::reason_t::no_device
                                        : cuda_unavailable::reason_t::not_built,
                           reason);
  }
  kind_ = backend::cpu;
  fallback_reason_ = reason;
}

resources::resources(stream_handle stream, int threads) : resources(backend::cuda, threads) {
  borrowed_ = stream;
}

resources::~resources() = default;
resources::resources(resources&&) noexcept = default;
resources& resources::operator=(resources&&) noexcept = default;

void resources::set_threads(int threads) noexcept {
  threads_ = threads > 0 ? threads : detail::hardware_threads();
}

detail::cuda_state& resources::cuda() const {
  if (kind_ != backend::cuda) {
    throw cuda_unavailable(cuda_unavailable::reason_t::no_device, "these resources use the CPU");
  }
  if (!cuda_) cuda_.reset(cuda_impl::create_state(borrowed_));
  return *cuda_;
}

stream_handle resources::stream() const { return cuda_impl::stream_of(cuda()); }

void resources::sync() const {
  if (kind_ == backend::cuda && cuda_) cuda_impl::synchronize(*cuda_);
}

}  // namespace playaug
