#pragma once
// Run-time CPU feature checks for the kernels that ship an AVX2 variant next to the
// portable one (each variant is compiled with __attribute__((target(...))), so the build
// itself needs no -march flag). Results are cached after the first call.

namespace playaug::detail {

/// True when the CPU executes AVX2 instructions.
inline bool cpu_has_avx2() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes = __builtin_cpu_supports("avx2") != 0;
  return yes;
#else
  return false;
#endif
}

/// True when the CPU executes AVX2 and FMA instructions.
inline bool cpu_has_avx2_fma() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes = __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
  return yes;
#else
  return false;
#endif
}

}  // namespace playaug::detail
