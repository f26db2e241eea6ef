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

bool stderr_is_tty() { return ::isatty(2) != 0; }

}  // namespace playaug::cli
