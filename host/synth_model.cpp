// The learned synthetic-data model: SYNTH.json (write, read, validate), the playlist plans
// and the dispatch of the songs to the CPU threads or the CUDA engine (synth_model.hpp,
// docs/synth.md). Fitting is in synth_model_fit.cpp.

#include "playaug/synth_model.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cuda_impl.hpp"
#include "detail/expects.hpp"
#include "detail/json_object.hpp"
#include "detail/generated_csv.hpp"
#include "detail/parallel.hpp"
#include "io/float_format.hpp"
#include "io/input_file.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug {
namespace {

using synth_detail::dadd;
using synth_detail::ddiv;
using synth_detail::dmul;
using synth_detail::word_unit;

constexpr std::size_t kMaxMoods = 4096;
constexpr std::size_t kMaxMoodsPerSegment = 16;
constexpr std::size_t kMaxClusters = 4096;
constexpr std::size_t kMaxTypes = 4096;

const char* const kKeys[] = {"format",       "version",          "feature_names",     "fitted_playlists",
                             "fitted_songs", "marginals",        "clusters",          "cluster_means",
                             "cluster_cholesky", "types",        "type_weights",      "type_cluster_weights",
                             "playlist_cholesky", "moods",       "mood_shift",        "first_moods",
                             "transitions",  "moods_per_segment", "shapes"};

void append_num(std::string& out, double v) {
  if (!std::isfinite(v)) throw numeric_error("synth model: non-finite number");
  append_double(out, v);
}
void append_vec(std::string& out, const double* v, std::size_t n) {
  out += '[';
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    append_num(out, v[i]);
  }
  out += ']';
}
/// The synth model format version this build writes and reads.
constexpr int kVersion = 2;

void append_rows(std::string& out, const std::vector<double>& v, std::size_t rows, std::size_t cols,
                 const char* indent) {
  out += '[';
  for (std::size_t r = 0; r < rows; ++r) {
    out += r ? ",\n" : "\n";
    out += indent;
    append_vec(out, v.data() + r * cols, cols);
  }
  out += rows ? "]" : "]";
}

}  // namespace

std::string synth_model::to_json() const {
  const std::size_t d = dim();
  std::string o = "{\n  \"format\": \"playaug-synth\",\n  \"version\": " + std::to_string(kVersion) +
                  ",\n  \"feature_names\": [";
  for (std::size_t j = 0; j < d; ++j) {
    if (j) o += ", ";
    o += nlohmann::json(feature_names[j]).dump();
  }
  o += "],\n  \"fitted_playlists\": " + std::to_string(fitted_playlists);
  o += ",\n  \"fitted_songs\": " + std::to_string(fitted_songs);
  o += ",\n  \"marginals\": [";
  for (std::size_t j = 0; j < marginals.size(); ++j) {
    const synth_marginal& m = marginals[j];
    o += j ? ",\n    {" : "\n    {";
    o += std::string("\"kind\": \"") + (m.discrete ? "discrete" : "continuous") + "\"";
    o += ", \"significant\": " + std::to_string(m.significant) + ", \"decimals\": " + std::to_string(m.decimals);
    if (m.discrete) {
      o += ", \"parent\": ";
      o += m.parent < 0 ? std::string("null") : nlohmann::json(feature_names[static_cast<std::size_t>(m.parent)]).dump();
    }
    o += ",\n     \"values\": ";
    append_vec(o, m.values.data(), m.values.size());
    if (m.discrete && m.parent >= 0) {
      // One row per category of the parent.
      const std::size_t C = m.values.size();
      const std::size_t rows = m.probabilities.size() / C;
      o += ",\n     \"probabilities\": ";
      append_rows(o, m.probabilities, rows, C, "       ");
      o += ",\n     \"knots\": ";
      append_rows(o, m.knots, rows, C - 1, "       ");
    } else {
      if (m.discrete) {
        o += ",\n     \"probabilities\": ";
        append_vec(o, m.probabilities.data(), m.probabilities.size());
      }
      o += ",\n     \"knots\": ";
      append_vec(o, m.knots.data(), m.knots.size());
    }
    o += "}";
  }
  o += "\n  ],\n  \"clusters\": " + std::to_string(clusters);
  o += ",\n  \"cluster_means\": ";
  append_rows(o, cluster_means, clusters, d, "    ");
  o += ",\n  \"cluster_cholesky\": ";
  append_rows(o, cluster_cholesky, clusters * d, d, "    ");
  o += ",\n  \"types\": " + std::to_string(types);
  o += ",\n  \"type_weights\": ";
  append_vec(o, type_weights.data(), type_weights.size());
  o += ",\n  \"type_cluster_weights\": ";
  append_rows(o, type_cluster_weights, types, clusters, "    ");
  o += ",\n  \"playlist_cholesky\": ";
  append_rows(o, playlist_cholesky, d, d, "    ");
  o += ",\n  \"moods\": " + std::to_string(moods);
  o += ",\n  \"mood_shift\": ";
  append_rows(o, mood_shift, moods, d, "    ");
  o += ",\n  \"first_moods\": ";
  append_vec(o, first_moods.data(), first_moods.size());
  o += ",\n  \"transitions\": ";
  append_rows(o, transitions, moods, moods, "    ");
  o += ",\n  \"moods_per_segment\": ";
  append_vec(o, moods_per_segment.data(), moods_per_segment.size());
  o += ",\n  \"shapes\": [";
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    o += i ? ", [" : "[";
    o += std::to_string(shapes[i].segments) + ", " + std::to_string(shapes[i].songs) + ", ";
    append_num(o, shapes[i].weight);
    o += "]";
  }
  o += "]\n}\n";
  return o;
}

