// The Spotify backend against a hostile or broken server (a fake on 127.0.0.1, an
// ephemeral port; nothing else is contacted): the secret, the "id:secret" pair and their
// Basic-auth encoding never reach a message, whatever the server echoes and however short
// the secret; one token request serves all workers and a dead accounts service fails the
// whole run at once; huge expiries and timeouts are clamped or rejected; answers and
// fields are bounded while they arrive. Library calls and the playaug CLI.

#include <gtest/gtest.h>

#if defined(PLAYAUG_TEST_HTTPLIB)
#define PLAYAUG_HAVE_HTTPLIB 1
#include <httplib.h>
#else
#define PLAYAUG_HAVE_HTTPLIB 0
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/requery.hpp"
#include "requery/redact.hpp"
#include "test_support.hpp"

namespace {

using namespace playaug;
using namespace std::chrono_literals;
using requery_detail::redactor;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Credentials with their Basic-auth encoding, computed independently with Python's
// base64.b64encode(f"{id}:{secret}".encode()).
struct credentials {
  std::string id, secret, basic;
};
const credentials kLong{"4f2a9c0e1b7d", "q7Rz0pX4vLm2Nw9KbT6sJd1FhY8cGe3U",
                        "NGYyYTljMGUxYjdkOnE3UnowcFg0dkxtMk53OUtiVDZzSmQxRmhZOGNHZTNV"};
const credentials kOneChar{"cid", "y", "Y2lkOnk="};
const credentials kShortPunct{"cid", "x,9", "Y2lkOngsOQ=="};
const credentials kQuotes{"a1b2c3", "p\"q'r!", "YTFiMmMzOnAicSdyIQ=="};

// Every substring of length min(|s|, 4) of `s`, lowercase.
std::vector<std::string> parts(const std::string& s) {
  std::vector<std::string> out;
  const std::size_t n = std::min<std::size_t>(s.size(), 4);
  for (std::size_t i = 0; i + n <= s.size(); ++i) out.push_back(lower(s.substr(i, n)));
  return out;
}

void expect_no_part(const std::string& msg, const std::vector<std::string>& forbidden) {
  const std::string low = lower(msg);
  for (const auto& p : forbidden) EXPECT_EQ(low.find(p), std::string::npos) << "'" << p << "' in: " << msg;
}

// ---------------------------------------------------------------------------------------
// The redactor on its own
// ---------------------------------------------------------------------------------------

TEST(SpotifyRedactor, Base64MatchesPython) {
  EXPECT_EQ(requery_detail::base64(kLong.id + ":" + kLong.secret), kLong.basic);
  EXPECT_EQ(requery_detail::base64(kOneChar.id + ":" + kOneChar.secret), kOneChar.basic);
  EXPECT_EQ(requery_detail::base64(kQuotes.id + ":" + kQuotes.secret), kQuotes.basic);
  EXPECT_EQ(requery_detail::base64(""), "");
}

TEST(SpotifyRedactor, RemovesWholeTokensAndKeepsTheRestReadable) {
  redactor r;
  r.add_credential("y");
  r.add_basic("cid", "y");
  // The words around the echo survive; "Spotify", "key" and "yes" merely contain the
  // letter and are kept; tokens that are the secret, or hold it as a word, are removed.
  EXPECT_EQ(r.excerpt("Spotify says: key=y, 'y' (y) yes y. Basic Y2lkOnk= done"),
            "Spotify says: <redacted>, '<redacted>' (<redacted>) yes <redacted> Basic <redacted> done");
  EXPECT_EQ(r.excerpt("a\tb\r\n\x01 c\xc3\xa9"), "a b c??");
}

TEST(SpotifyRedactor, NeverShowsPartOfAToken) {
  redactor r;
  r.add_credential(kLong.secret);
  // The old cut at 120 characters showed a prefix of a secret that began near the end.
  const std::string filler(110, 'a');
  const std::string text = filler + " " + kLong.secret + "tail";
  const std::string e = r.excerpt(text, 120);
  EXPECT_LE(e.size(), 124u);
  expect_no_part(e, parts(kLong.secret));
  // A token longer than the limit is left out whole, secret or not.
  EXPECT_EQ(r.excerpt(std::string(500, 'b'), 120), "...");
  EXPECT_EQ(r.excerpt("short words " + std::string(500, 'b'), 120), "short words ...");
  // Any 4 characters of the secret, in any case, condemn the token.
  EXPECT_EQ(r.excerpt("x" + lower(kLong.secret.substr(10, 4)) + "x ok"), "<redacted> ok");
  EXPECT_EQ(r.excerpt("x" + kLong.secret.substr(10, 3) + "x ok"), "x" + kLong.secret.substr(10, 3) + "x ok");
}

TEST(SpotifyRedactor, CredentialCharactersNeverSplitAToken) {
  redactor r;
  r.add_credential(kShortPunct.secret);  // "x,9": ',' is normally a delimiter
  r.add_basic(kShortPunct.id, kShortPunct.secret);
  EXPECT_EQ(r.excerpt("bad x,9 here"), "bad <redacted> here");
  EXPECT_EQ(r.excerpt("bad x%2C9 here"), "bad <redacted> here");  // percent-encoded
  EXPECT_EQ(r.excerpt("list a,b"), "list a,b");
}

TEST(SpotifyRedactor, BoundedWorkOnHugeText) {
  redactor r;
  r.add_credential(kLong.secret);
  const std::string huge(4u << 20, 'z');
  const auto t0 = clock_type::now();
  EXPECT_EQ(r.excerpt(huge), "...");
  std::string words;
  for (int i = 0; i < 200000; ++i) words += kLong.secret + " ";
  const std::string e = r.excerpt(words);
  EXPECT_LE(e.size(), 124u);
  EXPECT_NE(e.find("<redacted>"), std::string::npos);
  EXPECT_LT(seconds_since(t0), 5.0);
}

#if PLAYAUG_HAVE_HTTPLIB

// The strings no message may hold any part of (case-insensitively): the secret when it
// has 4 characters or more (a shorter one is checked word by word, see benign_only), the
// Basic encoding, the pair's substrings that hold at least one character of the secret,
// and `extra` (an access token).
std::vector<std::string> forbidden_parts(const credentials& c, const std::string& extra = {}) {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    for (auto& p : parts(s)) out.push_back(p);
  };
  if (c.secret.size() >= 4) add(c.secret);
  add(c.basic);
  const std::string pair = c.id + ":" + c.secret;
  for (std::size_t i = 0; i + 4 <= pair.size(); ++i) {
    if (i + 4 > c.id.size() + 1) out.push_back(lower(pair.substr(i, 4)));
  }
  if (!extra.empty()) add(extra);
  return out;
}

