#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "cli/cli.hpp"
#include "playaug/error.hpp"

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

namespace {

template <class Range>
void refuse_same_file(const std::string& output, const Range& inputs) {
  struct stat out {};
  if (output.empty() || output == "-" || ::stat(output.c_str(), &out) != 0 || !S_ISREG(out.st_mode)) return;
  for (const std::string& in : inputs) {
    struct stat st {};
    if (in.empty() || in == "-" || ::stat(in.c_str(), &st) != 0) continue;
    if (st.st_dev == out.st_dev && st.st_ino == out.st_ino) {
      throw usage_error("the output '" + output + "' is the same file as the input '" + in +
                        "'; writing it would replace the input: choose another output");
    }
  }
}

}  // namespace

void refuse_output_overwriting_inputs(const std::string& output, std::initializer_list<std::string> inputs) {
  refuse_same_file(output, inputs);
}

void refuse_output_overwriting_inputs(const std::string& output, const std::vector<std::string>& inputs) {
  refuse_same_file(output, inputs);
}

}  // namespace playaug::cli
