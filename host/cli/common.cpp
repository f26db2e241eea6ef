#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>

#include "cli/cli.hpp"
#include "playaug/error.hpp"

namespace playaug::cli {

namespace {

[[noreturn]] void reject(const std::string& name, const std::string& what, const std::string& text) {
  throw usage_error(name + " must be " + what + ", got '" + detail::printable(text) + "'");
}

/// The whole of `text` as a decimal integer (an optional '-', then digits), or false.
template <typename T>
bool parse_integer(const std::string& text, T& value) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first == last) return false;
  const auto [end, ec] = std::from_chars(first, last, value, 10);
  return ec == std::errc() && end == last;
}

std::string interval_text(const std::string& lo, const std::string& hi, interval kind) {
  return std::string(kind == interval::open ? "(" : "[") + lo + ", " + hi + (kind == interval::closed ? "]" : ")");
}

}  // namespace

std::string show_number(double v) {
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {  // whole numbers in full: 86400, not 8.64e+04
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

CLI::Option* integer_in(CLI::Option* opt, std::int64_t lo, std::int64_t hi) {
  const std::string name = opt->get_name();
  const std::string what = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  opt->check(CLI::Validator(
      [=](std::string& text) {
        std::int64_t v = 0;
        if (!parse_integer(text, v) || v < lo || v > hi) reject(name, what, text);
        return std::string();
      },
      "", ""));
  return opt;
}

CLI::Option* unsigned_in(CLI::Option* opt, std::uint64_t lo, std::uint64_t hi) {
  const std::string name = opt->get_name();
  const std::string what = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  opt->check(CLI::Validator(
      [=](std::string& text) {
        std::uint64_t v = 0;
        // from_chars would take "-0"; an unsigned option takes digits only.
        if (text.find('-') != std::string::npos || !parse_integer(text, v) || v < lo || v > hi) {
          reject(name, what, text);
        }
        return std::string();
      },
      "", ""));
  return opt;
}

CLI::Option* number_in(CLI::Option* opt, double lo, double hi, interval kind) {
  const std::string name = opt->get_name();
  const std::string what = "a number in " + interval_text(show_number(lo), show_number(hi), kind);
  opt->check(CLI::Validator(
      [=](std::string& text) {
        const char* begin = text.c_str();
        char* end = nullptr;
        const double v = text.empty() ? std::nan("") : std::strtod(begin, &end);
        const bool whole = !text.empty() && end == begin + text.size();
        const bool low_ok = kind == interval::open ? v > lo : v >= lo;
        const bool high_ok = kind == interval::closed ? v <= hi : v < hi;
        if (!whole || !std::isfinite(v) || !low_ok || !high_ok) reject(name, what, text);
        return std::string();
      },
      "", ""));
  return opt;
}

CLI::Option* one_of(CLI::Option* opt, std::vector<std::string> values) {
  const std::string name = opt->get_name();
  std::string what = "one of ";
  for (std::size_t i = 0; i < values.size(); ++i) what += (i == 0 ? "" : ", ") + values[i];
  opt->check(CLI::Validator(
      [=](std::string& text) {
        for (const auto& v : values) {
          if (text == v) return std::string();
        }
        reject(name, what, text);
      },
      "", ""));
  return opt;
}

void note(std::string_view text) {
  std::cerr << "playaug: " << detail::printable(text, detail::printable_no_limit) << '\n';
}

void add_compute_options(CLI::App* cmd, compute_options& opts) {
  one_of(cmd->add_option("--device", opts.device,
                         "Where to compute: auto (CUDA when a GPU is usable, else the CPU), cpu or cuda")
             ->capture_default_str(),
         {"auto", "cpu", "cuda"});
  integer_in(cmd->add_option("--threads", opts.threads, "CPU worker threads (0: all cores)")->capture_default_str(),
             0, max_threads);
  cmd->add_flag("--quiet,-q", opts.quiet, "No progress or notes on stderr");
}

resources make_resources(const compute_options& opts) {
  resources res(parse_backend(opts.device), opts.threads);
  if (!res.fallback_reason().empty() && !opts.quiet) {
    note("using the CPU (" + res.fallback_reason() + ")");
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
