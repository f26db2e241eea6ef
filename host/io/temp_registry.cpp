// The registry of live temporary files (temp_registry.hpp) and remove_temporary_files().

#include "io/temp_registry.hpp"

#include <limits.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "playaug/io.hpp"

namespace playaug {

namespace detail {

namespace {

// Slot states. A slot goes free -> filling -> live -> free on the normal path; a signal
// handler takes it live -> claimed and never gives it back (the process is going away).
enum : int { kFree = 0, kFilling = 1, kLive = 2, kClaimed = 3 };

struct slot {
  std::atomic<int> state{kFree};
  char path[PATH_MAX];
};

static_assert(std::atomic<int>::is_always_lock_free, "slot states must be usable in a signal handler");

slot g_slots[kTemporarySlots];

}  // namespace

namespace {

/// Writes the absolute form of `path` into `out` (PATH_MAX bytes); false when it does not fit.
bool absolute_path(const char* path, char* out) noexcept {
  const std::size_t len = std::strlen(path);
  std::size_t used = 0;
  if (path[0] != '/') {
    if (::getcwd(out, PATH_MAX) == nullptr) return false;
    used = std::strlen(out);
    if (used == 0 || out[used - 1] != '/') out[used++] = '/';
  }
  if (used + len + 1 > PATH_MAX) return false;
  std::memcpy(out + used, path, len + 1);
  return true;
}

}  // namespace

int register_temporary(const char* path) noexcept {
  for (std::size_t i = 0; i < kTemporarySlots; ++i) {
    int expected = kFree;
    if (!g_slots[i].state.compare_exchange_strong(expected, kFilling, std::memory_order_acquire)) continue;
    if (!absolute_path(path, g_slots[i].path)) {
      g_slots[i].state.store(kFree, std::memory_order_release);
      return -1;
    }
    g_slots[i].state.store(kLive, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void unregister_temporary(int i) noexcept {
  if (i < 0) return;
  int expected = kLive;
  // Fails only when a signal handler claimed the slot: it unlinks the path itself.
  g_slots[i].state.compare_exchange_strong(expected, kFree, std::memory_order_acq_rel);
}

}  // namespace detail

void remove_temporary_files() noexcept {
  for (auto& s : detail::g_slots) {
    int expected = detail::kLive;
    if (s.state.compare_exchange_strong(expected, detail::kClaimed, std::memory_order_acq_rel)) {
      ::unlink(s.path);
    }
  }
}

}  // namespace playaug
