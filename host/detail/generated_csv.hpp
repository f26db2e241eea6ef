#pragma once
/// @file generated_csv.hpp
/// Writing a generated dataset (playaug synth, rule-based or learned) to a CSV chunk by
/// chunk: the next chunk is generated while the current one is written, so memory holds
/// about two chunks however many playlists are asked for, and the file appears only when
/// complete (open_dataset_writer's atomic file).

#include <algorithm>
#include <cstdint>
#include <future>
#include <string>
#include <utility>

#include "playaug/dataset.hpp"
#include "playaug/io.hpp"
#include "playaug/synth.hpp"

namespace playaug::detail {

/// Write playlists [0, playlists) to `path`, `chunk` of them at a time; `generate(first,
/// count)` returns playlists [first, first + count) (count is clamped by the caller's
/// generator, as synthesize() does) and may run on another thread.
template <class Generate>
synth_stats write_generated_csv(const std::string& path, int threads, std::uint64_t playlists,
                                std::uint64_t chunk, Generate generate) {
  chunk = std::max<std::uint64_t>(1, chunk);
  synth_stats stats;
  const auto writer = open_dataset_writer(path, {/*with_track_ids=*/false, threads});
  dataset_writer& out = *writer;
  std::uint64_t next = 0;
  std::future<dataset> pending;
  auto launch = [&] {
    const std::uint64_t first = next;
    next = std::min(playlists, next + chunk);
    pending = std::async(std::launch::async, [&generate, first, chunk] { return generate(first, chunk); });
  };
  if (playlists > 0) launch();
  while (pending.valid()) {
    dataset ds = pending.get();
    if (next < playlists) launch();
    out.write(ds);
    stats.playlists += ds.playlists();
    stats.empty_playlists += ds.null_playlists();
    stats.songs += ds.songs();
  }
  out.commit();
  return stats;
}

}  // namespace playaug::detail
