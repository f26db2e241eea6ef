#pragma once
// A minimal blocking HTTP client over libcurl for the Spotify backend: one connection
// (easy handle) per client object, one client per worker thread. Built without libcurl
// (PLAYAUG_WITH_SPOTIFY=OFF) every request throws playaug::error.
//
// Credentials are handed to libcurl only; nothing here logs a request. Answers are
// bounded while they arrive (max_body_bytes, max_header_bytes): a larger one is abandoned
// at once with response_too_large, so a hostile or broken server cannot make the process
// grow. Only http:// and https:// are spoken, redirects are not followed and no
// compressed encoding is asked for (so no decompression bomb).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "playaug/error.hpp"

namespace playaug::requery_detail {

/// The request never got a complete response: connection refused, timeout, reset...
class transport_error : public error {
 public:
  transport_error(const std::string& what, bool timed_out) : error(what), timed_out_(timed_out) {}
  bool timed_out() const noexcept { return timed_out_; }

 private:
  bool timed_out_;
};

/// The answer passed max_body_bytes or max_header_bytes; the request was abandoned.
/// Not a transport failure: asking again would get the same answer.
class response_too_large : public error {
 public:
  using error::error;
};

/// Largest response body accepted (a recommendations answer of 100 tracks is ~100 KB).
constexpr std::size_t max_body_bytes = std::size_t{4} << 20;
/// Largest total size of a response's header lines.
constexpr std::size_t max_header_bytes = std::size_t{64} << 10;
struct http_response {
  long status = 0;
  std::string body;
  std::string retry_after;  ///< the Retry-After header, if any
};

class http_client {
 public:
  /// Timeouts in seconds, clamped to [0.001, spotify_options::max_timeout_s] (NaN: the
  /// maximum); spotify_options::validate() rejects such values before.
  http_client(double connect_timeout_s, double timeout_s);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// GET `url` with `Authorization: Bearer <token>`.
  http_response get(const std::string& url, const std::string& bearer_token);
  /// POST an application/x-www-form-urlencoded `body` with HTTP Basic authentication.
  http_response post_form(const std::string& url, const std::string& body, const std::string& user,
                          const std::string& password);

  /// Percent-encode `s` for a query string.
  static std::string escape(std::string_view s);
  /// `url` for a message: without user information ("user:password@") and query string.
  static std::string where(const std::string& url);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// True when built with libcurl.
bool http_available() noexcept;

}  // namespace playaug::requery_detail
