// playaug fit-pca: fit a PCA model to one or more playlist CSV files, streamed chunk by
// chunk (moments per chunk, merged), or PCA of every playlist on its own, or one model
// aggregated from the per-playlist fits (--per-playlist --aggregate projector|pooled).

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/pca_aggregate.hpp"

namespace playaug::cli {

namespace {

struct fit_pca_args {
  std::vector<std::string> files;
  std::string output;
  std::size_t components = 0;  // 0: not given
  double variance = 0.0;
  bool has_variance = false;
  bool standardize = false;
  bool per_playlist = false;
  std::string aggregate;  // empty: no aggregate
  std::string weight = "playlists";
  std::size_t chunk_songs = std::size_t{1} << 16;
  compute_options compute;
};

/// Checks that every file has the dimension of the first song seen.
class dim_guard {
 public:
  /// The dimension of `chunk` (0 while no song was seen) against the first file's.
  void check(const dataset& chunk, const std::string& file) {
    if (chunk.dim == 0) return;
    if (dim_ == 0) {
      dim_ = chunk.dim;
      first_ = file;
      return;
    }
    if (chunk.dim != dim_) {
      throw data_error(file, 0,
                       "songs have " + std::to_string(chunk.dim) + " features, but those of " +
                           first_ + " have " + std::to_string(dim_) +
                           " (all inputs must have the same features)");
    }
  }
  std::size_t dim() const noexcept { return dim_; }

 private:
  std::size_t dim_ = 0;
  std::string first_;
};

/// Reads every file of `a` in order, chunk by chunk, checks each chunk's width against the
/// first file's, and calls fn(chunk, file, d) with the input's dimension so far (0 while no
/// song was seen). Returns that dimension at the end.
template <typename Fn>
std::size_t for_each_chunk(const fit_pca_args& a, Fn&& fn) {
  dim_guard guard;
  dataset chunk;
  for (const auto& file : a.files) {
    const auto reader = open_dataset_reader(file, reader_options_from_cli());
    while (reader->next(chunk, a.chunk_songs)) {
      guard.check(chunk, file);
      fn(chunk, file, guard.dim());
    }
  }
  return guard.dim();
}

[[noreturn]] void no_songs(const fit_pca_args& a) {
  throw data_error(a.files.size() == 1 ? a.files.front() : a.files.front() + " ...", 0,
                   "no songs to fit (every playlist is empty or [null])");
}

std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.2f%%", 100.0 * ratio);
  return buf;
}

/// The rows of a scree table: per component its eigenvalue, ratio, cumulative ratio and a
/// bar proportional to its ratio; `*` marks the kept components.
void print_rows(std::FILE* out, const pca_model& m) {
  constexpr int bar_width = 40;
  double cumulative = 0.0;
  for (std::size_t i = 0; i < m.dim(); ++i) {
    const double r = m.explained_variance_ratio[i];
    cumulative += r;
    const int bar = static_cast<int>(std::lround(r * bar_width));
    const std::string bars(static_cast<std::size_t>(bar), '#');
    std::fprintf(out, "%c %3zu  %12.6g  %s   %s  %s\n", i < m.n_components ? '*' : ' ', i + 1, m.eigenvalues[i],
                 percent(r).c_str(), percent(cumulative).c_str(), bars.c_str());
  }
}

/// The scree table: one line per component with a bar proportional to its ratio, on `out`
/// (standard output, or standard error when the model itself goes to standard output).
void print_table(std::FILE* out, const pca_model& m, bool standardized) {
  const std::size_t d = m.dim();
  const std::size_t k = m.n_components;
  double kept = 0.0;
  for (std::size_t i = 0; i < k; ++i) kept += m.explained_variance_ratio[i];
  std::fprintf(
      out,
      "PCA of %llu songs x %zu features (%s matrix): keeping %zu of %zu components, "
      "%.2f%% of the variance\n",
      static_cast<unsigned long long>(m.n_samples), d, standardized ? "correlation" : "covariance",
      k, d, 100.0 * kept);
  std::fprintf(out, "  PC    eigenvalue    ratio  cumulative\n");
  print_rows(out, m);
  std::fflush(out);
}

void fit_whole(const fit_pca_args& a) {
  if (a.has_variance && !(a.variance > 0.0 && a.variance < 1.0)) {  // number_in has said so already
    throw usage_error("--variance must be a number in (0, 1), got '" + show_number(a.variance) + "'");
  }
  resources res = make_resources(a.compute);
  moments total;
  const std::size_t dim = for_each_chunk(a, [&](const dataset& chunk, const std::string& file, std::size_t) {
    if (chunk.songs() == 0) return;
    check_pca_memory(chunk.dim, 0, file);  // before the d x d sums are allocated
    total.merge(compute_moments(res, chunk.feature_matrix()));
  });
  if (dim == 0) no_songs(a);
  if (total.n < 2) {
    throw data_error(a.files.front(), 0,
                     "a PCA needs at least 2 songs, the input has " + std::to_string(total.n));
  }
  pca_options opts;
  if (a.components != 0) opts.components = a.components;
  if (a.has_variance) opts.variance = a.variance;
  opts.standardize = a.standardize;
  if (a.components > dim) {
    throw usage_error("--components must be at most the number of features, " + std::to_string(dim) +
                      ", got '" + std::to_string(a.components) + "'");
  }
  const auto names = feature_schema::for_dim(dim).names();
  const pca_model model = fit_pca(res, total, opts, names);
  for (const std::size_t j : model.constant_features) {
    note("warning: feature '" + names[j] + "' is constant; --standardize keeps its scale at 1");
  }
  model.save(a.output);
  // The model is the result: when it goes to standard output, the table is a note.
  if (!a.compute.quiet) print_table(a.output == "-" ? stderr : stdout, model, a.standardize);
}

void append_numbers(std::string& out, const double* v, std::size_t n) {
  out += '[';
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += ", ";
    append_double(out, v[i]);
  }
  out += ']';
}

