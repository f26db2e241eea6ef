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
  /// Called as songs finish with the number of songs just finished and of requests just
  /// retried (both increments). Calls are serialised but may come from worker threads.
  std::function<void(std::uint64_t songs, std::uint64_t retries)> on_progress;

  /// usage_error naming the first bad parameter.
  void validate() const;
};

/// Where recommended tracks come from.
class recommender {
 public:
  virtual ~recommender() = default;

  /// Replace the songs of `chunk` (features [songs x 11]) by tracks: on entry
  /// chunk.features holds the targets; on return chunk.track_ids[s] is the track chosen
  /// for song s and chunk.features[s] that track's features (or the target, for a backend
  /// that knows no features). Honours prm.allow_repeats within each playlist and reports
  /// through prm.on_progress. On failure throws, naming the playlist and song, and leaves
  /// `chunk` unspecified.
  virtual void recommend(const resources& res, dataset& chunk, const requery_params& prm) = 0;
};

/// The offline backend: the nearest catalog track to each target (catalog.hpp), among
/// the tracks of the chosen genres. Without repeats, song s takes the nearest track whose
/// id no earlier song of its playlist took (found by walking its candidates in (score,
/// row) order), so the answer is exact and the same on every engine.
class catalog_recommender final : public recommender {
 public:
  /// `genres` non-empty keeps only catalog tracks of those genres (see catalog_index).
  explicit catalog_recommender(track_catalog catalog, const std::vector<std::string>& genres = {});
  ~catalog_recommender() override;

  void recommend(const resources& res, dataset& chunk, const requery_params& prm) override;

  const track_catalog& catalog() const noexcept { return catalog_; }
  const catalog_index& index() const noexcept { return index_; }
  /// Search rounds run by the last recommend() (1 when no playlist needed a second choice).
  std::size_t last_rounds() const noexcept { return last_rounds_; }

 private:
  track_catalog catalog_;
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
class spotify_recommender final : public recommender {
 public:
  explicit spotify_recommender(spotify_options opts);
  ~spotify_recommender() override;

  void recommend(const resources& res, dataset& chunk, const requery_params& prm) override;

  /// Access tokens fetched so far.
  std::uint64_t tokens_fetched() const noexcept;
  /// Requests retried so far (429, 5xx, network errors, 401 refreshes).
  std::uint64_t retries() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Re-query every playlist of `in` (host memory) through `rec`. `first_playlist` is the
/// index of in's first playlist in the whole file (so chunks give the same result as one
/// piece). The features must be the 11 Spotify features (usage_error otherwise).
dataset requery(const resources& res, const dataset& in, recommender& rec, const requery_params& prm,
                std::uint64_t first_playlist = 0);

}  // namespace playaug
