#pragma once
/// @file io.hpp
/// Reading and writing the playlist CSV format of the research notebook.
///
/// The format is what pandas writes for a DataFrame with columns `moods_states` and
/// `features` holding JSON nested lists:
///
///     ,moods_states,features
///     iso26,"[[22], [20]]","[[0.755, 0.479, ...], [...]]"
///     empty1,"[[3]]",[null]
///
/// - the first column is the playlist id (its header cell may be empty or named);
/// - `moods_states` is a list of segments, each a list of integer mood ids;
/// - `features` is a list of songs, each a list of d finite numbers, or `[null]` for a
///   playlist without songs (flagged in dataset::null_features); `[]` is a playlist without
///   songs that is not flagged. The first song of the file fixes d;
/// - an optional `track_ids` column holds a JSON list of strings, one per song;
/// - other columns are ignored.
/// RFC 4180 quoting (including doubled quotes and quoted commas and newlines), CRLF line
/// ends, a UTF-8 byte-order mark and a missing final newline are accepted; blank lines are
/// skipped. Cells follow the JSON grammar (whitespace allowed); numbers must be finite and
/// within float32 range (moods: int32), and values too small for float32 read as zero.
///
/// Problems raise playaug::data_error with the 1-based line where the offending record
/// starts and the playlist id when known.
///
/// Writing produces the same format, byte for byte what pandas' `to_csv` writes for cells
/// made by `json.dumps`, readable by `pd.read_csv(path, index_col=0)` plus `json.loads` per
/// cell, with floats in shortest round-trip form (so write -> read gives back identical
/// float32 values). Files are written to a temporary file in the target directory and
/// renamed into place only on success.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "playaug/dataset.hpp"

namespace playaug {

/// Read a whole file into a dataset. `path` "-" reads standard input.
dataset read_csv(const std::string& path);

/// Parse CSV text held in memory; `name` is used in error messages.
dataset parse_csv(std::string_view text, const std::string& name = "<memory>");

/// Streams a CSV file playlist by playlist, so that memory stays bounded however large the
/// file is. Each call to next() yields the following whole playlists.
class csv_reader {
 public:
  /// Open `path` and read its header; throws data_error for an empty file or missing columns.
  explicit csv_reader(const std::string& path);
  ~csv_reader();
  csv_reader(csv_reader&&) noexcept;
  csv_reader& operator=(csv_reader&&) noexcept;

  /// Replace `chunk` by the next playlists: whole playlists until at least `max_songs` songs
  /// (or `max_playlists` playlists) have been read. Returns false, leaving `chunk` empty,
  /// at end of file. The feature dimension is fixed by the first song of the file, and
  /// every chunk of one reader has the same dim (0 until a song was seen).
  bool next(dataset& chunk, std::size_t max_songs = std::size_t{1} << 16,
            std::size_t max_playlists = ~std::size_t{0});

  /// Index of the first playlist of the last chunk within the file.
  std::uint64_t first_playlist() const noexcept;
  /// Bytes of the file consumed so far (for progress reports: compare with the file size).
  std::uint64_t bytes_read() const noexcept;
  const std::string& path() const noexcept;
  /// True when the file has a `track_ids` column.
  bool has_track_ids() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A file that appears at its destination only when commit() succeeds: the bytes go to a
/// temporary file `.<name>.tmp-<pid>-<n>` in the same directory, which commit() flushes,
/// fsyncs and renames over `path`. Destroying an uncommitted atomic_file removes the
/// temporary file.
///
/// - An existing file keeps its mode, and its owner and group where the process may set
///   them (as root); a new file gets 0666 minus the umask. The temporary is private (0600)
///   until then, when it replaces an existing file.
/// - A symbolic link stays a link: the file it finally points to is written atomically
///   (created when the link dangles).
/// - A character device or FIFO (`/dev/null`, a named pipe) is written directly: no
///   temporary, no rename, commit() only flushes. A directory or block device is refused.
/// - `path` "-" writes to standard output directly (commit() flushes it).
/// - Creating a temporary removes the stale ones of the same destination: files named as
///   above, owned by this user, whose process no longer exists (left by SIGKILL or the OOM
///   killer). Other files are never touched.
///
/// Live temporaries are recorded process-wide so that remove_temporary_files() can delete
/// them from a signal handler.
class atomic_file {
 public:
  explicit atomic_file(const std::string& path);
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  void write(std::string_view bytes);
  /// Flush, fsync and rename into place; throws playaug::error on failure.
  void commit();
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;      // as given, for messages
  std::string target_;    // what commit() renames over: path_ with symbolic links followed
  std::string tmp_path_;  // the temporary; empty when there is none (committed, or direct)
  std::FILE* file_ = nullptr;
  int slot_ = -1;        // its entry in the registry of live temporaries
  bool direct_ = false;  // standard output, a character device or a FIFO
};

/// Unlinks the temporary file of every uncommitted atomic_file (hence csv_writer,
/// write_csv, pca_model::save...) of this process. Async-signal-safe: meant for the
/// SIGINT/SIGTERM handler of a program that embeds playaug, which should then end the
/// process (the interrupted writers are not usable any more). The library installs no
/// signal handler itself; the playaug tool installs one that calls this and re-raises.
/// At most 64 temporaries are tracked at once; beyond that, files are still removed by
/// their destructors, only not by this function.
void remove_temporary_files() noexcept;

/// Writes datasets chunk by chunk into one CSV file, atomically (see atomic_file).
///
/// The text of a chunk is formatted on up to `threads` threads, each rendering its own
/// contiguous range of playlists, and written in playlist order, so the bytes never depend
/// on the thread count. Writing to the file overlaps formatting the following text; a write
/// error surfaces from a later write() or from commit(). Memory stays bounded however large
/// a chunk is: text is formatted and written about a megabyte per thread at a time.
class csv_writer {
 public:
  /// `with_track_ids` adds the `track_ids` column. `threads` bounds the formatting threads
  /// (0: all hardware threads).
  explicit csv_writer(const std::string& path, bool with_track_ids = false, int threads = 0);
  ~csv_writer();
  csv_writer(const csv_writer&) = delete;
  csv_writer& operator=(const csv_writer&) = delete;
  /// Append every playlist of `chunk`. Throws playaug::error for a non-finite value (naming
  /// the first one in file order) and usage_error for missing track ids.
  void write(const dataset& chunk);
  /// Finish the file and move it into place.
  void commit();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Write `ds` to `path` atomically (with a `track_ids` column when ds.track_ids is set),
/// formatting on up to `threads` threads (0: all hardware threads; same bytes for any count).
void write_csv(const std::string& path, const dataset& ds, int threads = 0);

/// The CSV text of `ds`, as write_csv would write it (`threads` as there).
std::string to_csv(const dataset& ds, int threads = 0);

/// Append the shortest decimal digits that read back as the same float, laid out as
/// Python's repr() and json.dumps() do ("0.755", "-15.05", "1e-05", "1.0", "100000.0",
/// "1e+16"): valid JSON, and what pandas would write. Non-finite values are written as
/// Python's json writes them (NaN, Infinity, -Infinity); the CSV writer refuses them.
void append_float(std::string& out, float v);
/// The same for doubles.
void append_double(std::string& out, double v);

}  // namespace playaug