// The excerpt holds only words of `benign` and "<redacted>" markers, and every word of
// `kept` (server words that stood apart from the echoed credentials) is still there.
void expect_benign_excerpt(const std::string& excerpt, const std::set<std::string>& benign,
                           const std::vector<std::string>& kept) {
  std::string rest = excerpt;
  for (std::size_t p = rest.find("<redacted>"); p != std::string::npos; p = rest.find("<redacted>")) {
    rest.replace(p, 10, " ");
  }
  std::string word;
  auto flush = [&] {
    if (!word.empty()) {
      EXPECT_EQ(benign.count(word), 1u) << "'" << word << "' in excerpt: " << excerpt;
    }
    word.clear();
  };
  for (const char c : rest) {  // words: letters, digits, '_' and '='
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '=') {
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
  for (const auto& k : kept) EXPECT_NE(excerpt.find(k), std::string::npos) << "'" << k << "' lost: " << excerpt;
}

std::string between(const std::string& s, const std::string& a, const std::string& b) {
  const std::size_t i = s.find(a);
  if (i == std::string::npos) return "<" + a + " not found>";
  const std::size_t j = s.rfind(b);
  if (j == std::string::npos || j < i + a.size()) return "<" + b + " not found>";
  return s.substr(i + a.size(), j - i - a.size());
}

std::string percent(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  return out;
}

// A valid Spotify track id (22 base-62 characters) from a number.
std::string track_id(std::size_t n) {
  std::string s = "trk" + std::to_string(n);
  s.resize(22, 'Q');
  return s;
}

// AddressSanitizer keeps freed memory in quarantine, so resident memory says nothing there.
constexpr bool kMeasureMemory = !PLAYAUG_UNDER_ASAN;

// Peak resident memory of this process so far, in bytes.
long long peak_rss() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<long long>(ru.ru_maxrss) * 1024;
}

// One playlist of n songs with the 11 features.
dataset songs(std::size_t n) {
  dataset ds;
  ds.dim = 11;
  ds.schema = feature_schema::spotify();
  std::vector<float> f;
  for (std::size_t s = 0; s < n; ++s) {
    const float row[11] = {0.5f, 0.6f, 0.7f, 0.01f, 5.0f, 0.1f, -7.5f, 1.0f, 0.05f, 100.0f + static_cast<float>(s),
                           0.3f};
    f.insert(f.end(), row, row + 11);
  }
  ds.add_playlist("pl", {{1}}, f.data(), n);
  return ds;
}

std::string failure_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// The fake server
// ---------------------------------------------------------------------------------------

// /api/token and /v1/recommendations with scripted handlers. Streaming answers stop after
// 256 MiB or 10 s, whichever comes first, or when the client hangs up.
class fake_server {
 public:
  using handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  handler on_token, on_recommend;
  std::atomic<int> token_calls{0}, recommend_calls{0};
  std::atomic<long long> streamed{0};  // bytes written by stream()
  std::string access_token = "tokA1b2C3d4E5f6G7h8";

