// The Spotify backend of requery against an in-process fake server on 127.0.0.1
// (cpp-httplib): authentication, request parameters, token caching and refresh, 429 /
// 5xx / timeout / malformed answers, the no-repeat rule, the worker pool bound, and that
// the client secret never appears in a message. Nothing here touches the internet.

#include <gtest/gtest.h>

#if defined(PLAYAUG_TEST_HTTPLIB)
#define PLAYAUG_HAVE_HTTPLIB 1
#include <httplib.h>
#else
#define PLAYAUG_HAVE_HTTPLIB 0
#endif

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "playaug/error.hpp"
#include "playaug/requery.hpp"
#include "test_support.hpp"

#if PLAYAUG_HAVE_HTTPLIB

namespace {

using namespace playaug;
using namespace std::chrono_literals;

const char* kId = "test-client-id";
const char* kSecret = "s3cr3t-Value-That-Must-Not-Leak";

// base64("test-client-id:s3cr3t-Value-That-Must-Not-Leak"), computed independently with
// Python's base64.b64encode.
const char* kBasicCredentials = "dGVzdC1jbGllbnQtaWQ6czNjcjN0LVZhbHVlLVRoYXQtTXVzdC1Ob3QtTGVhaw==";

// A Spotify track id (22 base-62 characters) made from a recognisable tag: '.' and '-'
// become 'p' and 'm', the rest is padded with 'Z'.
std::string sid(std::string tag) {
  for (char& c : tag) {
    if (c == '.') c = 'p';
    if (c == '-') c = 'm';
  }
  tag.resize(22, 'Z');
  return tag;
}

// The fake Spotify: /api/token and /v1/recommendations, with scripted behaviour.
class fake_spotify {
 public:
  // Answer of the recommendations endpoint for one request; default: one track whose id
  // encodes target_tempo, so each song's answer is recognisable.
  std::function<void(const httplib::Request&, httplib::Response&, int call)> on_recommend;
  std::function<void(const httplib::Request&, httplib::Response&, int call)> on_token;
  std::atomic<int> token_calls{0}, recommend_calls{0}, in_flight{0}, max_in_flight{0};
  std::mutex mutex;
  std::vector<std::string> problems;  // request checks that failed (reported by the test)
  std::vector<std::string> tokens_seen;
  std::vector<std::string> limits;
  int expires_in = 3600;

  fake_spotify() {
    server_.Post("/api/token", [this](const httplib::Request& req, httplib::Response& res) {
      const int call = ++token_calls;
      check(req.get_header_value("Authorization") == std::string("Basic ") + kBasicCredentials,
            "token request without the right Basic credentials");
      check(req.get_header_value("Content-Type").find("application/x-www-form-urlencoded") == 0,
            "token request is not form-encoded");
      check(req.body == "grant_type=client_credentials", "token body is '" + req.body + "'");
      if (on_token) return on_token(req, res, call);
      res.set_content(R"({"access_token": "tok)" + std::to_string(call) + R"(", "token_type": "Bearer", "expires_in": )" +
                          std::to_string(expires_in) + "}",
                      "application/json");
    });
    server_.Get("/v1/recommendations", [this](const httplib::Request& req, httplib::Response& res) {
      const int now = ++in_flight;
      int prev = max_in_flight.load();
      while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
      }
      const int call = ++recommend_calls;
      {
        std::lock_guard<std::mutex> lock(mutex);
        tokens_seen.push_back(req.get_header_value("Authorization"));
        limits.push_back(req.get_param_value("limit"));
      }
      check_params(req);
      if (on_recommend) {
        on_recommend(req, res, call);
      } else {
        res.set_content(R"({"tracks": [{"id": ")" + sid("T" + req.get_param_value("target_tempo")) + R"("}], "seeds": []})",
                        "application/json");
      }
      --in_flight;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 200 && !server_.is_running(); ++i) std::this_thread::sleep_for(5ms);
  }
  ~fake_spotify() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void check(bool ok, const std::string& what) {
    if (ok) return;
    std::lock_guard<std::mutex> lock(mutex);
    problems.push_back(what);
  }

