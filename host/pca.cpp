// PCA: the dispatch points of symmetric_eig, fit_pca, transform, inverse_transform and
// fit_pca_per_playlist, the sign convention, and the MODEL.json format.

#include "playaug/pca.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "cpu_impl.hpp"
#include "io/input_file.hpp"
#include "cuda_impl.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug {

// ---------------------------------------------------------------------------------------
// Conventions
// ---------------------------------------------------------------------------------------

void canonicalize_signs(eigen_result& e, std::size_t d) {
  if (d == 0) return;
  if (e.vectors.size() % d != 0) {
    throw usage_error("canonicalize_signs: " + std::to_string(e.vectors.size()) +
                      " vector entries is not a multiple of d = " + std::to_string(d));
  }
  const std::size_t count = e.vectors.size() / d;
  for (std::size_t i = 0; i < count; ++i) {
    double* v = e.vectors.data() + i * d;
    std::size_t best = 0;
    for (std::size_t j = 1; j < d; ++j) {
      if (std::fabs(v[j]) > std::fabs(v[best])) best = j;
    }
    if (v[best] < 0) {
      for (std::size_t j = 0; j < d; ++j) v[j] = -v[j];
    }
  }
}

namespace {

/// Eigenvalues of a covariance or correlation matrix are >= 0; a negative one is rounding.
void clamp_nonnegative(double* values, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (values[i] < 0.0) values[i] = 0.0;
  }
}

std::string shape(std::size_t rows, std::size_t cols) {
  return std::to_string(rows) + " x " + std::to_string(cols);
}

template <typename T>
void require_data(const char* op, const char* name, const matrix_view<T>& v) {
  if (v.data == nullptr && v.size() != 0) {
    throw usage_error(std::string(op) + ": " + name + " is null but has " + shape(v.rows, v.cols) +
                      " elements");
  }
}

