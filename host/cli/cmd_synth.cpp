// playaug synth -o FILE --playlists N: write a synthetic Spotify-like playlist dataset, from
// hand-made rules (synth.hpp) or, with --model / --like, from a learned model
// (synth_model.hpp).

#include <cstdint>
#include <memory>
#include <string>

#include "cli/cli.hpp"
#include "playaug/error.hpp"
#include "playaug/synth.hpp"
#include "playaug/synth_model.hpp"

namespace playaug::cli {
namespace {

/// The most songs per playlist synth_params allows (include/playaug/synth.hpp).
constexpr std::int64_t synth_max_songs = 100000;

struct synth_options {
  std::string output;
  synth_params params;
  compute_options compute;
  std::string model;
  std::vector<std::string> like;
  synth_fit_options fit;
};

}  // namespace

void add_synth_command(CLI::App& app) {
  auto opts = std::make_shared<synth_options>();
  CLI::App* cmd = app.add_subcommand(
      "synth", "Write a synthetic playlist dataset with Spotify-like audio features and mood segments");
  cmd->add_option("-o,--output", opts->output, "Output CSV file, written atomically ('-' for standard output)")
      ->type_name("FILE")
      ->required();
  unsigned_in(cmd->add_option("--playlists", opts->params.playlists, "Number of playlists")->required(), 0,
              std::uint64_t{1} << 32);
  integer_in(cmd->add_option("--min-songs", opts->params.min_songs, "Fewest songs per playlist")
                 ->capture_default_str(),
             1, synth_max_songs);
  integer_in(cmd->add_option("--max-songs", opts->params.max_songs, "Most songs per playlist")
                 ->capture_default_str(),
             1, synth_max_songs);
  unsigned_in(cmd->add_option("--seed", opts->params.seed, "Random seed; the same seed gives the same file")
                  ->capture_default_str(),
              0, UINT64_MAX);
  number_in(cmd->add_option("--empty-fraction", opts->params.empty_fraction,
                            "Probability that a playlist is [null] (no songs)")
                ->capture_default_str(),
            0.0, 1.0);
  cmd->add_option("--model", opts->model, "Sample from this learned model (fit-synth's SYNTH.json)")
      ->type_name("SYNTH.json");
  cmd->add_option("--like", opts->like, "Fit a model on these playlist CSV files in memory, then sample from it")
      ->type_name("DATA.csv")
      ->expected(1, -1);
  add_fit_synth_options(cmd, opts->fit);
  add_compute_options(cmd, opts->compute);
  cmd->get_option("--device")
      ->description("Rule-based generation runs on the CPU; a learned model samples on D (auto: a GPU when "
                    "present); the file is the same whatever the device");
  cmd->get_option("--threads")->description("CPU worker threads (0: all cores); the output does not depend on it");
  cmd->get_option("--quiet")->description("No note on stderr");
  cmd->callback([opts, cmd] {
    const synth_params& p = opts->params;
    const bool learned = !opts->model.empty() || !opts->like.empty();
    if (!opts->model.empty() && !opts->like.empty()) throw usage_error("--model and --like exclude each other");
    for (const char* rule_only : {"--min-songs", "--max-songs", "--empty-fraction"}) {
      if (learned && cmd->count(rule_only) > 0) {
        throw usage_error(std::string(rule_only) + " applies to rule-based generation only (a learned model has "
                          "its own playlist shapes)");
      }
    }
    for (const char* like_only : {"--clusters", "--types"}) {
      if (opts->like.empty() && cmd->count(like_only) > 0) {
        throw usage_error(std::string(like_only) + " applies to --like only");
      }
    }
    if (learned) {
      if (!opts->model.empty()) refuse_output_overwriting_inputs(opts->output, {opts->model});
      refuse_output_overwriting_inputs(opts->output, opts->like);
      synth_model model;
      if (!opts->model.empty()) {
        model = synth_model::load(opts->model);
      } else {
        const resources cpu(backend::cpu, opts->compute.threads);
        model = fit_synth_model(cpu, opts->like, opts->fit, reader_options_from_cli());
      }
      const resources res = make_resources(opts->compute);
      synth_model_params mp;
      mp.playlists = p.playlists;
      mp.seed = p.seed;
      const synth_stats st = write_model_synthetic_csv(res, model, mp, opts->output);
      if (!opts->compute.quiet) {
        note("wrote " + std::to_string(st.playlists) + " playlists (" + std::to_string(st.empty_playlists) +
             " empty, " + std::to_string(st.songs) + " songs) to " + opts->output);
      }
      return;
    }
    if (p.max_songs < p.min_songs) {
      throw usage_error("--max-songs (" + std::to_string(p.max_songs) + ") is below --min-songs (" +
                        std::to_string(p.min_songs) + ")");
    }
    validate(p);
    const resources res(backend::cpu, opts->compute.threads);
    const synth_stats st = write_synthetic_csv(res, p, opts->output);
    if (!opts->compute.quiet) {
      note("wrote " + std::to_string(st.playlists) + " playlists (" + std::to_string(st.empty_playlists) +
           " empty, " + std::to_string(st.songs) + " songs) to " + opts->output);
    }
  });
}

}  // namespace playaug::cli