/// One entry of the per-playlist output.
void append_playlist(std::string& out, bool& first, const std::string& id, std::uint64_t n,
                     const double* mean, const double* values, const double* vectors,
                     std::size_t d) {
  out += first ? "\n  " : ",\n  ";
  first = false;
  out += "{\"id\": " + nlohmann::json(id).dump() + ", \"n\": " + std::to_string(n) + ", \"mean\": ";
  append_numbers(out, mean, d);
  out += ", \"eigenvalues\": ";
  append_numbers(out, values, d);
  out += ", \"components\": [";
  for (std::size_t i = 0; i < d; ++i) {
    if (i != 0) out += ", ";
    append_numbers(out, vectors + i * d, d);
  }
  out += "]}";
}

void fit_per_playlist(const fit_pca_args& a) {
  resources res = make_resources(a.compute);
  atomic_file file(a.output);
  std::string out;
  bool first = true;
  bool started = false;  // the header is written (once the dimension is known)
  std::vector<std::string> pending;  // songless playlists met before the dimension is known
  std::size_t playlists = 0;
  auto header = [&](std::size_t d) {
    out += "{\"format\": \"playaug-pca-per-playlist\", \"version\": 1, \"feature_names\": ";
    out += nlohmann::json(feature_schema::for_dim(d).names()).dump();
    out += ", \"playlists\": [";
    const std::vector<double> zeros(d, 0.0);
    std::vector<double> identity(d * d, 0.0);
    for (std::size_t j = 0; j < d; ++j) identity[j * d + j] = 1.0;
    for (const auto& id : pending) {
      append_playlist(out, first, id, 0, zeros.data(), zeros.data(), identity.data(), d);
    }
    pending.clear();
    started = true;
  };
  const std::size_t dim = for_each_chunk(a, [&](const dataset& chunk, const std::string& name, std::size_t d) {
    playlists += chunk.playlists();
    if (d == 0) {
      pending.insert(pending.end(), chunk.ids.begin(), chunk.ids.end());
      return;
    }
    check_pca_memory(d, chunk.playlists(), name);  // before any d x d matrix is allocated
    if (!started) header(d);
    const batched_pca b = fit_pca_per_playlist(
        res, chunk.feature_matrix(),
        vector_view<const std::uint64_t>(chunk.song_offsets.data(), chunk.song_offsets.size()));
    for (std::size_t p = 0; p < chunk.playlists(); ++p) {
      append_playlist(out, first, chunk.ids[p], b.n[p], b.mean.data() + p * d,
                      b.eigenvalues.data() + p * d, b.components.data() + p * d * d, d);
    }
    file.write(out);
    out.clear();
  });
  if (dim == 0) no_songs(a);
  out += "\n]}\n";
  file.write(out);
  file.commit();
  if (!a.compute.quiet) {
    note("per-playlist PCA of " + std::to_string(playlists) + " playlists written to " + a.output);
  }
}