synth_model synth_model::from_json(const std::string& text, const std::string& source) {
  auto bad = [&](const std::string& why) -> void { throw data_error(source, 0, "invalid synth model: " + why); };
  nlohmann::json j = detail::parse_json_object(text, kKeys, {}, bad);
  if (!j["format"].is_string() || j["format"].get<std::string>() != "playaug-synth") {
    bad("\"format\" is not \"playaug-synth\"");
  }
  if (!j["version"].is_number_integer() || j["version"].get<long long>() != kVersion) {
    const std::string v = j["version"].dump();
    bad("unsupported \"version\" " + v + " (this playaug reads version " + std::to_string(kVersion) +
        (v == "1" ? "; a version 1 model is refitted with playaug fit-synth)" : ")"));
  }
  auto count = [&](const nlohmann::json& v, const std::string& what, std::uint64_t lo, std::uint64_t hi) {
    if (!v.is_number_integer() || v.get<long long>() < 0) bad(what + " is not a non-negative integer");
    const std::uint64_t n = v.get<std::uint64_t>();
    if (n < lo || n > hi) bad(what + " is " + std::to_string(n) + ", expected " + std::to_string(lo) + ".." + std::to_string(hi));
    return n;
  };
  auto numbers = [&](const nlohmann::json& a, std::size_t expected, const std::string& what) {
    if (!a.is_array()) bad(what + " is not an array");
    if (expected != ~std::size_t{0} && a.size() != expected) {
      bad(what + " has " + std::to_string(a.size()) + " entries, expected " + std::to_string(expected));
    }
    std::vector<double> out;
    out.reserve(a.size());
    for (const auto& v : a) {
      if (!v.is_number()) bad(what + " holds a non-number");
      out.push_back(v.get<double>());
      if (!std::isfinite(out.back())) bad(what + " holds a non-finite number");
    }
    return out;
  };
  auto matrix = [&](const nlohmann::json& a, std::size_t rows, std::size_t cols, const std::string& what) {
    if (!a.is_array() || a.size() != rows) bad(what + " is not an array of " + std::to_string(rows) + " rows");
    std::vector<double> out;
    out.reserve(rows * cols);
    for (std::size_t r = 0; r < rows; ++r) {
      const auto row = numbers(a[r], cols, what + " row " + std::to_string(r + 1));
      out.insert(out.end(), row.begin(), row.end());
    }
    return out;
  };
  auto weights = [&](const std::vector<double>& w, const std::string& what, bool sum_one) {
    double s = 0;
    for (double v : w) {
      if (!(v >= 0)) bad(what + " holds a negative weight");
      s += v;
    }
    if (!(s > 0)) bad(what + " has no positive weight");
    if (sum_one && std::fabs(s - 1.0) > 1e-6) bad(what + " does not sum to 1");
  };

  synth_model m;
  const auto& names = j["feature_names"];
  if (!names.is_array() || names.empty()) bad("\"feature_names\" is not a non-empty array");
  if (names.size() > synth_detail::max_dim) bad("\"feature_names\" has more than 64 features");
  for (const auto& n : names) {
    if (!n.is_string()) bad("\"feature_names\" holds a non-string");
    m.feature_names.push_back(n.get<std::string>());
  }
  const std::size_t d = m.feature_names.size();
  m.fitted_playlists = count(j["fitted_playlists"], "\"fitted_playlists\"", 0, UINT64_MAX);
  m.fitted_songs = count(j["fitted_songs"], "\"fitted_songs\"", 0, UINT64_MAX);

  const auto& margs = j["marginals"];
  if (!margs.is_array() || margs.size() != d) bad("\"marginals\" is not an array of one entry per feature");
  for (std::size_t f = 0; f < d; ++f) {
    const std::string what = "\"marginals\" entry " + std::to_string(f + 1) + " (" + m.feature_names[f] + ")";
    const auto& e = margs[f];
    if (!e.is_object()) bad(what + " is not an object");
    synth_marginal mg;
    if (!e.contains("kind") || !e["kind"].is_string()) bad(what + ": missing \"kind\"");
    const std::string kind = e["kind"].get<std::string>();
    if (kind != "discrete" && kind != "continuous") bad(what + ": \"kind\" is neither \"discrete\" nor \"continuous\"");
    mg.discrete = kind == "discrete";
    const std::set<std::string> allowed =
        mg.discrete ? std::set<std::string>{"kind", "significant", "decimals", "parent", "values", "probabilities", "knots"}
                    : std::set<std::string>{"kind", "significant", "decimals", "values", "knots"};
    for (const auto& item : e.items()) {
      if (allowed.count(item.key()) == 0) bad(what + ": unknown key \"" + item.key() + "\"");
    }
    for (const auto& k : allowed) {
      if (!e.contains(k)) bad(what + ": missing \"" + k + "\"");
    }
    if (!e["significant"].is_number_integer() || e["significant"].get<long long>() < 0 || e["significant"].get<long long>() > 17) {
      bad(what + ": \"significant\" is not an integer in 0..17");
    }
    if (!e["decimals"].is_number_integer() || e["decimals"].get<long long>() < -1 || e["decimals"].get<long long>() > 22) {
      bad(what + ": \"decimals\" is not an integer in -1..22");
    }
    mg.significant = static_cast<int>(e["significant"].get<long long>());
    mg.decimals = static_cast<int>(e["decimals"].get<long long>());
    mg.values = numbers(e["values"], ~std::size_t{0}, what + ": \"values\"");
    if (mg.values.empty() || (!mg.discrete && mg.values.size() < 2)) bad(what + ": \"values\" has too few entries");
    std::size_t rows = 1;  // rows of probabilities and knots: the parent's categories
    if (mg.discrete && !e["parent"].is_null()) {
      if (!e["parent"].is_string()) bad(what + ": \"parent\" is neither null nor a feature name");
      const std::string pn = e["parent"].get<std::string>();
      std::size_t pi = f;
      for (std::size_t q = 0; q < f; ++q)
        if (m.feature_names[q] == pn) pi = q;
      if (pi == f || !m.marginals[pi].discrete) bad(what + ": \"parent\" \"" + pn + "\" is not an earlier discrete feature");
      mg.parent = static_cast<int>(pi);
      rows = m.marginals[pi].values.size();
    }
    if (mg.parent >= 0) {
      mg.knots = matrix(e["knots"], rows, mg.values.size() - 1, what + ": \"knots\"");
    } else {
      mg.knots = numbers(e["knots"], mg.discrete ? mg.values.size() - 1 : mg.values.size(), what + ": \"knots\"");
    }
    for (std::size_t i = 1; i < mg.values.size(); ++i) {
      if (mg.discrete ? !(mg.values[i] > mg.values[i - 1]) : !(mg.values[i] >= mg.values[i - 1])) {
        bad(what + ": \"values\" is not " + (mg.discrete ? "increasing" : "non-decreasing") + " at entry " + std::to_string(i + 1));
      }
    }
    {
      const std::size_t w = mg.knots.size() / rows;
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t i = 1; i < w; ++i) {
          if (!(mg.knots[r * w + i] > mg.knots[r * w + i - 1])) {
            bad(what + ": \"knots\" " + (rows > 1 ? "row " + std::to_string(r + 1) + " " : std::string()) +
                "is not increasing at entry " + std::to_string(i + 1));
          }
        }
      }
    }
    if (mg.discrete) {
      const std::size_t C = mg.values.size();
      if (mg.parent >= 0) {
        mg.probabilities = matrix(e["probabilities"], rows, C, what + ": \"probabilities\"");
        for (std::size_t r = 0; r < rows; ++r) {
          weights(std::vector<double>(mg.probabilities.begin() + r * C, mg.probabilities.begin() + (r + 1) * C),
                  what + ": \"probabilities\" row " + std::to_string(r + 1), true);
        }
      } else {
        mg.probabilities = numbers(e["probabilities"], C, what + ": \"probabilities\"");
        weights(mg.probabilities, what + ": \"probabilities\"", true);
      }
    }
    m.marginals.push_back(std::move(mg));
  }

  m.clusters = count(j["clusters"], "\"clusters\"", 1, kMaxClusters);
  const std::size_t K = m.clusters;
  m.cluster_means = matrix(j["cluster_means"], K, d, "\"cluster_means\"");
  m.cluster_cholesky = matrix(j["cluster_cholesky"], K * d, d, "\"cluster_cholesky\"");
  auto check_chol = [&](const double* L, const std::string& what) {
    for (std::size_t r = 0; r < d; ++r) {
      for (std::size_t c = r + 1; c < d; ++c) {
        if (L[r * d + c] != 0.0) bad(what + " is not lower-triangular (row " + std::to_string(r + 1) + ")");
      }
      if (!(L[r * d + r] >= 0.0)) bad(what + " has a negative diagonal entry (row " + std::to_string(r + 1) + ")");
    }
  };
  for (std::size_t k = 0; k < K; ++k) check_chol(m.cluster_cholesky.data() + k * d * d, "\"cluster_cholesky\" block " + std::to_string(k + 1));
  m.types = count(j["types"], "\"types\"", 1, kMaxTypes);
  m.type_weights = numbers(j["type_weights"], m.types, "\"type_weights\"");
  weights(m.type_weights, "\"type_weights\"", true);
  m.type_cluster_weights = matrix(j["type_cluster_weights"], m.types, K, "\"type_cluster_weights\"");
  for (std::size_t t = 0; t < m.types; ++t) {
    weights(std::vector<double>(m.type_cluster_weights.begin() + t * K, m.type_cluster_weights.begin() + (t + 1) * K),
            "\"type_cluster_weights\" row " + std::to_string(t + 1), true);
  }
  m.playlist_cholesky = matrix(j["playlist_cholesky"], d, d, "\"playlist_cholesky\"");
  check_chol(m.playlist_cholesky.data(), "\"playlist_cholesky\"");

  m.moods = count(j["moods"], "\"moods\"", 0, kMaxMoods);
  const std::size_t M = m.moods;
  m.mood_shift = matrix(j["mood_shift"], M, d, "\"mood_shift\"");
  m.first_moods = numbers(j["first_moods"], M, "\"first_moods\"");
  if (M) weights(m.first_moods, "\"first_moods\"", true);
  m.transitions = matrix(j["transitions"], M, M, "\"transitions\"");
  for (std::size_t a = 0; a < M; ++a) {
    weights(std::vector<double>(m.transitions.begin() + a * M, m.transitions.begin() + (a + 1) * M),
            "\"transitions\" row " + std::to_string(a + 1), true);
  }
  m.moods_per_segment = numbers(j["moods_per_segment"], ~std::size_t{0}, "\"moods_per_segment\"");
  if (m.moods_per_segment.size() > kMaxMoodsPerSegment) bad("\"moods_per_segment\" has more than 16 entries");
  if (M) {
    if (m.moods_per_segment.empty()) bad("\"moods_per_segment\" is empty");
    weights(m.moods_per_segment, "\"moods_per_segment\"", true);
  }
  const auto& sh = j["shapes"];
  if (!sh.is_array() || sh.empty()) bad("\"shapes\" is not a non-empty array");
  for (std::size_t i = 0; i < sh.size(); ++i) {
    const std::string what = "\"shapes\" entry " + std::to_string(i + 1);
    if (!sh[i].is_array() || sh[i].size() != 3) bad(what + " is not [segments, songs, weight]");
    synth_shape s;
    s.segments = static_cast<std::uint32_t>(count(sh[i][0], what + " segments", 0, 1u << 20));
    s.songs = static_cast<std::uint32_t>(count(sh[i][1], what + " songs", 0, 1u << 20));
    if (!sh[i][2].is_number() || !(sh[i][2].get<double>() >= 0.0) || !std::isfinite(sh[i][2].get<double>())) {
      bad(what + " weight is not a non-negative number");
    }
    if (s.segments > 0 && M == 0) bad(what + " has segments but the model has no moods");
    s.weight = sh[i][2].get<double>();
    m.shapes.push_back(s);
  }
  {
    std::vector<double> w;
    for (const auto& s : m.shapes) w.push_back(s.weight);
    weights(w, "\"shapes\" weights", true);
  }
  return m;
}

