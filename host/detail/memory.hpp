#pragma once
// What an operation may allocate, checked before it allocates: sizes computed without
// overflow, and the memory this process may use.

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

namespace playaug::detail {

/// a * b, or the largest std::uint64_t when that overflows.
inline std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}

/// a + b, or the largest std::uint64_t when that overflows.
inline std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

/// Bytes this process may allocate: the physical memory, lowered by the address-space and
/// data-segment limits (ulimit -v, ulimit -d) when they are set.
inline std::uint64_t allocatable_bytes() noexcept {
  std::uint64_t bytes = std::numeric_limits<std::uint64_t>::max();
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) {
    bytes = saturating_mul(static_cast<std::uint64_t>(pages), static_cast<std::uint64_t>(page));
  }
  for (const int which : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit lim {};
    if (::getrlimit(which, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < bytes) {
      bytes = static_cast<std::uint64_t>(lim.rlim_cur);
    }
  }
  return bytes;
}

/// "1.5 GB", "8 TB" (decimal units, three significant digits).
inline std::string show_bytes(std::uint64_t bytes) {
  static const char* const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1000.0 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.3g %s", v, units[u]);
  return buf;
}

}  // namespace playaug::detail