  fake_server() {
    // A server thread for every connection the tests open (up to 16 workers keep theirs
    // alive): with httplib's default pool (max(8, cores - 1) threads) a client could wait
    // for a free thread longer than its timeout on a loaded 2-core machine.
    svr_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    svr_.Post("/api/token", [this](const httplib::Request& req, httplib::Response& res) {
      ++token_calls;
      if (on_token) return on_token(req, res);
      res.set_content(R"({"access_token": ")" + access_token + R"(", "token_type": "Bearer", "expires_in": 3600})",
                      "application/json");
    });
    svr_.Get("/v1/recommendations", [this](const httplib::Request& req, httplib::Response& res) {
      const int n = ++recommend_calls;
      if (on_recommend) return on_recommend(req, res);
      res.set_content(R"({"tracks": [{"id": ")" + track_id(static_cast<std::size_t>(n)) + R"("}]})",
                      "application/json");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    for (int i = 0; i < 400 && !svr_.is_running(); ++i) std::this_thread::sleep_for(5ms);
  }
  ~fake_server() {
    svr_.stop();
    thread_.join();
  }
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // An answer of `chunk` repeated without end (chunked), or announcing `length` bytes.
  void stream(httplib::Response& res, std::string chunk, std::size_t length = 0) {
    const auto t0 = clock_type::now();
    auto provide = [this, chunk, t0](std::size_t, httplib::DataSink& sink) {
      if (streamed.load() > (256ll << 20) || clock_type::now() - t0 > 10s) {
        sink.done();
        return true;
      }
      streamed += static_cast<long long>(chunk.size());
      return sink.write(chunk.data(), chunk.size());
    };
    if (length == 0) {
      res.set_chunked_content_provider("application/json", provide);
    } else {
      res.set_content_provider(length, "application/json",
                               [provide](std::size_t off, std::size_t, httplib::DataSink& sink) {
                                 return provide(off, sink);
                               });
    }
  }

 private:
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
};

spotify_options options_for(const fake_server& fake, const credentials& c = kLong) {
  spotify_options o;
  o.api_url = o.accounts_url = fake.url();
  o.client_id = c.id;
  o.client_secret = c.secret;
  o.seeds = genre_seeds::builtin().select({"edm"});
  o.workers = 2;
  o.connect_timeout_s = 1.0;
  o.timeout_s = 3.0;
  o.max_retries = 1;
  o.backoff_initial_s = 0.01;
  o.backoff_max_s = 0.02;
  o.retry_after_max_s = 0.02;
  return o;
}

// A port of 127.0.0.1 nobody listens on: bound without listening, then closed.
int refused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

class SpotifyHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!spotify_built()) GTEST_SKIP() << "built without the Spotify client (PLAYAUG_WITH_SPOTIFY=OFF)";
  }
  std::string run_songs(spotify_recommender& rec, std::size_t n, dataset* out = nullptr) {
    dataset ds = songs(n);
    requery_params prm;
    prm.allow_repeats = true;
    const std::string msg = failure_of([&] { rec.recommend(resources(backend::cpu), ds, prm); });
    if (out != nullptr) *out = std::move(ds);
    return msg;
  }
};

// ---------------------------------------------------------------------------------------
// 1. The secret never reaches a message
// ---------------------------------------------------------------------------------------

// The echoes a hostile server puts in its error text: the Authorization header it got, the
// form body, and the secret alone, quoted, as a value, in parentheses, before a full stop,
// in upper case, percent-encoded and JSON-escaped; for a long secret also its prefix and
// suffix glued to other text (what a cut excerpt used to show).
std::vector<std::string> echoes(const credentials& c, const httplib::Request& req) {
  std::string upper = c.secret;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const std::string escaped = nlohmann::json(c.secret).dump();  // with its quotes
  std::vector<std::string> v = {req.get_header_value("Authorization"),
                                req.body,
                                c.secret,
                                "'" + c.secret + "'",
                                "secret=" + c.secret,
                                "(" + c.secret + ")",
                                c.secret + ".",
                                upper,
                                percent(c.secret),
                                escaped.substr(1, escaped.size() - 2),
                                c.id + ":" + c.secret};
  if (c.secret.size() >= 8) {
    v.push_back("x" + c.secret.substr(0, c.secret.size() / 2));
    v.push_back(c.secret.substr(c.secret.size() / 2) + "x");
  }
  return v;
}

// Server words around each echo (none holds 4 characters of a test secret).
const std::set<std::string> kBenign = {"invalid_client", "Invalid", "credentials", "sent", "were", "rejected",
                                       "Denied", "Basic", "Bearer", "grant_type=client_credentials"};

