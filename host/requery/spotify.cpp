// The Spotify backend of requery: client-credentials tokens, the recommendations request
// per song, retries and the worker pool (requery.hpp).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "http.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/requery.hpp"

namespace playaug {

using requery_detail::http_client;
using requery_detail::http_response;
using requery_detail::transport_error;

bool spotify_built() noexcept { return requery_detail::http_available(); }

void spotify_options::credentials_from_env() {
  const char* id = std::getenv("SPOTIFY_CLIENT_ID");
  const char* secret = std::getenv("SPOTIFY_CLIENT_SECRET");
  if (id == nullptr || *id == '\0') throw usage_error("--spotify needs the environment variable SPOTIFY_CLIENT_ID");
  if (secret == nullptr || *secret == '\0') {
    throw usage_error("--spotify needs the environment variable SPOTIFY_CLIENT_SECRET");
  }
  client_id = id;
  client_secret = secret;
}

void spotify_options::validate() const {
  auto url_ok = [](const std::string& u) { return u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0; };
  if (!url_ok(api_url)) throw usage_error("Spotify API URL must start with http:// or https://: '" + api_url + "'");
  if (!url_ok(accounts_url)) {
    throw usage_error("Spotify accounts URL must start with http:// or https://: '" + accounts_url + "'");
  }
  if (client_id.empty()) throw usage_error("Spotify client id is empty (SPOTIFY_CLIENT_ID)");
  if (client_secret.empty()) throw usage_error("Spotify client secret is empty (SPOTIFY_CLIENT_SECRET)");
  if (workers < 1 || workers > 64) throw usage_error("Spotify workers must be in 1..64, got " + std::to_string(workers));
  if (!(connect_timeout_s > 0.0) || !(timeout_s > 0.0)) throw usage_error("Spotify timeouts must be positive");
  if (max_retries < 0 || max_retries > 100) {
    throw usage_error("Spotify max_retries must be in 0..100, got " + std::to_string(max_retries));
  }
  if (!(backoff_initial_s >= 0.0) || !(backoff_max_s >= backoff_initial_s) || !(retry_after_max_s >= 0.0)) {
    throw usage_error("Spotify back-off bounds must satisfy 0 <= initial <= max and retry_after_max >= 0");
  }
  seeds.validate();
}

namespace {

using clock_type = std::chrono::steady_clock;

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

void sleep_s(double s) {
  if (s > 0.0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

std::string format_target(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

long clamp_round(float v, long lo, long hi) {
  const long r = std::lround(v);
  return std::min(hi, std::max(lo, r));
}

std::string base64(const std::string& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
  }
  return out;
}

// Spotify's error message from a body like {"error": {"status": 400, "message": "..."}}
// or {"error": "invalid_client", "error_description": "..."}; a short excerpt otherwise.
std::string error_detail(const std::string& body) {
  try {
    const auto j = nlohmann::json::parse(body);
    if (j.contains("error")) {
      const auto& e = j["error"];
      if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
      if (e.is_string()) {
        std::string s = e.get<std::string>();
        if (j.contains("error_description") && j["error_description"].is_string()) {
          s += ": " + j["error_description"].get<std::string>();
        }
        return s;
      }
    }
  } catch (const std::exception&) {
  }
  std::string s = body.substr(0, 120);
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// " (detail)" or nothing.
std::string detail_suffix(const std::string& body) {
  const std::string d = error_detail(body);
  return d.empty() ? std::string() : " (" + d + ")";
}

}  // namespace

struct spotify_recommender::impl {
  spotify_options opts;
  std::string api;
  std::string accounts;

  std::mutex token_mutex;
  std::string token;
  clock_type::time_point expiry{};
  std::uint64_t generation = 0;

  std::atomic<std::uint64_t> tokens{0};
  std::atomic<std::uint64_t> retries{0};

  std::mutex rng_mutex;
  std::mt19937_64 rng{std::random_device{}()};

  // The seeds part of every query string.
  std::string seed_query;

  explicit impl(spotify_options o) : opts(std::move(o)) {
    if (!spotify_built()) {
      throw error("this playaug was built without the Spotify client (PLAYAUG_WITH_SPOTIFY=OFF)");
    }
    opts.validate();
    basic_credentials = base64(opts.client_id + ":" + opts.client_secret);
    api = trim_slash(opts.api_url);
    accounts = trim_slash(opts.accounts_url);
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
      return http_client::escape(s);
    };
    if (!opts.seeds.artists.empty()) seed_query += "&seed_artists=" + join(opts.seeds.artists);
    if (!opts.seeds.tracks.empty()) seed_query += "&seed_tracks=" + join(opts.seeds.tracks);
    if (!opts.seeds.genres.empty()) seed_query += "&seed_genres=" + join(opts.seeds.genres);
  }

  // The secret and the Basic credentials made from it: never part of a message.
  std::string basic_credentials;

  // Remove every trace of the credentials from a message, such as a server's echo of the
  // request in an error body.
  std::string scrub(std::string s) const {
    for (const std::string* secret : {&opts.client_secret, &basic_credentials}) {
      if (secret->empty()) continue;
      for (std::size_t p = s.find(*secret); p != std::string::npos; p = s.find(*secret, p)) {
        s.replace(p, secret->size(), "<secret>");
      }
    }
    return s;
  }

  double backoff(int attempt) {
    double d = opts.backoff_initial_s * std::ldexp(1.0, attempt);
    d = std::min(d, opts.backoff_max_s);
    std::lock_guard<std::mutex> lock(rng_mutex);
    return d * std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  }

  double retry_after(const http_response& r, int attempt) {
    double s = -1.0;
    if (!r.retry_after.empty()) {
      const char* b = r.retry_after.data();
      const auto res = std::from_chars(b, b + r.retry_after.size(), s);
      if (res.ec != std::errc() || !(s >= 0.0)) s = -1.0;
    }
    if (s < 0.0) s = backoff(attempt);
    return std::min(s, opts.retry_after_max_s);
  }

  // A valid access token and its generation; fetched when missing or expired.
  std::string get_token(http_client& http, std::uint64_t& gen, std::uint64_t& retried) {
    std::lock_guard<std::mutex> lock(token_mutex);
    if (!token.empty() && clock_type::now() < expiry) {
      gen = generation;
      return token;
    }
    const std::string url = accounts + "/api/token";
    for (int attempt = 0;; ++attempt) {
      const auto started = clock_type::now();
      http_response r;
      try {
        r = http.post_form(url, "grant_type=client_credentials", opts.client_id, opts.client_secret);
      } catch (const transport_error& e) {
        if (attempt < opts.max_retries) {
          ++retries;
          ++retried;
          sleep_s(backoff(attempt));
          continue;
        }
        throw error(scrub("Spotify token request " + std::string(e.what()) + " after " + std::to_string(attempt + 1) +
                          " attempts"));
      }
      if (r.status == 429 || r.status >= 500) {
        if (attempt < opts.max_retries) {
          ++retries;
          ++retried;
          sleep_s(r.status == 429 ? retry_after(r, attempt) : backoff(attempt));
          continue;
        }
        throw error(scrub("Spotify token request failed: HTTP " + std::to_string(r.status) + " after " +
                          std::to_string(attempt + 1) + " attempts"));
      }
      if (r.status != 200) {
        throw error(scrub("Spotify refused the client credentials (HTTP " + std::to_string(r.status) + ": " +
                          error_detail(r.body) + "); check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET"));
      }
      std::string tok;
      double expires_in = 0.0;
      try {
        const auto j = nlohmann::json::parse(r.body);
        tok = j.at("access_token").get<std::string>();
        expires_in = j.at("expires_in").get<double>();
      } catch (const std::exception&) {
        throw error("Spotify token response is not the expected JSON (access_token, expires_in)");
      }
      if (tok.empty() || !(expires_in > 0.0)) throw error("Spotify token response has an empty token or expiry");
      token = std::move(tok);
      expiry = started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(expires_in));
      ++generation;
      ++tokens;
      gen = generation;
      return token;
    }
  }

  void invalidate(std::uint64_t gen) {
    std::lock_guard<std::mutex> lock(token_mutex);
    if (gen == generation) token.clear();
  }

  std::string url_for(const float* target, int limit) const {
    static const char* names[spotify::n_features] = {
        "acousticness", "danceability", "energy", "instrumentalness", "key", "liveness",
        "loudness",     "mode",         "speechiness", "tempo",      "valence"};
    std::string u = api + "/v1/recommendations?limit=" + std::to_string(limit);
    for (int k = 0; k < spotify::n_features; ++k) {
      u += "&target_";
      u += names[k];
      u += '=';
      if (k == spotify::key) {
        u += std::to_string(clamp_round(target[k], 0, 11));
      } else if (k == spotify::mode) {
        u += std::to_string(clamp_round(target[k], 0, 1));
      } else {
        u += format_target(target[k]);
      }
    }
    return u + seed_query;
  }

  // The recommended track ids for one target (at least one), or throws with `who` in the
  // message. Retries 429 (Retry-After), 5xx and network errors; refreshes the token once
  // on a 401.
  std::vector<std::string> request(http_client& http, const float* target, int limit, const std::string& who,
                                   std::uint64_t& retried) {
    const std::string url = url_for(target, limit);
    bool refreshed = false;
    for (int attempt = 0;; ++attempt) {
      std::uint64_t gen = 0;
      const std::string tok = get_token(http, gen, retried);
      http_response r;
      try {
        r = http.get(url, tok);
      } catch (const transport_error& e) {
        if (attempt < opts.max_retries) {
          ++retries;
          ++retried;
          sleep_s(backoff(attempt));
          continue;
        }
        throw error(scrub(who + ": Spotify request " + e.what() + " after " + std::to_string(attempt + 1) +
                          " attempts"));
      }
      if (r.status == 401 && !refreshed) {
        refreshed = true;
        invalidate(gen);
        ++retries;
        ++retried;
        --attempt;  // a token refresh is not a failed attempt
        continue;
      }
      if (r.status == 429 || r.status >= 500) {
        if (attempt < opts.max_retries) {
          ++retries;
          ++retried;
          sleep_s(r.status == 429 ? retry_after(r, attempt) : backoff(attempt));
          continue;
        }
        throw error(scrub(who + ": Spotify answered HTTP " + std::to_string(r.status) + " " +
                          std::to_string(attempt + 1) + " times" + detail_suffix(r.body)));
      }
      if (r.status != 200) {
        throw error(scrub(who + ": Spotify answered HTTP " + std::to_string(r.status) + detail_suffix(r.body)));
      }
      std::vector<std::string> ids;
      try {
        const auto j = nlohmann::json::parse(r.body);
        const auto& tracks = j.at("tracks");
        if (!tracks.is_array()) throw std::runtime_error("tracks is not a list");
        for (const auto& t : tracks) ids.push_back(t.at("id").get<std::string>());
      } catch (const std::exception&) {
        throw error(who + ": Spotify's answer is not the expected JSON (tracks[].id)");
      }
      if (ids.empty()) throw error(who + ": Spotify recommended no track (empty tracks)");
      for (const auto& id : ids) {
        if (id.empty()) throw error(who + ": Spotify's answer holds an empty track id");
      }
      return ids;
    }
  }
};

spotify_recommender::spotify_recommender(spotify_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
spotify_recommender::~spotify_recommender() = default;

std::uint64_t spotify_recommender::tokens_fetched() const noexcept { return impl_->tokens.load(); }
std::uint64_t spotify_recommender::retries() const noexcept { return impl_->retries.load(); }

namespace {

// Run task(i) for i in [0, n) on `workers` threads, each with its own HTTP client. Stops
// handing out work after the first failure and rethrows the failure of the lowest index.
template <typename Task>
void run_pool(int workers, std::size_t n, double connect_s, double total_s, Task&& task) {
  if (n == 0) return;
  const std::size_t w = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, workers)));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex fail_mutex;
  std::size_t fail_index = n;
  std::exception_ptr failure;
  auto body = [&] {
    std::unique_ptr<http_client> http;
    try {
      http = std::make_unique<http_client>(connect_s, total_s);
    } catch (...) {
      std::lock_guard<std::mutex> lock(fail_mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
      return;
    }
    for (;;) {
      if (stop.load()) return;
      const std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        task(*http, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(fail_mutex);
        if (!failure || i < fail_index) {
          failure = std::current_exception();
          fail_index = i;
        }
        stop = true;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < w; ++t) pool.emplace_back(body);
  body();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

void spotify_recommender::recommend(const resources&, dataset& chunk, const requery_params& prm) {
  impl& im = *impl_;
  const std::size_t songs = chunk.songs();
  if (songs != 0 && chunk.dim != spotify::n_features) {
    throw usage_error("the Spotify backend needs the 11 Spotify features per song, got " + std::to_string(chunk.dim));
  }
  chunk.track_ids.assign(songs, std::string());
  if (songs == 0) return;

  // Song index -> playlist, for messages.
  std::vector<std::size_t> playlist_of(songs);
  for (std::size_t p = 0; p < chunk.playlists(); ++p) {
    for (std::uint64_t s = chunk.song_offsets[p]; s < chunk.song_offsets[p + 1]; ++s) playlist_of[s] = p;
  }
  auto who = [&](std::size_t s) {
    const std::size_t p = playlist_of[s];
    return "playlist '" + detail::printable(chunk.ids[p]) + "' song " + std::to_string(s - chunk.song_offsets[p] + 1) + " of " +
           std::to_string(chunk.song_count(p));
  };

  std::mutex progress_mutex;
  auto report = [&](std::uint64_t done, std::uint64_t retried) {
    if (!prm.on_progress) return;
    std::lock_guard<std::mutex> lock(progress_mutex);
    prm.on_progress(done, retried);
  };

  const float* targets = chunk.features.data();
  const int workers = im.opts.workers;
  run_pool(workers, songs, im.opts.connect_timeout_s, im.opts.timeout_s, [&](http_client& http, std::size_t s) {
    std::uint64_t retried = 0;
    auto ids = im.request(http, targets + s * spotify::n_features, 1, who(s), retried);
    chunk.track_ids[s] = std::move(ids.front());
    report(1, retried);
  });

  if (prm.allow_repeats) return;
  // A track repeated within a playlist is asked again with a larger limit; the first track
  // new to the playlist wins. Playlists are independent, songs within one sequential.
  run_pool(workers, chunk.playlists(), im.opts.connect_timeout_s, im.opts.timeout_s,
           [&](http_client& http, std::size_t p) {
             std::unordered_set<std::string> used;
             for (std::uint64_t s = chunk.song_offsets[p]; s < chunk.song_offsets[p + 1]; ++s) {
               if (used.insert(chunk.track_ids[s]).second) continue;
               const float* t = targets + s * spotify::n_features;
               bool found = false;
               for (int limit : {static_cast<int>(std::min<std::size_t>(used.size() + 1, 100)), 100}) {
                 std::uint64_t retried = 0;
                 const auto ids = im.request(http, t, limit, who(s), retried);
                 report(0, retried);
                 for (const auto& id : ids) {
                   if (used.insert(id).second) {
                     chunk.track_ids[s] = id;
                     found = true;
                     break;
                   }
                 }
                 if (found || limit == 100) break;
               }
               if (!found) {
                 throw error(who(s) + ": Spotify recommended no track new to the playlist (pass --allow-repeats to allow repeats)");
               }
             }
           });
}

}  // namespace playaug
