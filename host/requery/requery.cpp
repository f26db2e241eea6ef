// The requery operation (requery.hpp): targets by protuberance, then one recommender call;
// and the catalog recommender, which resolves "no repeats within a playlist" exactly by
// walking each song's candidates in (score, row) order, track by track.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "playaug/buffer.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/requery.hpp"
#include "cuda_impl.hpp"
#include "detail/expects.hpp"

namespace playaug {

void requery_params::validate() const {
  if (!(protuberance >= 0.0f && protuberance < 1.0f)) {
    throw usage_error("requery: protuberance must be in [0, 1), got " + std::to_string(protuberance));
  }
  if (copy >= (std::uint32_t{1} << 24)) {
    throw usage_error("requery: the stream copy index must be below 2^24, got " + std::to_string(copy));
  }
}

requery_counts& requery_counts::operator+=(const requery_counts& o) noexcept {
  copies += o.copies;
  songs += o.songs;
  fell_back += o.fell_back;
  left_out += o.left_out;
  failed += o.failed;
  return *this;
}

bool operator==(const requery_counts& a, const requery_counts& b) noexcept {
  return a.copies == b.copies && a.songs == b.songs && a.fell_back == b.fell_back && a.left_out == b.left_out &&
         a.failed == b.failed;
}

namespace {

// Append playlist p of `src` to `dst` (same dim) under the id `id`, with its track ids.
void append_row(dataset& dst, const dataset& src, std::size_t p, const std::string& id) {
  const std::size_t d = src.dim;
  const std::uint64_t s0 = src.song_offsets[p], s1 = src.song_offsets[p + 1];
  dst.ids.push_back(id);
  dst.null_features.push_back(src.null_features[p]);
  dst.features.append(src.features.data() + s0 * d, src.features.data() + s1 * d);
  dst.song_offsets.push_back(dst.song_offsets.back() + (s1 - s0));
  for (std::uint64_t g = src.segment_offsets[p]; g < src.segment_offsets[p + 1]; ++g) {
    dst.moods.insert(dst.moods.end(), src.moods.begin() + static_cast<std::ptrdiff_t>(src.mood_offsets[g]),
                     src.moods.begin() + static_cast<std::ptrdiff_t>(src.mood_offsets[g + 1]));
    dst.mood_offsets.push_back(dst.moods.size());
  }
  dst.segment_offsets.push_back(dst.segment_offsets.back() + (src.segment_offsets[p + 1] - src.segment_offsets[p]));
  if (!src.track_ids.empty()) {
    dst.track_ids.insert(dst.track_ids.end(), src.track_ids.begin() + static_cast<std::ptrdiff_t>(s0),
                         src.track_ids.begin() + static_cast<std::ptrdiff_t>(s1));
  }
}

// An empty dataset with the layout parameters of `like`.
dataset empty_like(const dataset& like) {
  dataset out;
  out.dim = like.dim;
  out.schema = like.schema;
  return out;
}

// requery() that also says which playlists were left out ([in.playlists()], 1 = left out).
// The result's ids end in "#rq".
dataset requery_rows(const resources& res, const dataset& in, recommender& rec, const requery_params& prm,
                     std::uint64_t first_playlist, requery_counts& counts, std::vector<std::uint8_t>& left_out) {
  prm.validate();
  if (in.songs() != 0 && in.dim != spotify::n_features) {
    throw usage_error("requery needs the 11 Spotify audio features per song; the input has " +
                      std::to_string(in.dim));
  }
  left_out.assign(in.playlists(), 0);
  dataset out = in;
  out.track_ids.clear();
  if (out.songs() == 0) {
    for (auto& id : out.ids) id += "#rq";
    counts.copies += out.playlists();
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
               feature_schema::spotify(), pp, prm.copy, first_playlist);

  recommend_outcome outcome;
  rec.recommend(res, out, prm, outcome);  // messages name the playlists by their input ids
  if (out.track_ids.size() != out.songs()) {
    throw error("requery: the recommender returned " + std::to_string(out.track_ids.size()) + " track ids for " +
                std::to_string(out.songs()) + " songs");
  }
  const std::size_t n = out.playlists();
  if (outcome.fell_back.size() != n) outcome.fell_back.assign(n, 0);
  if (outcome.left_out.size() != n) outcome.left_out.assign(n, 0);
  bool any_left_out = false;
  for (std::size_t p = 0; p < n; ++p) {
    if (outcome.left_out[p] != 0) {
      if (!prm.leave_out_unfillable) throw error("requery: the recommender left out a playlist it was asked to fill");
      left_out[p] = 1;
      any_left_out = true;
      ++counts.left_out;
      counts.failed += out.song_count(p);
    } else {
      ++counts.copies;
      counts.songs += out.song_count(p);
      counts.fell_back += outcome.fell_back[p];
    }
  }
  if (any_left_out) {
    dataset kept = empty_like(out);
    for (std::size_t p = 0; p < n; ++p) {
      if (left_out[p] == 0) append_row(kept, out, p, out.ids[p] + "#rq");
    }
    return kept;
  }
  for (auto& id : out.ids) id += "#rq";
  return out;
}

}  // namespace

dataset requery(const resources& res, const dataset& in, recommender& rec, const requery_params& prm,
                std::uint64_t first_playlist, requery_counts* counts) {
  requery_counts c;
  std::vector<std::uint8_t> left_out;
  dataset out = requery_rows(res, in, rec, prm, first_playlist, c, left_out);
  if (counts != nullptr) *counts += c;
  return out;
}

// ---------------------------------------------------------------------------------------
// One copy per genre
// ---------------------------------------------------------------------------------------

std::uint32_t genre_copy_index(std::string_view genre) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits
  for (const char c : genre) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return static_cast<std::uint32_t>(1 + h % ((std::uint64_t{1} << 24) - 1));
}

