#pragma once
// The process-wide list of live temporary files (those of uncommitted atomic_files), kept
// so that remove_temporary_files() (io.hpp) can unlink them from a signal handler.
//
// The list is a fixed array of slots, each a state word and a path buffer: adding and
// removing never allocate, and remove_temporary_files() only reads slots, claims them
// with one compare-and-swap and calls unlink(), all of which are async-signal-safe.

#include <cstddef>

namespace playaug::detail {

/// Records `path` (made absolute against the current directory, so that a later chdir
/// does not matter) and returns its slot, or -1 when every slot is taken or the path is
/// too long: the file is then still removed by its atomic_file, only not on a signal.
int register_temporary(const char* path) noexcept;

/// Forgets the slot returned by register_temporary (nothing for -1). Call it once the
/// file was renamed into place or unlinked.
void unregister_temporary(int slot) noexcept;

/// Number of slots: how many temporary files can be live at once and still be removed on
/// a signal.
constexpr std::size_t kTemporarySlots = 64;

}  // namespace playaug::detail
