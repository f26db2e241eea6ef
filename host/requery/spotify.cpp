// The Spotify backend of requery: client-credentials tokens, the recommendations request
// per song, retries and the worker pool (requery.hpp).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "http.hpp"
#include "redact.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/requery.hpp"

namespace playaug {

using requery_detail::http_client;
using requery_detail::http_response;
using requery_detail::redactor;
using requery_detail::response_too_large;
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
  auto seconds = [](double v) {  // shortest form: "0.001", "3600", "1e+16", "inf", "nan"
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  };
  const std::string range = "[" + seconds(min_timeout_s) + ", " + seconds(max_timeout_s) + "] seconds";
  for (const auto& [name, v] : {std::pair<const char*, double>{"connect timeout", connect_timeout_s},
                                std::pair<const char*, double>{"timeout", timeout_s}}) {
    if (!(v >= min_timeout_s && v <= max_timeout_s)) {
      throw usage_error(std::string("Spotify ") + name + " must be in " + range + ", got " + seconds(v));
    }
  }
  if (max_retries < 0 || max_retries > 100) {
    throw usage_error("Spotify max_retries must be in 0..100, got " + std::to_string(max_retries));
  }
  if (!(backoff_initial_s >= 0.0) || !(backoff_max_s >= backoff_initial_s) || !(backoff_max_s <= max_timeout_s) ||
      !(retry_after_max_s >= 0.0) || !(retry_after_max_s <= max_timeout_s)) {
    throw usage_error("Spotify back-off bounds must satisfy 0 <= initial <= max <= " + seconds(max_timeout_s) +
                      " and 0 <= retry_after_max <= " + seconds(max_timeout_s) + " (seconds)");
  }
  seeds.validate();
}

namespace {

using clock_type = std::chrono::steady_clock;

// Spotify answered a song with no track at all (empty `tracks`): with
// leave_out_unfillable, its playlist is left out instead of failing the run.
class no_track : public error {
 public:
  using error::error;
};

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

// The values at a few paths of a JSON text, streamed through nlohmann's SAX interface
// and handed to a callback in document order: nothing is kept, so a hostile answer costs
// no more memory than what the callback keeps (nesting costs a bit per level, without
// recursion). A path joins keys with '.' and writes "[]" for the elements of a list:
// "tracks[].id". A list or object at a wanted path is passed as an empty list or object.
class json_pick final : public nlohmann::json_sax<nlohmann::json> {
 public:
  using callback = std::function<void(const std::string& path, nlohmann::json& value)>;

  /// Calls `on` for the values of `text` at the `wanted` paths; false when `text` is not
  /// valid JSON (`on` may have been called for its beginning).
  static bool parse(std::string_view text, std::vector<std::string> wanted, const callback& on) {
    json_pick pick(std::move(wanted), on);
    return nlohmann::json::sax_parse(text.data(), text.data() + text.size(), &pick);
  }

