// The HTTP client of the Spotify backend (http.hpp), over libcurl when
// PLAYAUG_WITH_SPOTIFY is set, else a stub whose requests throw.

#include "http.hpp"

#include "playaug/requery.hpp"

#include <cctype>
#include <cmath>
#include <string>

#ifndef PLAYAUG_WITH_SPOTIFY
#define PLAYAUG_WITH_SPOTIFY 1
#endif

#if PLAYAUG_WITH_SPOTIFY
#include <curl/curl.h>

#include <mutex>
#endif

namespace playaug::requery_detail {

std::string http_client::escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    // RFC 3986's unreserved characters, in ASCII whatever the locale
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string http_client::where(const std::string& url) {
  std::string u = url.substr(0, url.find_first_of("?#"));
  const std::size_t scheme = u.find("://");
  const std::size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const std::size_t at = u.find('@', host);
  if (at != std::string::npos && at < u.find('/', host)) u.erase(host, at + 1 - host);
  return u;
}

#if PLAYAUG_WITH_SPOTIFY

namespace {

std::once_flag g_curl_once;

// What the callbacks of one transfer fill, with the bounds they enforce.
struct transfer {
  http_response* resp = nullptr;
  std::size_t header_bytes = 0;
  bool body_too_large = false;
  bool headers_too_large = false;
};

// Returning less than size * n makes libcurl abandon the transfer (CURLE_WRITE_ERROR).
std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  const std::size_t bytes = size * n;
  if (bytes > max_body_bytes - t->resp->body.size()) {
    t->body_too_large = true;
    return 0;
  }
  t->resp->body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  http_response* resp = t->resp;
  t->header_bytes += size * n;
  if (t->header_bytes > max_header_bytes) {
    t->headers_too_large = true;
    return 0;
  }
  const std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) resp->retry_after.clear();  // a new response begins
  const std::size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "retry-after") {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
      resp->retry_after = std::string(v);
    }
  }
  return size * n;
}

struct slist {
  curl_slist* p = nullptr;
  ~slist() { curl_slist_free_all(p); }
  void add(const std::string& s) {
    curl_slist* n = curl_slist_append(p, s.c_str());
    if (n == nullptr) throw error("out of memory building HTTP headers");
    p = n;
  }
};

// Seconds -> whole milliseconds in [1, max_timeout_s * 1000], without overflow.
long to_ms(double s) {
  if (!(s <= spotify_options::max_timeout_s)) s = spotify_options::max_timeout_s;  // also NaN
  const long ms = std::lround(s * 1000.0);
  return ms < 1 ? 1 : ms;
}

std::string mib(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }
std::string kib(std::size_t bytes) { return std::to_string(bytes >> 10) + " KiB"; }

}  // namespace

struct http_client::impl {
  CURL* curl = nullptr;
  long connect_ms = 0;
  long total_ms = 0;
  transfer xfer;

  void reset_common(const std::string& url, http_response& resp) {
    curl_easy_reset(curl);
    xfer = transfer{};
    xfer.resp = &resp;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    // Refused up front when a Content-Length announces more; on_body enforces it otherwise.
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_bytes));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &xfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &xfer);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "playaug");
  }

  void run(const std::string& url, http_response& resp) {
    const CURLcode rc = curl_easy_perform(curl);
    xfer.resp = nullptr;
    if (xfer.body_too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      resp.body.clear();
      resp.body.shrink_to_fit();
      throw response_too_large("answer of " + where(url) + " is larger than " + mib(max_body_bytes) +
                               "; abandoned");
    }
    if (xfer.headers_too_large) {
      throw response_too_large("header lines of the answer of " + where(url) + " are larger than " +
                               kib(max_header_bytes) + "; abandoned");
    }
    if (rc != CURLE_OK) {
      const bool timed_out = rc == CURLE_OPERATION_TIMEDOUT;
      throw transport_error(std::string(timed_out ? "timed out" : "failed") + " (" + curl_easy_strerror(rc) +
                                ") for " + where(url),
                            timed_out);
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  }
};

http_client::http_client(double connect_timeout_s, double timeout_s) : impl_(std::make_unique<impl>()) {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->curl = curl_easy_init();
  if (impl_->curl == nullptr) throw error("cannot initialise libcurl");
  impl_->connect_ms = to_ms(connect_timeout_s);
  impl_->total_ms = to_ms(timeout_s);
}

http_client::~http_client() {
  if (impl_ && impl_->curl != nullptr) curl_easy_cleanup(impl_->curl);
}

http_response http_client::get(const std::string& url, const std::string& bearer_token) {
  http_response resp;
  impl_->reset_common(url, resp);
  slist headers;
  headers.add("Authorization: Bearer " + bearer_token);
  headers.add("Accept: application/json");
  curl_easy_setopt(impl_->curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(impl_->curl, CURLOPT_HTTPHEADER, headers.p);
  impl_->run(url, resp);
  return resp;
}

http_response http_client::post_form(const std::string& url, const std::string& body, const std::string& user,
                                     const std::string& password) {
  http_response resp;
  impl_->reset_common(url, resp);
  slist headers;
  headers.add("Content-Type: application/x-www-form-urlencoded");
  headers.add("Accept: application/json");
  curl_easy_setopt(impl_->curl, CURLOPT_HTTPHEADER, headers.p);
  curl_easy_setopt(impl_->curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
  curl_easy_setopt(impl_->curl, CURLOPT_USERNAME, user.c_str());
  curl_easy_setopt(impl_->curl, CURLOPT_PASSWORD, password.c_str());
  curl_easy_setopt(impl_->curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(impl_->curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  impl_->run(url, resp);
  return resp;
}

bool http_available() noexcept { return true; }

#else  // !PLAYAUG_WITH_SPOTIFY

struct http_client::impl {};

namespace {
[[noreturn]] void not_built() {
  throw error("this playaug was built without the Spotify client (PLAYAUG_WITH_SPOTIFY=OFF)");
}
}  // namespace

http_client::http_client(double, double) { not_built(); }
http_client::~http_client() = default;
http_response http_client::get(const std::string&, const std::string&) { not_built(); }
http_response http_client::post_form(const std::string&, const std::string&, const std::string&, const std::string&) {
  not_built();
}
bool http_available() noexcept { return false; }

#endif

}  // namespace playaug::requery_detail
