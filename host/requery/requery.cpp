// The requery operation (requery.hpp): targets by protuberance, then one recommender call;
// and the catalog recommender, which resolves "no repeats within a playlist" exactly by
// walking each song's candidates in (score, row) order, track by track.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "playaug/buffer.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/requery.hpp"
#include "cuda_impl.hpp"

namespace playaug {

void requery_params::validate() const {
  if (!(protuberance >= 0.0f && protuberance < 1.0f)) {
    throw usage_error("requery: protuberance must be in [0, 1), got " + std::to_string(protuberance));
  }
}

dataset requery(const resources& res, const dataset& in, recommender& rec, const requery_params& prm,
                std::uint64_t first_playlist) {
  prm.validate();
  if (in.songs() != 0 && in.dim != spotify::n_features) {
    throw usage_error("requery needs the 11 Spotify audio features per song; the input has " +
                      std::to_string(in.dim));
  }
  dataset out = in;
  out.track_ids.clear();
  if (out.songs() == 0) {
    for (auto& id : out.ids) id += "#rq";
    return out;
  }
  if (out.schema.dim() != out.dim) out.schema = feature_schema::for_dim(out.dim);

  protuberance_params pp;
  pp.p = prm.protuberance;
  pp.phi = 1.0f;
  pp.raw = false;
  pp.seed = prm.seed;
  pp.stream = purpose::requery;
  protuberance(res, out.feature_matrix(), {out.song_offsets.data(), out.song_offsets.size()},
               feature_schema::spotify(), pp, 0, first_playlist);

  rec.recommend(res, out, prm);  // messages name the playlists by their input ids
  if (out.track_ids.size() != out.songs()) {
    throw error("requery: the recommender returned " + std::to_string(out.track_ids.size()) + " track ids for " +
                std::to_string(out.songs()) + " songs");
  }
  for (auto& id : out.ids) id += "#rq";
  return out;
}

// ---------------------------------------------------------------------------------------
// The catalog recommender
// ---------------------------------------------------------------------------------------

catalog_recommender::catalog_recommender(track_catalog catalog, const std::vector<std::string>& genres)
    : catalog_(std::move(catalog)), index_(catalog_, genres) {}

catalog_recommender::~catalog_recommender() = default;

namespace {

// Largest |z| accepted for a query: keeps every score finite.
constexpr double kMaxStandardised = 1e18;

// Run nearest() over the queries listed in `which` (all when empty) in batches, so that
// progress can be reported between them.
struct searcher {
  const resources& res;
  matrix_view<const float> catalog;
  std::size_t batch;

