#include <unistd.h>

#include <iostream>

#include "cli/cli.hpp"

namespace playaug::cli {

void add_compute_options(CLI::App* cmd, compute_options& opts) {
  cmd->add_option("--device", opts.device, "Where to compute: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--threads", opts.threads, "CPU worker threads (0: all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", opts.quiet, "No progress or notes on stderr");
}

resources make_resources(const compute_options& opts) {
  resources res(parse_backend(opts.device), opts.threads);
  if (!res.fallback_reason().empty() && !opts.quiet) {
    std::cerr << "playaug: using the CPU (" << res.fallback_reason() << ")\n";
  }
  return res;
}

namespace {
reader_options& cli_reader_options() {
  static reader_options options;
  return options;
}
}  // namespace

void add_input_options(CLI::App& app) {
  app.add_option("--max-record-bytes", cli_reader_options().max_record_bytes,
                 "Longest record (one playlist or catalog row) a command reads; a longer one is an "
                 "error naming the file and line. Suffixes K, M, G are powers of 1024 (256M)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

reader_options reader_options_from_cli() { return cli_reader_options(); }

bool stderr_is_tty() { return ::isatty(2) != 0; }

}  // namespace playaug::cli
