#pragma once
// Shared pieces of the playaug command-line tool. Each command lives in its own
// cmd_<name>.cpp and registers itself through one add_<name>_command() function,
// called from main.cpp.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "playaug/io.hpp"
#include "playaug/resources.hpp"
#include "playaug/synth_model.hpp"

namespace playaug::cli {

/// Options every computing command takes.
struct compute_options {
  std::string device = "auto";
  int threads = 0;
  bool quiet = false;
};

/// The most CPU worker threads --threads accepts.
inline constexpr std::int64_t max_threads = 4096;
/// The most songs --chunk-songs accepts.
inline constexpr std::int64_t max_chunk_songs = std::int64_t{1} << 30;
/// The most components fit-pca --components accepts before it knows the data (then: d).
inline constexpr std::int64_t max_components = std::int64_t{1} << 20;

/// Add --device, --threads and --quiet to `cmd`.
void add_compute_options(CLI::App* cmd, compute_options& opts);

/// Accept only a decimal integer in [lo, hi] for `opt`, checked on the text as typed
/// (before CLI11 converts it, so that nothing is wrapped around or capped). Anything else
/// is a usage error "--NAME must be an integer in [lo, hi], got 'TEXT'". Returns `opt`.
CLI::Option* integer_in(CLI::Option* opt, std::int64_t lo, std::int64_t hi);
/// The same for unsigned options whose upper bound does not fit an int64 (seeds).
CLI::Option* unsigned_in(CLI::Option* opt, std::uint64_t lo, std::uint64_t hi);

/// How number_in() treats the ends of its interval.
enum class interval { closed, open_high, open };

/// Accept only a finite decimal number in the interval for `opt` ([lo, hi], [lo, hi) or
/// (lo, hi)); anything else is a usage error "--NAME must be a number in [lo, hi], got
/// 'TEXT'". Returns `opt`.
CLI::Option* number_in(CLI::Option* opt, double lo, double hi, interval kind = interval::closed);

/// Accept only one of `values` for `opt`; anything else is a usage error "--NAME must be
/// one of a, b, c, got 'TEXT'". Returns `opt`.
CLI::Option* one_of(CLI::Option* opt, std::vector<std::string> values);

/// A number as messages write it: the shortest text that reads back as the same double.
std::string show_number(double v);

/// Print "playaug: <text>" on stderr, control characters escaped (detail::printable).
void note(std::string_view text);

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

/// On SIGINT, SIGTERM, SIGHUP, SIGPIPE and SIGXFSZ: remove the temporary files of
/// unfinished outputs, then die of the signal (exit status 128 + signal). Signals ignored
/// when the tool started (nohup) stay ignored. Called once, first thing in main().
void install_signal_handlers();

/// Refuses, with a usage_error (exit code 2), an `output` that is the same file as one of
/// `inputs` (same device and inode: hard links, symbolic links and other spellings of the
/// path count), so that a command cannot replace its own input. Only regular files are
/// compared; "-", empty paths and files that do not exist are skipped. Call it before any
/// work.
void refuse_output_overwriting_inputs(const std::string& output, std::initializer_list<std::string> inputs);

/// The same for several inputs of one kind (fit-pca's files).
void refuse_output_overwriting_inputs(const std::string& output, const std::vector<std::string>& inputs);

void add_info_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_fit_pca_command(CLI::App& app);
void add_transform_command(CLI::App& app);
void add_augment_command(CLI::App& app);
void add_requery_command(CLI::App& app);
void add_fit_synth_command(CLI::App& app);
/// fit-synth's model options (--clusters, --types), which synth --like takes too.
void add_fit_synth_options(CLI::App* cmd, synth_fit_options& fit);

}  // namespace playaug::cli