synth_model synth_model::load(const std::string& path) {
  const std::string text = io_detail::read_file_text(path, "synth model", ~std::size_t{0});
  try {
    return from_json(text, path);
  } catch (const nlohmann::json::exception& e) {
    throw data_error(path, 0, std::string("invalid synth model: ") + e.what());
  }
}

void synth_model::save(const std::string& path) const {
  const std::string text = to_json();
  atomic_file f(path);
  f.write(text);
  f.commit();
}

namespace synth_detail {

table_storage make_tables(const synth_model& m) {
  table_storage t;
  const std::size_t d = m.dim();
  t.d = static_cast<std::uint32_t>(d);
  t.clusters = static_cast<std::uint32_t>(m.clusters);
  t.types = static_cast<std::uint32_t>(m.types);
  t.means = m.cluster_means;
  t.chol = m.cluster_cholesky;
  t.type_cum.resize(m.types * m.clusters);
  for (std::size_t ty = 0; ty < m.types; ++ty) {
    double acc = 0;
    for (std::size_t k = 0; k < m.clusters; ++k) {
      acc = dadd(acc, m.type_cluster_weights[ty * m.clusters + k]);
      t.type_cum[ty * m.clusters + k] = acc;
    }
  }
  t.knot_begin.push_back(0);
  t.value_begin.push_back(0);
  for (const auto& mg : m.marginals) {
    t.knots.insert(t.knots.end(), mg.knots.begin(), mg.knots.end());
    t.values.insert(t.values.end(), mg.values.begin(), mg.values.end());
    t.knot_begin.push_back(static_cast<std::uint32_t>(t.knots.size()));
    t.value_begin.push_back(static_cast<std::uint32_t>(t.values.size()));
    t.feature_info.push_back(mg.discrete ? 1 : 0);
    t.feature_info.push_back(mg.significant);
    t.feature_info.push_back(mg.decimals);
    t.feature_info.push_back(mg.discrete ? mg.parent : -1);
  }
  if (t.knots.empty()) t.knots.push_back(0.0);  // a non-null pointer for all-binary models
  return t;
}

}  // namespace synth_detail