  bool null() override { return scalar(nullptr); }
  bool boolean(bool v) override { return scalar(v); }
  bool number_integer(number_integer_t v) override { return scalar(v); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(v); }
  bool number_float(number_float_t v, const string_t&) override { return scalar(v); }
  bool string(string_t& v) override { return scalar(std::move(v)); }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(false); }
  bool start_array(std::size_t) override { return open(true); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    if (dead_ == 0 && !stack_.empty()) stack_.back().key = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  struct frame {
    bool list;
    std::string path;
    std::string key;  // the last key of an object
  };

  json_pick(std::vector<std::string> wanted, const callback& on) : wanted_(std::move(wanted)), on_(on) {}

  // The path of the value that starts now; false inside a container nobody wants.
  bool path_here(std::string& p) const {
    if (dead_ != 0) return false;
    if (stack_.empty()) {
      p.clear();
      return true;
    }
    const frame& f = stack_.back();
    p = f.list ? f.path + "[]" : (f.path.empty() ? f.key : f.path + "." + f.key);
    return true;
  }
  bool wanted(const std::string& p) const { return std::find(wanted_.begin(), wanted_.end(), p) != wanted_.end(); }
  bool leads_somewhere(const std::string& p) const {
    if (p.empty()) return true;
    for (const auto& w : wanted_) {
      if (w.size() > p.size() && w.compare(0, p.size(), p) == 0 && (w[p.size()] == '.' || w[p.size()] == '[')) {
        return true;
      }
    }
    return false;
  }
  bool scalar(nlohmann::json v) {
    std::string p;
    if (path_here(p) && wanted(p)) on_(p, v);
    return true;
  }
  bool open(bool list) {
    std::string p;
    if (!path_here(p)) {
      ++dead_;
      return true;
    }
    if (wanted(p)) {
      nlohmann::json v = list ? nlohmann::json::array() : nlohmann::json::object();
      on_(p, v);
    }
    if (leads_somewhere(p)) {
      stack_.push_back({list, std::move(p), {}});
    } else {
      ++dead_;
    }
    return true;
  }
  bool close() {
    if (dead_ != 0) {
      --dead_;
    } else if (!stack_.empty()) {
      stack_.pop_back();
    }
    return true;
  }

  std::vector<std::string> wanted_;
  std::vector<frame> stack_;
  std::size_t dead_ = 0;  // depth inside a container nobody wants
  const callback& on_;
};

// Spotify's error text from a body like {"error": {"status": 400, "message": "..."}} or
// {"error": "invalid_client", "error_description": "..."}; the whole body otherwise. It is
// server text: it goes to a message only through a redactor.
std::string error_text(const std::string& body) {
  std::string error, message, description;
  const bool json = json_pick::parse(body, {"error", "error.message", "error_description"},
                                     [&](const std::string& path, nlohmann::json& v) {
                                       if (!v.is_string()) return;
                                       std::string& to = path == "error"           ? error
                                                         : path == "error.message" ? message
                                                                                   : description;
                                       to = std::move(v.get_ref<std::string&>());
                                     });
  if (!json) return body;
  if (!message.empty()) return message;
  if (!error.empty()) return description.empty() ? error : error + ": " + description;
  return body;
}

// A Spotify id: 22 base-62 characters.
bool spotify_id(const std::string& id) {
  if (id.size() != 22) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

// An RFC 6750 b64token (the syntax of a Bearer access token) of at most max_token_chars.
constexpr std::size_t max_token_chars = 4096;
bool bearer_token(const std::string& t) {
  if (t.empty() || t.size() > max_token_chars) return false;
  std::size_t i = 0;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                    c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) break;
  }
  if (i == 0) return false;
  for (; i < t.size(); ++i) {
    if (t[i] != '=') return false;
  }
  return true;
}

// Token lifetimes are clamped to this range: a huge expires_in would overflow the clock,
// a tiny one would fetch a token for every request.
constexpr double min_token_lifetime_s = 1.0;
constexpr double max_token_lifetime_s = 86400.0;

}  // namespace

struct spotify_recommender::impl {
  spotify_options opts;
  std::string api;
  std::string accounts;
  // Turns server text into message excerpts without the credentials.
  redactor credentials;

  // The shared access token. One worker at a time fetches it (`fetching`); the others
  // wait on token_ready. A failed fetch is kept in token_failure and rethrown to every
  // worker until the next recommend(), so a dead accounts service costs one request's
  // retries, whatever the number of workers.
  std::mutex token_mutex;
  std::condition_variable token_ready;
  bool fetching = false;
  std::exception_ptr token_failure;
  std::string token;
  clock_type::time_point expiry{};
  std::uint64_t generation = 0;

  std::atomic<std::uint64_t> tokens{0};
  std::atomic<std::uint64_t> retries{0};

  std::mutex rng_mutex;
  std::mt19937_64 rng{std::random_device{}()};