TEST_F(SpotifyHostile, EchoedCredentialsNeverReachTokenErrors) {
  for (const credentials& c : {kLong, kOneChar, kShortPunct, kQuotes}) {
    for (bool json_body : {true, false}) {
      for (std::size_t k = 0;; ++k) {
        fake_server fake;
        bool more = false, echoes_body = false;
        fake.on_token = [&](const httplib::Request& req, httplib::Response& res) {
          const auto e = echoes(c, req);
          more = k + 1 < e.size();
          echoes_body = e[std::min(k, e.size() - 1)] == req.body;
          const std::string text = "Invalid credentials sent: " + e[std::min(k, e.size() - 1)] + " were rejected";
          res.status = 400;
          if (json_body) {
            res.set_content(nlohmann::json{{"error", "invalid_client"}, {"error_description", text}}.dump(),
                            "application/json");
          } else {
            res.set_content(text, "text/plain");
          }
        };
        spotify_recommender rec(options_for(fake, c));
        const std::string msg = run_songs(rec, 1);
        SCOPED_TRACE("secret '" + c.secret + "', echo " + std::to_string(k) + (json_body ? ", JSON" : ", text"));
        const std::string head = "Spotify refused the client credentials (HTTP 400: ";
        const std::string tail = "); check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET";
        ASSERT_EQ(msg.rfind(head, 0), 0u) << msg;
        ASSERT_EQ(msg.substr(msg.size() - tail.size()), tail) << msg;
        expect_no_part(msg, forbidden_parts(c));
        const std::string excerpt = between(msg, head, tail);
        std::vector<std::string> kept = {"Invalid credentials sent:", "were rejected"};
        if (json_body) kept.push_back("invalid_client: ");
        expect_benign_excerpt(excerpt, kBenign, kept);
        if (!echoes_body) {
          EXPECT_NE(excerpt.find("<redacted>"), std::string::npos) << msg;
        }
        if (!more) break;
      }
    }
  }
}

TEST_F(SpotifyHostile, EchoedCredentialsAndTokenNeverReachRequestErrors) {
  for (const credentials& c : {kLong, kOneChar, kQuotes}) {
    for (int status : {403, 503}) {
      fake_server fake;
      fake.on_recommend = [&](const httplib::Request& req, httplib::Response& res) {
        // Everything at once, JSON-escaped by the server; the excerpt is cut, but nothing
        // before the cut may hold a credential.
        std::string text = "Denied";
        for (const auto& e : echoes(c, req)) text += " " + e;
        res.status = status;
        res.set_content(nlohmann::json{{"error", {{"status", status}, {"message", text}}}}.dump(),
                        "application/json");
      };
      spotify_recommender rec(options_for(fake, c));
      const std::string msg = run_songs(rec, 1);
      SCOPED_TRACE("secret '" + c.secret + "', HTTP " + std::to_string(status));
      const std::string head = "playlist 'pl' song 1 of 1: Spotify answered HTTP " + std::to_string(status);
      ASSERT_EQ(msg.rfind(head, 0), 0u) << msg;
      expect_no_part(msg, forbidden_parts(c, fake.access_token));
      expect_benign_excerpt(between(msg, "(", ")"), kBenign, {"Denied Bearer <redacted>"});
    }
  }
}

