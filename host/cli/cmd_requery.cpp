// playaug requery FILE -o OUT.csv (--catalog CATALOG.csv | --spotify) [--each-genre]:
// replace every song by a recommended track for its perturbed features, from an offline
// catalog (nearest neighbour, CPU or CUDA) or from Spotify's recommendations endpoint;
// with --each-genre, one such copy of every playlist per genre.

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "cli/progress.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/requery.hpp"

namespace playaug::cli {

namespace {

struct requery_options {
  std::string input;
  std::string output;
  std::string catalog;
  bool spotify = false;
  std::string genres_file;
  std::vector<std::string> genres;
  float protuberance = 0.15f;
  std::uint64_t seed = 0;
  bool allow_repeats = false;
  bool each_genre = false;
  std::string api_url = "https://api.spotify.com";
  std::string accounts_url = "https://accounts.spotify.com";
  int workers = 4;
  double timeout = 30.0;
  int retries = 5;
  compute_options compute;
};

std::uint64_t regular_file_size(const std::string& path) {
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

spotify_options spotify_options_of(const requery_options& o) {
  spotify_options so;
  so.api_url = o.api_url;
  so.accounts_url = o.accounts_url;
  so.workers = o.workers;
  so.timeout_s = o.timeout;
  so.max_retries = o.retries;
  so.connect_timeout_s = o.timeout < 10.0 ? o.timeout : 10.0;
  so.credentials_from_env();
  return so;
}

genre_seeds genre_table(const requery_options& o) {
  return o.genres_file.empty() ? genre_seeds::builtin() : genre_seeds::read(o.genres_file);
}

void refuse_genres_file_with_catalog(const requery_options& o) {
  if (!o.genres_file.empty()) {
    throw usage_error("--genres holds Spotify seeds and applies to --spotify only; with --catalog, --genre "
                      "selects the catalog's own genre column");
  }
}

std::unique_ptr<recommender> make_recommender(const requery_options& o) {
  if (o.spotify) {
    if (o.genres.empty()) {
      throw usage_error("--spotify needs at least one --genre NAME to seed the recommendations (see --genres), "
                        "or --each-genre");
    }
    const genre_seeds table = genre_table(o);  // a bad --genres file is named before missing credentials
    spotify_options so = spotify_options_of(o);
    so.seeds = table.select(o.genres);
    so.validate();
    return std::make_unique<spotify_recommender>(std::move(so));
  }
  refuse_genres_file_with_catalog(o);
  return std::make_unique<catalog_recommender>(read_catalog(o.catalog, reader_options_from_cli()), o.genres);
}

// --each-genre: the named genres in order, or all of the catalog's or the seed table's.
genre_recommenders make_genre_recommenders(const requery_options& o) {
  if (o.spotify) {
    const genre_seeds table = genre_table(o);
    spotify_options so = spotify_options_of(o);
    return genre_recommenders::from_spotify(std::move(so), table, o.genres);
  }
  refuse_genres_file_with_catalog(o);
  return genre_recommenders::from_catalog(
      std::make_shared<const track_catalog>(read_catalog(o.catalog, reader_options_from_cli())), o.genres);
}

// "wrote 6 copies of 3 playlists to out.csv: edm 3 copies (1 song fell back, 0 failed), ..."
std::string each_genre_summary(const requery_summary& s, const std::string& output) {
  auto count = [](std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::uint64_t copies = 0;
  for (const auto& c : s.per_genre) copies += c.copies;
  std::string line = "wrote " + count(copies, "copy", "copies") + " of " + count(s.playlists, "playlist", "playlists") +
                     " to " + (output == "-" ? std::string("standard output") : output) + ":";
  for (std::size_t g = 0; g < s.genres.size(); ++g) {
    const requery_counts& c = s.per_genre[g];
    line += (g == 0 ? " " : ", ") + detail::printable(s.genres[g]) + " " + count(c.copies, "copy", "copies") + " (" +
            count(c.fell_back, "song", "songs") + " fell back, " + std::to_string(c.failed) + " failed)";
  }
  return line;
}

void run_requery(const requery_options& o) {
  refuse_output_overwriting_inputs(o.output, {o.input, o.catalog, o.genres_file});
  if (o.spotify == !o.catalog.empty()) {
    throw usage_error("pass exactly one of --catalog CATALOG.csv and --spotify");
  }
  requery_params prm;
  prm.protuberance = o.protuberance;
  prm.seed = o.seed;
  prm.allow_repeats = o.allow_repeats;
  try {
    prm.validate();
  } catch (const usage_error&) {
    throw usage_error("--protuberance must be a number in [0, 1), got '" + show_number(o.protuberance) + "'");
  }

  // Their usage errors come before the CPU note.
  std::unique_ptr<recommender> rec;
  genre_recommenders per_genre;
  if (o.each_genre) {
    per_genre = make_genre_recommenders(o);
  } else {
    rec = make_recommender(o);
  }
  const std::uint64_t copies_per_playlist = o.each_genre ? per_genre.size() : 1;
  resources res = make_resources(o.compute);

  const auto input = open_dataset_reader(o.input, reader_options_from_cli());
  dataset_reader& reader = *input;
  const auto output = open_dataset_writer(o.output, {/*with_track_ids=*/true, res.threads()});
  dataset_writer& writer = *output;
  const std::uint64_t total_bytes = regular_file_size(o.input);
  progress report("requery", "songs", o.compute.quiet);

  std::uint64_t songs = 0, retries = 0, bytes_before = 0, chunk_songs = 0, chunk_done = 0, chunk_bytes = 0;
  auto fraction = [&]() -> double {
    if (total_bytes == 0) return -1.0;
    const double in_chunk = chunk_songs == 0 ? 0.0 : static_cast<double>(chunk_done) / static_cast<double>(chunk_songs);
    return (static_cast<double>(bytes_before) + in_chunk * static_cast<double>(chunk_bytes)) /
           static_cast<double>(total_bytes);
  };
  prm.on_progress = [&](std::uint64_t done, std::uint64_t retried) {
    songs += done;
    chunk_done += done;
    if (retried != 0) {
      retries += retried;
      report.set_note(", " + std::to_string(retries) + (retries == 1 ? " retry" : " retries"));
    }
    report.update(songs, fraction());
  };

  dataset chunk;
  requery_summary summary, chunk_summary;
  while (reader.next(chunk)) {
    chunk_songs = chunk.songs() * copies_per_playlist;
    chunk_done = 0;
    chunk_bytes = reader.bytes_read() - bytes_before;
    dataset out;
    if (o.each_genre) {
      out = requery_each_genre(res, chunk, per_genre, prm, reader.first_playlist(), &chunk_summary);
      summary.merge(chunk_summary);
    } else {
      out = requery(res, chunk, *rec, prm, reader.first_playlist());
    }
    writer.write(out);
    bytes_before = reader.bytes_read();
    chunk_songs = chunk_done = chunk_bytes = 0;
    report.update(songs, fraction());
  }
  writer.commit();
  report.finish();
  if (o.each_genre && !o.compute.quiet) {
    if (summary.genres.empty()) {  // no playlist at all
      summary.genres = per_genre.genres();
      summary.per_genre.assign(per_genre.size(), requery_counts{});
    }
    note(each_genre_summary(summary, o.output));
  }
}

}  // namespace

void add_requery_command(CLI::App& app) {
  auto o = std::make_shared<requery_options>();
  CLI::App* cmd = app.add_subcommand(
      "requery",
      "Replace every song by a recommended track: the song's features are perturbed (every feature "
      "by a uniform relative amount in (-P, P], key and mode kept) and sent to a recommender, either "
      "the nearest track of an offline catalog (--catalog) or Spotify's recommendations (--spotify). "
      "Writes playlists <id>#rq with the chosen tracks' features and a track_ids column; with "
      "--each-genre, one copy <id>#rq-<genre> of every playlist per genre.");
  cmd->add_option("FILE", o->input, "Input playlist CSV ('-' for standard input)")->required();
  cmd->add_option("-o,--output", o->output, "Output CSV, written atomically ('-' for standard output)")
      ->type_name("FILE")
      ->required();
  auto* cat = cmd->add_option("--catalog", o->catalog,
                              "Track catalog CSV (track_id or id, the 11 feature columns, optional "
                              "track_genre or genre); the nearest track wins");
  auto* sp = cmd->add_flag("--spotify", o->spotify,
                           "Ask Spotify's recommendations endpoint (needs SPOTIFY_CLIENT_ID and "
                           "SPOTIFY_CLIENT_SECRET; closed to apps registered after 2024-11-27)");
  cat->excludes(sp);
  cmd->add_option("--genres", o->genres_file,
                  "GENRES.json of Spotify seed artists/tracks/genres per genre (default: the built-in "
                  "genres of data/genres.json)");
  cmd->add_option("--genre", o->genres,
                  "Genre to use, repeatable: with --catalog only tracks of these genres are candidates; "
                  "with --spotify the genres' seeds are sent (at most 5 seeds in total)")
      ->allow_extra_args(false)
      ->delimiter(',');
  number_in(cmd->add_option("-p,--protuberance", o->protuberance, "Maximum relative change P of the targets")
                ->capture_default_str(),
            0.0, 1.0, interval::open_high);
  unsigned_in(cmd->add_option("--seed", o->seed, "Random seed (Philox key); same seed, same targets")
                  ->capture_default_str(),
              0, UINT64_MAX);
  cmd->add_flag("--allow-repeats", o->allow_repeats, "Allow the same track more than once in a playlist");
  cmd->add_flag("--each-genre", o->each_genre,
                "One copy <id>#rq-<genre> of every playlist per genre: the --genre names in order, else every "
                "genre of the catalog (or of --genres / the built-in table with --spotify) in byte order; each "
                "copy draws only on its genre's tracks (or sends only its genre's seeds)");
  cmd->add_option("--spotify-api-url", o->api_url, "Base address of the Spotify Web API")->capture_default_str();
  cmd->add_option("--spotify-accounts-url", o->accounts_url, "Base address of the Spotify accounts service")
      ->capture_default_str();
  integer_in(cmd->add_option("--spotify-workers", o->workers, "Concurrent Spotify requests")->capture_default_str(),
             1, 64);
  number_in(cmd->add_option("--spotify-timeout", o->timeout, "Seconds before a Spotify request is abandoned and retried")
                ->capture_default_str(),
            spotify_options::min_timeout_s, spotify_options::max_timeout_s);
  integer_in(cmd->add_option("--spotify-retries", o->retries,
                             "Retries of a Spotify request after HTTP 429 (waiting Retry-After), 5xx or a network "
                             "error (exponential back-off with jitter)")
                 ->capture_default_str(),
             0, 100);
  add_compute_options(cmd, o->compute);
  cmd->callback([o] { run_requery(*o); });
}

}  // namespace playaug::cli