namespace {

/// Cumulative sums (each addition rounded on its own).
std::vector<double> cumulative(const std::vector<double>& w) {
  std::vector<double> c(w.size());
  double acc = 0;
  for (std::size_t i = 0; i < w.size(); ++i) c[i] = acc = dadd(acc, w[i]);
  return c;
}

/// What a playlist's words decide.
struct plan {
  std::uint32_t songs = 0;
  std::uint32_t type = 0;
  std::vector<std::int32_t> moods;
  std::vector<std::uint64_t> mood_ends;  // per segment
  std::vector<double> shifts;            // max(segments, 1) rows of d
};

struct sampler {
  const synth_model& m;
  std::vector<double> shape_cum, type_cum, mps_cum;

  explicit sampler(const synth_model& model) : m(model) {
    std::vector<double> w;
    for (const auto& s : m.shapes) w.push_back(s.weight);
    shape_cum = cumulative(w);
    type_cum = cumulative(m.type_weights);
    mps_cum = cumulative(m.moods_per_segment);
  }

  /// Normalised pick: the first i with cum[i] >= u * total.
  static std::uint32_t pick_scaled(const std::vector<double>& cum, double u) {
    return synth_detail::pick(cum.data(), static_cast<std::uint32_t>(cum.size()), dmul(u, cum.back()));
  }

