#pragma once
// Shared pieces of the playaug command-line tool. Each command lives in its own
// cmd_<name>.cpp and registers itself through one add_<name>_command() function,
// called from main.cpp.

#include <CLI/CLI.hpp>

#include <string>

#include "playaug/io.hpp"
#include "playaug/resources.hpp"

namespace playaug::cli {

/// Options every computing command takes.
struct compute_options {
  std::string device = "auto";
  int threads = 0;
  bool quiet = false;
};

/// Add --device, --threads and --quiet to `cmd`.
void add_compute_options(CLI::App* cmd, compute_options& opts);

/// Build resources from the options. With --device auto and no usable GPU, says once on
/// stderr that the CPU is used and why. Throws cuda_unavailable for --device cuda without
/// CUDA (exit code 1).
resources make_resources(const compute_options& opts);

/// Add the options of every command that reads files (--max-record-bytes) to the tool
/// itself: given before or after the command name, they apply to every file it reads.
void add_input_options(CLI::App& app);

/// The reader options set by add_input_options' command-line options.
reader_options reader_options_from_cli();

/// True when stderr is a terminal (progress lines are drawn only then).
bool stderr_is_tty();

void add_info_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_fit_pca_command(CLI::App& app);
void add_transform_command(CLI::App& app);
void add_augment_command(CLI::App& app);
void add_requery_command(CLI::App& app);

}  // namespace playaug::cli
