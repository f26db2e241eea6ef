// Reversal of playlists: checks and the dispatch point (the CPU engine is in
// reverse_cpu.cpp).

#include "playaug/reverse.hpp"

#include <algorithm>
#include <string>

#include "cpu_impl.hpp"
#include "cuda_impl.hpp"
#include "detail/expects.hpp"
#include "playaug/error.hpp"

namespace playaug {

void reverse_playlist(dataset& ds, std::size_t p) {
  detail::expects(p < ds.playlists(), "reverse_playlist", "playlist ", p, " out of range (", ds.playlists(),
                  " playlists)");
  cpu_impl::reverse_playlist(ds, p);
}

void reverse_playlists(const resources& res, const playlists_view& pl,
                       vector_view<const std::uint8_t> flags) {
  using detail::expects;
  const char* op = "reverse_playlists";
  const auto& so = pl.song_offsets;
  const auto& go = pl.segment_offsets;
  expects(so.size != 0 && go.size == so.size, op,
          "song_offsets and segment_offsets need playlists + 1 entries (got ", so.size, " and ", go.size, ")");
  const std::size_t playlists = so.size - 1;
  detail::expect_shape(op, {"flags", flags.size, "entries"}, {"song_offsets", playlists, "playlists"});
  expects(pl.mood_offsets.size != 0, op, "mood_offsets needs segments + 1 entries, got 0");
  detail::expect_data(op, "features", pl.features);
  detail::expect_data(op, "song_offsets", so);
  detail::expect_data(op, "segment_offsets", go);
  detail::expect_data(op, "mood_offsets", pl.mood_offsets);
  detail::expect_data(op, "moods", pl.moods);
  detail::expect_data(op, "flags", flags);
  const memory_space space = pl.features.space;
  expects(so.space == space && go.space == space && pl.mood_offsets.space == space && pl.moods.space == space &&
              flags.space == space,
          op, "every array must be in the same memory space");
  detail::expect_host_memory(res, op, "features", pl.features);
  if (space == memory_space::host) {
    const std::size_t segments = pl.mood_offsets.size - 1;
    expects(so[0] == 0 && go[0] == 0, op, "offsets must start at 0");
    for (std::size_t i = 0; i < playlists; ++i) {
      expects(so[i + 1] >= so[i] && go[i + 1] >= go[i], op, "offsets must be non-decreasing (playlist ", i, ")");
    }
    expects(so[playlists] == pl.features.rows, op, "song_offsets end at ", so[playlists], " but features has ",
            pl.features.rows, " rows");
    expects(go[playlists] == segments, op, "segment_offsets end at ", go[playlists], " but mood_offsets describes ",
            segments, " segments");
    const auto& mo = pl.mood_offsets;
    expects(mo[0] == 0 && mo[segments] == pl.moods.size && std::is_sorted(mo.begin(), mo.end()), op,
            "mood_offsets must run non-decreasing from 0 to moods.size");
  }
  if (res.is_cuda()) return cuda_impl::reverse_playlists(res, pl, flags);
  cpu_impl::reverse_playlists(res, pl, flags);
}

}  // namespace playaug