TEST_F(SpotifyHostile, UnreachableServerMessageHoldsNoCredentials) {
  spotify_options o;
  o.client_id = kLong.id;
  o.client_secret = kLong.secret;
  // Credentials in the URL itself are not repeated in messages either.
  o.api_url = o.accounts_url = "http://" + kLong.id + ":" + kLong.secret + "@127.0.0.1:" +
                               std::to_string(refused_port()) + "/?key=" + kLong.secret;
  o.seeds = genre_seeds::builtin().select({"edm"});
  o.max_retries = 0;
  spotify_recommender rec(o);
  const std::string msg = run_songs(rec, 1);
  EXPECT_NE(msg.find("Spotify token request failed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("for http://127.0.0.1:"), std::string::npos) << msg;
  expect_no_part(msg, forbidden_parts(kLong));
}

// ---------------------------------------------------------------------------------------
// 2. One token request at a time, a dead accounts service fails the run at once
// ---------------------------------------------------------------------------------------

TEST_F(SpotifyHostile, FailingTokenRequestIsSharedByAllWorkers) {
  fake_server fake;
  fake.on_token = [](const httplib::Request&, httplib::Response& res) { res.status = 503; };
  auto o = options_for(fake);
  o.workers = 16;
  o.max_retries = 2;
  spotify_recommender rec(o);
  const std::string msg = run_songs(rec, 40);
  EXPECT_NE(msg.find("Spotify token request failed: HTTP 503 after 3 attempts"), std::string::npos) << msg;
  EXPECT_EQ(fake.token_calls.load(), 3);  // one request and its 2 retries, not 16 times that
  EXPECT_EQ(fake.recommend_calls.load(), 0);
  EXPECT_EQ(rec.retries(), 2u);

  // The failure lasts for one recommend(): the next call asks again, and succeeds.
  fake.on_token = nullptr;
  dataset ds;
  EXPECT_EQ(run_songs(rec, 40, &ds), "");
  EXPECT_EQ(fake.token_calls.load(), 4);
  EXPECT_EQ(rec.tokens_fetched(), 1u);
  ASSERT_EQ(ds.track_ids.size(), 40u);
  for (const auto& id : ds.track_ids) EXPECT_EQ(id.size(), 22u);
}

TEST_F(SpotifyHostile, SlowTokenRequestServesEveryWaitingWorker) {
  fake_server fake;
  fake.on_token = [&](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(300ms);
    res.set_content(R"({"access_token": "slow-token", "expires_in": 3600})", "application/json");
  };
  auto o = options_for(fake);
  o.workers = 16;
  spotify_recommender rec(o);
  EXPECT_EQ(run_songs(rec, 48), "");
  EXPECT_EQ(fake.token_calls.load(), 1);
  EXPECT_EQ(fake.recommend_calls.load(), 48);
}

TEST_F(SpotifyHostile, RefusedAccountsPortCostsOneWorkersTime) {
  const int port = refused_port();
  auto opts = [&](int workers) {
    spotify_options o;
    o.api_url = o.accounts_url = "http://127.0.0.1:" + std::to_string(port);
    o.client_id = kLong.id;
    o.client_secret = kLong.secret;
    o.seeds = genre_seeds::builtin().select({"edm"});
    o.workers = workers;
    o.max_retries = 2;
    o.backoff_initial_s = 0.2;  // back-offs 0.1..0.2 s and 0.2..0.4 s: 0.3..0.6 s per request
    return o;
  };
  spotify_recommender one(opts(1)), sixteen(opts(16));
  auto t0 = clock_type::now();
  const std::string m1 = run_songs(one, 32);
  const double t1 = seconds_since(t0);
  t0 = clock_type::now();
  const std::string m16 = run_songs(sixteen, 32);
  const double t16 = seconds_since(t0);
  EXPECT_NE(m1.find("after 3 attempts"), std::string::npos) << m1;
  EXPECT_EQ(m16, m1);  // every worker saw the same failure
  EXPECT_EQ(sixteen.retries(), 2u);  // the retries of one request, not of 16
  EXPECT_GE(t16, 0.3);
  EXPECT_LT(t16, 3.0) << "1 worker: " << t1 << " s";  // sequential fetches took 16 x 0.3..0.6 s
}

TEST_F(SpotifyHostile, HangingAccountsServerTimesOutOnce) {
  fake_server fake;
  fake.on_token = [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(800ms);  // longer than the client's timeout
    res.status = 503;
  };
  auto o = options_for(fake);
  o.workers = 16;
  o.timeout_s = 0.2;
  o.max_retries = 1;
  spotify_recommender rec(o);
  const auto t0 = clock_type::now();
  const std::string msg = run_songs(rec, 32);
  const double t = seconds_since(t0);
  EXPECT_NE(msg.find("Spotify token request timed out"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after 2 attempts"), std::string::npos) << msg;
  EXPECT_EQ(fake.token_calls.load(), 2);
  EXPECT_LT(t, 3.0);  // 2 x 0.2 s, not 16 x 2 x 0.2 s
}

// ---------------------------------------------------------------------------------------
// 3. Expiries and timeouts: clamped or rejected
// ---------------------------------------------------------------------------------------

TEST_F(SpotifyHostile, HugeOrTinyExpiriesAreClamped) {
  for (const char* expires : {"1e10", "1e300", "18446744073709551615", "0.001"}) {
    fake_server fake;
    fake.on_token = [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(R"({"access_token": "tok", "expires_in": )") + expires + "}", "application/json");
    };
    auto o = options_for(fake);
    o.workers = 4;
    spotify_recommender rec(o);
    const auto t0 = clock_type::now();
    EXPECT_EQ(run_songs(rec, 30), "") << expires;
    // A token lives at least 1 s (a slow machine may legitimately need a second one).
    const int most = std::string(expires) == "0.001" ? 1 + static_cast<int>(seconds_since(t0)) : 1;
    EXPECT_LE(fake.token_calls.load(), most) << "expires_in " << expires << ": a token per song";
  }
}

TEST_F(SpotifyHostile, BadExpiriesAndTokensAreClearErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"access_token": "tok", "expires_in": 0})", "expiry that is not positive"},
      {R"({"access_token": "tok", "expires_in": -5})", "expiry that is not positive"},
      {R"({"access_token": "tok", "expires_in": "3600"})", "not the expected JSON"},
      {R"({"access_token": "tok", "expires_in": 1e400})", "not the expected JSON"},
      {R"({"access_token": "tok"})", "not the expected JSON"},
      {R"({"access_token": "tok\r\nX-Injected: 1", "expires_in": 3600})", "RFC 6750"},
      {R"({"access_token": "a b", "expires_in": 3600})", "RFC 6750"},
      {R"({"access_token": ")" + std::string(5000, 'a') + R"(", "expires_in": 3600})", "5000 characters"},
  };
  for (const auto& [body, part] : cases) {
    fake_server fake;
    fake.on_token = [&](const httplib::Request&, httplib::Response& res) { res.set_content(body, "application/json"); };
    spotify_recommender rec(options_for(fake));
    const std::string msg = run_songs(rec, 3);
    EXPECT_NE(msg.find(part), std::string::npos) << body.substr(0, 80) << " -> " << msg;
    EXPECT_NE(msg.find("Spotify token response"), std::string::npos) << msg;
    EXPECT_EQ(fake.recommend_calls.load(), 0);
    EXPECT_EQ(fake.token_calls.load(), 1);  // not retried, and shared
  }
}

