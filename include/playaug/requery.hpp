#pragma once
/// @file requery.hpp
/// Re-query augmentation: replace every song of a playlist by a track a recommender
/// returns for the song's (randomly perturbed) audio features.
///
/// For song s of playlist p (p counted from the start of the file), the target is the
/// song's 11 features after protuberance drawn from the random stream purpose::requery,
/// copy 0, with phi = 1 (every component is drawn) and the given p: schema-aware, so key
/// and mode are kept and unit-interval features are clamped to [0, 1]
/// (protuberance.hpp, docs/random-streams.md). A recommender then turns each target into
/// one track. The result keeps each playlist's mood states, takes the id `<id>#rq`,
/// replaces the features by the chosen tracks' features (the targets themselves for a
/// backend that returns no features) and lists the tracks in `track_ids`. A `[null]`
/// playlist is kept as `[null]` under its new id.
///
/// By default a playlist never holds the same track id twice: each song, in order, takes
/// the best track not yet used by the songs before it. allow_repeats lifts this.
///
/// requery_each_genre() makes, from every playlist, one copy per genre (the notebook's
/// "songs in other genres to match"): copy `<id>#rq-<genre>` draws its targets from the
/// stream copy genre_copy_index(genre) and asks that genre's recommender only
/// (docs/requery.md, "One copy per genre").
///
/// Two recommenders implement one interface:
///   - catalog_recommender: exact nearest neighbour in an offline catalog (catalog.hpp),
///     on the CPU or the CUDA engine, identical results on both;
///   - spotify_recommender: Spotify's Web API recommendations endpoint (client
///     credentials, one request per song, retries, a bounded worker pool).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/dataset.hpp"
#include "playaug/resources.hpp"

namespace playaug {

/// Parameters of requery().
struct requery_params {
  float protuberance = 0.15f;  ///< p of the targets' protuberance, 0 <= p < 1
  std::uint64_t seed = 0;
  bool allow_repeats = false;  ///< allow the same track twice in one playlist
  /// Copy index of the targets' random stream (purpose::requery, copy, playlist): 0 for a
  /// plain requery; requery_each_genre() uses genre_copy_index(genre). Below 2^24.
  std::uint32_t copy = 0;
  /// When a recommender cannot give a playlist a track for every song (the playlist has
  /// more songs than the candidates have distinct tracks, or the backend has no track
  /// new to the playlist for a song), leave that playlist out of the result and count it
  /// in the outcome instead of failing. requery_each_genre() sets it: one genre too small
  /// for one playlist does not stop the others. Other failures still throw.
  bool leave_out_unfillable = false;
  /// Called as songs finish with the number of songs just finished and of requests just
  /// retried (both increments). Calls are serialised but may come from worker threads.
  std::function<void(std::uint64_t songs, std::uint64_t retries)> on_progress;

  /// usage_error naming the first bad parameter.
  void validate() const;
};

/// What recommend() did to each playlist of a chunk.
struct recommend_outcome {
  /// [playlists] songs whose track is not their first choice: the no-repeat rule moved
  /// them past a track an earlier song of the playlist took (0 with allow_repeats).
  std::vector<std::uint64_t> fell_back;
  /// [playlists] 1 where the playlist could not be filled and prm.leave_out_unfillable
  /// was set: its track ids and features are then unspecified.
  std::vector<std::uint8_t> left_out;
};

/// Where recommended tracks come from.
class recommender {
 public:
  virtual ~recommender() = default;

