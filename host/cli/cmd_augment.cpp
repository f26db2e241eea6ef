// playaug augment FILE -o OUT.csv: the original playlists and K augmented copies of each
// (reversal, then protuberance), streamed chunk by chunk so that memory stays bounded.

#include <sys/stat.h>

#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "cli/cli.hpp"
#include "cli/progress.hpp"
#include "playaug/augment.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug::cli {

namespace {

struct augment_options {
  std::string input;
  std::string output;
  long long copies = 1;
  float protuberance = 0.15f;
  float phi = 0.5f;
  float reverse = 0.5f;
  std::uint64_t seed = 0;
  bool no_original = false;
  bool raw = false;
  compute_options compute;
};

/// Size of a regular file, or 0 (standard input, pipes, errors).
std::uint64_t regular_file_size(const std::string& path) {
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

augment_params to_params(const augment_options& o) {
  if (o.copies < 0 || o.copies > 0xFFFFFF) {  // the option's own check (integer_in) has said so already
    throw usage_error("--copies must be an integer in [0, " + std::to_string(0xFFFFFF) + "], got '" +
                      std::to_string(o.copies) + "'");
  }
  augment_params prm;
  prm.copies = static_cast<std::uint32_t>(o.copies);
  prm.protuberance = o.protuberance;
  prm.phi = o.phi;
  prm.reverse = o.reverse;
  prm.seed = o.seed;
  prm.keep_original = !o.no_original;
  prm.raw = o.raw;
  try {
    prm.validate();
  } catch (const usage_error& e) {
    // augment_params names the parameter first ("phi must be ..."); name the option.
    throw usage_error(std::string("--") + e.what());
  }
  return prm;
}

void run_augment(const augment_options& o) {
  // Usage errors first, before any file is opened or created: an output that is the
  // input, then a bad parameter.
  refuse_output_overwriting_inputs(o.output, {o.input});
  const augment_params prm = to_params(o);
  resources res = make_resources(o.compute);

  csv_reader reader(o.input);
  csv_writer writer(o.output, reader.has_track_ids(), res.threads());
  const std::uint64_t total_bytes = regular_file_size(o.input);
  progress report("augment", "songs", o.compute.quiet);

  // Parsing the next chunk overlaps augmenting and writing the current one: a reader
  // thread fills one buffer while this thread works on the other. Chunks are still
  // processed in order, and at most two are held at once.
  struct read_result {
    bool more = false;
    std::uint64_t first_playlist = 0;
    std::uint64_t bytes_read = 0;
  };
  auto read_into = [&reader](dataset* chunk) {
    read_result r;
    r.more = reader.next(*chunk);
    r.first_playlist = reader.first_playlist();
    r.bytes_read = reader.bytes_read();
    return r;
  };
  dataset chunks[2];
  int cur = 0;
  std::future<read_result> pending = std::async(std::launch::async, read_into, &chunks[cur]);
  std::uint64_t songs = 0;
  for (;;) {
    const read_result r = pending.get();  // rethrows the reader's data_error
    if (!r.more) break;
    pending = std::async(std::launch::async, read_into, &chunks[1 - cur]);
    const dataset out = augment(res, chunks[cur], prm, r.first_playlist);
    writer.write(out);
    songs += chunks[cur].songs();
    report.update(songs, total_bytes > 0 ? static_cast<double>(r.bytes_read) / static_cast<double>(total_bytes) : -1.0);
    cur = 1 - cur;
  }
  writer.commit();
  report.finish();
}

}  // namespace

void add_augment_command(CLI::App& app) {
  auto o = std::make_shared<augment_options>();
  CLI::App* cmd = app.add_subcommand(
      "augment",
      "Write every playlist followed by K augmented copies <id>#aug1..#augK: each copy is reversed "
      "(mood segments and songs) with probability R, then each feature is changed with probability "
      "PHI by a uniform relative amount in (-P, P]. Reproducible from --seed.");
  cmd->add_option("FILE", o->input, "Input playlist CSV ('-' for standard input)")->required();
  cmd->add_option("-o,--output", o->output, "Output CSV, written atomically ('-' for standard output)")
      ->type_name("FILE")
      ->required();
  integer_in(cmd->add_option("-k,--copies", o->copies, "Augmented copies K per playlist")->capture_default_str(), 0,
             0xFFFFFF);
  number_in(cmd->add_option("-p,--protuberance", o->protuberance, "Maximum relative change P")->capture_default_str(),
            0.0, 1.0, interval::open_high);
  number_in(cmd->add_option("--phi", o->phi, "Probability PHI that a feature is changed")->capture_default_str(), 0.0,
            1.0);
  number_in(cmd->add_option("-r,--reverse", o->reverse, "Probability R that a copy is reversed")->capture_default_str(),
            0.0, 1.0);
  unsigned_in(cmd->add_option("--seed", o->seed, "Random seed (Philox key); same seed, same output")
                  ->capture_default_str(),
              0, UINT64_MAX);
  cmd->add_flag("--no-original", o->no_original, "Write only the copies ([null] playlists are still kept once)");
  cmd->add_flag("--raw", o->raw,
                "Change every feature, key and mode included, without clamping to the feature's range");
  add_compute_options(cmd, o->compute);
  cmd->callback([o] { run_augment(*o); });
}

}  // namespace playaug::cli
