// playaug fit-synth DATA.csv... -o SYNTH.json: learn a synthetic-data model from playlists
// (synth_model.hpp, docs/synth.md).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "playaug/error.hpp"
#include "playaug/synth_model.hpp"

namespace playaug::cli {
namespace {

struct fit_synth_args {
  std::vector<std::string> files;
  std::string output;
  synth_fit_options fit;
  compute_options compute;
};

}  // namespace

void add_fit_synth_options(CLI::App* cmd, synth_fit_options& fit) {
  integer_in(cmd->add_option("--clusters", fit.clusters, "Song clusters of the model")->capture_default_str(), 1,
             4096);
  integer_in(cmd->add_option("--types", fit.types, "Playlist types of the model")->capture_default_str(), 1, 4096);
}

void add_fit_synth_command(CLI::App& app) {
  auto a = std::make_shared<fit_synth_args>();
  CLI::App* cmd = app.add_subcommand(
      "fit-synth", "Learn a synthetic-data model (SYNTH.json) from playlist CSV files, for synth --model");
  cmd->add_option("files", a->files, "Playlist CSV files (read once each; '-' for standard input)")->required();
  cmd->add_option("-o,--output", a->output, "Model JSON file, written atomically ('-' for standard output)")
      ->type_name("FILE")
      ->required();
  add_fit_synth_options(cmd, a->fit);
  unsigned_in(cmd->add_option("--seed", a->fit.seed, "Seed of the initialisation and tie-breaking")
                  ->capture_default_str(),
              0, UINT64_MAX);
  add_compute_options(cmd, a->compute);
  cmd->get_option("--device")->description("Accepted like every command's; fitting runs on the CPU");
  cmd->callback([a] {
    refuse_output_overwriting_inputs(a->output, a->files);
    const resources res(backend::cpu, a->compute.threads);
    const synth_model m = fit_synth_model(res, a->files, a->fit, reader_options_from_cli());
    m.save(a->output);
    if (!a->compute.quiet) {
      note("fitted " + std::to_string(m.clusters) + " song clusters and " + std::to_string(m.types) +
           " playlist types on " + std::to_string(m.fitted_playlists) + " playlists (" +
           std::to_string(m.fitted_songs) + " songs); wrote " + a->output);
    }
  });
}

}  // namespace playaug::cli