TEST_F(SpotifyHostile, TimeoutsAndBackoffsAreValidated) {
  fake_server fake;
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  for (double bad : {1e16, inf, -inf, nan, 0.0, -1.0, 1e-4, 3600.5}) {
    auto o = options_for(fake);
    o.timeout_s = bad;
    try {
      spotify_recommender rec(o);
      ADD_FAILURE() << "timeout " << bad << " accepted";
    } catch (const usage_error& e) {
      EXPECT_NE(std::string(e.what()).find("Spotify timeout must be in [0.001, 3600] seconds"), std::string::npos)
          << e.what();
    }
    o = options_for(fake);
    o.connect_timeout_s = bad;
    EXPECT_THROW(spotify_recommender{o}, usage_error) << bad;
  }
  for (double bad : {1e300, inf, nan}) {
    auto o = options_for(fake);
    o.backoff_max_s = bad;
    EXPECT_THROW(spotify_recommender{o}, usage_error) << bad;
    o = options_for(fake);
    o.retry_after_max_s = bad;
    EXPECT_THROW(spotify_recommender{o}, usage_error) << bad;
    o = options_for(fake);
    o.backoff_initial_s = bad;
    EXPECT_THROW(spotify_recommender{o}, usage_error) << bad;
  }
  auto o = options_for(fake);
  o.timeout_s = o.connect_timeout_s = 3600.0;
  EXPECT_NO_THROW(spotify_recommender{o});
  o.timeout_s = o.connect_timeout_s = 0.001;
  EXPECT_NO_THROW(spotify_recommender{o});
  EXPECT_EQ(fake.token_calls.load() + fake.recommend_calls.load(), 0);
}

// ---------------------------------------------------------------------------------------
// 4. Bounded answers and fields
// ---------------------------------------------------------------------------------------

TEST_F(SpotifyHostile, EndlessAnswerIsAbandonedAt4MiB) {
  for (bool token_endpoint : {false, true}) {
    fake_server fake;
    auto endless = [&](const httplib::Request&, httplib::Response& res) {
      fake.stream(res, R"({"tracks": [)" + std::string(64 << 10, ' '));
    };
    (token_endpoint ? fake.on_token : fake.on_recommend) = endless;
    auto o = options_for(fake);
    o.workers = 4;
    o.timeout_s = 20.0;
    spotify_recommender rec(o);
    const long long before = peak_rss();
    const auto t0 = clock_type::now();
    const std::string msg = run_songs(rec, 8);
    const double t = seconds_since(t0);
    EXPECT_NE(msg.find("is larger than 4 MiB; abandoned"), std::string::npos) << msg;
    EXPECT_NE(msg.find(token_endpoint ? "Spotify token request: answer of http://127.0.0.1:"
                                      : "playlist 'pl' song "),
              std::string::npos)
        << msg;
    EXPECT_LT(t, 5.0);
    EXPECT_LT(fake.streamed.load(), 128ll << 20);  // the client hung up early
    if (kMeasureMemory) {
      EXPECT_LT(peak_rss() - before, 128ll << 20);
    }
    if (token_endpoint) {
      EXPECT_EQ(fake.token_calls.load(), 1);  // not retried, shared by the 4 workers
    } else {
      EXPECT_LE(fake.recommend_calls.load(), 4);  // not retried; no new song after the failure
    }
  }
}

