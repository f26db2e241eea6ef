// playaug transform: project the songs of a playlist CSV file onto a PCA model's
// components (or reconstruct them with --inverse), streaming chunk by chunk.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/pca.hpp"

namespace playaug::cli {

namespace {

struct transform_args {
  std::string input;
  std::string model;
  std::string output;
  bool inverse = false;
  bool by_position = false;
  std::size_t chunk_songs = std::size_t{1} << 16;
  compute_options compute;
};

/// `in` with its features replaced by `dim` columns (uninitialised); everything else copied.
void reshape_like(const dataset& in, std::size_t dim, dataset& out) {
  out.dim = dim;
  out.ids = in.ids;
  out.null_features = in.null_features;
  out.song_offsets = in.song_offsets;
  out.segment_offsets = in.segment_offsets;
  out.mood_offsets = in.mood_offsets;
  out.moods = in.moods;
  out.track_ids = in.track_ids;
  if (out.schema.dim() != dim) out.schema = feature_schema::for_dim(dim);
  out.features.resize(in.songs() * dim);
}

/// "(a, b, c)", each name escaped and cut (detail::printable).
std::string name_list(const std::vector<std::string>& names) {
  std::string out = "(";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : ", ") + detail::printable(names[i]);
  return out + ")";
}

/// A model applies to songs whose features have its names in its order; applying it to
/// the same values in another order would give wrong coordinates without a word.
void check_feature_names(const transform_args& a, const pca_model& model, const dataset& chunk) {
  if (a.inverse || a.by_position) return;
  const std::vector<std::string> data_names = chunk.schema.names();
  if (data_names == model.feature_names) return;
  throw error("the model " + a.model + " was fitted on the features " + name_list(model.feature_names) +
              ", but the songs of " + a.input + " have " + name_list(data_names) +
              "; --by-position applies the model to the values in their order anyway");
}

void run_transform(const transform_args& a) {
  refuse_output_overwriting_inputs(a.output, {a.input, a.model});
  const pca_model model = pca_model::load(a.model);
  const std::size_t d = model.dim();
  const std::size_t k = model.n_components;
  const std::size_t in_dim = a.inverse ? k : d;
  const std::size_t out_dim = a.inverse ? d : k;
  resources res = make_resources(a.compute);

  csv_reader reader(a.input);
  csv_writer writer(a.output, reader.has_track_ids(), res.threads());
  dataset chunk;
  dataset out;
  std::uint64_t songs = 0;
  bool names_checked = false;
  while (reader.next(chunk, a.chunk_songs)) {
    if (chunk.dim != 0 && chunk.dim != in_dim) {
      throw data_error(a.input, 0,
                       "songs have " + std::to_string(chunk.dim) + " values, but the model " +
                           a.model +
                           (a.inverse ? " keeps " + std::to_string(k) + " components"
                                      : " has " + std::to_string(d) + " features"));
    }
    if (!names_checked && chunk.dim != 0) {
      check_feature_names(a, model, chunk);
      names_checked = true;
    }
    reshape_like(chunk, out_dim, out);
    if (chunk.songs() != 0) {
      const matrix_view<const float> x(chunk.features.data(), chunk.songs(), in_dim);
      const matrix_view<float> y(out.features.data(), chunk.songs(), out_dim);
      if (a.inverse) {
        inverse_transform(res, model, x, y);
      } else {
        transform(res, model, x, y);
      }
    }
    songs += chunk.songs();
    writer.write(out);
  }
  writer.commit();
  if (!a.compute.quiet) {
    note(std::string(a.inverse ? "reconstructed " : "projected ") + std::to_string(songs) + " songs from " +
         std::to_string(in_dim) + " to " + std::to_string(out_dim) + " values into " + a.output);
  }
}

}  // namespace

void add_transform_command(CLI::App& app) {
  auto a = std::make_shared<transform_args>();
  CLI::App* cmd = app.add_subcommand(
      "transform",
      "Project songs onto a PCA model's components, Y = (X - mean) / scale . P_k^T, or "
      "reconstruct them with --inverse; ids and mood states pass through");
  cmd->add_option("FILE", a->input, "Playlist CSV file ('-' for standard input)")->required();
  cmd->add_option("--model,-m", a->model, "The PCA model written by fit-pca (MODEL.json)")
      ->type_name("MODEL.json")
      ->required();
  cmd->add_option("-o,--output", a->output, "Where to write the transformed CSV ('-' for standard output)")
      ->type_name("FILE")
      ->required();
  cmd->add_flag("--inverse", a->inverse,
                "The input holds k coordinates per song; write the reconstructed features");
  cmd->add_flag("--by-position", a->by_position,
                "Apply the model even when its feature names differ from the data's, value by value in "
                "their order");
  integer_in(cmd->add_option("--chunk-songs", a->chunk_songs, "Songs read per streamed chunk")->capture_default_str(),
             1, max_chunk_songs);
  add_compute_options(cmd, a->compute);
  cmd->callback([a] { run_transform(*a); });
}

}  // namespace playaug::cli
