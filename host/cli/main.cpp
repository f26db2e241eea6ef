// The playaug command-line tool: argument parsing, exit codes and error reporting.
// Exit codes: 0 success, 1 data or runtime error, 2 usage error.

#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/cli.hpp"
#include "playaug/error.hpp"
#include "playaug/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"playaug: augment music-playlist datasets on NVIDIA GPUs, with a CPU fallback"};
  app.set_version_flag("--version", std::string("playaug ") + PLAYAUG_VERSION_STRING);
  app.require_subcommand(1);
  app.fallthrough();

  playaug::cli::add_input_options(app);
  playaug::cli::add_info_command(app);
  playaug::cli::add_synth_command(app);
  playaug::cli::add_fit_pca_command(app);
  playaug::cli::add_transform_command(app);
  playaug::cli::add_augment_command(app);
  playaug::cli::add_requery_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const playaug::data_error& e) {
    std::cerr << e.what() << '\n';
    return 1;
  } catch (const playaug::usage_error& e) {
    std::cerr << "playaug: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "playaug: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