TEST_F(SpotifyHostile, AnnouncedHugeAnswerIsRefusedBeforeItArrives) {
  fake_server fake;
  fake.on_recommend = [&](const httplib::Request&, httplib::Response& res) {
    fake.stream(res, std::string(64 << 10, ' '), std::size_t{200} << 20);
  };
  spotify_recommender rec(options_for(fake));
  const std::string msg = run_songs(rec, 1);
  EXPECT_NE(msg.find("playlist 'pl' song 1 of 1: Spotify request: answer of http://127.0.0.1:"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("/v1/recommendations is larger than 4 MiB"), std::string::npos) << msg;
  EXPECT_LT(fake.streamed.load(), 64ll << 20);
}

TEST_F(SpotifyHostile, HugeHeadersAreAbandoned) {
  fake_server fake;
  fake.on_recommend = [](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 100; ++i) res.set_header("X-Filler-" + std::to_string(i), std::string(1000, 'h'));
    res.set_content(R"({"tracks": [{"id": ")" + track_id(1) + R"("}]})", "application/json");
  };
  spotify_recommender rec(options_for(fake));
  const std::string msg = run_songs(rec, 1);
  EXPECT_NE(msg.find("header lines of the answer of http://127.0.0.1:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("larger than 64 KiB"), std::string::npos) << msg;
}

TEST_F(SpotifyHostile, TrackIdsMustBeSpotifyIds) {
  const std::string huge_id(3u << 20, 'A');  // fits in 4 MiB, far from 22 characters
  const std::vector<std::pair<std::string, std::string>> cases = {
      {huge_id, "3145728 characters"},
      {std::string(23, 'a'), "23 characters"},
      {std::string(21, 'a'), "21 characters"},
      {"abc\"def,ghi\njklmnopqrs", "not a Spotify id"},
      {"../../../../etc/passwd1", "not a Spotify id"},
      {"caf\xc3\xa9" + std::string(17, 'x'), "not a Spotify id"},
      {"", "an empty track id"},
  };
  for (const auto& [id, part] : cases) {
    fake_server fake;
    fake.on_recommend = [&](const httplib::Request&, httplib::Response& res) {
      nlohmann::json body;
      body["tracks"] = nlohmann::json::array({nlohmann::json{{"id", id}}});
      res.set_content(body.dump(), "application/json");
    };
    spotify_recommender rec(options_for(fake));
    const std::string msg = run_songs(rec, 1);
    EXPECT_NE(msg.find("playlist 'pl' song 1 of 1: Spotify's answer holds "), std::string::npos) << msg.substr(0, 200);
    EXPECT_NE(msg.find(part), std::string::npos) << msg.substr(0, 200);
    EXPECT_LT(msg.size(), 220u);  // a short excerpt of the id at most
    for (const char ch : msg) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << static_cast<int>(ch);
  }
  // More tracks than asked for: the first ones count; every id is still checked.
  fake_server fake;
  fake.on_recommend = [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"tracks": [{"id": ")" + track_id(1) + R"("}, {"id": ")" + track_id(2) + R"("}]})",
                    "application/json");
  };
  spotify_recommender rec(options_for(fake));
  dataset ds;
  EXPECT_EQ(run_songs(rec, 2, &ds), "");
  EXPECT_EQ(ds.track_ids, (std::vector<std::string>{track_id(1), track_id(1)}));
}

TEST_F(SpotifyHostile, DeepOrWideJsonCostsNoStackOrMemory) {
  const std::vector<std::string> bodies = {
      std::string(2u << 20, '['),                                        // deep, unterminated
      R"({"x": )" + std::string(1u << 20, '[') + std::string(1u << 20, ']') + R"(, "tracks": []})",
      [] {  // 1.3 million empty objects where tracks are expected
        std::string s = R"({"tracks": [)";
        while (s.size() < (4u << 20) - 16) s += "{},";
        return s + "{}]}";
      }(),
  };
  for (const auto& body : bodies) {
    fake_server fake;
    fake.on_recommend = [&](const httplib::Request&, httplib::Response& res) { res.set_content(body, "application/json"); };
    spotify_recommender rec(options_for(fake));
    const long long before = peak_rss();
    const std::string msg = run_songs(rec, 1);
    EXPECT_NE(msg.find("playlist 'pl' song 1 of 1: Spotify"), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("not the expected JSON") != std::string::npos ||
                msg.find("no track") != std::string::npos)
        << msg;
    if (kMeasureMemory) {
      EXPECT_LT(peak_rss() - before, 64ll << 20) << body.substr(0, 20);
    }
  }
}

// ---------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------

class SpotifyHostileCli : public SpotifyHostile {
 protected:
  void SetUp() override {
    SpotifyHostile::SetUp();
    if (IsSkipped()) return;
    if (test::cli_path().empty()) GTEST_SKIP() << "the CLI is not built";
    // 4 playlists of 5 songs: enough songs for 16 workers.
    std::ofstream in(dir_.file("in.csv"));
    in << ",moods_states,features\n";
    for (int p = 0; p < 4; ++p) {
      in << "p" << p << ",\"[[1]]\",\"[";
      for (int s = 0; s < 5; ++s) {
        in << (s ? ", " : "") << "[0.5, 0.6, 0.7, 0.01, 5, 0.1, -7.5, 1, 0.05, " << 100 + 5 * p + s << ", 0.3]";
      }
      in << "]\"\n";
    }
  }