  explicit impl(spotify_options o) : opts(std::move(o)) {
    if (!spotify_built()) {
      throw error("this playaug was built without the Spotify client (PLAYAUG_WITH_SPOTIFY=OFF)");
    }
    opts.validate();
    credentials.add_credential(opts.client_secret);
    credentials.add_basic(opts.client_id, opts.client_secret);
    api = trim_slash(opts.api_url);
    accounts = trim_slash(opts.accounts_url);
  }

  // " (excerpt)" of a server's error body, or nothing; `bearer` (the access token sent)
  // is removed as well as the client credentials.
  std::string detail_suffix(const std::string& body, const std::string& bearer = {}) const {
    std::string d;
    if (bearer.empty()) {
      d = credentials.excerpt(error_text(body));
    } else {
      redactor r = credentials;
      r.add_credential(bearer);
      d = r.excerpt(error_text(body));
    }
    return d.empty() ? std::string() : " (" + d + ")";
  }

  double backoff(int attempt) {
    double d = opts.backoff_initial_s * std::ldexp(1.0, std::min(attempt, 60));
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

  // Forget a failed token fetch: called when a new recommend() starts.
  void reset_token_failure() {
    std::lock_guard<std::mutex> lock(token_mutex);
    token_failure = nullptr;
  }

  // A valid access token and its generation: the cached one, or one fetched by this
  // worker or by the worker already fetching it. Rethrows a failed fetch.
  std::string get_token(http_client& http, std::uint64_t& gen, std::uint64_t& retried) {
    std::unique_lock<std::mutex> lock(token_mutex);
    for (;;) {
      if (token_failure) std::rethrow_exception(token_failure);
      if (!token.empty() && clock_type::now() < expiry) {
        gen = generation;
        return token;
      }
      if (!fetching) break;
      token_ready.wait(lock);
    }
    fetching = true;
    lock.unlock();
    std::string tok;
    clock_type::time_point until;
    try {
      tok = fetch_token(http, retried, until);
    } catch (...) {
      lock.lock();
      token_failure = std::current_exception();
      fetching = false;
      token_ready.notify_all();
      throw;
    }
    lock.lock();
    token = std::move(tok);
    expiry = until;
    ++generation;
    ++tokens;
    fetching = false;
    token_ready.notify_all();
    gen = generation;
    return token;
  }

  // POST {accounts}/api/token with retries; the token and when it expires.
  std::string fetch_token(http_client& http, std::uint64_t& retried, clock_type::time_point& until) {
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
        throw error("Spotify token request " + std::string(e.what()) + " after " + std::to_string(attempt + 1) +
                    " attempts");
      } catch (const response_too_large& e) {
        throw error("Spotify token request: " + std::string(e.what()));
      }
      if (r.status == 429 || r.status >= 500) {
        if (attempt < opts.max_retries) {
          ++retries;
          ++retried;
          sleep_s(r.status == 429 ? retry_after(r, attempt) : backoff(attempt));
          continue;
        }
        throw error("Spotify token request failed: HTTP " + std::to_string(r.status) + " after " +
                    std::to_string(attempt + 1) + " attempts" + detail_suffix(r.body));
      }
      if (r.status != 200) {
        const std::string d = credentials.excerpt(error_text(r.body));
        throw error("Spotify refused the client credentials (HTTP " + std::to_string(r.status) +
                    (d.empty() ? std::string() : ": " + d) + "); check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET");
      }
      std::string tok;
      double expires_in = -1.0;
      bool have_token = false, have_expiry = false;
      const bool json = json_pick::parse(r.body, {"access_token", "expires_in"},
                                         [&](const std::string& path, nlohmann::json& v) {
                                           if (path == "access_token") {
                                             have_token = v.is_string();
                                             if (have_token) tok = std::move(v.get_ref<std::string&>());
                                           } else {
                                             have_expiry = v.is_number();
                                             if (have_expiry) expires_in = v.get<double>();
                                           }
                                         });
      if (!json || !have_token || !have_expiry) {
        throw error("Spotify token response is not the expected JSON (access_token, expires_in)");
      }
      if (!bearer_token(tok)) {
        throw error("Spotify token response holds an access token that is not 1.." +
                    std::to_string(max_token_chars) + " characters of an RFC 6750 bearer token (" +
                    std::to_string(tok.size()) + " characters)");
      }
      if (!(expires_in > 0.0)) throw error("Spotify token response has an expiry that is not positive");
      expires_in = std::min(std::max(expires_in, min_token_lifetime_s), max_token_lifetime_s);
      until = started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(expires_in));
      return tok;
    }
  }

  void invalidate(std::uint64_t gen) {
    std::lock_guard<std::mutex> lock(token_mutex);
    if (gen == generation) token.clear();
  }

  std::string url_for(const float* target, int limit, const std::string& seed_query) const {
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

  // The track ids of a recommendations answer (at most `limit`, the first ones), or throws
  // with `who` in the message. Every id must be a Spotify id.
  std::vector<std::string> track_ids(const std::string& body, int limit, const std::string& who) const {
    const std::string expected = who + ": Spotify's answer is not the expected JSON (tracks[].id)";
    bool have_tracks = false;
    std::vector<std::string> ids;
    std::size_t elements = 0, with_id = 0;
    const bool json = json_pick::parse(body, {"tracks", "tracks[]", "tracks[].id"}, [&](const std::string& path,
                                                                                        nlohmann::json& v) {
      if (path == "tracks") {  // a repeated key: the last one counts
        if (!v.is_array()) throw error(expected);
        have_tracks = true;
        ids.clear();
        elements = with_id = 0;
      } else if (path == "tracks[]") {
        if (!v.is_object()) throw error(expected);
        if (with_id != elements) throw error(expected);
        ++elements;
      } else {
        if (!v.is_string()) throw error(expected);
        std::string id = std::move(v.get_ref<std::string&>());
        if (!spotify_id(id)) {
          std::string shown = id.empty() ? std::string("an empty track id")
                                         : "a track id that is not a Spotify id (22 letters and digits): '" +
                                               credentials.excerpt(id, 40) + "', " + std::to_string(id.size()) +
                                               " characters";
          throw error(who + ": Spotify's answer holds " + shown);
        }
        if (with_id + 1 == elements) {  // a repeated "id" key within one track: the first counts
          if (ids.size() < static_cast<std::size_t>(limit)) ids.push_back(std::move(id));
          ++with_id;
        }
      }
    });
    if (!json || !have_tracks || with_id != elements) throw error(expected);
    if (ids.empty()) throw no_track(who + ": Spotify recommended no track (empty tracks)");
    return ids;
  }

  // The recommended track ids for one target (at least one), or throws with `who` in the
  // message. Retries 429 (Retry-After), 5xx and network errors; refreshes the token once
  // on a 401.
  std::vector<std::string> request(http_client& http, const float* target, int limit, const std::string& seed_query,
                                   const std::string& who, std::uint64_t& retried) {
    const std::string url = url_for(target, limit, seed_query);
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
        throw error(who + ": Spotify request " + e.what() + " after " + std::to_string(attempt + 1) + " attempts");
      } catch (const response_too_large& e) {
        throw error(who + ": Spotify request: " + e.what());
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
        throw error(who + ": Spotify answered HTTP " + std::to_string(r.status) + " " + std::to_string(attempt + 1) +
                    " times" + detail_suffix(r.body, tok));
      }
      if (r.status != 200) {
        throw error(who + ": Spotify answered HTTP " + std::to_string(r.status) + detail_suffix(r.body, tok));
      }
      return track_ids(r.body, limit, who);
    }
  }
};