void genre_recommenders::add(std::string genre, std::unique_ptr<recommender> rec) {
  if (genre.empty()) throw usage_error("requery: a genre name cannot be empty");
  if (!rec) throw usage_error("requery: genre '" + detail::printable(genre) + "' has no recommender");
  const std::uint32_t copy = genre_copy_index(genre);
  for (const auto& g : genres_) {
    if (g == genre) throw usage_error("requery: genre '" + detail::printable(genre) + "' is named twice");
    if (genre_copy_index(g) == copy) {
      throw usage_error("requery: genres '" + detail::printable(g) + "' and '" + detail::printable(genre) +
                        "' have the same stream copy index " + std::to_string(copy) +
                        " (genre_copy_index), so their copies would draw the same targets; run them separately");
    }
  }
  genres_.push_back(std::move(genre));
  recs_.push_back(std::move(rec));
}

namespace {

// `genres` without repeats (first occurrence kept), or `all` when it is empty.
std::vector<std::string> genre_order(const std::vector<std::string>& genres, std::vector<std::string> all) {
  if (genres.empty()) return all;
  std::vector<std::string> out;
  for (const auto& g : genres) {
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  }
  return out;
}

}  // namespace

genre_recommenders genre_recommenders::from_catalog(std::shared_ptr<const track_catalog> catalog,
                                                    std::vector<std::string> genres) {
  if (!catalog) throw usage_error("requery: no catalog");
  if (!catalog->has_genres()) {
    throw usage_error("catalog " + catalog->name +
                      " has no genre column (track_genre or genre), so it cannot make one copy per genre");
  }
  std::vector<std::string> all;
  if (genres.empty()) {
    std::set<std::string> names(catalog->genres.begin(), catalog->genres.end());
    names.erase(std::string());
    all.assign(names.begin(), names.end());
  }
  genre_recommenders out;
  for (auto& g : genre_order(genres, std::move(all))) {
    if (g.empty()) throw usage_error("requery: a genre name cannot be empty");
    auto rec = std::make_unique<catalog_recommender>(catalog, std::vector<std::string>{g});
    out.add(std::move(g), std::move(rec));
  }
  return out;
}

genre_recommenders genre_recommenders::from_spotify(spotify_options opts, const genre_seeds& table,
                                                    std::vector<std::string> genres) {
  const std::vector<std::string> order = genre_order(genres, table.names());
  if (order.empty()) throw usage_error("requery: the genre table holds no genre");
  std::vector<seed_set> seeds;
  for (const auto& g : order) {
    seeds.push_back(table.select({g}));
    try {
      seeds.back().validate();
    } catch (const usage_error& e) {
      throw usage_error("genre '" + detail::printable(g) + "': " + e.what());
    }
  }
  opts.seeds = seeds.front();
  const spotify_recommender session(std::move(opts));
  genre_recommenders out;
  for (std::size_t i = 0; i < order.size(); ++i) {
    out.add(order[i], std::make_unique<spotify_recommender>(session, std::move(seeds[i])));
  }
  return out;
}

void requery_summary::merge(const requery_summary& o) {
  if (genres.empty() && per_genre.empty()) {
    genres = o.genres;
    per_genre.assign(o.per_genre.size(), requery_counts{});
  }
  detail::expects(genres == o.genres, "requery_summary::merge", "the summaries are of different genres");
  playlists += o.playlists;
  for (std::size_t g = 0; g < per_genre.size(); ++g) per_genre[g] += o.per_genre[g];
}