  int run(const std::string& args, const credentials& c = kLong) {
    const std::string err = dir_.file("stderr.txt");
    const std::string cmd = "cd '" + dir_.path().string() + "' && env SPOTIFY_CLIENT_ID='" + c.id +
                            "' SPOTIFY_CLIENT_SECRET=\"$PLAYAUG_TEST_SECRET\" '" + test::cli_path() +
                            "' requery in.csv --spotify --genre edm -q " + args + " 2> '" + err + "'";
    // The secret travels in the environment, so that quotes in it need no shell quoting.
    ::setenv("PLAYAUG_TEST_SECRET", c.secret.c_str(), 1);
    const int rc = std::system(cmd.c_str());
    ::unsetenv("PLAYAUG_TEST_SECRET");
    err_ = test::read_file(err);
    std::filesystem::remove(err);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  test::temp_dir dir_;
  std::string err_;
};

TEST_F(SpotifyHostileCli, OneCharacterSecretStaysHiddenAndMessagesReadable) {
  fake_server fake;
  fake.on_token = [&](const httplib::Request& req, httplib::Response& res) {
    res.status = 400;
    res.set_content(nlohmann::json{{"error", "invalid_client"},
                                   {"error_description", "Invalid credentials sent: " + req.get_header_value("Authorization") +
                                                             " secret=y 'y' were rejected"}}
                        .dump(),
                    "application/json");
  };
  const auto before = dir_.entries();
  EXPECT_EQ(run("-o out.csv --spotify-api-url " + fake.url() + " --spotify-accounts-url " + fake.url(), kOneChar), 1);
  EXPECT_EQ(err_,
            "playaug: error: Spotify refused the client credentials (HTTP 400: invalid_client: Invalid credentials "
            "sent: Basic <redacted> <redacted> '<redacted>' were rejected); check SPOTIFY_CLIENT_ID and "
            "SPOTIFY_CLIENT_SECRET\n");
  expect_no_part(err_, forbidden_parts(kOneChar));
  EXPECT_EQ(dir_.entries(), before);  // no output, no temporary file
}

TEST_F(SpotifyHostileCli, RefusedAccountsPortFailsFastWithManyWorkers) {
  const std::string url = "http://127.0.0.1:" + std::to_string(refused_port());
  const std::string args = "-o out.csv --spotify-retries 2 --spotify-api-url " + url + " --spotify-accounts-url " + url;
  auto t0 = clock_type::now();
  EXPECT_EQ(run(args + " --spotify-workers 1"), 1);
  const double t1 = seconds_since(t0);
  const std::string err1 = err_;
  t0 = clock_type::now();
  EXPECT_EQ(run(args + " --spotify-workers 16"), 1);
  const double t16 = seconds_since(t0);
  EXPECT_NE(err_.find("Spotify token request failed"), std::string::npos) << err_;
  EXPECT_NE(err_.find("after 3 attempts"), std::string::npos) << err_;
  EXPECT_EQ(err_, err1);
  // The default back-offs (0.5 s, then 1 s, with jitter) take 0.75..1.5 s once; sixteen
  // workers fetching in turn took 16 times that (17.6 s measured).
  EXPECT_LT(t16, 6.0) << "1 worker: " << t1 << " s";
  EXPECT_FALSE(std::filesystem::exists(dir_.file("out.csv")));
}

TEST_F(SpotifyHostileCli, TimeoutOptionIsValidated) {
  fake_server fake;
  const std::string urls = " --spotify-api-url " + fake.url() + " --spotify-accounts-url " + fake.url();
  for (const char* bad : {"1e16", "inf", "nan", "0", "-1", "0.0001", "3601", "10s"}) {
    EXPECT_EQ(run(std::string("-o out.csv --spotify-timeout ") + bad + urls), 2) << bad;
    EXPECT_NE(err_.find("--spotify-timeout"), std::string::npos) << bad << ": " << err_;
    EXPECT_NE(err_.find("[0.001, 3600]"), std::string::npos) << bad << ": " << err_;
  }
  EXPECT_EQ(fake.token_calls.load(), 0);
  EXPECT_EQ(run("-o out.csv --spotify-timeout 3600" + urls), 0) << err_;
  EXPECT_EQ(fake.token_calls.load(), 1);
  const dataset out = read_csv(dir_.file("out.csv"));
  EXPECT_EQ(out.track_ids.size(), 20u);
}

TEST_F(SpotifyHostileCli, HugeExpiryFetchesOneTokenForTheWholeRun) {
  fake_server fake;
  fake.on_token = [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"access_token": "tok", "expires_in": 1e10})", "application/json");
  };
  const std::string urls = " --spotify-api-url " + fake.url() + " --spotify-accounts-url " + fake.url();
  EXPECT_EQ(run("-o out.csv --allow-repeats --spotify-workers 8" + urls), 0) << err_;
  EXPECT_EQ(fake.token_calls.load(), 1);
  EXPECT_EQ(fake.recommend_calls.load(), 20);
}

TEST_F(SpotifyHostileCli, EndlessAnswerFailsWithAClearErrorAndNoOutput) {
  fake_server fake;
  fake.on_recommend = [&](const httplib::Request&, httplib::Response& res) { fake.stream(res, std::string(1 << 16, '[')); };
  const auto before = dir_.entries();
  const auto t0 = clock_type::now();
  EXPECT_EQ(run("-o out.csv --spotify-api-url " + fake.url() + " --spotify-accounts-url " + fake.url()), 1);
  EXPECT_LT(seconds_since(t0), 10.0);
  EXPECT_NE(err_.find("/v1/recommendations is larger than 4 MiB; abandoned"), std::string::npos) << err_;
  EXPECT_NE(err_.find("playlist 'p"), std::string::npos) << err_;
  EXPECT_EQ(dir_.entries(), before);
}

#endif  // PLAYAUG_HAVE_HTTPLIB

}  // namespace
