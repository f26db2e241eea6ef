// moments: the dispatch point of compute_moments, Chan et al.'s merge, the covariance and
// the JSON form.

#include "playaug/moments.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "cpu_impl.hpp"
#include "cuda_impl.hpp"
#include "detail/expects.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/pca.hpp"

namespace playaug {

moments& moments::merge(const moments& other) {
  // A default-constructed value (no rows, no dimension) is the identity of merge.
  if (other.n == 0 && other.dim() == 0 && other.comoment.empty()) return *this;
  if (n == 0 && dim() == 0 && comoment.empty()) {
    *this = other;
    return *this;
  }
  detail::expect_shape("moments::merge", {"this", dim(), "features"}, {"the other", other.dim(), "features"});
  const std::size_t d = dim();
  detail::expects(comoment.size() == d * d && other.comoment.size() == d * d, "moments::merge",
                  "a co-moment matrix is not d x d");
  if (other.n == 0) return *this;
  if (n == 0) {
    *this = other;
    return *this;
  }
  const auto na = static_cast<double>(n);
  const auto nb = static_cast<double>(other.n);
  const double nt = na + nb;
  const double weight = (na * nb) / nt;
  std::vector<double> delta(d);
  for (std::size_t j = 0; j < d; ++j) delta[j] = other.mean[j] - mean[j];
  for (std::size_t j = 0; j < d; ++j) mean[j] += (delta[j] * nb) / nt;
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const std::size_t ij = i * d + j;
      comoment[ij] = (comoment[ij] + other.comoment[ij]) + (delta[i] * delta[j]) * weight;
    }
  }
  n += other.n;
  return *this;
}

moments merge(moments a, const moments& b) {
  a.merge(b);
  return a;
}

std::vector<double> moments::covariance() const {
  if (n < 2) {
    throw numeric_error("a covariance needs at least 2 rows, got " + std::to_string(n));
  }
  const auto denom = static_cast<double>(n - 1);
  std::vector<double> c(comoment.size());
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = comoment[i] / denom;
  return c;
}

namespace {

void append_number(std::string& out, double v, const char* what) {
  if (!std::isfinite(v)) {
    throw numeric_error(std::string("cannot serialise a non-finite ") + what);
  }
  append_double(out, v);
}

[[noreturn]] void bad_moments(const std::string& why) {
  throw error("invalid moments JSON: " + why);
}

std::vector<double> number_array(const nlohmann::json& a, std::size_t expected,
                                 const std::string& what) {
  if (!a.is_array()) bad_moments(what + " is not an array");
  if (a.size() != expected) {
    bad_moments(what + " has " + std::to_string(a.size()) + " entries, expected " +
                std::to_string(expected));
  }
  std::vector<double> out;
  out.reserve(expected);
  for (const auto& v : a) {
    if (!v.is_number()) bad_moments(what + " holds a non-number");
    out.push_back(v.get<double>());
  }
  return out;
}

}  // namespace

std::string moments::to_json() const {
  const std::size_t d = dim();
  detail::expects(comoment.size() == d * d, "moments::to_json", "the co-moment matrix is not d x d");
  std::string out = "{\"format\":\"playaug-moments\",\"version\":1,\"n\":";
  out += std::to_string(n);
  out += ",\"mean\":[";
  for (std::size_t j = 0; j < d; ++j) {
    if (j != 0) out += ',';
    append_number(out, mean[j], "mean");
  }
  out += "],\"comoment\":[";
  for (std::size_t i = 0; i < d; ++i) {
    out += i == 0 ? "[" : ",[";
    for (std::size_t j = 0; j < d; ++j) {
      if (j != 0) out += ',';
      append_number(out, comoment[i * d + j], "co-moment");
    }
    out += ']';
  }
  out += "]}";
  return out;
}

moments moments::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    bad_moments(e.what());
  }
  if (!j.is_object()) bad_moments("not a JSON object");
  auto field = [&](const char* key) -> const nlohmann::json& {
    const auto it = j.find(key);
    if (it == j.end()) bad_moments(std::string("missing \"") + key + "\"");
    return *it;
  };
  const auto& format = field("format");
  if (!format.is_string() || format.get<std::string>() != "playaug-moments") {
    bad_moments("\"format\" is not \"playaug-moments\"");
  }
  const auto& version = field("version");
  if (!version.is_number_integer() || version.get<long long>() != 1) {
    bad_moments("unsupported \"version\" (expected 1)");
  }
  const auto& jn = field("n");
  if (!jn.is_number_unsigned() && !(jn.is_number_integer() && jn.get<long long>() >= 0)) {
    bad_moments("\"n\" is not a non-negative integer");
  }
  const auto& jmean = field("mean");
  if (!jmean.is_array()) bad_moments("\"mean\" is not an array");
  const std::size_t d = jmean.size();
  moments m(d);
  m.n = jn.get<std::uint64_t>();
  m.mean = number_array(jmean, d, "\"mean\"");
  const auto& jc = field("comoment");
  if (!jc.is_array() || jc.size() != d) bad_moments("\"comoment\" is not an array of d rows");
  for (std::size_t i = 0; i < d; ++i) {
    const auto row = number_array(jc[i], d, "\"comoment\" row " + std::to_string(i));
    std::copy(row.begin(), row.end(), m.comoment.begin() + static_cast<std::ptrdiff_t>(i * d));
  }
  return m;
}

moments compute_moments(const resources& res, matrix_view<const float> x) {
  detail::expect_data("compute_moments", "x", x);
  detail::expect_host_memory(res, "compute_moments", "x", x);
  check_pca_memory(x.cols);  // the d x d sums, before they are allocated
  if (res.is_cuda()) return cuda_impl::compute_moments(res, x);
  return cpu_impl::compute_moments(res, x);
}

}  // namespace playaug
