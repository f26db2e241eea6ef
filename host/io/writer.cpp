// Writing the playlist CSV format as pandas' DataFrame.to_csv() writes it: quoting only the
// fields that need it (a comma, quote or line break inside), quotes doubled, cells as JSON
// with ", " separators.
//
// Text is produced batch by batch. A batch is a few consecutive parts, each a range of
// playlists with about kPartBytes of text; the parts of a batch are formatted at once on
// the worker threads, each into its own buffer, and then handed on in playlist order, so
// the bytes never depend on the thread count. csv_writer writes a batch on a background
// thread while the next one is formatted into a second set of buffers.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <future>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "io/float_format.hpp"
#include "io/json_cells.hpp"
#include "detail/parallel.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug {

namespace {

/// Estimated text per part: small enough to balance the threads, large enough that a
/// part costs far more than handing it out.
constexpr std::size_t kPartBytes = std::size_t{1} << 18;
/// Parts per worker thread in one batch (fewer above 16 threads: at most 64 parts or one
/// per thread, so that the two sets of buffers stay within a few tens of megabytes).
constexpr std::size_t kPartsPerThread = 4;
constexpr std::size_t kPartsPerBatch = 64;
/// A row estimated at more text than this (a playlist of some 100,000 songs) is formatted
/// and written piece by piece rather than whole, so that one huge playlist costs the
/// writer a few megabytes, not its whole text.
constexpr std::size_t kHugeRowBytes = std::size_t{16} << 20;

/// A growable byte buffer that, unlike std::string, leaves the room it reserves
/// uninitialised: rows are formatted straight into it through a raw pointer.
class text_buffer {
 public:
  void clear() noexcept { size_ = 0; }
  /// Room for at least `n` more bytes at the end; returns where they start.
  char* reserve(std::size_t n) {
    if (cap_ - size_ < n) grow(n);
    return data_.get() + size_;
  }
  /// Make the text end at `end` (inside the room reserve() returned).
  void set_end(const char* end) noexcept { size_ = static_cast<std::size_t>(end - data_.get()); }
  std::string_view view() const noexcept { return {data_.get(), size_}; }