namespace {

// The seeds part of every query string.
std::string seed_query_of(const seed_set& seeds) {
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return http_client::escape(s);
  };
  std::string q;
  if (!seeds.artists.empty()) q += "&seed_artists=" + join(seeds.artists);
  if (!seeds.tracks.empty()) q += "&seed_tracks=" + join(seeds.tracks);
  if (!seeds.genres.empty()) q += "&seed_genres=" + join(seeds.genres);
  return q;
}

}  // namespace

spotify_recommender::spotify_recommender(spotify_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {
  seed_query_ = seed_query_of(impl_->opts.seeds);
}

spotify_recommender::spotify_recommender(const spotify_recommender& session, seed_set seeds) : impl_(session.impl_) {
  seeds.validate();
  seed_query_ = seed_query_of(seeds);
}

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

void spotify_recommender::recommend(const resources&, dataset& chunk, const requery_params& prm,
                                    recommend_outcome& outcome) {
  impl& im = *impl_;
  const std::size_t songs = chunk.songs();
  if (songs != 0 && chunk.dim != spotify::n_features) {
    throw usage_error("the Spotify backend needs the 11 Spotify features per song, got " + std::to_string(chunk.dim));
  }
  chunk.track_ids.assign(songs, std::string());
  outcome.fell_back.assign(chunk.playlists(), 0);
  outcome.left_out.assign(chunk.playlists(), 0);
  if (songs == 0) return;
  im.reset_token_failure();

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

  // Playlists without a track for some song (leave_out_unfillable only). Written by the
  // workers of the first pass, several per playlist, hence atomic.
  std::unique_ptr<std::atomic<bool>[]> unfilled(new std::atomic<bool>[chunk.playlists()]);
  for (std::size_t p = 0; p < chunk.playlists(); ++p) unfilled[p] = false;

  const float* targets = chunk.features.data();
  const int workers = im.opts.workers;
  run_pool(workers, songs, im.opts.connect_timeout_s, im.opts.timeout_s, [&](http_client& http, std::size_t s) {
    std::uint64_t retried = 0;
    try {
      auto ids = im.request(http, targets + s * spotify::n_features, 1, seed_query_, who(s), retried);
      chunk.track_ids[s] = std::move(ids.front());
    } catch (const no_track&) {
      if (!prm.leave_out_unfillable) throw;
      unfilled[playlist_of[s]] = true;
    }
    report(1, retried);
  });

  auto finish = [&] {
    for (std::size_t p = 0; p < chunk.playlists(); ++p) outcome.left_out[p] = unfilled[p].load() ? 1 : 0;
  };
  if (prm.allow_repeats) {
    finish();
    return;
  }
  // A track repeated within a playlist is asked again with a larger limit; the first track
  // new to the playlist wins. Playlists are independent, songs within one sequential.
  run_pool(workers, chunk.playlists(), im.opts.connect_timeout_s, im.opts.timeout_s,
           [&](http_client& http, std::size_t p) {
             if (unfilled[p].load()) return;
             std::unordered_set<std::string> used;
             for (std::uint64_t s = chunk.song_offsets[p]; s < chunk.song_offsets[p + 1]; ++s) {
               if (used.insert(chunk.track_ids[s]).second) continue;
               const float* t = targets + s * spotify::n_features;
               bool found = false;
               for (int limit : {static_cast<int>(std::min<std::size_t>(used.size() + 1, 100)), 100}) {
                 std::uint64_t retried = 0;
                 std::vector<std::string> ids;
                 try {
                   ids = im.request(http, t, limit, seed_query_, who(s), retried);
                 } catch (const no_track&) {
                   if (!prm.leave_out_unfillable) throw;
                 }
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
                 if (prm.leave_out_unfillable) {
                   unfilled[p] = true;
                   return;
                 }
                 throw error(who(s) + ": Spotify recommended no track new to the playlist (pass --allow-repeats to allow repeats)");
               }
               ++outcome.fell_back[p];
             }
           });
  finish();
}

}  // namespace playaug