/// The aggregate's table: what was aggregated and skipped, the scree of the averaged
/// matrix (eigenvalue: agreement for projector, within-playlist variance for pooled; ratio:
/// the share of the songs' variance), and the principal angles to the global model's
/// subspace of the same dimension.
void print_aggregate_table(std::FILE* out, const pca_model& m, const pca_aggregate_sum& sum,
                           const std::vector<double>& angles) {
  const std::size_t d = m.dim();
  const std::size_t k = m.n_components;
  const bool projector = m.method == pca_method::projector;
  double kept = 0.0;
  for (std::size_t i = 0; i < k; ++i) kept += m.explained_variance_ratio[i];
  std::fprintf(out,
               "PCA aggregate (%s average, weight: %s) of %llu playlists x %zu features: keeping %zu of %zu "
               "components, %.2f%% of the songs' variance\n",
               projector ? "projector" : "pooled covariance", to_string(m.weight),
               static_cast<unsigned long long>(sum.aggregated), d, k, d, 100.0 * kept);
  std::fprintf(out,
               "  %llu playlists: %llu aggregated (%llu songs), %llu skipped with too few songs, %llu skipped of "
               "too low a rank, %llu empty\n",
               static_cast<unsigned long long>(sum.playlists), static_cast<unsigned long long>(sum.aggregated),
               static_cast<unsigned long long>(sum.songs), static_cast<unsigned long long>(sum.too_few_songs),
               static_cast<unsigned long long>(sum.low_rank), static_cast<unsigned long long>(sum.empty));
  std::fprintf(out, "  PC  %s    ratio  cumulative\n", projector ? "   agreement" : "  eigenvalue");
  print_rows(out, m);
  std::fprintf(out, "principal angles to the global PCA's top %zu components (degrees):", k);
  for (const double a : angles) std::fprintf(out, " %.4g", a * 180.0 / 3.14159265358979323846);
  std::fprintf(out, "\n");
  std::fflush(out);
}