 private:
  void grow(std::size_t n) {
    const std::size_t cap = std::max({cap_ * 2, size_ + n, std::size_t{1} << 16});
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

char* put(char* o, std::string_view s) noexcept {
  if (!s.empty()) std::memcpy(o, s.data(), s.size());
  return o + s.size();
}

/// Write one CSV field, quoted when it holds a separator, a quote or a line break
/// (room: 2 * size + 2).
char* put_field(char* o, std::string_view s) noexcept {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return put(o, s);
  *o++ = '"';
  for (const char c : s) {
    if (c == '"') *o++ = '"';
    *o++ = c;
  }
  *o++ = '"';
  return o;
}

std::string header_text(bool with_track_ids) {
  return with_track_ids ? ",moods_states,features,track_ids\n" : ",moods_states,features\n";
}

[[noreturn]] void non_finite(const dataset& ds, std::size_t p, std::size_t song, std::size_t feature, float v) {
  std::string what = std::isnan(v) ? "NaN" : (v < 0 ? "-inf" : "inf");
  throw error("cannot write playlist '" + detail::printable(ds.ids[p]) + "': song " + std::to_string(song + 1) + ", feature " +
              std::to_string(feature + 1) + " is " + what + " (the format holds finite numbers only)");
}

/// Rough size of playlist p's text, for cutting parts of similar cost.
std::size_t row_estimate(const dataset& ds, std::size_t p, bool with_track_ids) {
  const std::size_t n = ds.song_count(p);
  return ds.ids[p].size() + 16 + 4 * (ds.mood_offsets[ds.segment_offsets[p + 1]] - ds.mood_offsets[ds.segment_offsets[p]]) +
         8 * n * ds.dim + (with_track_ids ? 28 * n : 0);
}

/// Most bytes of playlist p's id and moods_states cells and the start of its features cell.
std::size_t head_bound(const dataset& ds, std::size_t p) {
  const std::size_t s0 = ds.segment_offsets[p];
  const std::size_t s1 = ds.segment_offsets[p + 1];
  constexpr std::size_t per_mood = 13;  // "-2147483648, "
  return (2 * ds.ids[p].size() + 2) + 1 + (4 + 4 * (s1 - s0) + per_mood * (ds.mood_offsets[s1] - ds.mood_offsets[s0])) +
         1 + 8;
}

/// Most bytes of `songs` songs of the features cell.
std::size_t songs_bound(const dataset& ds, std::size_t songs) {
  return (4 + (io_detail::max_float_chars + 2) * ds.dim) * songs;
}

/// True when the features cell of playlist p is quoted (it holds a comma).
bool features_quoted(const dataset& ds, std::size_t p) { return ds.song_count(p) * ds.dim > 1; }

/// The id, the moods_states cell and the opening of the features cell of playlist p
/// (room: head_bound).
char* write_head(char* o, const dataset& ds, std::size_t p) {
  o = put_field(o, ds.ids[p]);
  *o++ = ',';

  // moods_states: a comma appears (and pandas quotes) when some list has two elements.
  const std::size_t s0 = ds.segment_offsets[p];
  const std::size_t s1 = ds.segment_offsets[p + 1];
  bool comma = s1 - s0 > 1;
  for (std::size_t s = s0; s < s1 && !comma; ++s) comma = ds.mood_offsets[s + 1] - ds.mood_offsets[s] > 1;
  if (comma) *o++ = '"';
  *o++ = '[';
  for (std::size_t s = s0; s < s1; ++s) {
    if (s != s0) {
      *o++ = ',';
      *o++ = ' ';
    }
    *o++ = '[';
    for (std::uint64_t m = ds.mood_offsets[s]; m < ds.mood_offsets[s + 1]; ++m) {
      if (m != ds.mood_offsets[s]) {
        *o++ = ',';
        *o++ = ' ';
      }
      o = std::to_chars(o, o + 11, ds.moods[m]).ptr;
    }
    *o++ = ']';
  }
  *o++ = ']';
  if (comma) *o++ = '"';
  *o++ = ',';

  if (ds.is_null(p)) return put(o, "[null]");
  if (features_quoted(ds, p)) *o++ = '"';
  *o++ = '[';
  return o;
}

/// Songs [i0, i1) of playlist p's features cell, each after ", " but the first of the
/// playlist (room: songs_bound).
char* write_songs(char* o, const dataset& ds, std::size_t p, std::size_t i0, std::size_t i1) {
  const std::size_t d = ds.dim;
  const float* x = ds.features.data() + ds.song_offsets[p] * d;
  for (std::size_t i = i0; i < i1; ++i) {
    if (i != 0) {
      *o++ = ',';
      *o++ = ' ';
    }
    *o++ = '[';
    for (std::size_t j = 0; j < d; ++j) {
      const float v = x[i * d + j];
      if (!std::isfinite(v)) non_finite(ds, p, i, j, v);
      if (j != 0) {
        *o++ = ',';
        *o++ = ' ';
      }
      o = io_detail::write_float(o, v);
    }
    *o++ = ']';
  }
  return o;
}

/// The end of playlist p's row after its songs: the closing of the features cell, the
/// track_ids cell when asked for, and the line end.
void write_tail(text_buffer& out, const dataset& ds, std::size_t p, bool with_track_ids, std::string& cell) {
  char* o = out.reserve(4);
  if (!ds.is_null(p)) {
    *o++ = ']';
    if (features_quoted(ds, p)) *o++ = '"';
  }
  if (!with_track_ids) {
    *o++ = '\n';
    out.set_end(o);
    return;
  }
  out.set_end(o);

  cell.clear();
  cell += '[';
  if (!ds.track_ids.empty()) {
    for (std::uint64_t i = ds.song_offsets[p]; i < ds.song_offsets[p + 1]; ++i) {
      if (i != ds.song_offsets[p]) cell += ", ";
      io_detail::append_json_string(cell, ds.track_ids[i]);
    }
  }
  cell += ']';
  o = out.reserve(2 * cell.size() + 4);
  *o++ = ',';
  o = put_field(o, cell);
  *o++ = '\n';
  out.set_end(o);
}

/// Append the row of playlist p.
void write_row(text_buffer& out, const dataset& ds, std::size_t p, bool with_track_ids, std::string& cell) {
  char* o = out.reserve(head_bound(ds, p) + songs_bound(ds, ds.song_count(p)));
  o = write_head(o, ds, p);
  if (!ds.is_null(p)) o = write_songs(o, ds, p, 0, ds.song_count(p));
  out.set_end(o);
  write_tail(out, ds, p, with_track_ids, cell);
}

void check_writable(const dataset& ds, bool with_track_ids) {
  ds.validate();
  if (with_track_ids && ds.track_ids.empty() && ds.songs() != 0) {
    throw usage_error("cannot write a track_ids column: the dataset has no track ids");
  }
}

/// Formats datasets batch by batch into two alternating sets of part buffers.
class formatter {
 public:
  using part_set = std::vector<text_buffer>;

  formatter(bool with_track_ids, int threads)
      : with_track_ids_(with_track_ids), threads_(threads > 0 ? threads : detail::hardware_threads()) {}

  bool with_track_ids() const noexcept { return with_track_ids_; }

  /// Format every playlist of `ds`, calling emit(parts, count) after each batch with the
  /// batch's text in parts[0..count), in order. Consecutive batches alternate between the
  /// two sets, so a set handed to emit is not touched again until the batch after next
  /// (across calls too). A row that cannot be written throws (the first one in file
  /// order), and no text of its batch is emitted.
  template <typename Emit>
  void format(const dataset& ds, Emit&& emit) {
    const std::size_t n = ds.playlists();
    const auto threads = static_cast<std::size_t>(threads_);
    const std::size_t max_parts =
        threads == 1 ? 1 : std::min(kPartsPerThread * threads, std::max(threads, kPartsPerBatch));
    std::size_t p = 0;
    while (p < n) {
      if (row_estimate(ds, p, with_track_ids_) >= kHugeRowBytes) {
        stream_row(ds, p, emit);
        ++p;
        continue;
      }
      bounds_.assign(1, p);
      std::size_t estimate = 0;
      while (p < n && bounds_.size() <= max_parts) {
        if (row_estimate(ds, p, with_track_ids_) >= kHugeRowBytes) break;  // streamed on its own
        estimate += row_estimate(ds, p, with_track_ids_);
        ++p;
        if (estimate >= (threads_ == 1 ? 4 * kPartBytes : kPartBytes)) {
          bounds_.push_back(p);
          estimate = 0;
        }
      }
      if (bounds_.back() != p) bounds_.push_back(p);
      const std::size_t parts = bounds_.size() - 1;

      part_set& set = sets_[current_];
      if (set.size() < parts) set.resize(parts);
      failures_.assign(parts, nullptr);
      detail::parallel_for(threads_, parts, [&](std::size_t t) {
        try {
          text_buffer& out = set[t];
          out.clear();
          std::string cell;
          for (std::size_t q = bounds_[t]; q < bounds_[t + 1]; ++q) write_row(out, ds, q, with_track_ids_, cell);
        } catch (...) {
          failures_[t] = std::current_exception();
        }
      });
      for (const std::exception_ptr& f : failures_) {
        if (f) std::rethrow_exception(f);
      }
      emit(set, parts);
      current_ = 1 - current_;
    }
  }

 private:
  /// Format the row of playlist p, one of many songs, a few parts' worth of text at a time
  /// (emitted as one-part batches), so that its text is never held whole. Every value is
  /// checked first, so that a row that cannot be written emits nothing.
  template <typename Emit>
  void stream_row(const dataset& ds, std::size_t p, Emit& emit) {
    const std::size_t n = ds.song_count(p);
    const float* x = ds.features.data() + ds.song_offsets[p] * ds.dim;
    for (std::size_t k = 0; k < n * ds.dim; ++k) {
      if (!std::isfinite(x[k])) non_finite(ds, p, k / ds.dim, k % ds.dim, x[k]);
    }
    const std::size_t step = std::max<std::size_t>(1, 4 * kPartBytes / songs_bound(ds, 1));
    std::string cell;
    auto buffer = [this]() -> text_buffer& {
      part_set& set = sets_[current_];
      if (set.empty()) set.resize(1);
      set[0].clear();
      return set[0];
    };
    auto flush = [&] {
      emit(sets_[current_], std::size_t{1});
      current_ = 1 - current_;
    };
    text_buffer* out = &buffer();
    out->set_end(write_head(out->reserve(head_bound(ds, p)), ds, p));
    for (std::size_t i = 0; i < n; i += step) {
      const std::size_t i1 = std::min(n, i + step);
      out->set_end(write_songs(out->reserve(songs_bound(ds, i1 - i)), ds, p, i, i1));
      if (i1 < n) {
        flush();
        out = &buffer();
      }
    }
    write_tail(*out, ds, p, with_track_ids_, cell);
    flush();
  }

  bool with_track_ids_;
  int threads_;
  part_set sets_[2];
  int current_ = 0;
  std::vector<std::size_t> bounds_;
  std::vector<std::exception_ptr> failures_;
};

}  // namespace

struct csv_writer::impl {
  impl(const std::string& path, bool with_track_ids, int threads)
      : file(path), fmt(with_track_ids, threads), header(header_text(with_track_ids)) {}

