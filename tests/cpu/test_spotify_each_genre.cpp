// requery_each_genre() with the Spotify backend against an in-process fake server on
// 127.0.0.1 (cpp-httplib): each copy's requests carry its genre's seeds and no other's,
// all genres share one access token, a genre without an answer for a song leaves that
// copy out (counted), and the copies come in genre order. Nothing touches the internet.

#include <gtest/gtest.h>

#if defined(PLAYAUG_TEST_HTTPLIB)
#define PLAYAUG_HAVE_HTTPLIB 1
#include <httplib.h>
#else
#define PLAYAUG_HAVE_HTTPLIB 0
#endif

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
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

// One recommendations request as the fake saw it.
struct seen_request {
  std::string artists, tracks, genres, tempo, limit;
};

// A Spotify id (22 base-62 characters) from a tag: other characters become 'x'.
// Tags stay below 22 characters here, so distinct tags give distinct ids.
std::string sid(std::string tag) {
  for (char& c : tag) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = 'x';
  }
  tag.resize(22, 'Z');
  return tag;
}

// The fake: a token endpoint and a recommendations endpoint that answers `limit` tracks
// named after the request's genre seed and target tempo (so equal targets get equal
// first answers), or no track for the genre `empty_for` when the tempo is `empty_tempo`.
class fake_spotify {
 public:
  std::atomic<int> token_calls{0};
  std::mutex mutex;
  std::vector<seen_request> requests;
  std::string empty_for;
  std::string empty_tempo;