  void check_params(const httplib::Request& req) {
    static const char* names[] = {"acousticness", "danceability", "energy",      "instrumentalness",
                                  "key",          "liveness",     "loudness",    "mode",
                                  "speechiness",  "tempo",        "valence"};
    for (const char* n : names) check(req.has_param(std::string("target_") + n), std::string("missing target_") + n);
    for (const char* n : {"target_key", "target_mode"}) {
      const std::string v = req.get_param_value(n);
      check(!v.empty() && v.find_first_not_of("0123456789") == std::string::npos, std::string(n) + "=" + v);
    }
    const int key = std::atoi(req.get_param_value("target_key").c_str());
    const int mode = std::atoi(req.get_param_value("target_mode").c_str());
    check(key >= 0 && key <= 11, "target_key out of range");
    check(mode == 0 || mode == 1, "target_mode out of range");
    check(req.get_param_value("seed_artists") == "7CajNmpbOovFoOoasH2HaY,1vCWHaC5f2uS3yhpwWbIA6", "seed_artists");
    check(req.get_param_value("seed_tracks") == "2P4OICZRVAQcYAV2JReRfj", "seed_tracks");
    check(req.get_param_value("seed_genres") == "edm", "seed_genres");
    check(!req.get_param_value("limit").empty(), "no limit");
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

spotify_options options_for(const fake_spotify& fake) {
  spotify_options o;
  o.api_url = fake.url();
  o.accounts_url = fake.url() + "/";  // a trailing slash is tolerated
  o.client_id = kId;
  o.client_secret = kSecret;
  o.seeds = genre_seeds::builtin().select({"edm"});
  o.workers = 3;
  o.connect_timeout_s = 1.0;
  o.timeout_s = 2.0;
  o.max_retries = 3;
  o.backoff_initial_s = 0.01;
  o.backoff_max_s = 0.05;
  o.retry_after_max_s = 0.05;
  return o;
}

// Two playlists; tempo 100 + song index makes each song's default answer unique.
dataset songs(std::size_t a = 3, std::size_t b = 4) {
  dataset ds;
  ds.dim = 11;
  ds.schema = feature_schema::spotify();
  std::vector<float> f;
  for (std::size_t s = 0; s < a + b; ++s) {
    const float row[11] = {0.5f, 0.6f, 0.7f, 0.01f, s == 0 ? -1.0f : 11.4f, 0.1f, -7.5f, 1.0f, 0.05f,
                           100.0f + static_cast<float>(s), 0.3f};
    f.insert(f.end(), row, row + 11);
  }
  ds.add_playlist("first", {{1}}, f.data(), a);
  ds.add_playlist("second", {{2}}, f.data() + a * 11, b);
  return ds;
}

void expect_no_problems(fake_spotify& fake) {
  std::lock_guard<std::mutex> lock(fake.mutex);
  for (const auto& p : fake.problems) ADD_FAILURE() << p;
}

std::string failure_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

class Spotify : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!spotify_built()) GTEST_SKIP() << "built without the Spotify client (PLAYAUG_WITH_SPOTIFY=OFF)";
  }
};

TEST_F(Spotify, SendsCredentialsTargetsAndSeedsAndKeepsSongOrder) {
  fake_spotify fake;
  spotify_recommender rec(options_for(fake));
  dataset ds = songs();
  const dataset targets = ds;
  requery_params prm;
  prm.allow_repeats = true;
  std::uint64_t done = 0;
  prm.on_progress = [&](std::uint64_t n, std::uint64_t) { done += n; };
  rec.recommend(resources(backend::cpu), ds, prm);
  expect_no_problems(fake);
  ASSERT_EQ(ds.track_ids.size(), 7u);
  for (std::size_t s = 0; s < 7; ++s) EXPECT_EQ(ds.track_ids[s], sid("T" + std::to_string(100 + s)));
  EXPECT_EQ(ds.features, targets.features);  // the endpoint returns no features
  EXPECT_EQ(done, 7u);
  EXPECT_EQ(fake.token_calls.load(), 1);  // cached
  EXPECT_EQ(rec.tokens_fetched(), 1u);
  for (const auto& t : fake.tokens_seen) EXPECT_EQ(t, "Bearer tok1");
  for (const auto& l : fake.limits) EXPECT_EQ(l, "1");
}