  /// Playlist `index`: its shape within its stratum (synth_shape_stratum), the rest from its
  /// own words.
  plan make(std::uint64_t seed, std::uint32_t index) const {
    const std::size_t d = m.dim();
    const std::size_t M = m.moods;
    const std::uint64_t sub = stream_subsequence(purpose::synth_model, 0, index);
    auto word = [&](std::uint64_t off) { return philox_word(seed, sub, off); };
    plan p;
    const double u = ddiv(dadd(static_cast<double>(synth_shape_stratum(seed, index)), word_unit(word(0))),
                          static_cast<double>(synth_shape_block));
    const synth_shape& shape = m.shapes[pick_scaled(shape_cum, u)];
    p.songs = shape.songs;
    p.type = pick_scaled(type_cum, word_unit(word(1)));
    double b[synth_detail::max_dim], e[synth_detail::max_dim];
    for (std::size_t j = 0; j < d; ++j) e[j] = synth_detail::sm_normal(word_unit(word(2 + j)));
    for (std::size_t j = 0; j < d; ++j) {
      double z = 0;
      for (std::size_t i = 0; i <= j; ++i) z = dadd(z, dmul(m.playlist_cholesky[j * d + i], e[i]));
      b[j] = z;
    }
    const std::uint64_t mood_base = (d + 2 + 3) / 4 * 4;
    const std::uint32_t S = M == 0 ? 0 : shape.segments;
    std::vector<double> q(M), prev_q;
    std::vector<char> taken(M);
    p.shifts.assign(static_cast<std::size_t>(std::max<std::uint32_t>(S, 1)) * d, 0.0);
    for (std::uint32_t s = 0; s < S; ++s) {
      const std::uint64_t w0 = mood_base + 17 * static_cast<std::uint64_t>(s);
      std::size_t k = 1 + pick_scaled(mps_cum, word_unit(word(w0)));
      k = std::min(k, M);
      // The next segment's moods follow the mean transition row of this one's.
      if (s == 0) {
        q = m.first_moods;
      } else {
        std::fill(q.begin(), q.end(), 0.0);
        const std::uint64_t lo = p.mood_ends.size() >= 2 ? p.mood_ends[p.mood_ends.size() - 2] : 0;
        for (std::uint64_t i = lo; i < p.mood_ends.back(); ++i) {
          const double* row = m.transitions.data() + static_cast<std::size_t>(p.moods[i]) * M;
          for (std::size_t c = 0; c < M; ++c) q[c] = dadd(q[c], row[c]);
        }
      }
      std::fill(taken.begin(), taken.end(), 0);
      double* shift = p.shifts.data() + static_cast<std::size_t>(s) * d;
      for (std::size_t i = 0; i < k; ++i) {
        double total = 0;
        for (std::size_t c = 0; c < M; ++c) if (!taken[c]) total = dadd(total, q[c]);
        const double target = dmul(word_unit(word(w0 + 1 + i)), total);
        std::size_t pickc = M;
        double acc = 0;
        for (std::size_t c = 0; c < M; ++c) {
          if (taken[c]) continue;
          if (pickc == M) pickc = c;  // the first free mood, when no weight is left
          acc = dadd(acc, q[c]);
          if (total > 0 && acc >= target) {
            pickc = c;
            break;
          }
        }
        taken[pickc] = 1;
        p.moods.push_back(static_cast<std::int32_t>(pickc));
        const double* ms = m.mood_shift.data() + pickc * d;
        for (std::size_t j = 0; j < d; ++j) shift[j] = dadd(shift[j], ms[j]);
      }
      p.mood_ends.push_back(p.moods.size());
      for (std::size_t j = 0; j < d; ++j) shift[j] = ddiv(shift[j], static_cast<double>(k));
    }
    for (std::size_t r = 0; r < p.shifts.size() / std::max<std::size_t>(d, 1); ++r) {
      for (std::size_t j = 0; j < d; ++j) p.shifts[r * d + j] = dadd(p.shifts[r * d + j], b[j]);
    }
    return p;
  }
};

constexpr std::uint64_t kPlaylistsPerTask = 1024;

/// Spotify's schema (feature kinds) when the model's names are Spotify's, else continuous.
feature_schema schema_of(const std::vector<std::string>& names) {
  const feature_schema sp = feature_schema::spotify();
  if (sp.names() == names) return sp;
  std::vector<feature_spec> specs;
  for (const auto& n : names) specs.push_back(feature_spec{n});
  return feature_schema(std::move(specs));
}

}  // namespace