/// A model good enough to compute with: consistent sizes, 1 <= k <= d.
void check_model(const char* op, const pca_model& m) {
  const std::size_t d = m.dim();
  const std::size_t k = m.n_components;
  if (d == 0) throw usage_error(std::string(op) + ": the PCA model is empty");
  if (m.scale.size() != d) {
    throw usage_error(std::string(op) + ": the model's scale has " +
                      std::to_string(m.scale.size()) + " entries, its mean " + std::to_string(d));
  }
  if (k == 0 || k > d) {
    throw usage_error(std::string(op) + ": the model keeps " + std::to_string(k) +
                      " components, expected 1.." + std::to_string(d));
  }
  if (m.components.size() != k * d) {
    throw usage_error(std::string(op) + ": the model's components hold " +
                      std::to_string(m.components.size()) +
                      " values, expected k x d = " + shape(k, d));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Dispatch points
// ---------------------------------------------------------------------------------------

eigen_result symmetric_eig(const resources& res, const std::vector<double>& a, std::size_t d) {
  if (a.size() != d * d) {
    throw usage_error("symmetric_eig: the matrix has " + std::to_string(a.size()) +
                      " entries, expected d x d = " + shape(d, d));
  }
  if (d == 0) return {};
  for (const double v : a) {
    if (!std::isfinite(v)) throw numeric_error("symmetric_eig: the matrix has a non-finite entry");
  }
  eigen_result e =
      res.is_cuda() ? cuda_impl::symmetric_eig(res, a, d) : cpu_impl::symmetric_eig(a, d);
  canonicalize_signs(e, d);
  return e;
}

pca_model fit_pca(const resources& res, const moments& m, const pca_options& opts,
                  const std::vector<std::string>& feature_names) {
  const std::size_t d = m.dim();
  if (d == 0) throw usage_error("fit_pca: the moments have no features");
  if (m.comoment.size() != d * d) throw usage_error("fit_pca: the co-moment matrix is not d x d");
  if (!feature_names.empty() && feature_names.size() != d) {
    throw usage_error("fit_pca: " + std::to_string(feature_names.size()) + " feature names for " +
                      std::to_string(d) + " features");
  }
  if (opts.components && opts.variance) {
    throw usage_error("fit_pca: give either a number of components or a variance, not both");
  }
  if (opts.components && (*opts.components < 1 || *opts.components > d)) {
    throw usage_error("fit_pca: components must be in 1.." + std::to_string(d) + ", got " +
                      std::to_string(*opts.components));
  }
  if (opts.variance && !(*opts.variance > 0.0 && *opts.variance < 1.0)) {
    throw usage_error("fit_pca: variance must be in (0, 1)");
  }

  std::vector<double> a = m.covariance();  // numeric_error when n < 2
  pca_model model;
  model.n_samples = m.n;
  model.mean = m.mean;
  model.scale.assign(d, 1.0);
  if (opts.standardize) {
    for (std::size_t j = 0; j < d; ++j) {
      const double s = std::sqrt(a[j * d + j]);
      if (s > 0.0 && std::isfinite(s)) {
        model.scale[j] = s;
      } else {
        model.constant_features.push_back(j);
      }
    }
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) a[i * d + j] /= model.scale[i] * model.scale[j];
    }
  }
  if (feature_names.empty()) {
    for (std::size_t j = 0; j < d; ++j) model.feature_names.push_back("f" + std::to_string(j));
  } else {
    model.feature_names = feature_names;
  }

  eigen_result e = symmetric_eig(res, a, d);
  clamp_nonnegative(e.values.data(), e.values.size());
  double total = 0.0;
  for (const double v : e.values) total += v;
  model.explained_variance_ratio.assign(d, 0.0);
  if (total > 0.0) {
    for (std::size_t i = 0; i < d; ++i) model.explained_variance_ratio[i] = e.values[i] / total;
  }
  std::size_t k = d;
  if (opts.components) {
    k = *opts.components;
  } else if (opts.variance) {
    double cumulative = 0.0;
    for (std::size_t i = 0; i < d; ++i) {
      cumulative += model.explained_variance_ratio[i];
      if (cumulative > *opts.variance) {
        k = i + 1;
        break;
      }
    }
  }
  model.eigenvalues = std::move(e.values);
  model.n_components = k;
  model.components.assign(e.vectors.begin(),
                          e.vectors.begin() + static_cast<std::ptrdiff_t>(k * d));
  return model;
}

pca_model fit_pca(const resources& res, matrix_view<const float> x, const pca_options& opts,
                  const std::vector<std::string>& feature_names) {
  if (!feature_names.empty() && feature_names.size() != x.cols) {
    throw usage_error("fit_pca: " + std::to_string(feature_names.size()) +
                      " feature names for x with " + std::to_string(x.cols) + " columns");
  }
  return fit_pca(res, compute_moments(res, x), opts, feature_names);
}

void transform(const resources& res, const pca_model& model, matrix_view<const float> x,
               matrix_view<float> y) {
  check_model("transform", model);
  const std::size_t d = model.dim();
  const std::size_t k = model.n_components;
  require_data("transform", "x", x);
  require_data("transform", "y", y);
  if (x.cols != d) {
    throw usage_error("transform: x has " + std::to_string(x.cols) + " columns, the model " +
                      std::to_string(d) + " features");
  }
  if (y.cols != k) {
    throw usage_error("transform: y has " + std::to_string(y.cols) + " columns, the model keeps " +
                      std::to_string(k) + " components");
  }
  if (x.rows != y.rows) {
    throw usage_error("transform: x has " + std::to_string(x.rows) + " rows, y " +
                      std::to_string(y.rows));
  }
  if (x.space != y.space) throw usage_error("transform: x and y are in different memory spaces");
  if (res.is_cuda()) return cuda_impl::transform(res, model, x, y);
  if (x.space != memory_space::host) {
    throw usage_error("transform: x and y are in device memory but the backend is the CPU");
  }
  cpu_impl::transform(res, model, x, y);
}