void fit_aggregate(const fit_pca_args& a) {
  pca_aggregate_options opts;
  opts.method = a.aggregate == "pooled" ? pca_method::pooled : pca_method::projector;
  opts.weight = a.weight == "songs" ? pca_weight::songs : pca_weight::playlists;
  if (a.components != 0) opts.components = a.components;
  if (a.has_variance) opts.variance = a.variance;
  if (opts.method == pca_method::projector && !opts.components && !opts.variance) {
    throw usage_error("--aggregate projector needs the rank of every playlist's projector: --components K or "
                      "--variance F");
  }
  resources res = make_resources(a.compute);
  pca_aggregator agg(opts);
  const std::size_t dim = for_each_chunk(a, [&](const dataset& chunk, const std::string& file, std::size_t) {
    if (a.components > chunk.dim && chunk.dim != 0) {
      throw usage_error("--components must be at most the number of features, " + std::to_string(chunk.dim) +
                        ", got '" + std::to_string(a.components) + "'");
    }
    check_pca_memory(chunk.dim, chunk.playlists(), file);  // before any d x d matrix is allocated
    agg.add(res, chunk.feature_matrix(),
            vector_view<const std::uint64_t>(chunk.song_offsets.data(), chunk.song_offsets.size()));
  });
  if (dim == 0) no_songs(a);
  const pca_aggregate_sum& sum = agg.sum();
  if (sum.aggregated == 0) {
    const std::string need = opts.method == pca_method::pooled || !opts.components
                                 ? std::string("2")
                                 : std::to_string(*opts.components + 1);
    throw data_error(a.files.size() == 1 ? a.files.front() : a.files.front() + " ...", 0,
                     "no playlist to aggregate: " + std::to_string(sum.too_few_songs) +
                         " have too few songs (at least " + need + " needed), " + std::to_string(sum.low_rank) +
                         " a covariance of too low a rank, " + std::to_string(sum.empty) + " none");
  }
  const auto names = feature_schema::for_dim(dim).names();
  const pca_model model = agg.fit(res, names);
  model.save(a.output);
  if (a.compute.quiet) return;
  // The global model of the same dimension, for the principal angles.
  pca_options global;
  global.components = model.n_components;
  const pca_model whole = fit_pca(res, agg.song_moments(), global, names);
  print_aggregate_table(a.output == "-" ? stderr : stdout, model, sum, principal_angles(model, whole));
}

}  // namespace

void add_fit_pca_command(CLI::App& app) {
  auto a = std::make_shared<fit_pca_args>();
  CLI::App* cmd = app.add_subcommand(
      "fit-pca",
      "Fit a PCA model to the songs of playlist CSV files (streamed; memory stays bounded), "
      "or PCA of every playlist with --per-playlist");
  cmd->add_option("FILE", a->files,
                  "Playlist CSV files, all with the same features ('-' for standard input, once)")
      ->required();
  cmd->add_option("-o,--output", a->output, "Where to write the model (MODEL.json; '-' for standard output)")
      ->type_name("FILE")
      ->required();
  auto* components = integer_in(
      cmd->add_option("--components,-k", a->components, "Keep this many components K (default: all)"), 1,
      max_components);
  auto* variance = number_in(cmd->add_option("--variance", a->variance,
                                             "Keep the fewest components whose cumulative explained-variance "
                                             "ratio exceeds F"),
                             0.0, 1.0, interval::open);
  components->excludes(variance);
  auto* standardize =
      cmd->add_flag("--standardize", a->standardize, "Fit on z-scores (the correlation matrix)");
  auto* per_playlist = cmd->add_flag(
      "--per-playlist", a->per_playlist,
      "PCA of every playlist on its own: id, n, mean, eigenvalues and components per playlist");
  per_playlist->excludes(standardize);
  auto* aggregate = one_of(cmd->add_option("--aggregate", a->aggregate,
                                           "With --per-playlist: one MODEL.json from the playlists' fits, the "
                                           "average of their rank-K projectors (projector; needs --components or "
                                           "--variance) or of their covariances (pooled)")
                               ->type_name("METHOD"),
                           {"projector", "pooled"});
  aggregate->needs(per_playlist);
  one_of(cmd->add_option("--weight", a->weight,
                         "With --aggregate: every playlist counts once (playlists) or by its songs (songs)")
             ->capture_default_str(),
         {"playlists", "songs"})
      ->needs(aggregate);
  integer_in(cmd->add_option("--chunk-songs", a->chunk_songs, "Songs read per streamed chunk")->capture_default_str(),
             1, max_chunk_songs);
  add_compute_options(cmd, a->compute);
  cmd->callback([a, variance] {
    a->has_variance = variance->count() != 0;
    refuse_output_overwriting_inputs(a->output, a->files);
    if (a->per_playlist && !a->aggregate.empty()) {
      fit_aggregate(*a);
    } else if (a->per_playlist) {
      if (a->components != 0 || a->has_variance) {
        throw usage_error("--per-playlist writes every playlist's full PCA; --components and --variance apply "
                          "to its --aggregate");
      }
      fit_per_playlist(*a);
    } else {
      fit_whole(*a);
    }
  });
}

}  // namespace playaug::cli
