// `playaug requery` end to end: the catalog backend, the Spotify backend against an
// in-process fake server, exit codes, and no output file after a failure.

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
#include <set>
#include <sstream>
#include <string>
#include <thread>

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

#if PLAYAUG_HAVE_HTTPLIB

class fake_server {
 public:
  std::atomic<int> calls{0};
  bool fail = false;
  fake_server() {
    svr_.Post("/api/token", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})", "application/json");
    });
    svr_.Get("/v1/recommendations", [this](const httplib::Request&, httplib::Response& res) {
      ++calls;
      if (fail) {
        res.status = 503;
        return;
      }
      std::string id = "id" + std::to_string(calls.load());
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

#endif  // PLAYAUG_HAVE_HTTPLIB

}  // namespace
