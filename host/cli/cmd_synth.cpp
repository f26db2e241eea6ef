// PLACEHOLDER: replaced by the real command.
#include "cli/cli.hpp"
#include "playaug/error.hpp"
namespace playaug::cli {
void add_synth_command(CLI::App& app) {
  app.add_subcommand("synth", "(not yet available)")->callback([] { throw error("not yet available"); });
}
}  // namespace playaug::cli