void inverse_transform(const resources& res, const pca_model& model, matrix_view<const float> y,
                       matrix_view<float> x) {
  check_model("inverse_transform", model);
  const std::size_t d = model.dim();
  const std::size_t k = model.n_components;
  require_data("inverse_transform", "y", y);
  require_data("inverse_transform", "x", x);
  if (y.cols != k) {
    throw usage_error("inverse_transform: y has " + std::to_string(y.cols) +
                      " columns, the model keeps " + std::to_string(k) + " components");
  }
  if (x.cols != d) {
    throw usage_error("inverse_transform: x has " + std::to_string(x.cols) +
                      " columns, the model " + std::to_string(d) + " features");
  }
  if (x.rows != y.rows) {
    throw usage_error("inverse_transform: y has " + std::to_string(y.rows) + " rows, x " +
                      std::to_string(x.rows));
  }
  if (x.space != y.space) {
    throw usage_error("inverse_transform: x and y are in different memory spaces");
  }
  if (res.is_cuda()) return cuda_impl::inverse_transform(res, model, y, x);
  if (x.space != memory_space::host) {
    throw usage_error("inverse_transform: x and y are in device memory but the backend is the CPU");
  }
  cpu_impl::inverse_transform(res, model, y, x);
}

batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets) {
  require_data("fit_pca_per_playlist", "x", x);
  if (offsets.size == 0 || offsets.data == nullptr) {
    throw usage_error("fit_pca_per_playlist: offsets needs playlists + 1 entries, got none");
  }
  if (offsets.space == memory_space::host) {
    for (std::size_t p = 0; p + 1 < offsets.size; ++p) {
      if (offsets[p + 1] < offsets[p]) {
        throw usage_error("fit_pca_per_playlist: offsets decrease at playlist " +
                          std::to_string(p));
      }
    }
    if (offsets[offsets.size - 1] > x.rows) {
      throw usage_error("fit_pca_per_playlist: offsets end at row " +
                        std::to_string(offsets[offsets.size - 1]) + ", x has " +
                        std::to_string(x.rows) + " rows");
    }
  }
  batched_pca out;
  if (res.is_cuda()) {
    out = cuda_impl::fit_pca_per_playlist(res, x, offsets);
  } else {
    if (x.space != memory_space::host || offsets.space != memory_space::host) {
      throw usage_error("fit_pca_per_playlist: device memory but the backend is the CPU");
    }
    out = cpu_impl::fit_pca_per_playlist(res, x, offsets);
  }
  const std::size_t d = out.dim;
  const std::size_t playlists = offsets.size - 1;
  if (d != x.cols || out.n.size() != playlists || out.mean.size() != playlists * d ||
      out.eigenvalues.size() != playlists * d || out.components.size() != playlists * d * d) {
    throw error("fit_pca_per_playlist: the engine returned inconsistent sizes");
  }
  clamp_nonnegative(out.eigenvalues.data(), out.eigenvalues.size());
  for (std::size_t p = 0; p < out.n.size(); ++p) {
    eigen_result block;
    block.vectors.assign(out.components.begin() + static_cast<std::ptrdiff_t>(p * d * d),
                         out.components.begin() + static_cast<std::ptrdiff_t>((p + 1) * d * d));
    canonicalize_signs(block, d);
    std::copy(block.vectors.begin(), block.vectors.end(),
              out.components.begin() + static_cast<std::ptrdiff_t>(p * d * d));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// MODEL.json
// ---------------------------------------------------------------------------------------

namespace {

const char* const model_keys[] = {
    "format",       "version",   "feature_names", "n_samples",
    "mean",         "scale",     "eigenvalues",   "explained_variance_ratio",
    "n_components", "components"};

void append_number(std::string& out, double v, const char* what) {
  if (!std::isfinite(v)) throw numeric_error(std::string("PCA model: non-finite ") + what);
  append_double(out, v);
}

void append_array(std::string& out, const double* v, std::size_t n, const char* what) {
  out += '[';
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += ", ";
    append_number(out, v[i], what);
  }
  out += ']';
}

}  // namespace

std::string pca_model::to_json() const {
  check_model("pca_model::to_json", *this);
  const std::size_t d = dim();
  const std::size_t k = n_components;
  if (feature_names.size() != d || eigenvalues.size() != d ||
      explained_variance_ratio.size() != d) {
    throw usage_error(
        "pca_model::to_json: feature_names, eigenvalues and explained_variance_ratio "
        "need " +
        std::to_string(d) + " entries each");
  }
  std::string out = "{\n  \"format\": \"playaug-pca\",\n  \"version\": 1,\n  \"feature_names\": [";
  for (std::size_t j = 0; j < d; ++j) {
    if (j != 0) out += ", ";
    out += nlohmann::json(feature_names[j]).dump();
  }
  out += "],\n  \"n_samples\": " + std::to_string(n_samples);
  out += ",\n  \"mean\": ";
  append_array(out, mean.data(), d, "mean");
  out += ",\n  \"scale\": ";
  append_array(out, scale.data(), d, "scale");
  out += ",\n  \"eigenvalues\": ";
  append_array(out, eigenvalues.data(), d, "eigenvalue");
  out += ",\n  \"explained_variance_ratio\": ";
  append_array(out, explained_variance_ratio.data(), d, "explained variance ratio");
  out += ",\n  \"n_components\": " + std::to_string(k);
  out += ",\n  \"components\": [";
  for (std::size_t c = 0; c < k; ++c) {
    out += c == 0 ? "\n    " : ",\n    ";
    append_array(out, components.data() + c * d, d, "component");
  }
  out += "\n  ]\n}\n";
  return out;
}

pca_model pca_model::from_json(const std::string& text, const std::string& source) {
  auto bad = [&](const std::string& why) -> void {
    throw data_error(source, 0, "invalid PCA model: " + why);
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) bad("not a JSON object");
  for (const char* key : model_keys) {
    if (!j.contains(key)) bad(std::string("missing \"") + key + "\"");
  }
  if (j.size() != std::size(model_keys)) {
    const std::set<std::string> known(std::begin(model_keys), std::end(model_keys));
    for (const auto& item : j.items()) {
      if (known.count(item.key()) == 0) bad("unknown key \"" + item.key() + "\"");
    }
  }
  if (!j["format"].is_string() || j["format"].get<std::string>() != "playaug-pca") {
    bad("\"format\" is not \"playaug-pca\"");
  }
  if (!j["version"].is_number_integer() || j["version"].get<long long>() != 1) {
    bad("unsupported \"version\" (this playaug reads version 1)");
  }
  auto count = [&](const char* key) -> std::uint64_t {
    const auto& v = j[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<long long>() >= 0)) {
      bad(std::string("\"") + key + "\" is not a non-negative integer");
    }
    return v.get<std::uint64_t>();
  };
  auto numbers = [&](const nlohmann::json& a, std::size_t expected, const std::string& what) {
    if (!a.is_array()) bad(what + " is not an array");
    if (a.size() != expected) {
      bad(what + " has " + std::to_string(a.size()) + " entries, expected " +
          std::to_string(expected));
    }
    std::vector<double> out;
    out.reserve(expected);
    for (const auto& v : a) {
      if (!v.is_number()) bad(what + " holds a non-number");
      out.push_back(v.get<double>());
      if (!std::isfinite(out.back())) bad(what + " holds a non-finite number");
    }
    return out;
  };

  pca_model m;
  const auto& names = j["feature_names"];
  if (!names.is_array() || names.empty()) bad("\"feature_names\" is not a non-empty array");
  const std::size_t d = names.size();
  for (const auto& n : names) {
    if (!n.is_string()) bad("\"feature_names\" holds a non-string");
    m.feature_names.push_back(n.get<std::string>());
  }
  {
    const std::set<std::string> seen(m.feature_names.begin(), m.feature_names.end());
    if (seen.size() != d) {
      for (std::size_t a = 0; a < d; ++a) {
        for (std::size_t b = a + 1; b < d; ++b) {
          if (m.feature_names[a] == m.feature_names[b]) {
            bad("\"feature_names\" holds '" + detail::printable(m.feature_names[a]) + "' twice");
          }
        }
      }
    }
  }
  // Entry j of a per-feature array, named for the message.
  auto entry = [&](const char* key, std::size_t i) {
    return std::string("\"") + key + "\" entry " + std::to_string(i + 1) + " (" +
           detail::printable(m.feature_names[i]) + ")";
  };
  constexpr double float_max = static_cast<double>(std::numeric_limits<float>::max());
  auto number_text = [](double v) {
    std::string out;
    append_double(out, v);
    return out;
  };
  m.n_samples = count("n_samples");
  m.mean = numbers(j["mean"], d, "\"mean\"");
  for (std::size_t i = 0; i < d; ++i) {
    if (!(std::fabs(m.mean[i]) <= float_max)) {
      bad(entry("mean", i) + " is " + number_text(m.mean[i]) + ", beyond the range of float features");
    }
  }
  m.scale = numbers(j["scale"], d, "\"scale\"");
  for (std::size_t i = 0; i < d; ++i) {
    const double s = m.scale[i];
    if (!(s >= pca_model::min_scale && s <= float_max && std::isfinite(1.0 / s))) {
      bad(entry("scale", i) + " is " + number_text(s) + "; a scale must lie in [" + number_text(pca_model::min_scale) +
          ", " + number_text(float_max) + "], or the songs' coordinates overflow");
    }
  }
  m.eigenvalues = numbers(j["eigenvalues"], d, "\"eigenvalues\"");
  m.explained_variance_ratio =
      numbers(j["explained_variance_ratio"], d, "\"explained_variance_ratio\"");
  for (std::size_t i = 0; i < d; ++i) {
    const double r = m.explained_variance_ratio[i];
    if (!(r >= 0.0 && r <= 1.0)) bad(entry("explained_variance_ratio", i) + " is outside [0, 1]");
  }
  const std::uint64_t k = count("n_components");
  if (k < 1 || k > d) {
    bad("\"n_components\" is " + std::to_string(k) + ", expected 1.." + std::to_string(d));
  }
  m.n_components = static_cast<std::size_t>(k);
  const auto& comps = j["components"];
  if (!comps.is_array() || comps.size() != k) {
    bad("\"components\" is not an array of n_components = " + std::to_string(k) + " rows");
  }
  for (std::size_t c = 0; c < k; ++c) {
    const auto row = numbers(comps[c], d, "\"components\" row " + std::to_string(c + 1));
    m.components.insert(m.components.end(), row.begin(), row.end());
  }
  // The components are orthonormal rows: unit length, and orthogonal to one another.
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t b = a; b < k; ++b) {
      double dot = 0.0;
      for (std::size_t i = 0; i < d; ++i) dot += m.components[a * d + i] * m.components[b * d + i];
      const double want = a == b ? 1.0 : 0.0;
      if (!(std::fabs(dot - want) <= pca_model::component_tolerance)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", a == b ? std::sqrt(dot) : dot);
        bad(a == b ? "\"components\" row " + std::to_string(a + 1) + " has length " + buf + ", not 1"
                   : "\"components\" rows " + std::to_string(a + 1) + " and " + std::to_string(b + 1) +
                         " are not orthogonal (dot product " + buf + ")");
      }
    }
  }
  return m;
}

pca_model pca_model::load(const std::string& path) {
  // Opened as every input is: a directory or a file that shrinks is named as such.
  const std::string text = io_detail::read_file_text(path, "PCA model", ~std::size_t{0});
  try {
    return from_json(text, path);
  } catch (const nlohmann::json::exception& e) {
    throw data_error(path, 0, std::string("invalid PCA model: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw data_error(path, 0, "out of memory reading the PCA model");
  }
}

void pca_model::save(const std::string& path) const {
  const std::string text = to_json();
  atomic_file f(path);
  f.write(text);
  f.commit();
}

}  // namespace playaug