  /// Wait for the background write; rethrows its error.
  void finish_pending() {
    if (pending.valid()) pending.get();
  }

  atomic_file file;
  formatter fmt;
  std::string header;  // written before the first batch
  // Declared last: destroyed first, waiting for a write still in flight.
  std::future<void> pending;
};

csv_writer::csv_writer(const std::string& path, bool with_track_ids, int threads)
    : impl_(std::make_unique<impl>(path, with_track_ids, threads)) {}

csv_writer::csv_writer(const std::string& path, const writer_options& options)
    : csv_writer(path, options.with_track_ids, options.threads) {}

csv_writer::~csv_writer() = default;

void csv_writer::write(const dataset& chunk) {
  check_writable(chunk, impl_->fmt.with_track_ids());
  impl* const w = impl_.get();
  try {
    format_and_write(chunk);
  } catch (const std::bad_alloc&) {
    // Name the file and the playlists instead of letting "std::bad_alloc" reach the user.
    std::string which;
    if (chunk.playlists() != 0) which = " (playlists '" + chunk.ids.front() + "' to '" + chunk.ids.back() + "')";
    throw error("cannot write " + w->file.path() + ": out of memory formatting " +
                std::to_string(chunk.playlists()) + " playlists" + which);
  }
}

void csv_writer::format_and_write(const dataset& chunk) {
  impl* const w = impl_.get();
  w->fmt.format(chunk, [w](const formatter::part_set& set, std::size_t parts) {
    // The write of the other set must end before that set is formatted into again.
    w->finish_pending();
    w->pending = std::async(std::launch::async, [w, &set, parts] {
      if (!w->header.empty()) {
        w->file.write(w->header);
        w->header.clear();
      }
      for (std::size_t i = 0; i < parts; ++i) w->file.write(set[i].view());
    });
  });
}

void csv_writer::commit() {
  impl_->finish_pending();
  if (!impl_->header.empty()) {
    impl_->file.write(impl_->header);
    impl_->header.clear();
  }
  impl_->file.commit();
}

std::unique_ptr<dataset_writer> open_dataset_writer(const std::string& path, const writer_options& options) {
  // Every name is CSV today; a new format adds its writer here, chosen by the path.
  return std::make_unique<csv_writer>(path, options);
}

void write_csv(const std::string& path, const dataset& ds, int threads) {
  csv_writer w(path, !ds.track_ids.empty(), threads);
  w.write(ds);
  w.commit();
}

std::string to_csv(const dataset& ds, int threads) {
  const bool with_track_ids = !ds.track_ids.empty();
  check_writable(ds, with_track_ids);
  std::string out = header_text(with_track_ids);
  formatter fmt(with_track_ids, threads);
  fmt.format(ds, [&out](const formatter::part_set& set, std::size_t parts) {
    for (std::size_t i = 0; i < parts; ++i) out.append(set[i].view());
  });
  return out;
}

}  // namespace playaug
