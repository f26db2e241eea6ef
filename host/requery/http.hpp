#pragma once
// A minimal blocking HTTP client over libcurl for the Spotify backend: one connection
// (easy handle) per client object, one client per worker thread. Built without libcurl
// (PLAYAUG_WITH_SPOTIFY=OFF) every request throws playaug::error.
//
// Credentials are handed to libcurl only; nothing here logs a request.

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

struct http_response {
  long status = 0;
  std::string body;
  std::string retry_after;  ///< the Retry-After header, if any
};

class http_client {
 public:
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

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// True when built with libcurl.
bool http_available() noexcept;

}  // namespace playaug::requery_detail
