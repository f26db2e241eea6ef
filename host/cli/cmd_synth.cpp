// playaug synth -o FILE --playlists N: write a synthetic Spotify-like playlist dataset.

#include <iostream>
#include <memory>
#include <string>

#include "cli/cli.hpp"
#include "playaug/synth.hpp"

namespace playaug::cli {
namespace {

struct synth_options {
  std::string output;
  synth_params params;
  int threads = 0;
  bool quiet = false;
};

/// Rejects "-5" before CLI11 would wrap it around to a huge unsigned value.
const CLI::Validator not_negative(
    [](std::string& text) { return text.find('-') == std::string::npos ? std::string() : "must not be negative"; },
    "", "");

}  // namespace

void add_synth_command(CLI::App& app) {
  auto opts = std::make_shared<synth_options>();
  CLI::App* cmd = app.add_subcommand(
      "synth", "Write a synthetic playlist dataset with Spotify-like audio features and mood segments");
  cmd->add_option("-o,--output", opts->output, "Output CSV file")->required();
  cmd->add_option("--playlists", opts->params.playlists, "Number of playlists")
      ->required()
      ->check(not_negative);
  cmd->add_option("--min-songs", opts->params.min_songs, "Fewest songs per playlist")
      ->check(not_negative)
      ->capture_default_str();
  cmd->add_option("--max-songs", opts->params.max_songs, "Most songs per playlist")
      ->check(not_negative)
      ->capture_default_str();
  cmd->add_option("--seed", opts->params.seed, "Random seed; the same seed gives the same file")
      ->check(not_negative)
      ->capture_default_str();
  cmd->add_option("--empty-fraction", opts->params.empty_fraction,
                  "Probability that a playlist is [null] (no songs)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "CPU worker threads (0: all cores); the output does not depend on it")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", opts->quiet, "No notes on stderr");
  cmd->callback([opts] {
    validate(opts->params);
    const resources res(backend::cpu, opts->threads);
    const synth_stats st = write_synthetic_csv(res, opts->params, opts->output);
    if (!opts->quiet) {
      std::cerr << "playaug: wrote " << st.playlists << " playlists (" << st.empty_playlists << " empty, "
                << st.songs << " songs) to " << opts->output << '\n';
    }
  });
}

}  // namespace playaug::cli
