// The PCA aggregate: the dispatch point of aggregate_playlists, the streaming aggregator
// and its fit (one symmetric eigendecomposition of the averaged matrix), and principal
// angles between two models' subspaces.

#include "playaug/pca_aggregate.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cpu_impl.hpp"
#include "cuda_impl.hpp"
#include "detail/expects.hpp"
#include "detail/variance_rule.hpp"
#include "playaug/error.hpp"

namespace playaug {

using detail::expect_data;
using detail::expect_host_memory;
using detail::expect_shape;
using detail::expects;

namespace {

void check_options(const char* op, const pca_aggregate_options& o) {
  expects(o.method == pca_method::projector || o.method == pca_method::pooled, op,
          "the method must be projector or pooled, got ", to_string(o.method));
  expects(o.weight == pca_weight::playlists || o.weight == pca_weight::songs, op,
          "the weight must be playlists or songs");
  expects(!(o.components && o.variance), op, "give either a number of components or a variance, not both");
  expects(!o.components || *o.components >= 1, op, "components must be at least 1, got ",
          o.components.value_or(0));
  expects(!o.variance || (*o.variance > 0.0 && *o.variance < 1.0), op, "variance must be in (0, 1), got ",
          o.variance.value_or(0.0));
  expects(o.method != pca_method::projector || o.components || o.variance, op,
          "the projector average needs a rank: a number of components or a variance");
}

}  // namespace

pca_aggregate_sum& pca_aggregate_sum::merge(const pca_aggregate_sum& o) {
  // A side of dimension 0 has seen only songless playlists: it adds its counts alone.
  if (o.dim != 0) {
    expects(o.sum.size() == o.dim * o.dim, "pca_aggregate_sum::merge", "a sum is not d x d");
    if (dim == 0) {
      dim = o.dim;
      sum = o.sum;
    } else {
      expect_shape("pca_aggregate_sum::merge", {"this", dim, "features"}, {"the other", o.dim, "features"});
      expects(sum.size() == dim * dim, "pca_aggregate_sum::merge", "a sum is not d x d");
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += o.sum[i];
    }
  }
  weight += o.weight;
  rank_weight += o.rank_weight;
  playlists += o.playlists;
  aggregated += o.aggregated;
  songs += o.songs;
  empty += o.empty;
  too_few_songs += o.too_few_songs;
  low_rank += o.low_rank;
  return *this;
}

pca_aggregate_sum aggregate_playlists(const resources& res, matrix_view<const float> x,
                                      vector_view<const std::uint64_t> offsets,
                                      const pca_aggregate_options& opts) {
  const char* op = "aggregate_playlists";
  check_options(op, opts);
  expect_data(op, "x", x);
  expects(offsets.size != 0 && offsets.data != nullptr, op, "offsets needs playlists + 1 entries, got none");
  expect_host_memory(res, op, "x", x);
  expect_host_memory(res, op, "offsets", offsets);
  expects(!opts.components || *opts.components <= x.cols, op, "components must be at most the number of features, ",
          x.cols, ", got ", opts.components.value_or(0));
  if (offsets.space == memory_space::host) {
    for (std::size_t p = 0; p + 1 < offsets.size; ++p) {
      expects(offsets[p + 1] >= offsets[p], op, "offsets decrease at playlist ", p);
    }
    expects(offsets[offsets.size - 1] <= x.rows, op, "offsets end at row ", offsets[offsets.size - 1], " but x has ",
            x.rows, " rows");
  }
  const std::size_t playlists = offsets.size - 1;
  if (x.cols == 0) {  // no features: only songless playlists make sense
    expects(x.rows == 0, op, "x has ", x.rows, " rows but no columns");
    pca_aggregate_sum none;
    none.playlists = none.empty = playlists;
    return none;
  }
  check_pca_memory(x.cols, playlists);
  pca_aggregate_sum out = res.is_cuda() ? cuda_impl::aggregate_playlists(res, x, offsets, opts)
                                        : cpu_impl::aggregate_playlists(res, x, offsets, opts);
  const std::size_t d = x.cols;
  if (out.dim != d || out.sum.size() != d * d || out.playlists != playlists ||
      out.aggregated + out.empty + out.too_few_songs + out.low_rank != playlists) {
    throw error("aggregate_playlists: the engine returned inconsistent sizes");
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The aggregator
// ---------------------------------------------------------------------------------------

pca_aggregator::pca_aggregator(const pca_aggregate_options& opts) : opts_(opts) {
  check_options("pca_aggregator", opts);
}

void pca_aggregator::add(const resources& res, matrix_view<const float> x, vector_view<const std::uint64_t> offsets) {
  const char* op = "pca_aggregator::add";
  expect_data(op, "x", x);
  if (offsets.space == memory_space::host && offsets.size != 0 && offsets.data != nullptr) {
    expects(offsets[0] == 0 && offsets[offsets.size - 1] == x.rows, op,
            "offsets must run from 0 to the rows of x (", x.rows, "), got ", offsets[0], " .. ",
            offsets[offsets.size - 1]);
  }
  if (x.cols == 0) {  // a chunk of songless playlists, read before (or after) any song
    sum_.merge(aggregate_playlists(res, x, offsets, opts_));
    return;
  }
  if (sum_.dim != 0 || songs_.dim() != 0) {
    expect_shape(op, {"x", x.cols, "columns"}, {"the playlists added before", std::max(sum_.dim, songs_.dim()),
                                                 "features"});
  }
  pca_aggregate_sum part = aggregate_playlists(res, x, offsets, opts_);
  moments m = x.rows != 0 ? compute_moments(res, x) : moments(x.cols);
  sum_.merge(part);
  songs_.merge(m);
}

pca_aggregator& pca_aggregator::merge(const pca_aggregator& other) {
  expects(other.opts_.method == opts_.method && other.opts_.weight == opts_.weight &&
              other.opts_.components == opts_.components && other.opts_.variance == opts_.variance,
          "pca_aggregator::merge", "the aggregators have different options");
  sum_.merge(other.sum_);
  songs_.merge(other.songs_);
  return *this;
}

pca_model pca_aggregator::fit(const resources& res, const std::vector<std::string>& feature_names) const {
  const char* op = "pca_aggregator::fit";
  const std::size_t d = sum_.dim;
  if (sum_.aggregated == 0 || !(sum_.weight > 0.0) || d == 0) {
    throw numeric_error("pca_aggregator::fit: no playlist to aggregate (" + std::to_string(sum_.playlists) +
                        " playlists: " + std::to_string(sum_.empty) + " empty, " +
                        std::to_string(sum_.too_few_songs) + " with too few songs, " +
                        std::to_string(sum_.low_rank) + " of too low a rank)");
  }
  expects(feature_names.empty() || feature_names.size() == d, op, feature_names.size(), " feature names for ", d,
          " features");
  expects(!opts_.components || *opts_.components <= d, op, "components must be at most the number of features, ",
          d, ", got ", opts_.components.value_or(0));
  const bool projector = opts_.method == pca_method::projector;

  std::vector<double> a(d * d);
  for (std::size_t i = 0; i < d * d; ++i) a[i] = sum_.sum[i] / sum_.weight;
  eigen_result e = symmetric_eig(res, a, d);
  for (double& v : e.values) {
    v = std::max(v, 0.0);
    if (projector) v = std::min(v, 1.0);  // the eigenvalues of a mean of projectors
  }

  pca_model model;
  model.method = opts_.method;
  model.weight = opts_.weight;
  model.n_samples = songs_.n;
  model.mean = songs_.mean;
  model.scale.assign(d, 1.0);
  if (feature_names.empty()) {
    for (std::size_t j = 0; j < d; ++j) model.feature_names.push_back("f" + std::to_string(j));
  } else {
    model.feature_names = feature_names;
  }

  std::size_t k = d;
  if (opts_.components) {
    k = *opts_.components;
  } else if (opts_.variance && projector) {
    const double mean_rank = sum_.rank_weight / sum_.weight;
    k = static_cast<std::size_t>(std::clamp(std::floor(mean_rank + 0.5), 1.0, static_cast<double>(d)));
  } else if (opts_.variance) {
    k = static_cast<std::size_t>(detail::components_for_variance(e.values.data(), 1, static_cast<int>(d),
                                                                 *opts_.variance));
  }

  // The share of the songs' variance along each component: v^T S v / trace(S).
  model.explained_variance_ratio.assign(d, 0.0);
  if (songs_.n >= 2) {
    const std::vector<double> s = songs_.covariance();
    double trace = 0.0;
    for (std::size_t j = 0; j < d; ++j) trace += s[j * d + j];
    if (trace > 0.0) {
      for (std::size_t c = 0; c < d; ++c) {
        const double* v = e.vectors.data() + c * d;
        double q = 0.0;
        for (std::size_t i = 0; i < d; ++i) {
          double row = 0.0;
          for (std::size_t j = 0; j < d; ++j) row += s[i * d + j] * v[j];
          q += v[i] * row;
        }
        model.explained_variance_ratio[c] = std::clamp(q / trace, 0.0, 1.0);
      }
    }
  }
  model.eigenvalues = std::move(e.values);
  model.n_components = k;
  model.components.assign(e.vectors.begin(), e.vectors.begin() + static_cast<std::ptrdiff_t>(k * d));
  return model;
}

pca_model fit_pca_aggregate(const resources& res, matrix_view<const float> x,
                            vector_view<const std::uint64_t> offsets, const pca_aggregate_options& opts,
                            const std::vector<std::string>& feature_names) {
  if (!feature_names.empty()) {
    expect_shape("fit_pca_aggregate", {"feature_names", feature_names.size(), "entries"}, {"x", x.cols, "columns"});
  }
  pca_aggregator agg(opts);
  agg.add(res, x, offsets);
  return agg.fit(res, feature_names);
}

// ---------------------------------------------------------------------------------------
// Principal angles
// ---------------------------------------------------------------------------------------

std::vector<double> principal_angles(const pca_model& a, const pca_model& b) {
  const char* op = "principal_angles";
  const std::size_t d = a.dim();
  expect_shape(op, {"the first model", d, "features"}, {"the second", b.dim(), "features"});
  expects(a.components.size() == a.n_components * d && b.components.size() == b.n_components * d, op,
          "a model's components are not k x d");
  // A: the model with fewer components (ka <= kb), rows orthonormal.
  const bool swap = a.n_components > b.n_components;
  const pca_model& small = swap ? b : a;
  const pca_model& large = swap ? a : b;
  const std::size_t ka = small.n_components, kb = large.n_components;
  if (ka == 0) return {};
  const double* A = small.components.data();
  const double* B = large.components.data();
  // M = A B^T [ka x kb]; R = A - M B [ka x d].
  std::vector<double> m(ka * kb, 0.0), r(ka * d, 0.0);
  for (std::size_t i = 0; i < ka; ++i) {
    for (std::size_t j = 0; j < kb; ++j) {
      double s = 0.0;
      for (std::size_t t = 0; t < d; ++t) s += A[i * d + t] * B[j * d + t];
      m[i * kb + j] = s;
    }
    for (std::size_t t = 0; t < d; ++t) {
      double s = A[i * d + t];
      for (std::size_t j = 0; j < kb; ++j) s -= m[i * kb + j] * B[j * d + t];
      r[i * d + t] = s;
    }
  }
  // Squared cosines: the eigenvalues of M M^T; squared sines: those of R R^T.
  std::vector<double> mm(ka * ka, 0.0), rr(ka * ka, 0.0);
  for (std::size_t i = 0; i < ka; ++i) {
    for (std::size_t j = 0; j < ka; ++j) {
      double s = 0.0;
      for (std::size_t t = 0; t < kb; ++t) s += m[i * kb + t] * m[j * kb + t];
      mm[i * ka + j] = s;
      double q = 0.0;
      for (std::size_t t = 0; t < d; ++t) q += r[i * d + t] * r[j * d + t];
      rr[i * ka + j] = q;
    }
  }
  const resources cpu(backend::cpu, 1);
  const eigen_result cos2 = symmetric_eig(cpu, mm, ka);  // descending
  const eigen_result sin2 = symmetric_eig(cpu, rr, ka);  // descending: the smallest last
  std::vector<double> angles(ka);
  for (std::size_t i = 0; i < ka; ++i) {
    const double c = std::sqrt(std::max(cos2.values[i], 0.0));
    const double s = std::sqrt(std::max(sin2.values[ka - 1 - i], 0.0));
    angles[i] = std::atan2(s, c);
  }
  return angles;
}

}  // namespace playaug
