// Reading the playlist CSV format: header lookup, record validation, and the cells parsed
// straight into the flat arrays of a dataset.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include "io/csv_tokenizer.hpp"
#include "io/json_cells.hpp"
#include "io/utf8.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug {

namespace {

constexpr std::size_t no_column = ~std::size_t{0};

void clear_keeping_capacity(dataset& ds) {
  ds.ids.clear();
  ds.null_features.clear();
  ds.song_offsets.assign(1, 0);
  ds.features.clear();
  ds.segment_offsets.assign(1, 0);
  ds.mood_offsets.assign(1, 0);
  ds.moods.clear();
  ds.track_ids.clear();
}

/// Reads playlists record by record from a tokenizer.
class playlist_reader {
 public:
  explicit playlist_reader(std::unique_ptr<io_detail::csv_tokenizer> t) : tok(std::move(t)) { read_header(); }

  void read_header();
  /// Parse the next record into `ds`; false at the end of the input.
  bool read_one(dataset& ds);
  /// Rethrow a cell problem as a data_error naming file, line, column and playlist.
  [[noreturn]] void cell_failure(const io_detail::cell_error& e, std::size_t col, const char* column_name) const;
  void set_dim(dataset& ds) const {
    ds.dim = dim;
    if (ds.schema.dim() != dim) ds.schema = feature_schema::for_dim(dim);
  }

  std::unique_ptr<io_detail::csv_tokenizer> tok;
  io_detail::csv_record rec;
  std::size_t columns = 0;
  std::size_t moods_col = no_column;
  std::size_t features_col = no_column;
  std::size_t track_col = no_column;
  std::size_t dim = 0;               ///< fixed by the first song of the file
  std::uint64_t next_playlist = 0;   ///< index of the next playlist in the file
};

void playlist_reader::read_header() {
  const std::string& file = tok->name();
  if (!tok->next(rec)) {
    throw data_error(file, 0, "empty file: expected a header line with the columns moods_states and features");
  }
  columns = rec.fields.size();
  if (rec.fields[0] == "moods_states" || rec.fields[0] == "features") {
    throw data_error(file, rec.line,
                     "the first column must hold the playlist ids (the index column pandas writes), found '" +
                         std::string(rec.fields[0]) + "'");
  }
  for (std::size_t i = 1; i < columns; ++i) {
    std::size_t* slot = nullptr;
    if (rec.fields[i] == "moods_states") slot = &moods_col;
    else if (rec.fields[i] == "features") slot = &features_col;
    else if (rec.fields[i] == "track_ids") slot = &track_col;
    if (slot == nullptr) continue;
    if (*slot != no_column) {
      throw data_error(file, rec.line, "duplicate column '" + std::string(rec.fields[i]) + "' in the header");
    }
    *slot = i;
  }
  if (moods_col == no_column || features_col == no_column) {
    std::string missing;
    if (moods_col == no_column) missing = "'moods_states'";
    if (features_col == no_column) missing += std::string(missing.empty() ? "" : " and ") + "'features'";
    throw data_error(file, rec.line,
                     "the header lacks the column" + std::string(moods_col == features_col ? "s " : " ") + missing);
  }
}

void playlist_reader::cell_failure(const io_detail::cell_error& e, std::size_t col, const char* column_name) const {
  std::string msg = std::string(column_name) + ": " + e.message();
  if (e.syntax()) {
    const auto [line, column] = rec.position(col, e.offset());
    msg += line != rec.line ? " at line " + std::to_string(line) + ", column " : std::string(" at column ");
    msg += std::to_string(column);
  }
  throw data_error(tok->name(), rec.line, msg, std::string(rec.fields[0]));
}

bool playlist_reader::read_one(dataset& ds) {
  if (!tok->next(rec)) return false;
  if (rec.fields.size() != columns) {
    throw data_error(tok->name(), rec.line,
                     "record has " + std::to_string(rec.fields.size()) + " fields, the header has " +
                         std::to_string(columns),
                     std::string(rec.fields[0]));
  }
  const std::size_t bad_id = io_detail::invalid_utf8(rec.fields[0]);
  if (bad_id != std::string_view::npos) {
    // Ids go into JSON (models) and back to pandas: both need UTF-8 (docs/data-format.md).
    const auto [line, column] = rec.position(0, bad_id);
    std::string msg = "the playlist id is not valid UTF-8 (" + io_detail::invalid_utf8_byte(rec.fields[0][bad_id]);
    msg += line != rec.line ? " at line " + std::to_string(line) + ", column " : std::string(" at column ");
    throw data_error(tok->name(), rec.line, msg + std::to_string(column) + ")");
  }
  ds.ids.emplace_back(rec.fields[0]);

  std::size_t segments = 0;
  try {
    segments = io_detail::parse_moods_cell(rec.fields[moods_col], ds.moods, ds.mood_offsets);
  } catch (const io_detail::cell_error& e) {
    cell_failure(e, moods_col, "moods_states");
  }
  ds.segment_offsets.push_back(ds.segment_offsets.back() + segments);

  io_detail::features_cell feats;
  try {
    feats = io_detail::parse_features_cell(rec.fields[features_col], dim, ds.features);
  } catch (const io_detail::cell_error& e) {
    cell_failure(e, features_col, "features");
  }
  ds.song_offsets.push_back(ds.song_offsets.back() + feats.songs);
  ds.null_features.push_back(feats.is_null ? 1 : 0);

  if (track_col != no_column) {
    std::size_t n = 0;
    bool is_null = false;
    try {
      n = io_detail::parse_string_list_cell(rec.fields[track_col], ds.track_ids, is_null);
    } catch (const io_detail::cell_error& e) {
      cell_failure(e, track_col, "track_ids");
    }
    if (n != feats.songs) {
      throw data_error(tok->name(), rec.line,
                       "track_ids: " + std::to_string(n) + " track ids for " + std::to_string(feats.songs) +
                           " songs",
                       std::string(rec.fields[0]));
    }
  }
  ++next_playlist;
  return true;
}

/// Rethrow std::bad_alloc as a data_error naming the file and the record being read.
[[noreturn]] void out_of_memory(const playlist_reader& r, const dataset& ds) {
  throw data_error(r.tok->name(), r.tok->line(),
                   "out of memory reading the record after playlist " + std::to_string(r.next_playlist) + " (" +
                       std::to_string(ds.playlists()) + " playlists and " + std::to_string(ds.songs()) +
                       " songs held)");
}

dataset read_all(playlist_reader& r) {
  dataset ds;
  try {
    while (r.read_one(ds)) {
    }
  } catch (const std::bad_alloc&) {
    out_of_memory(r, ds);
  }
  r.set_dim(ds);
  ds.features.shrink_to_fit();
  return ds;
}

}  // namespace