  /// Replace the songs of `chunk` (features [songs x 11]) by tracks: on entry
  /// chunk.features holds the targets; on return chunk.track_ids[s] is the track chosen
  /// for song s and chunk.features[s] that track's features (or the target, for a backend
  /// that knows no features). Honours prm.allow_repeats within each playlist and
  /// prm.leave_out_unfillable, reports through prm.on_progress and describes each playlist
  /// in `outcome` (resized to chunk.playlists()). On failure throws, naming the playlist
  /// and song, and leaves `chunk` unspecified.
  virtual void recommend(const resources& res, dataset& chunk, const requery_params& prm,
                         recommend_outcome& outcome) = 0;
  /// The same without the outcome.
  void recommend(const resources& res, dataset& chunk, const requery_params& prm) {
    recommend_outcome ignored;
    recommend(res, chunk, prm, ignored);
  }
};

/// The offline backend: the nearest catalog track to each target (catalog.hpp), among
/// the tracks of the chosen genres. Without repeats, song s takes the nearest track whose
/// id no earlier song of its playlist took (found by walking its candidates in (score,
/// row) order), so the answer is exact and the same on every engine.
class catalog_recommender final : public recommender {
 public:
  /// `genres` non-empty keeps only catalog tracks of those genres (see catalog_index).
  explicit catalog_recommender(track_catalog catalog, const std::vector<std::string>& genres = {});
  /// The same over a catalog shared with other recommenders (not copied): the
  /// recommenders of requery_each_genre() share one catalog, each with its genre's index.
  explicit catalog_recommender(std::shared_ptr<const track_catalog> catalog,
                               const std::vector<std::string>& genres = {});
  ~catalog_recommender() override;

  using recommender::recommend;
  void recommend(const resources& res, dataset& chunk, const requery_params& prm,
                 recommend_outcome& outcome) override;

  const track_catalog& catalog() const noexcept { return *catalog_; }
  const catalog_index& index() const noexcept { return index_; }
  /// Search rounds run by the last recommend() (1 when no playlist needed a second choice).
  std::size_t last_rounds() const noexcept { return last_rounds_; }

 private:
  std::shared_ptr<const track_catalog> catalog_;
  catalog_index index_;
  std::size_t last_rounds_ = 0;
  std::shared_ptr<const float> device_catalog_;  // the prepared rows on the device, uploaded once
  const void* device_owner_ = nullptr;    // the cuda state it was uploaded for
};

/// Seeds of a recommendations request: Spotify accepts at most 5 in total.
struct seed_set {
  std::vector<std::string> artists;  ///< Spotify artist ids
  std::vector<std::string> tracks;   ///< Spotify track ids
  std::vector<std::string> genres;   ///< Spotify genre seeds ("pop", "r-n-b", ...)

  std::size_t size() const noexcept { return artists.size() + tracks.size() + genres.size(); }
  /// Append `o`'s seeds that are not already present.
  void merge(const seed_set& o);
  /// usage_error unless 1..5 seeds are given, ids are base-62 and genres are
  /// lowercase words with '-'.
  void validate() const;
};

/// Named seed sets: the genres of a GENRES.json file, `{"pop": {"artists": [...],
/// "tracks": [...], "genres": [...]}, ...}`, where each list holds id strings or
/// `{"id": ..., "name": ...}` objects (names are informative).
class genre_seeds {
 public:
  /// The 13 genres of the research notebook with their seed artists and tracks (the same
  /// content as data/genres.json), built into the library.
  static genre_seeds builtin();
  /// Parse a GENRES.json file; data_error naming the file on malformed content.
  static genre_seeds read(const std::string& path);
  static genre_seeds parse(std::string_view json, const std::string& name = "<memory>");

  /// The genre names, in byte order.
  std::vector<std::string> names() const;
  bool contains(const std::string& genre) const { return sets_.count(genre) != 0; }
  /// The union of the named genres' seeds; usage_error for an unknown name.
  seed_set select(const std::vector<std::string>& genres) const;

 private:
  std::map<std::string, seed_set> sets_;
  std::string name_;
};

/// Options of the Spotify backend.
struct spotify_options {
  /// Largest accepted value of every duration below (one hour); validate() rejects more.
  static constexpr double max_timeout_s = 3600.0;
  /// Smallest accepted connect and request timeout (libcurl counts milliseconds).
  static constexpr double min_timeout_s = 0.001;