TEST_F(Spotify, RoundsAndClampsKeyAndMode) {
  fake_spotify fake;
  std::vector<std::string> keys;
  std::mutex m;
  fake.on_recommend = [&](const httplib::Request& req, httplib::Response& res, int) {
    std::lock_guard<std::mutex> lock(m);
    keys.push_back(req.get_param_value("target_tempo") + ":" + req.get_param_value("target_key") + ":" +
                   req.get_param_value("target_mode") + ":" + req.get_param_value("target_loudness"));
    res.set_content(R"({"tracks": [{"id": ")" + sid("x" + req.get_param_value("target_tempo")) + R"("}]})", "application/json");
  };
  spotify_recommender rec(options_for(fake));
  dataset ds = songs(1, 1);
  rec.recommend(resources(backend::cpu), ds, requery_params{});
  expect_no_problems(fake);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"100:0:1:-7.5", "101:11:1:-7.5"}));  // -1 -> 0, 11.4 -> 11
}

TEST_F(Spotify, TokenIsFetchedAgainWhenItExpiresAndOnceMoreOn401) {
  fake_spotify fake;
  fake.expires_in = 1;
  spotify_recommender rec(options_for(fake));
  requery_params prm;
  prm.allow_repeats = true;
  dataset ds = songs(1, 0);
  rec.recommend(resources(backend::cpu), ds, prm);
  EXPECT_EQ(fake.token_calls.load(), 1);
  std::this_thread::sleep_for(1100ms);
  rec.recommend(resources(backend::cpu), ds, prm);
  EXPECT_EQ(fake.token_calls.load(), 2);

  // A 401 (revoked token) triggers exactly one refresh.
  fake_spotify f2;
  f2.on_recommend = [&](const httplib::Request& req, httplib::Response& res, int call) {
    if (call == 1) {
      res.status = 401;
      res.set_content(R"({"error": {"status": 401, "message": "The access token expired"}})", "application/json");
      return;
    }
    res.set_content(R"({"tracks": [{"id": ")" + sid("ok") + R"("}]})", "application/json");
    (void)req;
  };
  spotify_recommender r2(options_for(f2));
  dataset d2 = songs(1, 0);
  r2.recommend(resources(backend::cpu), d2, prm);
  EXPECT_EQ(d2.track_ids[0], sid("ok"));
  EXPECT_EQ(f2.token_calls.load(), 2);
  EXPECT_EQ(f2.tokens_seen.back(), "Bearer tok2");
  expect_no_problems(f2);

  // Always 401: fails after the one refresh, naming the song.
  fake_spotify f3;
  f3.on_recommend = [](const httplib::Request&, httplib::Response& res, int) { res.status = 401; };
  spotify_recommender r3(options_for(f3));
  dataset d3 = songs(1, 0);
  const std::string msg = failure_of([&] { r3.recommend(resources(backend::cpu), d3, prm); });
  EXPECT_NE(msg.find("HTTP 401"), std::string::npos) << msg;
  EXPECT_NE(msg.find("playlist 'first' song 1"), std::string::npos) << msg;
  EXPECT_EQ(f3.token_calls.load(), 2);
}

TEST_F(Spotify, Retries429AfterRetryAfterAnd5xxWithBackoff) {
  fake_spotify fake;
  std::atomic<int> n429{0}, n500{0};
  fake.on_recommend = [&](const httplib::Request& req, httplib::Response& res, int) {
    const std::string tempo = req.get_param_value("target_tempo");
    if (tempo == "100" && n429++ < 2) {
      res.status = 429;
      res.set_header("Retry-After", "3");  // capped to retry_after_max_s
      return;
    }
    if (tempo == "101" && n500++ < 2) {
      res.status = n500 == 1 ? 500 : 503;
      return;
    }
    res.set_content(R"({"tracks": [{"id": ")" + sid("T" + tempo) + R"("}]})", "application/json");
  };
  spotify_recommender rec(options_for(fake));
  dataset ds = songs(2, 1);
  requery_params prm;
  std::uint64_t retries = 0;
  prm.on_progress = [&](std::uint64_t, std::uint64_t r) { retries += r; };
  const auto t0 = std::chrono::steady_clock::now();
  rec.recommend(resources(backend::cpu), ds, prm);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);  // the 3 s Retry-After was capped
  EXPECT_EQ(ds.track_ids, (std::vector<std::string>{sid("T100"), sid("T101"), sid("T102")}));
  EXPECT_EQ(retries, 4u);
  EXPECT_EQ(rec.retries(), 4u);
  expect_no_problems(fake);
}