  fake_spotify() {
    server_.Post("/api/token", [this](const httplib::Request&, httplib::Response& res) {
      ++token_calls;
      res.set_content(R"({"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})", "application/json");
    });
    server_.Get("/v1/recommendations", [this](const httplib::Request& req, httplib::Response& res) {
      seen_request r{req.get_param_value("seed_artists"), req.get_param_value("seed_tracks"),
                     req.get_param_value("seed_genres"), req.get_param_value("target_tempo"),
                     req.get_param_value("limit")};
      {
        std::lock_guard<std::mutex> lock(mutex);
        requests.push_back(r);
      }
      if (r.genres == empty_for && r.tempo == empty_tempo) {
        res.set_content(R"({"tracks": []})", "application/json");
        return;
      }
      // Several tracks when asked for several (a repeat asked again).
      std::string body = R"({"tracks": [)";
      const int limit = std::max(1, std::atoi(r.limit.c_str()));
      for (int i = 0; i < limit; ++i) {
        body += (i ? "," : "") + std::string(R"({"id": ")") + sid(r.genres + "t" + r.tempo + "i" + std::to_string(i)) + R"("})";
      }
      res.set_content(body + "]}", "application/json");
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

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

spotify_options options(const fake_spotify& fake) {
  spotify_options o;
  o.api_url = fake.url();
  o.accounts_url = fake.url();
  o.client_id = "cid";
  o.client_secret = "secret";
  o.workers = 3;
  o.backoff_initial_s = 0.001;
  o.backoff_max_s = 0.01;
  return o;
}

// Three playlists (one [null]); the third holds one song twice, so it is asked again.
dataset input() {
  dataset ds;
  ds.dim = 11;
  ds.schema = feature_schema::spotify();
  const float a[] = {0.1f, 0.5f, 0.6f, 0.0f, 5, 0.1f, -6.0f, 1, 0.05f, 100.0f, 0.4f,
                     0.2f, 0.6f, 0.7f, 0.0f, 2, 0.2f, -5.0f, 0, 0.04f, 120.0f, 0.5f};
  const float b[] = {0.3f, 0.4f, 0.5f, 0.1f, 7, 0.3f, -9.0f, 1, 0.06f, 140.0f, 0.6f,
                     0.3f, 0.4f, 0.5f, 0.1f, 7, 0.3f, -9.0f, 1, 0.06f, 140.0f, 0.6f};
  ds.add_playlist("one", {{1}}, a, 2);
  ds.add_playlist("nul", {{2}}, nullptr, 0, true);
  ds.add_playlist("two", {{3}, {4}}, b, 2);
  return ds;
}

TEST(SpotifyEachGenre, EachCopySendsOnlyItsGenresSeedsWithOneSharedToken) {
  if (!spotify_built()) GTEST_SKIP() << "built without the Spotify client";
  fake_spotify fake;
  const genre_seeds table = genre_seeds::builtin();
  const std::vector<std::string> genres = {"sleep", "edm", "blues"};
  const genre_recommenders recs = genre_recommenders::from_spotify(options(fake), table, genres);
  ASSERT_EQ(recs.genres(), genres);
  requery_params prm;
  prm.seed = 4;
  prm.protuberance = 0.0f;  // the two songs of "two" are one target: the second is asked again
  requery_summary sum;
  const dataset in = input();
  const dataset out = requery_each_genre(resources(backend::cpu), in, recs, prm, 0, &sum);

  EXPECT_EQ(fake.token_calls.load(), 1);
  // Every request carries exactly one genre's seeds, as data/genres.json lists them.
  std::map<std::string, int> requests_of;
  for (const auto& r : fake.requests) {
    bool matched = false;
    for (const auto& g : genres) {
      const seed_set s = table.select({g});
      if (r.genres == joined(s.genres)) {
        matched = true;
        EXPECT_EQ(r.artists, joined(s.artists)) << g;
        EXPECT_EQ(r.tracks, joined(s.tracks)) << g;
        ++requests_of[g];
      }
    }
    EXPECT_TRUE(matched) << "a request with seed_genres=" << r.genres;
  }
  for (const auto& g : genres) EXPECT_EQ(requests_of[g], 5) << g;  // 4 songs + 1 asked again

  // Copies in genre order; each copy's tracks come from its genre's answers.
  ASSERT_EQ(out.playlists(), 9u);
  for (std::size_t p = 0; p < 3; ++p) {
    for (std::size_t g = 0; g < 3; ++g) {
      const std::size_t o = p * 3 + g;
      EXPECT_EQ(out.ids[o], in.ids[p] + "#rq-" + genres[g]);
      std::set<std::string> used;
      for (auto s = out.song_offsets[o]; s < out.song_offsets[o + 1]; ++s) {
        EXPECT_EQ(out.track_ids[s].rfind(genres[g] + "t", 0), 0u) << out.track_ids[s] << " in " << out.ids[o];
        EXPECT_TRUE(used.insert(out.track_ids[s]).second) << out.track_ids[s] << " repeated in " << out.ids[o];
      }
    }
  }
  for (std::size_t g = 0; g < 3; ++g) {
    EXPECT_EQ(sum.per_genre[g].copies, 3u);
    EXPECT_EQ(sum.per_genre[g].songs, 4u);
    EXPECT_EQ(sum.per_genre[g].fell_back, 1u) << genres[g];
    EXPECT_EQ(sum.per_genre[g].failed, 0u);
  }
}

TEST(SpotifyEachGenre, AGenreWithoutATrackForASongLeavesThatCopyOut) {
  if (!spotify_built()) GTEST_SKIP() << "built without the Spotify client";
  fake_spotify fake;
  fake.empty_for = "edm";
  fake.empty_tempo = "140";  // the songs of "two"
  const genre_recommenders recs =
      genre_recommenders::from_spotify(options(fake), genre_seeds::builtin(), {"edm", "pop"});
  requery_params prm;
  prm.protuberance = 0.0f;
  requery_summary sum;
  const dataset out = requery_each_genre(resources(backend::cpu), input(), recs, prm, 0, &sum);
  EXPECT_EQ(out.ids, (std::vector<std::string>{"one#rq-edm", "one#rq-pop", "nul#rq-edm", "nul#rq-pop", "two#rq-pop"}));
  EXPECT_EQ(sum.per_genre[0].copies, 2u);
  EXPECT_EQ(sum.per_genre[0].left_out, 1u);
  EXPECT_EQ(sum.per_genre[0].failed, 2u);
  EXPECT_EQ(sum.per_genre[1].copies, 3u);
  EXPECT_EQ(sum.per_genre[1].failed, 0u);

  // A plain requery of that genre still fails on the song, naming it.
  spotify_options o = options(fake);
  o.seeds = genre_seeds::builtin().select({"edm"});
  spotify_recommender plain(o);
  try {
    requery(resources(backend::cpu), input(), plain, prm);
    ADD_FAILURE() << "no error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("playlist 'two' song 1 of 2"), std::string::npos) << e.what();
  }
}

TEST(SpotifyEachGenre, AllGenresOfTheTableAndRefusals) {
  if (!spotify_built()) GTEST_SKIP() << "built without the Spotify client";
  fake_spotify fake;
  const genre_seeds table = genre_seeds::builtin();
  const genre_recommenders all = genre_recommenders::from_spotify(options(fake), table);
  EXPECT_EQ(all.genres(), table.names());
  EXPECT_THROW(genre_recommenders::from_spotify(options(fake), table, {"polka"}), usage_error);
}

}  // namespace

#else

TEST(SpotifyEachGenre, NeedsTheFakeServer) { GTEST_SKIP() << "cpp-httplib not found: the fake Spotify server is not built"; }

#endif  // PLAYAUG_HAVE_HTTPLIB
