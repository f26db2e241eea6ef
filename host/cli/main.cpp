// The playaug command-line tool: argument parsing, exit codes and error reporting.
// Exit codes: 0 success, 1 data or runtime error, 2 usage error.
//
// Every line the tool writes to stderr starts with "playaug: ": errors with
// "playaug: error: ", warnings with "playaug: warning: ". Messages pass through
// detail::printable, so nothing read from input or the command line reaches the terminal
// as a control sequence.

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "cli/cli.hpp"
#include "playaug/error.hpp"
#include "playaug/version.hpp"

namespace {

void print_error(const std::string& what) {
  std::cerr << "playaug: error: " << playaug::detail::printable(what, playaug::detail::printable_no_limit)
            << '\n';
}

/// After a usage error: where to read about the options.
void print_help_hint(const CLI::App& app) {
  std::string cmd = "playaug";
  const auto parsed = app.get_subcommands();
  if (!parsed.empty()) cmd += " " + parsed.front()->get_name();
  std::cerr << "playaug: see '" << cmd << " --help'\n";
}

}  // namespace

int main(int argc, char** argv) {
  playaug::cli::install_signal_handlers();  // unfinished outputs are removed on SIGINT, SIGTERM...
  CLI::App app{"playaug: augment music-playlist datasets on NVIDIA GPUs, with a CPU fallback"};
  app.set_version_flag("--version", std::string("playaug ") + PLAYAUG_VERSION_STRING);
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(
      "Outputs are written to a temporary .NAME.tmp-PID-N beside the destination and renamed into "
      "place when complete; an interrupted run removes it, and the next run into the directory removes "
      "those of killed runs (find DIR -name '.*.tmp-*' lists leftovers). An output that is the same "
      "file as an input is refused (exit code 2).");

  playaug::cli::add_input_options(app);
  playaug::cli::add_info_command(app);
  playaug::cli::add_synth_command(app);
  playaug::cli::add_fit_synth_command(app);
  playaug::cli::add_fit_pca_command(app);
  playaug::cli::add_transform_command(app);
  playaug::cli::add_augment_command(app);
  playaug::cli::add_requery_command(app);
  // Positionals read "FILE" (or "FILE ...") in every help text, without CLI11's "TEXT".
  for (CLI::App* cmd : app.get_subcommands([](CLI::App*) { return true; })) {
    for (CLI::Option* opt : cmd->get_options([](CLI::Option* o) { return !o->nonpositional(); })) {
      opt->type_name("");
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --help-all, --version
    print_error(e.what());
    print_help_hint(app);
    return 2;
  } catch (const playaug::usage_error& e) {
    print_error(e.what());
    print_help_hint(app);
    return 2;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
  return 0;
}