  void run(const std::vector<float>& z, const std::vector<nn_hit>& floors, std::vector<nn_hit>& out,
           const std::function<void(std::size_t)>& done) const {
    const std::size_t q = z.size() / nn_dim;
    out.resize(q);
    for (std::size_t b = 0; b < q; b += batch) {
      const std::size_t n = std::min(batch, q - b);
      nearest(res, catalog, {z.data() + b * nn_dim, n, nn_dim},
              floors.empty() ? vector_view<const nn_hit>{} : vector_view<const nn_hit>{floors.data() + b, n},
              {out.data() + b, n});
      if (done) done(n);
    }
  }
};

}  // namespace

void catalog_recommender::recommend(const resources& res, dataset& chunk, const requery_params& prm) {
  const std::size_t songs = chunk.songs();
  chunk.track_ids.assign(songs, std::string());
  last_rounds_ = 0;
  if (songs == 0) return;
  if (chunk.dim != nn_dim) {
    throw usage_error("the catalog backend needs the 11 Spotify features per song, got " + std::to_string(chunk.dim));
  }

  // Every playlist must be able to hold distinct tracks.
  if (!prm.allow_repeats) {
    for (std::size_t p = 0; p < chunk.playlists(); ++p) {
      if (chunk.song_count(p) > index_.distinct_tracks()) {
        throw error("playlist '" + detail::printable(chunk.ids[p]) + "' has " + std::to_string(chunk.song_count(p)) +
                    " songs but the catalog offers only " + std::to_string(index_.distinct_tracks()) +
                    " distinct tracks; pass --allow-repeats to allow repeats");
      }
    }
  }

  // Standardised targets.
  std::vector<float> z(songs * nn_dim);
  for (std::size_t p = 0; p < chunk.playlists(); ++p) {
    for (std::uint64_t s = chunk.song_offsets[p]; s < chunk.song_offsets[p + 1]; ++s) {
      index_.scaler().apply(chunk.features.data() + s * nn_dim, z.data() + s * nn_dim);
      for (std::size_t k = 0; k < nn_dim; ++k) {
        const float v = z[s * nn_dim + k];
        if (!(std::fabs(static_cast<double>(v)) <= kMaxStandardised)) {
          std::string value;  // shortest round-trip form, as in the CSV, not std::to_string's %f
          append_float(value, chunk.features[s * nn_dim + k]);
          throw error("playlist '" + detail::printable(chunk.ids[p]) + "' song " + std::to_string(s - chunk.song_offsets[p] + 1) + ": " +
                      feature_schema::spotify()[k].name + " = " + value +
                      " is too far from the catalog's values to search");
        }
      }
    }
  }

  // The catalog, on the device when computing there (uploaded once per stream).
  matrix_view<const float> cat = index_.prepared();
  if (res.is_cuda()) {
    const void* owner = res.stream();
    if (!device_catalog_ || device_owner_ != owner) {
      device_catalog_.reset();
      device_catalog_ = cuda_impl::upload_catalog(res, index_.prepared());
      device_owner_ = owner;
    }
    cat = {static_cast<const float*>(device_catalog_.get()), index_.size(), nn_stride, memory_space::device};
  }

  // Batches of about 2e9 (CPU) or 2e10 (CUDA) query x track pairs between progress reports.
  const double pairs = res.is_cuda() ? 2e10 : 2e9;
  const std::size_t batch =
      std::max<std::size_t>(1024, static_cast<std::size_t>(pairs / static_cast<double>(index_.size())));
  const searcher search{res, cat, batch};

  std::vector<nn_hit> hit;
  const bool report = static_cast<bool>(prm.on_progress);
  search.run(z, {}, hit, [&](std::size_t n) {
    if (report && prm.allow_repeats) prm.on_progress(n, 0);
  });
  last_rounds_ = 1;

  if (!prm.allow_repeats) {
    // Walk the playlists: song r of playlist p takes its current candidate unless an
    // earlier song took that track; then it (and any later song whose candidate is taken
    // already) moves on. Its final track is the first candidate in (score, row) order
    // whose id no earlier song of the playlist has.
    //
    // Moving on, two ways with the same answer. When every candidate to move past is the
    // only row of its track, the next search starts after the current candidate (batched
    // over all such songs). When some track has several rows, stepping would pass them one
    // search at a time (a catalog with thousands of rows per id took thousands of rounds),
    // so that playlist's pending songs search, without floors, a copy of the catalog
    // without the rows of the playlist's used tracks. Every row it drops would have been
    // stepped over, and the copy keeps the rows in order, so ties resolve the same way.
    // Either way each round moves every pending song past at least one whole track.
    const std::size_t playlists = chunk.playlists();
    const std::size_t m = index_.size();
    std::vector<std::uint32_t> rows_of_key(index_.distinct_tracks(), 0);
    for (std::size_t i = 0; i < m; ++i) ++rows_of_key[index_.track_key(i)];
    std::vector<std::size_t> resolved(playlists, 0);
    std::vector<std::unordered_set<std::uint32_t>> used(playlists);
    std::vector<std::size_t> pending, filtered_playlists, own;
    std::vector<float> zp;
    std::vector<nn_hit> fp, hp;
    buffer<float> sub;               // the catalog without a playlist's used tracks
    std::vector<std::int32_t> back;  // sub row -> candidate row
    std::vector<std::uint8_t> banned(index_.distinct_tracks(), 0);
    for (;;) {
      pending.clear();
      filtered_playlists.clear();
      std::uint64_t finished = 0;
      for (std::size_t p = 0; p < playlists; ++p) {
        const std::size_t base = chunk.song_offsets[p];
        const std::size_t n = chunk.song_count(p);
        std::size_t& r = resolved[p];
        while (r < n) {
          const nn_hit h = hit[base + r];
          if (h.row < 0) {
            throw error("playlist '" + detail::printable(chunk.ids[p]) + "' song " + std::to_string(r + 1) +
                        ": the catalog ran out of tracks new to the playlist");
          }
          if (!used[p].insert(index_.track_key(static_cast<std::size_t>(h.row))).second) break;
          ++r;
          ++finished;
        }
        if (r == n) continue;
        own.clear();
        bool shared_track = false;
        for (std::size_t k = r; k < n; ++k) {
          const nn_hit h = hit[base + k];
          if (h.row < 0) continue;
          const std::uint32_t key = index_.track_key(static_cast<std::size_t>(h.row));
          if (k == r || used[p].count(key) != 0) {
            own.push_back(base + k);
            shared_track = shared_track || rows_of_key[key] > 1;
          }
        }
        if (shared_track) {
          filtered_playlists.push_back(p);
        } else {
          pending.insert(pending.end(), own.begin(), own.end());
        }
      }
      if (report && finished != 0) prm.on_progress(finished, 0);
      if (pending.empty() && filtered_playlists.empty()) break;

      if (!pending.empty()) {
        zp.resize(pending.size() * nn_dim);
        fp.resize(pending.size());
        for (std::size_t i = 0; i < pending.size(); ++i) {
          std::memcpy(zp.data() + i * nn_dim, z.data() + pending[i] * nn_dim, nn_dim * sizeof(float));
          fp[i] = hit[pending[i]];
        }
        search.run(zp, fp, hp, {});
        for (std::size_t i = 0; i < pending.size(); ++i) hit[pending[i]] = hp[i];
      }

      const float* prepared = index_.prepared().data;
      for (const std::size_t p : filtered_playlists) {
        const std::size_t base = chunk.song_offsets[p];
        const std::size_t n = chunk.song_count(p);
        own.clear();
        for (std::size_t k = resolved[p]; k < n; ++k) {
          const nn_hit h = hit[base + k];
          if (h.row >= 0 && (k == resolved[p] || used[p].count(index_.track_key(static_cast<std::size_t>(h.row))))) {
            own.push_back(base + k);
          }
        }
        for (const std::uint32_t key : used[p]) banned[key] = 1;
        back.clear();
        for (std::size_t i = 0; i < m; ++i) {
          if (banned[index_.track_key(i)] == 0) back.push_back(static_cast<std::int32_t>(i));
        }
        for (const std::uint32_t key : used[p]) banned[key] = 0;
        zp.resize(own.size() * nn_dim);
        for (std::size_t i = 0; i < own.size(); ++i) {
          std::memcpy(zp.data() + i * nn_dim, z.data() + own[i] * nn_dim, nn_dim * sizeof(float));
        }
        if (back.empty()) {
          for (const std::size_t s : own) hit[s] = nn_hit{};  // no track left: reported above
          continue;
        }
        sub.resize(back.size() * nn_stride);
        for (std::size_t i = 0; i < back.size(); ++i) {
          std::memcpy(sub.data() + i * nn_stride, prepared + static_cast<std::size_t>(back[i]) * nn_stride,
                      nn_stride * sizeof(float));
        }
        const searcher filtered{res, {sub.data(), back.size(), nn_stride}, search.batch};
        filtered.run(zp, {}, hp, {});
        for (std::size_t i = 0; i < own.size(); ++i) {
          nn_hit h = hp[i];
          if (h.row >= 0) h.row = back[static_cast<std::size_t>(h.row)];
          hit[own[i]] = h;
        }
      }
      ++last_rounds_;
    }
  }

  for (std::size_t s = 0; s < songs; ++s) {
    if (hit[s].row < 0) throw error("requery: no catalog track found for song " + std::to_string(s));
    const std::size_t row = index_.catalog_row(static_cast<std::size_t>(hit[s].row));
    chunk.track_ids[s] = catalog_.ids[row];
    std::memcpy(chunk.features.data() + s * nn_dim, catalog_.features.data() + row * nn_dim, nn_dim * sizeof(float));
  }
}

}  // namespace playaug
