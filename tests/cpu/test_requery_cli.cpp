// `playaug requery` end to end: the catalog backend, the Spotify backend against an
// in-process fake server, exit codes, and no output file after a failure; --each-genre's
// rows, bytes and summary line.

#include <gtest/gtest.h>

#if defined(PLAYAUG_TEST_HTTPLIB)
#define PLAYAUG_HAVE_HTTPLIB 1
#include <httplib.h>
#else
#define PLAYAUG_HAVE_HTTPLIB 0
#endif

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "playaug/catalog.hpp"
#include "playaug/io.hpp"
#include "playaug/requery.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace playaug;

const char* kInput =
    ",moods_states,features\n"
    "a1,\"[[1], [2, 3]]\",\"[[0.755, 0.479, 0.154, 0.0261, 2, 0.11, -15.05, 1, 0.0368, 119.9, 0.21], "
    "[0.455, 0.674, 0.615, 0.00091, 0, 0.208, -8.1, 0, 0.05, 96.0, 0.6], "
    "[0.755, 0.479, 0.154, 0.0261, 2, 0.11, -15.05, 1, 0.0368, 119.9, 0.21]]\"\n"
    "n1,\"[[3]]\",[null]\n"
    "b2,\"[[4]]\",\"[[0.1, 0.8, 0.9, 0.5, 7, 0.3, -4.2, 1, 0.1, 128.0, 0.9]]\"\n";

class RequeryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::cli_path().empty()) GTEST_SKIP() << "the CLI is not built";
    dir_ = fs::path(::testing::TempDir()) /
           ("playaug_requery_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "in.csv") << kInput;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Run the CLI with `args` (and `env` assignments first); stderr is kept in err_.
  int run(const std::string& args, const std::string& env = "") {
    const fs::path err = dir_ / "stderr.txt";
    const std::string cmd = "cd '" + dir_.string() + "' && env -u SPOTIFY_CLIENT_ID -u SPOTIFY_CLIENT_SECRET " + env +
                            " '" + test::cli_path() + "' requery " + args + " 2> '" + err.string() + "'";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(err);
    std::stringstream ss;
    ss << in.rdbuf();
    err_ = ss.str();
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  std::string catalog() const { return test::fixture("requery/synthetic_catalog.csv"); }

  fs::path dir_;
  std::string err_;
};

TEST_F(RequeryCli, CatalogBackendWritesTrackIdsAndCatalogFeatures) {
  ASSERT_EQ(run("in.csv -o out.csv --catalog '" + catalog() + "' --seed 4 --device cpu --quiet"), 0) << err_;
  const dataset out = read_csv((dir_ / "out.csv").string());
  ASSERT_EQ(out.playlists(), 3u);
  EXPECT_EQ(out.ids, (std::vector<std::string>{"a1#rq", "n1#rq", "b2#rq"}));
  EXPECT_TRUE(out.is_null(1));
  ASSERT_EQ(out.track_ids.size(), 4u);
  const track_catalog cat = read_catalog(catalog());
  for (std::size_t s = 0; s < 4; ++s) {
    bool found = false;
    for (std::size_t r = 0; r < cat.size() && !found; ++r) {
      found = cat.ids[r] == out.track_ids[s] &&
              std::equal(cat.features.data() + r * 11, cat.features.data() + r * 11 + 11, out.features.data() + s * 11);
    }
    EXPECT_TRUE(found) << "song " << s << " " << out.track_ids[s];
  }
  // Songs 1 and 3 of a1 are identical, yet get different tracks.
  EXPECT_NE(out.track_ids[0], out.track_ids[2]);
  EXPECT_TRUE(err_.empty()) << err_;

  // Same seed, same bytes; --allow-repeats lets the identical songs share a track when p = 0.
  ASSERT_EQ(run("in.csv -o again.csv --catalog '" + catalog() + "' --seed 4 --threads 1 -q"), 0) << err_;
  EXPECT_EQ(playaug::test::read_file(dir_ / "out.csv"), playaug::test::read_file(dir_ / "again.csv"));
  ASSERT_EQ(run("in.csv -o rep.csv --catalog '" + catalog() + "' -p 0 --allow-repeats -q"), 0) << err_;
  const dataset rep = read_csv((dir_ / "rep.csv").string());
  EXPECT_EQ(rep.track_ids[0], rep.track_ids[2]);

  // --genre restricts the candidates.
  ASSERT_EQ(run("in.csv -o pop.csv --catalog '" + catalog() + "' --genre pop -q"), 0) << err_;
  const dataset pop = read_csv((dir_ / "pop.csv").string());
  std::set<std::string> pop_ids;
  for (std::size_t r = 0; r < cat.size(); ++r) {
    if (cat.genres[r] == "pop") pop_ids.insert(cat.ids[r]);
  }
  for (const auto& id : pop.track_ids) EXPECT_EQ(pop_ids.count(id), 1u) << id;
}

TEST_F(RequeryCli, UsageAndDataErrorsLeaveNoOutput) {
  EXPECT_EQ(run("in.csv -o out.csv -q"), 2);
  EXPECT_NE(err_.find("exactly one of --catalog"), std::string::npos) << err_;
  EXPECT_EQ(run("in.csv -o out.csv --catalog '" + catalog() + "' --spotify -q"), 2);
  EXPECT_EQ(run("in.csv -o out.csv --catalog '" + catalog() + "' -p 1.5 -q"), 2);
  EXPECT_EQ(run("in.csv -o out.csv --catalog '" + catalog() + "' --genre polka -q"), 2);
  EXPECT_NE(err_.find("polka"), std::string::npos) << err_;
  EXPECT_EQ(run("in.csv -o out.csv --catalog missing.csv -q"), 1);
  EXPECT_NE(err_.find("missing.csv"), std::string::npos) << err_;
  std::ofstream(dir_ / "bad.csv") << "track_id,acousticness\nx,1\n";
  EXPECT_EQ(run("in.csv -o out.csv --catalog bad.csv -q"), 1);
  EXPECT_NE(err_.find("bad.csv:1:"), std::string::npos) << err_;
  EXPECT_EQ(run("in.csv -o out.csv --spotify --genre pop -q"), 2);
  EXPECT_NE(err_.find("SPOTIFY_CLIENT_ID"), std::string::npos) << err_;
  EXPECT_EQ(run("in.csv -o out.csv --spotify -q", "SPOTIFY_CLIENT_ID=a SPOTIFY_CLIENT_SECRET=b"), 2);
  EXPECT_NE(err_.find("--genre"), std::string::npos) << err_;
  EXPECT_EQ(run("in.csv -o out.csv --spotify --genre edm --genre acoustic -q", "SPOTIFY_CLIENT_ID=a SPOTIFY_CLIENT_SECRET=b"), 2);
  EXPECT_NE(err_.find("at most 5 seeds"), std::string::npos) << err_;
  EXPECT_FALSE(fs::exists(dir_ / "out.csv"));
}

// The lines of a file.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The summary line of --each-genre, as docs/requery.md spells it.
std::string summary_line(const requery_summary& s, const std::string& output) {
  auto count = [](std::uint64_t n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::uint64_t copies = 0;
  for (const auto& c : s.per_genre) copies += c.copies;
  std::string line = "playaug: wrote " + count(copies, "copy", "copies") + " of " +
                     count(s.playlists, "playlist", "playlists") + " to " + output + ":";
  for (std::size_t g = 0; g < s.genres.size(); ++g) {
    const requery_counts& c = s.per_genre[g];
    line += (g == 0 ? " " : ", ") + s.genres[g] + " " + count(c.copies, "copy", "copies") + " (" +
            count(c.fell_back, "song", "songs") + " fell back, " + std::to_string(c.failed) + " failed)";
  }
  return line + "\n";
}

// Per genre (the part of the id after "#rq-"), the songs of `strict`'s rows whose track is
// not the one the same row has in `first`, the same run with --allow-repeats (where every
// song keeps its first choice).
std::map<std::string, std::uint64_t> fell_back(const dataset& strict, const dataset& first) {
  std::map<std::string, std::size_t> row_of;
  for (std::size_t p = 0; p < first.playlists(); ++p) row_of[first.ids[p]] = p;
  std::map<std::string, std::uint64_t> out;
  for (std::size_t p = 0; p < strict.playlists(); ++p) {
    const std::string genre = strict.ids[p].substr(strict.ids[p].find("#rq-") + 4);
    const std::size_t q = row_of.at(strict.ids[p]);
    std::uint64_t& n = out[genre];
    for (std::size_t k = 0; k < strict.song_count(p); ++k) {
      n += strict.track_ids[strict.song_offsets[p] + k] != first.track_ids[first.song_offsets[q] + k];
    }
  }
  return out;
}

TEST_F(RequeryCli, EachGenreCopiesAreTheSingleGenreRunsInGenreOrder) {
  const track_catalog cat = read_catalog(catalog());
  const std::set<std::string> genre_set(cat.genres.begin(), cat.genres.end());
  const std::vector<std::string> genres(genre_set.begin(), genre_set.end());
  const std::string c = " --catalog '" + catalog() + "' --device cpu";

  // With -p 0 the targets are the songs, whatever the stream: each copy is, byte for byte,
  // the row of `--genre G` with the id <id>#rq-G.
  ASSERT_EQ(run("in.csv -o all.csv --each-genre -p 0 -q" + c), 0) << err_;
  std::map<std::string, std::vector<std::string>> single;
  for (const auto& g : genres) {
    ASSERT_EQ(run("in.csv -o one.csv -p 0 -q --genre " + g + c), 0) << err_;
    single[g] = lines_of(test::read_file(dir_ / "one.csv"));
    ASSERT_EQ(single[g].size(), 4u) << g;
  }
  std::string expect = single[genres[0]][0] + "\n";
  for (std::size_t p = 1; p < 4; ++p) {
    for (const auto& g : genres) {
      std::string line = single[g][p];
      const std::size_t at = line.find("#rq,");
      ASSERT_NE(at, std::string::npos) << line;
      expect += line.substr(0, at) + "#rq-" + g + line.substr(at + 3) + "\n";
    }
  }
  EXPECT_EQ(test::read_file(dir_ / "all.csv"), expect);

  // With the default protuberance, the output is requery_each_genre()'s, and standard
  // error holds the summary line.
  ASSERT_EQ(run("in.csv -o all.csv --each-genre --seed 4" + c), 0) << err_;
  const dataset in = read_csv((dir_ / "in.csv").string());
  requery_params prm;
  prm.seed = 4;
  requery_summary sum;
  const dataset lib = requery_each_genre(resources(backend::cpu), in,
                                         genre_recommenders::from_catalog(std::make_shared<const track_catalog>(cat)),
                                         prm, 0, &sum);
  const dataset out = read_csv((dir_ / "all.csv").string());
  EXPECT_EQ(out.ids, lib.ids);
  EXPECT_EQ(out.track_ids, lib.track_ids);
  EXPECT_EQ(err_, summary_line(sum, "all.csv"));
  EXPECT_NE(err_.find("wrote 15 copies of 3 playlists to all.csv: acoustic 3 copies ("), std::string::npos) << err_;

  // --genre names the genres and their order; repeats count once.
  ASSERT_EQ(run("in.csv -o two.csv --each-genre --genre sleep,edm --genre sleep -q" + c), 0) << err_;
  EXPECT_EQ(read_csv((dir_ / "two.csv").string()).ids,
            (std::vector<std::string>{"a1#rq-sleep", "a1#rq-edm", "n1#rq-sleep", "n1#rq-edm", "b2#rq-sleep", "b2#rq-edm"}));
}

TEST_F(RequeryCli, EachGenreSpellsOddGenreNamesAsTheyAreInAValidCsv) {
  std::ofstream(dir_ / "odd.csv") << "track_id,genre,acousticness,danceability,energy,instrumentalness,key,liveness,"
                                     "loudness,mode,speechiness,tempo,valence\n"
                                     "t1,\"hip hop, \"\"old\"\" school\",0.1,0.5,0.6,0,5,0.1,-6,1,0.05,100,0.4\n"
                                     "t2,\"hip hop, \"\"old\"\" school\",0.7,0.2,0.3,0,2,0.3,-12,0,0.04,80,0.2\n"
                                     "t3,\"hip hop, \"\"old\"\" school\",0.2,0.8,0.9,0,7,0.2,-4,1,0.1,128,0.9\n"
                                     "t4,r&b,0.3,0.6,0.5,0,1,0.1,-7,1,0.05,95,0.6\n"
                                     "t5,r&b,0.5,0.5,0.4,0,3,0.2,-9,0,0.03,110,0.5\n"
                                     "t6,r&b,0.6,0.4,0.3,0,9,0.1,-10,1,0.06,90,0.3\n"
                                     "t7,,0.6,0.4,0.3,0,9,0.1,-10,1,0.06,90,0.3\n";
  ASSERT_EQ(run("in.csv -o out.csv --catalog odd.csv --each-genre --device cpu"), 0) << err_;
  const std::string line = err_;
  const dataset out = read_csv((dir_ / "out.csv").string());
  const std::string hiphop = "hip hop, \"old\" school";
  EXPECT_EQ(out.ids, (std::vector<std::string>{"a1#rq-" + hiphop, "a1#rq-r&b", "n1#rq-" + hiphop, "n1#rq-r&b",
                                               "b2#rq-" + hiphop, "b2#rq-r&b"}));
  for (std::size_t p = 0; p < out.playlists(); ++p) {
    const bool hip = out.ids[p].find("hip hop") != std::string::npos;
    for (auto s = out.song_offsets[p]; s < out.song_offsets[p + 1]; ++s) {
      const std::string& t = out.track_ids[s];
      EXPECT_TRUE(hip ? (t == "t1" || t == "t2" || t == "t3") : (t == "t4" || t == "t5" || t == "t6")) << t;
    }
  }
  ASSERT_EQ(run("in.csv -o first.csv --catalog odd.csv --each-genre --allow-repeats --device cpu -q"), 0) << err_;
  auto fb = fell_back(out, read_csv((dir_ / "first.csv").string()));
  EXPECT_GE(fb[hiphop], 1u);  // a1's songs 1 and 3 are the same song
  auto songs = [](std::uint64_t n) { return std::to_string(n) + (n == 1 ? " song" : " songs"); };
  EXPECT_EQ(line, "playaug: wrote 6 copies of 3 playlists to out.csv: " + hiphop + " 3 copies (" + songs(fb[hiphop]) +
                      " fell back, 0 failed), r&b 3 copies (" + songs(fb["r&b"]) + " fell back, 0 failed)\n");
}

TEST_F(RequeryCli, EachGenreEscapesControlCharactersOfGenresInTheSummary) {
  std::ofstream(dir_ / "esc.csv") << "track_id,genre,acousticness,danceability,energy,instrumentalness,key,liveness,"
                                     "loudness,mode,speechiness,tempo,valence\n"
                                     "t1,x\x1b[2Jy,0.1,0.5,0.6,0,5,0.1,-6,1,0.05,100,0.4\n"
                                     "t2,x\x1b[2Jy,0.7,0.2,0.3,0,2,0.3,-12,0,0.04,80,0.2\n"
                                     "t3,x\x1b[2Jy,0.2,0.8,0.9,0,7,0.2,-4,1,0.1,128,0.9\n";
  ASSERT_EQ(run("in.csv -o out.csv --catalog esc.csv --each-genre --allow-repeats --device cpu"), 0) << err_;
  EXPECT_EQ(err_.find('\x1b'), std::string::npos) << err_;
  EXPECT_NE(err_.find(" x\\e[2Jy 3 copies (0 songs fell back, 0 failed)"), std::string::npos) << err_;
  // The id keeps the name as it is.
  EXPECT_EQ(read_csv((dir_ / "out.csv").string()).ids[0], "a1#rq-x\x1b[2Jy");
}

TEST_F(RequeryCli, EachGenreLeavesOutCopiesASmallGenreCannotFill) {
  // Two distinct tracks: the 3-song playlist a1 cannot have a copy without repeats.
  std::ofstream(dir_ / "small.csv") << "track_id,genre,acousticness,danceability,energy,instrumentalness,key,liveness,"
                                       "loudness,mode,speechiness,tempo,valence\n"
                                       "t1,duo,0.1,0.5,0.6,0,5,0.1,-6,1,0.05,100,0.4\n"
                                       "t2,duo,0.7,0.2,0.3,0,2,0.3,-12,0,0.04,80,0.2\n"
                                       "t3,trio,0.2,0.8,0.9,0,7,0.2,-4,1,0.1,128,0.9\n"
                                       "t4,trio,0.3,0.6,0.5,0,1,0.1,-7,1,0.05,95,0.6\n"
                                       "t5,trio,0.5,0.5,0.4,0,3,0.2,-9,0,0.03,110,0.5\n";
  ASSERT_EQ(run("in.csv -o out.csv --catalog small.csv --each-genre --device cpu"), 0) << err_;
  const std::string line = err_;
  const dataset out = read_csv((dir_ / "out.csv").string());
  EXPECT_EQ(out.ids, (std::vector<std::string>{"a1#rq-trio", "n1#rq-duo", "n1#rq-trio", "b2#rq-duo", "b2#rq-trio"}));
  ASSERT_EQ(run("in.csv -o first.csv --catalog small.csv --each-genre --allow-repeats --device cpu -q"), 0) << err_;
  auto fb = fell_back(out, read_csv((dir_ / "first.csv").string()));
  EXPECT_GE(fb["trio"], 1u);  // a1's songs 1 and 3 are the same song
  auto songs = [](std::uint64_t n) { return std::to_string(n) + (n == 1 ? " song" : " songs"); };
  EXPECT_EQ(line, "playaug: wrote 5 copies of 3 playlists to out.csv: duo 2 copies (" + songs(fb["duo"]) +
                      " fell back, 3 failed), trio 3 copies (" + songs(fb["trio"]) + " fell back, 0 failed)\n");
  // The plain run of that genre stops instead.
  EXPECT_EQ(run("in.csv -o plain.csv --catalog small.csv --genre duo --device cpu"), 1);
  EXPECT_NE(err_.find("--allow-repeats"), std::string::npos) << err_;
}

TEST_F(RequeryCli, EachGenreUsageErrors) {
  const std::string top = test::shared_data("top2018.csv");
  if (std::ifstream(top).good()) {
    EXPECT_EQ(run("in.csv -o out.csv --each-genre --catalog '" + top + "' -q"), 2);
    EXPECT_NE(err_.find("no genre column"), std::string::npos) << err_;
  }
  EXPECT_EQ(run("in.csv -o out.csv --each-genre --catalog '" + catalog() + "' --genre polka -q"), 2);
  EXPECT_NE(err_.find("polka"), std::string::npos) << err_;
  EXPECT_EQ(run("in.csv -o out.csv --each-genre --catalog '" + catalog() + "' --genres g.json -q"), 2);
  EXPECT_EQ(run("in.csv -o out.csv --each-genre --spotify --genre polka -q", "SPOTIFY_CLIENT_ID=a SPOTIFY_CLIENT_SECRET=b"), 2);
  EXPECT_NE(err_.find("polka"), std::string::npos) << err_;
  EXPECT_FALSE(fs::exists(dir_ / "out.csv"));
}

#if PLAYAUG_HAVE_HTTPLIB

class fake_server {
 public:
  std::atomic<int> calls{0};
  bool fail = false;
  std::mutex mutex;
  std::vector<std::string> seeds;  // "artists|tracks|genres" of each recommendations request
  fake_server() {
    svr_.Post("/api/token", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})", "application/json");
    });
    svr_.Get("/v1/recommendations", [this](const httplib::Request& req, httplib::Response& res) {
      const int call = ++calls;  // this request's number, even when requests overlap
      {
        std::lock_guard<std::mutex> lock(mutex);
        seeds.push_back(req.get_param_value("seed_artists") + "|" + req.get_param_value("seed_tracks") + "|" +
                        req.get_param_value("seed_genres"));
      }
      if (fail) {
        res.status = 503;
        return;
      }
      std::string id = "id" + std::to_string(call);
      id.resize(22, 'Z');  // a Spotify id: 22 base-62 characters
      res.set_content(R"({"tracks": [{"id": ")" + id + R"("}]})", "application/json");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    for (int i = 0; i < 200 && !svr_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~fake_server() {
    svr_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(RequeryCli, SpotifyBackendAgainstAFakeServer) {
  if (!spotify_built()) GTEST_SKIP() << "built without the Spotify client";
  const std::string secret = "cli-secret-do-not-print";
  const std::string env = "SPOTIFY_CLIENT_ID=cid SPOTIFY_CLIENT_SECRET=" + secret;
  fake_server fake;
  const std::string urls = " --spotify-api-url " + fake.url() + " --spotify-accounts-url " + fake.url();
  ASSERT_EQ(run("in.csv -o out.csv --spotify --genre edm --seed 2" + urls, env), 0) << err_;
  const dataset out = read_csv((dir_ / "out.csv").string());
  ASSERT_EQ(out.track_ids.size(), 4u);
  EXPECT_EQ(std::set<std::string>(out.track_ids.begin(), out.track_ids.end()).size(), 4u);
  EXPECT_EQ(fake.calls.load(), 4);

  // A song that keeps failing: exit 1 naming it, no output, no secret on stderr.
  fake.fail = true;
  EXPECT_EQ(run("in.csv -o failed.csv --spotify --genre edm --spotify-retries 1 --spotify-workers 1" + urls, env), 1);
  EXPECT_NE(err_.find("playlist 'a1' song 1 of 3"), std::string::npos) << err_;
  EXPECT_NE(err_.find("HTTP 503"), std::string::npos) << err_;
  EXPECT_EQ(err_.find(secret), std::string::npos) << err_;
  EXPECT_FALSE(fs::exists(dir_ / "failed.csv"));
}


TEST_F(RequeryCli, SpotifyEachGenreSendsEachCopysSeedsOnly) {
  if (!spotify_built()) GTEST_SKIP() << "built without the Spotify client";
  const std::string env = "SPOTIFY_CLIENT_ID=cid SPOTIFY_CLIENT_SECRET=sec";
  fake_server fake;
  const std::string urls = " --spotify-api-url " + fake.url() + " --spotify-accounts-url " + fake.url();
  ASSERT_EQ(run("in.csv -o out.csv --spotify --each-genre --genre pop --genre edm -q" + urls, env), 0) << err_;
  EXPECT_EQ(read_csv((dir_ / "out.csv").string()).ids,
            (std::vector<std::string>{"a1#rq-pop", "a1#rq-edm", "n1#rq-pop", "n1#rq-edm", "b2#rq-pop", "b2#rq-edm"}));
  // data/genres.json's seeds of each genre, read here independently of the library.
  const nlohmann::json table = nlohmann::json::parse(test::read_file(test::source_dir() + "/data/genres.json"));
  auto seeds_of = [&](const std::string& g) {
    std::string parts[3];
    const char* keys[3] = {"artists", "tracks", "genres"};
    for (int k = 0; k < 3; ++k) {
      for (const auto& e : table[g][keys[k]]) {
        parts[k] += (parts[k].empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e["id"].get<std::string>());
      }
    }
    return parts[0] + "|" + parts[1] + "|" + parts[2];
  };
  std::map<std::string, int> per_seeds;
  for (const auto& s : fake.seeds) ++per_seeds[s];
  EXPECT_EQ(per_seeds, (std::map<std::string, int>{{seeds_of("pop"), 4}, {seeds_of("edm"), 4}}));

  // Without --genre: every genre of the table, 4 requests each.
  fake.seeds.clear();
  ASSERT_EQ(run("in.csv -o all.csv --spotify --each-genre" + urls, env), 0) << err_;
  per_seeds.clear();
  for (const auto& s : fake.seeds) ++per_seeds[s];
  std::map<std::string, int> expect;
  for (auto it = table.begin(); it != table.end(); ++it) expect[seeds_of(it.key())] = 4;
  EXPECT_EQ(per_seeds, expect);
  EXPECT_EQ(read_csv((dir_ / "all.csv").string()).playlists(), 3 * table.size());
  EXPECT_NE(err_.find("wrote 39 copies of 3 playlists to all.csv: acoustic 3 copies (0 songs fell back, 0 failed), "),
            std::string::npos)
      << err_;
}

#endif  // PLAYAUG_HAVE_HTTPLIB

}  // namespace
