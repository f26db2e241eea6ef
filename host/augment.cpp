// The augment operation: parameter checks and the dispatch point (the CPU engine is in
// augment_cpu.cpp).

#include "playaug/augment.hpp"

#include <string>

#include "cpu_impl.hpp"
#include "cuda_impl.hpp"
#include "detail/expects.hpp"
#include "playaug/error.hpp"

namespace playaug {

namespace {

constexpr std::uint32_t kMaxCopies = 0xFFFFFFu;  // the copy field of the random layout

}  // namespace

void augment_params::validate() const {
  // Messages start with the parameter's name (the CLI prefixes "--" to name its option).
  auto need = [](bool cond, const auto&... parts) {
    if (!cond) throw usage_error(detail::concat(parts...));
  };
  need(copies <= kMaxCopies, "copies must be at most ", kMaxCopies, ", got ", copies);
  need(protuberance >= 0.0f && protuberance < 1.0f, "protuberance must be in [0, 1), got ", protuberance);
  need(phi >= 0.0f && phi <= 1.0f, "phi must be in [0, 1], got ", phi);
  need(reverse >= 0.0f && reverse <= 1.0f, "reverse must be in [0, 1], got ", reverse);
}

dataset augment(const resources& res, const dataset& in, const augment_params& prm,
                std::uint64_t first_playlist) {
  prm.validate();
  in.validate();
  const std::uint64_t playlists = in.playlists();
  detail::expects(first_playlist <= (std::uint64_t{1} << 32) && playlists <= (std::uint64_t{1} << 32) - first_playlist,
                  "augment", "playlist indices beyond 2^32 cannot be addressed by the random layout");
  if (res.is_cuda()) return cuda_impl::augment(res, in, prm, first_playlist);
  return cpu_impl::augment(res, in, prm, first_playlist);
}

}  // namespace playaug
