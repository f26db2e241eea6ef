// PCA: the dispatch points of symmetric_eig, fit_pca, transform, inverse_transform and
// fit_pca_per_playlist, the sign convention, the memory check of d x d fits, and the
// MODEL.json format.

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
#include "detail/expects.hpp"
#include "detail/json_object.hpp"
#include "detail/memory.hpp"
#include "detail/variance_rule.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug {

using detail::expect_data;
using detail::expect_host_memory;
using detail::expect_same_space;
using detail::expect_shape;
using detail::expects;

// ---------------------------------------------------------------------------------------
// Conventions
// ---------------------------------------------------------------------------------------

void canonicalize_signs(eigen_result& e, std::size_t d) {
  if (d == 0) return;
  expects(e.vectors.size() % d == 0, "canonicalize_signs", e.vectors.size(),
          " vector entries is not a multiple of d = ", d);
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

const char* to_string(pca_method m) noexcept {
  switch (m) {
    case pca_method::covariance: return "covariance";
    case pca_method::projector: return "projector";
    case pca_method::pooled: return "pooled";
  }
  return "unknown";
}

const char* to_string(pca_weight w) noexcept {
  switch (w) {
    case pca_weight::playlists: return "playlists";
    case pca_weight::songs: return "songs";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------
// Memory of d x d fits
// ---------------------------------------------------------------------------------------

std::uint64_t fit_pca_bytes(std::size_t d, std::size_t playlists) noexcept {
  const std::uint64_t dd = detail::saturating_mul(d, d);
  // Whole fit: the merged co-moments, one chunk's co-moments, the covariance, the
  // eigensolver's input copy, its workspace (dsyevd: 1 + 6d + 2d^2) and the vectors.
  // Per playlist: the [P x d x d] vectors, one covariance and the solver above per thread.
  const std::uint64_t matrices = playlists == 0 ? 7 : detail::saturating_add(5, playlists);
  return detail::saturating_mul(detail::saturating_mul(dd, matrices), sizeof(double));
}

std::uint64_t allocatable_bytes() noexcept { return detail::allocatable_bytes(); }

void check_pca_memory(std::size_t d, std::size_t playlists, const std::string& source) {
  const std::uint64_t need = fit_pca_bytes(d, playlists);
  const std::uint64_t have = detail::allocatable_bytes();
  if (need <= have) return;
  std::string why = std::to_string(d) + " features need " + std::to_string(d) + " x " + std::to_string(d) +
                    " float64 matrices";
  if (playlists != 0) why += " for each of " + std::to_string(playlists) + " playlists";
  why += ": about " + detail::show_bytes(need) + " in all, but this process may allocate about " +
         detail::show_bytes(have);
  if (!source.empty()) throw data_error(source, 0, "cannot fit a PCA: " + why);
  throw error("cannot fit a PCA: " + why);
}

namespace {

/// Eigenvalues of a covariance or correlation matrix are >= 0; a negative one is rounding.
void clamp_nonnegative(double* values, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (values[i] < 0.0) values[i] = 0.0;
  }
}

/// A model good enough to compute with: consistent sizes, 1 <= k <= d.
void check_model(const char* op, const pca_model& m) {
  const std::size_t d = m.dim();
  const std::size_t k = m.n_components;
  expects(d != 0, op, "the PCA model is empty");
  expect_shape(op, {"the model's scale", m.scale.size(), "entries"}, {"its mean", d, "entries"});
  expects(k != 0 && k <= d, op, "the model keeps ", k, " components, expected 1..", d);
  expects(m.components.size() == k * d, op, "the model's components hold ", m.components.size(),
          " values, expected k x d = ", k, " x ", d);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Dispatch points
// ---------------------------------------------------------------------------------------

eigen_result symmetric_eig(const resources& res, const std::vector<double>& a, std::size_t d) {
  expects(a.size() == d * d, "symmetric_eig", "the matrix has ", a.size(), " entries, expected d x d = ", d, " x ",
          d);
  if (d == 0) return {};
  for (const double v : a) {
    if (!std::isfinite(v)) throw numeric_error("symmetric_eig: the matrix has a non-finite entry");
  }
  check_pca_memory(d);
  eigen_result e =
      res.is_cuda() ? cuda_impl::symmetric_eig(res, a, d) : cpu_impl::symmetric_eig(a, d);
  canonicalize_signs(e, d);
  return e;
}

pca_model fit_pca(const resources& res, const moments& m, const pca_options& opts,
                  const std::vector<std::string>& feature_names) {
  const char* op = "fit_pca";
  const std::size_t d = m.dim();
  expects(d != 0, op, "the moments have no features");
  expects(m.comoment.size() == d * d, op, "the co-moment matrix has ", m.comoment.size(),
          " entries, expected d x d = ", d, " x ", d);
  expects(feature_names.empty() || feature_names.size() == d, op, feature_names.size(), " feature names for ", d,
          " features");
  expects(!(opts.components && opts.variance), op, "give either a number of components or a variance, not both");
  expects(!opts.components || (*opts.components >= 1 && *opts.components <= d), op, "components must be in 1..", d,
          ", got ", opts.components.value_or(0));
  expects(!opts.variance || (*opts.variance > 0.0 && *opts.variance < 1.0), op, "variance must be in (0, 1), got ",
          opts.variance.value_or(0.0));
  check_pca_memory(d);

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
    k = static_cast<std::size_t>(detail::components_for_variance(e.values.data(), 1, static_cast<int>(d),
                                                                 *opts.variance));
  }
  model.eigenvalues = std::move(e.values);
  model.n_components = k;
  model.components.assign(e.vectors.begin(),
                          e.vectors.begin() + static_cast<std::ptrdiff_t>(k * d));
  return model;
}

pca_model fit_pca(const resources& res, matrix_view<const float> x, const pca_options& opts,
                  const std::vector<std::string>& feature_names) {
  if (!feature_names.empty()) {
    expect_shape("fit_pca", {"feature_names", feature_names.size(), "entries"}, {"x", x.cols, "columns"});
  }
  return fit_pca(res, compute_moments(res, x), opts, feature_names);
}

void transform(const resources& res, const pca_model& model, matrix_view<const float> x,
               matrix_view<float> y) {
  const char* op = "transform";
  check_model(op, model);
  expect_data(op, "x", x);
  expect_data(op, "y", y);
  expect_shape(op, {"x", x.cols, "columns"}, {"the model", model.dim(), "features"});
  expect_shape(op, {"y", y.cols, "columns"}, {"the model", model.n_components, "components"});
  expect_shape(op, {"x", x.rows, "rows"}, {"y", y.rows, "rows"});
  expect_same_space(op, "x", x, "y", y);
  expect_host_memory(res, op, "x", x);
  if (res.is_cuda()) return cuda_impl::transform(res, model, x, y);
  cpu_impl::transform(res, model, x, y);
}

void inverse_transform(const resources& res, const pca_model& model, matrix_view<const float> y,
                       matrix_view<float> x) {
  const char* op = "inverse_transform";
  check_model(op, model);
  expect_data(op, "y", y);
  expect_data(op, "x", x);
  expect_shape(op, {"y", y.cols, "columns"}, {"the model", model.n_components, "components"});
  expect_shape(op, {"x", x.cols, "columns"}, {"the model", model.dim(), "features"});
  expect_shape(op, {"y", y.rows, "rows"}, {"x", x.rows, "rows"});
  expect_same_space(op, "x", x, "y", y);
  expect_host_memory(res, op, "x", x);
  if (res.is_cuda()) return cuda_impl::inverse_transform(res, model, y, x);
  cpu_impl::inverse_transform(res, model, y, x);
}

batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets) {
  const char* op = "fit_pca_per_playlist";
  expect_data(op, "x", x);
  expects(offsets.size != 0 && offsets.data != nullptr, op, "offsets needs playlists + 1 entries, got none");
  expect_host_memory(res, op, "x", x);
  expect_host_memory(res, op, "offsets", offsets);
  if (offsets.space == memory_space::host) {
    for (std::size_t p = 0; p + 1 < offsets.size; ++p) {
      expects(offsets[p + 1] >= offsets[p], op, "offsets decrease at playlist ", p);
    }
    expects(offsets[offsets.size - 1] <= x.rows, op, "offsets end at row ", offsets[offsets.size - 1], " but x has ",
            x.rows, " rows");
  }
  check_pca_memory(x.cols, offsets.size - 1);
  batched_pca out = res.is_cuda() ? cuda_impl::fit_pca_per_playlist(res, x, offsets)
                                  : cpu_impl::fit_pca_per_playlist(res, x, offsets);
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
  std::string out = "{\n  \"format\": \"playaug-pca\",\n  \"version\": 1,\n";
  if (method != pca_method::covariance) {
    out += std::string("  \"method\": \"") + to_string(method) + "\",\n  \"weight\": \"" + to_string(weight) +
           "\",\n";
  }
  out += "  \"feature_names\": [";
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
  // "method" and "weight" are an aggregate's optional keys, which come together.
  nlohmann::json j = detail::parse_json_object(text, model_keys, {"method", "weight"}, bad);
  const bool has_method = j.contains("method"), has_weight = j.contains("weight");
  if (has_method != has_weight) bad(has_method ? "\"method\" without \"weight\"" : "\"weight\" without \"method\"");
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
  if (has_method) {
    const auto& me = j["method"];
    const auto& we = j["weight"];
    if (me.is_string() && me.get<std::string>() == "projector") {
      m.method = pca_method::projector;
    } else if (me.is_string() && me.get<std::string>() == "pooled") {
      m.method = pca_method::pooled;
    } else {
      bad("\"method\" is not \"projector\" or \"pooled\"");
    }
    if (we.is_string() && we.get<std::string>() == "playlists") {
      m.weight = pca_weight::playlists;
    } else if (we.is_string() && we.get<std::string>() == "songs") {
      m.weight = pca_weight::songs;
    } else {
      bad("\"weight\" is not \"playlists\" or \"songs\"");
    }
  }
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