  std::string api_url = "https://api.spotify.com";
  std::string accounts_url = "https://accounts.spotify.com";
  std::string client_id;      ///< SPOTIFY_CLIENT_ID
  std::string client_secret;  ///< SPOTIFY_CLIENT_SECRET; never logged or shown
  seed_set seeds;             ///< sent with every request (validated: 1..5 seeds)
  int workers = 4;            ///< concurrent requests (bounded worker pool)
  double connect_timeout_s = 10.0;  ///< TCP/TLS connect timeout per request
  double timeout_s = 30.0;          ///< whole-request timeout (a stalled response fails)
  int max_retries = 5;              ///< retries per request after 429, 5xx or a network error
  double backoff_initial_s = 0.5;   ///< first 5xx/network back-off; doubles each retry
  double backoff_max_s = 30.0;      ///< cap of one back-off
  double retry_after_max_s = 120.0; ///< cap of one 429 wait (Retry-After seconds)

  /// client_id / client_secret from SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET; usage_error
  /// naming the missing variable.
  void credentials_from_env();
  /// usage_error naming the first bad option: URLs, credentials, workers 1..64, retries
  /// 0..100, timeouts finite in [min_timeout_s, max_timeout_s], back-off bounds finite
  /// with 0 <= initial <= max <= max_timeout_s and 0 <= retry_after_max <= max_timeout_s.
  void validate() const;
};

/// True when this build contains the Spotify client (PLAYAUG_WITH_SPOTIFY, libcurl).
bool spotify_built() noexcept;

/// The Spotify backend: GET {api}/v1/recommendations?limit=1&target_<feature>=...&seed_*
/// per song with a client-credentials token (POST {accounts}/api/token, cached until it
/// expires, fetched again once on a 401). key and mode are rounded and clamped to 0..11
/// and 0..1. A track repeated within a playlist (when repeats are not allowed) is asked
/// again with a larger limit (up to 100) and the first track new to the playlist is
/// taken. The output keeps the targets as features. Throws playaug::error when the
/// build lacks the client.
///
/// Hostile or broken servers: all workers share one token request at a time; when it
/// fails (after its retries) every worker fails with the same error, without retries of
/// its own, until the next recommend(). `expires_in` is clamped to [1 s, 1 day]. Answers
/// larger than 4 MiB (headers: 64 KiB) are abandoned while they arrive, track ids must be
/// Spotify ids (22 letters and digits) and access tokens RFC 6750 tokens of at most 4096
/// characters, else the request fails with a clear error. Messages quote at most a short,
/// printable excerpt of a server's error text, from which every token holding a part of
/// the secret, of "id:secret", of their Basic-auth encoding or of the access token is
/// removed (docs/requery.md, "Secrets in messages").
///
/// With prm.leave_out_unfillable, a song for which Spotify recommends no track (empty
/// `tracks`) or no track new to the playlist leaves its playlist out instead of failing.
class spotify_recommender final : public recommender {
 public:
  explicit spotify_recommender(spotify_options opts);
  /// A recommender that sends `seeds` (validated: 1..5 seeds) instead of `session`'s and
  /// shares everything else with it: options, credentials, the access token and the
  /// counters below. requery_each_genre() asks one per genre, with one token for all.
  spotify_recommender(const spotify_recommender& session, seed_set seeds);
  ~spotify_recommender() override;

  using recommender::recommend;
  void recommend(const resources& res, dataset& chunk, const requery_params& prm,
                 recommend_outcome& outcome) override;

  /// Access tokens fetched so far (by this recommender and those sharing its session).
  std::uint64_t tokens_fetched() const noexcept;
  /// Requests retried so far (429, 5xx, network errors, 401 refreshes).
  std::uint64_t retries() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
  std::string seed_query_;  // the seeds part of every query string
};

/// What one re-queried copy of every playlist came to (for requery_each_genre(): one genre).
struct requery_counts {
  std::uint64_t copies = 0;     ///< playlists written ([null] ones included)
  std::uint64_t songs = 0;      ///< songs of the playlists written
  std::uint64_t fell_back = 0;  ///< songs written whose track is not their first choice (no-repeat rule)
  std::uint64_t left_out = 0;   ///< playlists left out (prm.leave_out_unfillable)
  std::uint64_t failed = 0;     ///< songs of the playlists left out

