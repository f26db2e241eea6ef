#pragma once
/// @file protuberance.hpp
/// Random protuberance: each chosen feature component x becomes x * (1 + u), u uniform in
/// (-p, p]; each component is chosen independently with probability phi.
///
/// One random word per component decides both (see random.hpp for its address):
///     r = uniform01(word)            in (0, 1]
///     chosen  iff  r <= phi
///     u = min(r * scale - p, p)      scale = 2p / phi, rounded once per call
/// (given r <= phi, r / phi is uniform on (0, 1], so u is uniform on (-p, p] up to rounding:
/// the smallest r round to u = -p, and the min removes the rounding of r * scale above 2p).
/// Every float operation is rounded individually (no fused multiply-add), so the CPU and
/// the CUDA engine produce identical bits. A result that overflows float32 saturates to
/// +-FLT_MAX (see protuberate()).
///
/// Schema-aware by default: categorical features (key) and binary ones (mode) are left
/// alone, unit-interval features are clamped to [0, 1]. `raw` applies the formula to every
/// component with no clamping, as the notebook's prose describes.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "playaug/dataset.hpp"
#include "playaug/random.hpp"
#include "playaug/resources.hpp"
#include "playaug/view.hpp"

namespace playaug {

/// The parameters of one protuberance pass.
struct protuberance_params {
  float p = 0.15f;    ///< maximum relative change, 0 <= p < 1
  float phi = 0.5f;   ///< probability that a component is changed, 0 <= phi <= 1
  bool raw = false;   ///< ignore the schema: change every component, never clamp
  std::uint64_t seed = 0;
  purpose stream = purpose::protuberance;  ///< which random stream to draw from

  /// usage_error when p or phi is out of range (or NaN).
  void validate() const;
};

/// What protuberance does to one feature column.
enum class feature_rule : std::uint8_t {
  keep = 0,   ///< never changed (categorical, binary)
  free = 1,   ///< changed, not clamped
  clamp = 2,  ///< changed, then clamped to [lo, hi]
};

/// Per-feature rule and bounds, derived once from the schema.
struct feature_rules {
  std::vector<feature_rule> rule;  ///< [d]
  std::vector<float> lo, hi;       ///< [d], used where rule == clamp
};
/// The rules of `schema` (see the file comment), or `free` for every feature when `raw`.
feature_rules make_feature_rules(const feature_schema& schema, bool raw);

namespace detail {

/// Individually rounded float operations; on the device the intrinsics stop the compiler
/// from contracting a*b+c into an FMA, on the host the build uses -ffp-contract=off.
PLAYAUG_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
PLAYAUG_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
PLAYAUG_HD float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

}  // namespace detail

/// The per-call constants of protuberate(): p, the choice threshold phi and the scale
/// 2p / phi, rounded once (2p is exact), so that a component costs one multiply and one
/// add instead of a division.
struct protuberance_constants {
  float p = 0.0f;
  float phi = 0.0f;
  float scale = 0.0f;  ///< fl(2p / phi); 0 when phi == 0 (nothing is chosen then)
};

/// The constants of a pass with maximum change p and probability phi.
PLAYAUG_HD protuberance_constants make_protuberance_constants(float p, float phi) {
  return {p, phi, phi > 0.0f ? detail::div_rn(detail::mul_rn(2.0f, p), phi) : 0.0f};
}

/// The largest finite float (FLT_MAX), where a protuberance that overflows saturates.
inline constexpr float max_finite_float = 3.40282346638528859812e+38f;

/// The protuberance of one component: x itself when not chosen or rule == keep.
/// Overflow: when x is finite but x * (1 + u) rounds to +-infinity (|x| near FLT_MAX), the
/// result saturates to +-FLT_MAX, so a valid (finite) input always gives a finite output.
/// An infinite x stays infinite and NaN stays NaN.
PLAYAUG_HD float protuberate(float x, std::uint32_t word, const protuberance_constants& c, feature_rule rule,
                             float lo, float hi) {
  if (rule == feature_rule::keep) return x;
  const float r = uniform01(word);
  if (!(r <= c.phi)) return x;
  float u = detail::add_rn(detail::mul_rn(r, c.scale), -c.p);
  u = u > c.p ? c.p : u;
  float y = detail::mul_rn(x, detail::add_rn(1.0f, u));
  y = y > max_finite_float && x <= max_finite_float ? max_finite_float : y;
  y = y < -max_finite_float && x >= -max_finite_float ? -max_finite_float : y;
  if (rule == feature_rule::clamp) {
    y = y < lo ? lo : y;
    y = y > hi ? hi : y;
  }
  return y;
}

/// Apply protuberance in place to the songs of consecutive playlists.
/// @param res      execution resources
/// @param x        [songs x d] features, host or device memory; modified in place
/// @param offsets  [playlists + 1] song offsets into x (offsets[0] == 0), same memory
///                 space as x
/// @param schema   d features (rules derived via make_feature_rules)
/// @param prm      parameters; validated
/// @param copy     copy index of the random layout (augment uses 1..K)
/// @param first_playlist  index of offsets' first playlist in the whole file
/// @note CUDA: stream-ordered on res.stream() for device memory; host memory is copied
///       to the device and back, and the call synchronises.
void protuberance(const resources& res, matrix_view<float> x,
                  vector_view<const std::uint64_t> offsets, const feature_schema& schema,
                  const protuberance_params& prm, std::uint32_t copy,
                  std::uint64_t first_playlist = 0);

}  // namespace playaug