struct csv_reader::impl {
  impl(const std::string& path, const reader_options& o)
      : reader(std::make_unique<io_detail::csv_tokenizer>(path, o.max_record_bytes, o.buffer_bytes)) {}
  playlist_reader reader;
  std::uint64_t first = 0;  ///< index of the first playlist of the last chunk
};

csv_reader::csv_reader(const std::string& path, const reader_options& options)
    : impl_(std::make_unique<impl>(path, options)) {}

csv_reader::~csv_reader() = default;
csv_reader::csv_reader(csv_reader&&) noexcept = default;
csv_reader& csv_reader::operator=(csv_reader&&) noexcept = default;

bool csv_reader::next(dataset& chunk, std::size_t max_songs, std::size_t max_playlists) {
  clear_keeping_capacity(chunk);
  playlist_reader& r = impl_->reader;
  impl_->first = r.next_playlist;
  try {
    while (r.read_one(chunk)) {
      if (chunk.songs() >= max_songs || chunk.playlists() >= max_playlists) break;
    }
  } catch (const std::bad_alloc&) {
    out_of_memory(r, chunk);
  }
  r.set_dim(chunk);
  return chunk.playlists() != 0;
}

std::uint64_t csv_reader::first_playlist() const noexcept { return impl_->first; }
std::uint64_t csv_reader::bytes_read() const noexcept { return impl_->reader.tok->bytes_consumed(); }
const std::string& csv_reader::path() const noexcept { return impl_->reader.tok->name(); }
bool csv_reader::has_track_ids() const noexcept { return impl_->reader.track_col != no_column; }

std::unique_ptr<dataset_reader> open_dataset_reader(const std::string& path, const reader_options& options) {
  // Every name is CSV today; a new format adds its reader here, chosen by the path.
  return std::make_unique<csv_reader>(path, options);
}

dataset read_csv(const std::string& path, const reader_options& options) {
  playlist_reader r(std::make_unique<io_detail::csv_tokenizer>(path, options.max_record_bytes, options.buffer_bytes));
  return read_all(r);
}

dataset parse_csv(std::string_view text, const std::string& name, const reader_options& options) {
  playlist_reader r(std::make_unique<io_detail::csv_tokenizer>(text, name, options.max_record_bytes));
  return read_all(r);
}

}  // namespace playaug