  requery_counts& operator+=(const requery_counts& o) noexcept;
  friend bool operator==(const requery_counts& a, const requery_counts& b) noexcept;
};

/// Re-query every playlist of `in` (host memory) through `rec`. `first_playlist` is the
/// index of in's first playlist in the whole file (so chunks give the same result as one
/// piece). The features must be the 11 Spotify features (usage_error otherwise). The
/// result holds one row `<id>#rq` per playlist of `in`, in order, less the playlists left
/// out (prm.leave_out_unfillable). `counts`, when given, is added to.
dataset requery(const resources& res, const dataset& in, recommender& rec, const requery_params& prm,
                std::uint64_t first_playlist = 0, requery_counts* counts = nullptr);

/// The stream copy index of a genre's copy in requery_each_genre():
/// 1 + (FNV-1a 64-bit hash of the name's bytes) mod (2^24 - 1), in 1 .. 2^24 - 1. It
/// depends on the name alone, so adding or removing other genres leaves a copy unchanged,
/// and it is never 0, the stream of plain requery().
std::uint32_t genre_copy_index(std::string_view genre) noexcept;

/// The recommenders of requery_each_genre(): one per genre, in the order of the copies.
class genre_recommenders {
 public:
  /// One catalog_recommender per genre over `catalog` (shared, not copied): the names in
  /// `genres` in that order (a repeated name counts once), or every genre of the catalog
  /// in byte order when `genres` is empty (rows with an empty genre belong to none).
  /// usage_error when the catalog has no genre column or no track of a named genre.
  static genre_recommenders from_catalog(std::shared_ptr<const track_catalog> catalog,
                                         std::vector<std::string> genres = {});
  /// One spotify_recommender per genre, all sharing one session (token, counters), each
  /// sending its genre's seeds only (`table.select({genre})`): the names in `genres` in
  /// that order (repeats count once), or every genre of `table` in byte order when empty.
  /// usage_error for an unknown genre or a genre with more than 5 seeds.
  static genre_recommenders from_spotify(spotify_options opts, const genre_seeds& table,
                                         std::vector<std::string> genres = {});

  /// Append a genre's recommender. usage_error for an empty or repeated name, or a name
  /// whose genre_copy_index() equals an earlier genre's (their streams would coincide).
  void add(std::string genre, std::unique_ptr<recommender> rec);

  std::size_t size() const noexcept { return genres_.size(); }
  const std::vector<std::string>& genres() const noexcept { return genres_; }
  recommender& at(std::size_t i) const { return *recs_.at(i); }

 private:
  std::vector<std::string> genres_;
  std::vector<std::unique_ptr<recommender>> recs_;
};

/// What requery_each_genre() produced, per genre in the order of the copies.
struct requery_summary {
  std::uint64_t playlists = 0;              ///< input playlists
  std::vector<std::string> genres;          ///< the genres, in copy order
  std::vector<requery_counts> per_genre;    ///< [genres]
  /// Add `o` (the summary of a later chunk with the same genres).
  void merge(const requery_summary& o);
};

/// One re-queried copy of every playlist of `in` per genre of `recs`. For each playlist
/// in input order, its copies in genre order, with ids `<id>#rq-<genre>` (the genre
/// spelled as it is; the CSV writer quotes it when needed); no original rows. Genre g's
/// copy of a playlist equals the row of requery(res, in, recs.at(g), prm') with
/// prm'.copy = genre_copy_index(genre) and prm'.leave_out_unfillable = true, renamed from
/// `<id>#rq` (prm.copy is not used). A copy the genre cannot fill is left out and
/// counted. `summary`, when given, is overwritten with this chunk's counts.
dataset requery_each_genre(const resources& res, const dataset& in, const genre_recommenders& recs,
                           const requery_params& prm, std::uint64_t first_playlist = 0,
                           requery_summary* summary = nullptr);

}  // namespace playaug