TEST_F(Spotify, PersistentServerErrorsFailNamingPlaylistAndSong) {
  fake_spotify fake;
  fake.on_recommend = [](const httplib::Request& req, httplib::Response& res, int) {
    if (req.get_param_value("target_tempo") == "104") {
      res.status = 500;
      res.set_content("upstream exploded", "text/plain");
      return;
    }
    res.set_content(R"({"tracks": [{"id": ")" + sid("T" + req.get_param_value("target_tempo")) + R"("}]})", "application/json");
  };
  auto opts = options_for(fake);
  opts.max_retries = 2;
  spotify_recommender rec(opts);
  dataset ds = songs();
  const std::string msg = failure_of([&] { rec.recommend(resources(backend::cpu), ds, requery_params{}); });
  EXPECT_NE(msg.find("playlist 'second' song 2 of 4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("HTTP 500 3 times"), std::string::npos) << msg;
}

TEST_F(Spotify, SlowResponsesTimeOut) {
  fake_spotify fake;
  fake.on_recommend = [](const httplib::Request&, httplib::Response& res, int) {
    std::this_thread::sleep_for(700ms);
    res.set_content(R"({"tracks": [{"id": ")" + sid("late") + R"("}]})", "application/json");
  };
  auto opts = options_for(fake);
  opts.timeout_s = 0.2;
  opts.max_retries = 1;
  opts.workers = 1;
  spotify_recommender rec(opts);
  dataset ds = songs(1, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = failure_of([&] { rec.recommend(resources(backend::cpu), ds, requery_params{}); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_NE(msg.find("timed out"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after 2 attempts"), std::string::npos) << msg;
  EXPECT_EQ(fake.recommend_calls.load(), 2);
}

TEST_F(Spotify, MalformedOrEmptyAnswersAreClearPerSongErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "not the expected JSON"},
      {R"({"tracks": "none"})", "not the expected JSON"},
      {R"({"tracks": [{"name": "no id"}]})", "not the expected JSON"},
      {R"({"tracks": []})", "no track"},
  };
  for (const auto& [body, part] : cases) {
    fake_spotify fake;
    fake.on_recommend = [&](const httplib::Request&, httplib::Response& res, int) {
      res.set_content(body, "application/json");
    };
    spotify_recommender rec(options_for(fake));
    dataset ds = songs(1, 0);
    const std::string msg = failure_of([&] { rec.recommend(resources(backend::cpu), ds, requery_params{}); });
    EXPECT_NE(msg.find(part), std::string::npos) << body << " -> " << msg;
    EXPECT_NE(msg.find("playlist 'first' song 1 of 1"), std::string::npos) << msg;
  }
}

TEST_F(Spotify, RejectedCredentialsAreReportedWithoutTheSecret) {
  fake_spotify fake;
  fake.on_token = [](const httplib::Request& req, httplib::Response& res, int) {
    res.status = 400;
    // A hostile server echoing the request must not make the secret appear in messages.
    res.set_content(R"({"error": "invalid_client", "error_description": "bad )" + req.get_header_value("Authorization") +
                        " " + kSecret + R"("})",
                    "application/json");
  };
  spotify_recommender rec(options_for(fake));
  dataset ds = songs(1, 0);
  const std::string msg = failure_of([&] { rec.recommend(resources(backend::cpu), ds, requery_params{}); });
  EXPECT_NE(msg.find("refused the client credentials (HTTP 400: invalid_client"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(kSecret), std::string::npos) << msg;
  EXPECT_EQ(msg.find(kBasicCredentials), std::string::npos) << msg;
  EXPECT_EQ(fake.recommend_calls.load(), 0);
}

TEST_F(Spotify, RepeatedTracksAreAskedAgainUnlessRepeatsAreAllowed) {
  fake_spotify fake;
  fake.on_recommend = [](const httplib::Request& req, httplib::Response& res, int) {
    const int limit = std::atoi(req.get_param_value("limit").c_str());
    std::string body = R"({"tracks": [)";
    const char* ids[] = {"same", "other1", "other2", "other3"};
    for (int i = 0; i < std::min(limit, 4); ++i) body += std::string(i ? "," : "") + R"({"id": ")" + sid(ids[i]) + "\"}";
    res.set_content(body + "]}", "application/json");
  };
  spotify_recommender rec(options_for(fake));
  dataset ds = songs(3, 1);
  rec.recommend(resources(backend::cpu), ds, requery_params{});
  EXPECT_EQ(ds.track_ids, (std::vector<std::string>{sid("same"), sid("other1"), sid("other2"), sid("same")}));
  EXPECT_EQ(fake.limits.size(), 6u);  // 4 songs with limit=1, then limit=2 and limit=3
  requery_params prm;
  prm.allow_repeats = true;
  dataset again = songs(3, 1);
  rec.recommend(resources(backend::cpu), again, prm);
  EXPECT_EQ(again.track_ids, (std::vector<std::string>(4, sid("same"))));
  expect_no_problems(fake);
}

TEST_F(Spotify, WorkerPoolBoundsConcurrency) {
  fake_spotify fake;
  fake.on_recommend = [](const httplib::Request& req, httplib::Response& res, int) {
    std::this_thread::sleep_for(20ms);
    res.set_content(R"({"tracks": [{"id": ")" + sid("T" + req.get_param_value("target_tempo")) + R"("}]})", "application/json");
  };
  auto opts = options_for(fake);
  opts.workers = 3;
  spotify_recommender rec(opts);
  dataset ds = songs(10, 10);
  rec.recommend(resources(backend::cpu), ds, requery_params{});
  EXPECT_LE(fake.max_in_flight.load(), 3);
  EXPECT_GE(fake.max_in_flight.load(), 2);
  for (std::size_t s = 0; s < 20; ++s) EXPECT_EQ(ds.track_ids[s], sid("T" + std::to_string(100 + s)));
}

TEST_F(Spotify, UnreachableServerFailsAfterRetries) {
  int port = 0;
  {
    fake_spotify gone;  // take a free port, then close it
    port = std::atoi(gone.url().substr(gone.url().rfind(':') + 1).c_str());
  }
  spotify_options o;
  o.api_url = o.accounts_url = "http://127.0.0.1:" + std::to_string(port);
  o.client_id = kId;
  o.client_secret = kSecret;
  o.seeds = genre_seeds::builtin().select({"edm"});
  o.max_retries = 2;
  o.backoff_initial_s = 0.01;
  spotify_recommender rec(o);
  dataset ds = songs(1, 0);
  const std::string msg = failure_of([&] { rec.recommend(resources(backend::cpu), ds, requery_params{}); });
  EXPECT_NE(msg.find("token request"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after 3 attempts"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(kSecret), std::string::npos) << msg;
}

TEST_F(Spotify, OptionsAreValidatedBeforeAnyRequest) {
  fake_spotify fake;
  auto o = options_for(fake);
  o.seeds = genre_seeds::builtin().select({"edm", "acoustic"});  // 8 seeds
  EXPECT_THROW(spotify_recommender{o}, usage_error);
  o = options_for(fake);
  o.client_secret.clear();
  EXPECT_THROW(spotify_recommender{o}, usage_error);
  o = options_for(fake);
  o.api_url = "ftp://example";
  EXPECT_THROW(spotify_recommender{o}, usage_error);
  EXPECT_EQ(fake.token_calls.load() + fake.recommend_calls.load(), 0);
}

TEST_F(Spotify, RequeryKeepsTheTargetsAsFeatures) {
  fake_spotify fake;
  spotify_recommender rec(options_for(fake));
  const dataset in = songs();
  requery_params prm;
  prm.seed = 3;
  const dataset out = requery(resources(backend::cpu), in, rec, prm);
  ASSERT_EQ(out.track_ids.size(), in.songs());
  EXPECT_EQ(out.ids, (std::vector<std::string>{"first#rq", "second#rq"}));
  EXPECT_NE(out.features, in.features);  // perturbed targets
  for (std::size_t s = 0; s < in.songs(); ++s) {
    EXPECT_EQ(out.features[s * 11 + 4], in.features[s * 11 + 4]);  // key kept
    const float tempo_ratio = out.features[s * 11 + 9] / in.features[s * 11 + 9];
    EXPECT_LE(std::fabs(tempo_ratio - 1.0f), 0.15f + 1e-6f);
  }
  expect_no_problems(fake);
}

}  // namespace

#else

TEST(Spotify, FakeServerTests) { GTEST_SKIP() << "cpp-httplib (the fake server) was not found at configure time"; }

#endif  // PLAYAUG_HAVE_HTTPLIB