namespace synth_detail {

/// The CPU engine: every song of the chunk, in parallel over playlists.
void songs_cpu(int threads, const tables& t, const chunk_plan& c) {
  const std::size_t tasks = static_cast<std::size_t>((c.playlists + kPlaylistsPerTask - 1) / kPlaylistsPerTask);
  detail::parallel_for(threads, tasks, [&](std::size_t task) {
    const std::uint64_t lo = task * kPlaylistsPerTask;
    const std::uint64_t hi = std::min<std::uint64_t>(c.playlists, lo + kPlaylistsPerTask);
    for (std::uint64_t p = lo; p < hi; ++p) {
      const std::uint64_t n = c.song_offsets[p + 1] - c.song_offsets[p];
      const std::uint64_t rows = c.shift_offsets[p + 1] - c.shift_offsets[p];
      for (std::uint64_t s = 0; s < n; ++s) {
        const std::uint64_t seg = s * rows / n;
        sample_song(t, c.seed, static_cast<std::uint32_t>(c.first_playlist + p), static_cast<std::uint32_t>(s),
                    c.types[p], c.shifts + (c.shift_offsets[p] + seg) * t.d,
                    c.out + (c.song_offsets[p] + s) * t.d);
      }
    }
  });
}

}  // namespace synth_detail