dataset requery_each_genre(const resources& res, const dataset& in, const genre_recommenders& recs,
                           const requery_params& prm, std::uint64_t first_playlist, requery_summary* summary) {
  prm.validate();
  detail::expects(recs.size() != 0, "requery_each_genre", "needs at least one genre");
  const std::size_t genres = recs.size();
  requery_summary s;
  s.playlists = in.playlists();
  s.genres = recs.genres();
  s.per_genre.assign(genres, requery_counts{});

  std::vector<dataset> copies(genres);
  std::vector<std::vector<std::uint8_t>> left_out(genres);
  for (std::size_t g = 0; g < genres; ++g) {
    requery_params pg = prm;
    pg.copy = genre_copy_index(recs.genres()[g]);
    pg.leave_out_unfillable = true;
    copies[g] = requery_rows(res, in, recs.at(g), pg, first_playlist, s.per_genre[g], left_out[g]);
  }

  // Playlist by playlist, its copies in genre order.
  dataset out = empty_like(copies.front());
  std::size_t songs = 0;
  for (const auto& c : copies) songs += c.songs();
  out.features.reserve(songs * out.dim);
  std::vector<std::size_t> row(genres, 0);
  for (std::size_t p = 0; p < in.playlists(); ++p) {
    for (std::size_t g = 0; g < genres; ++g) {
      if (left_out[g][p] != 0) continue;
      append_row(out, copies[g], row[g]++, in.ids[p] + "#rq-" + recs.genres()[g]);
    }
  }
  if (summary != nullptr) *summary = std::move(s);
  return out;
}

// ---------------------------------------------------------------------------------------
// The catalog recommender
// ---------------------------------------------------------------------------------------

namespace {

std::shared_ptr<const track_catalog> non_null(std::shared_ptr<const track_catalog> catalog) {
  if (!catalog) throw usage_error("catalog_recommender: no catalog");
  return catalog;
}

}  // namespace

catalog_recommender::catalog_recommender(track_catalog catalog, const std::vector<std::string>& genres)
    : catalog_recommender(std::make_shared<const track_catalog>(std::move(catalog)), genres) {}

catalog_recommender::catalog_recommender(std::shared_ptr<const track_catalog> catalog,
                                         const std::vector<std::string>& genres)
    : catalog_(non_null(std::move(catalog))), index_(*catalog_, genres) {}

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

void catalog_recommender::recommend(const resources& res, dataset& chunk, const requery_params& prm,
                                    recommend_outcome& outcome) {
  const std::size_t songs = chunk.songs();
  chunk.track_ids.assign(songs, std::string());
  outcome.fell_back.assign(chunk.playlists(), 0);
  outcome.left_out.assign(chunk.playlists(), 0);
  last_rounds_ = 0;
  if (songs == 0) return;
  if (chunk.dim != nn_dim) {
    throw usage_error("the catalog backend needs the 11 Spotify features per song, got " + std::to_string(chunk.dim));
  }

  // Every playlist must be able to hold distinct tracks; one that cannot is left out (its
  // songs are still searched, and their answers ignored) or stops the run.
  std::uint64_t left_out_songs = 0;
  if (!prm.allow_repeats) {
    for (std::size_t p = 0; p < chunk.playlists(); ++p) {
      if (chunk.song_count(p) > index_.distinct_tracks()) {
        if (prm.leave_out_unfillable) {
          outcome.left_out[p] = 1;
          left_out_songs += chunk.song_count(p);
          continue;
        }
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
  if (report && left_out_songs != 0) prm.on_progress(left_out_songs, 0);

  if (!prm.allow_repeats) {
    const std::vector<nn_hit> first = hit;  // each song's first choice
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
        if (outcome.left_out[p] != 0) continue;
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
    for (std::size_t p = 0; p < playlists; ++p) {
      if (outcome.left_out[p] != 0) continue;
      for (std::uint64_t s = chunk.song_offsets[p]; s < chunk.song_offsets[p + 1]; ++s) {
        if (hit[s].row != first[s].row) ++outcome.fell_back[p];
      }
    }
  }

  std::size_t playlist = 0;
  for (std::size_t s = 0; s < songs; ++s) {
    while (s >= chunk.song_offsets[playlist + 1]) ++playlist;
    if (outcome.left_out[playlist] != 0) continue;
    if (hit[s].row < 0) throw error("requery: no catalog track found for song " + std::to_string(s));
    const std::size_t row = index_.catalog_row(static_cast<std::size_t>(hit[s].row));
    chunk.track_ids[s] = catalog_->ids[row];
    std::memcpy(chunk.features.data() + s * nn_dim, catalog_->features.data() + row * nn_dim, nn_dim * sizeof(float));
  }
}

}  // namespace playaug