std::uint32_t synth_shape_stratum(std::uint64_t seed, std::uint64_t i) {
  static_assert(synth_shape_block == 256, "the network works on two 4-bit halves");
  const std::uint64_t sub = stream_subsequence(purpose::synth_model, 2, static_cast<std::uint32_t>(i / synth_shape_block));
  std::uint32_t l = static_cast<std::uint32_t>(i >> 4) & 15u, r = static_cast<std::uint32_t>(i) & 15u;
  for (std::uint32_t k = 0; k < 4; ++k) {
    const std::uint32_t t = l ^ (philox_word(seed, sub, 16 * k + r) & 15u);
    l = r;
    r = t;
  }
  return (l << 4) | r;
}

dataset synthesize(const resources& res, const synth_model& model, const synth_model_params& params,
                   std::uint64_t first, std::uint64_t count) {
  detail::expects(params.playlists <= (std::uint64_t{1} << 32), "synthesize", "at most 4294967296 playlists, got ",
                  params.playlists);
  const synth_detail::table_storage store = synth_detail::make_tables(model);
  const synth_detail::tables tab = store.view();
  const std::size_t d = model.dim();
  dataset ds;
  ds.dim = d;
  ds.schema = schema_of(model.feature_names);
  if (first >= params.playlists) return ds;
  count = std::min(count, params.playlists - first);
  const std::size_t n = static_cast<std::size_t>(count);
  const sampler smp(model);
  std::vector<plan> plans(n);
  ds.ids.resize(n);
  const std::size_t tasks = (n + kPlaylistsPerTask - 1) / kPlaylistsPerTask;
  detail::parallel_for(res.threads(), tasks, [&](std::size_t t) {
    const std::size_t lo = t * kPlaylistsPerTask, hi = std::min<std::size_t>(n, lo + kPlaylistsPerTask);
    for (std::size_t i = lo; i < hi; ++i) {
      plans[i] = smp.make(params.seed, static_cast<std::uint32_t>(first + i));
      ds.ids[i] = synth_playlist_id(first + i);
    }
  });
  ds.null_features.resize(n);
  ds.song_offsets.assign(n + 1, 0);
  ds.segment_offsets.assign(n + 1, 0);
  std::vector<std::uint64_t> shift_offsets(n + 1, 0);
  std::vector<std::uint32_t> types(n);
  for (std::size_t i = 0; i < n; ++i) {
    const plan& p = plans[i];
    ds.null_features[i] = p.songs == 0 ? 1 : 0;
    ds.song_offsets[i + 1] = ds.song_offsets[i] + p.songs;
    std::uint64_t lo = 0;
    for (std::uint64_t end : p.mood_ends) {
      for (std::uint64_t k = lo; k < end; ++k) ds.moods.push_back(p.moods[k]);
      ds.mood_offsets.push_back(ds.moods.size());
      lo = end;
    }
    ds.segment_offsets[i + 1] = ds.segment_offsets[i] + p.mood_ends.size();
    shift_offsets[i + 1] = shift_offsets[i] + p.shifts.size() / d;
    types[i] = p.type;
  }
  std::vector<double> shifts;
  shifts.reserve(shift_offsets[n] * d);
  for (const plan& p : plans) shifts.insert(shifts.end(), p.shifts.begin(), p.shifts.end());
  plans.clear();
  ds.features.resize(static_cast<std::size_t>(ds.song_offsets[n]) * d);
  synth_detail::chunk_plan c;
  c.seed = params.seed;
  c.first_playlist = first;
  c.playlists = n;
  c.song_offsets = ds.song_offsets.data();
  c.types = types.data();
  c.shift_offsets = shift_offsets.data();
  c.shifts = shifts.data();
  c.out = ds.features.data();
  if (res.is_cuda()) {
    cuda_impl::synth_model_songs(res, tab, c);
  } else {
    synth_detail::songs_cpu(res.threads(), tab, c);
  }
  return ds;
}

synth_stats write_model_synthetic_csv(const resources& res, const synth_model& model,
                                      const synth_model_params& params, const std::string& path) {
  detail::expects(params.playlists <= (std::uint64_t{1} << 32), "synthesize", "at most 4294967296 playlists, got ",
                  params.playlists);
  double mean_songs = 0;
  for (const auto& s : model.shapes) mean_songs += s.weight * s.songs;
  const std::uint64_t chunk =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>((1 << 18) / std::max(1.0, mean_songs)));
  const int threads = res.threads();
  return detail::write_generated_csv(path, threads, params.playlists, chunk,
                                     [&res, &model, &params](std::uint64_t first, std::uint64_t count) {
                                       return synthesize(res, model, params, first, count);
                                     });
}

}  // namespace playaug
