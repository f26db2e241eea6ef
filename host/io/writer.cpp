// Writing the playlist CSV format as pandas' DataFrame.to_csv() writes it: quoting only the
// fields that need it (a comma, quote or line break inside), quotes doubled, cells as JSON
// with ", " separators.

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "io/json_cells.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug {

namespace {

constexpr std::size_t flush_bytes = std::size_t{1} << 20;

/// Append one CSV field, quoted when it holds a separator, a quote or a line break.
void append_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(s);
    return;
  }
  out += '"';
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_header(std::string& out, bool with_track_ids) {
  out += ",moods_states,features";
  if (with_track_ids) out += ",track_ids";
  out += '\n';
}

[[noreturn]] void non_finite(const dataset& ds, std::size_t p, std::size_t song, std::size_t feature, float v) {
  std::string what = std::isnan(v) ? "NaN" : (v < 0 ? "-inf" : "inf");
  throw error("cannot write playlist '" + ds.ids[p] + "': song " + std::to_string(song + 1) + ", feature " +
              std::to_string(feature + 1) + " is " + what + " (the format holds finite numbers only)");
}

/// Append the row of playlist p.
void append_row(std::string& out, const dataset& ds, std::size_t p, bool with_track_ids, std::string& cell) {
  append_field(out, ds.ids[p]);
  out += ',';

  // moods_states: a comma appears (and pandas quotes) when some list has two elements.
  const std::size_t s0 = ds.segment_offsets[p];
  const std::size_t s1 = ds.segment_offsets[p + 1];
  bool comma = s1 - s0 > 1;
  for (std::size_t s = s0; s < s1 && !comma; ++s) comma = ds.mood_offsets[s + 1] - ds.mood_offsets[s] > 1;
  if (comma) out += '"';
  out += '[';
  for (std::size_t s = s0; s < s1; ++s) {
    if (s != s0) out += ", ";
    out += '[';
    char buf[16];
    for (std::uint64_t m = ds.mood_offsets[s]; m < ds.mood_offsets[s + 1]; ++m) {
      if (m != ds.mood_offsets[s]) out += ", ";
      const auto r = std::to_chars(buf, buf + sizeof buf, ds.moods[m]);
      out.append(buf, r.ptr);
    }
    out += ']';
  }
  out += ']';
  if (comma) out += '"';
  out += ',';

  // features
  const std::size_t n = ds.song_count(p);
  const std::size_t d = ds.dim;
  if (ds.is_null(p)) {
    out += "[null]";
  } else {
    comma = n * d > 1;
    if (comma) out += '"';
    out += '[';
    const float* x = ds.features.data() + ds.song_offsets[p] * d;
    for (std::size_t i = 0; i < n; ++i) {
      out += i == 0 ? "[" : ", [";
      for (std::size_t j = 0; j < d; ++j) {
        const float v = x[i * d + j];
        if (!std::isfinite(v)) non_finite(ds, p, i, j, v);
        if (j != 0) out += ", ";
        append_float(out, v);
      }
      out += ']';
    }
    out += ']';
    if (comma) out += '"';
  }

  if (with_track_ids) {
    cell.clear();
    cell += '[';
    if (!ds.track_ids.empty()) {
      for (std::uint64_t i = ds.song_offsets[p]; i < ds.song_offsets[p + 1]; ++i) {
        if (i != ds.song_offsets[p]) cell += ", ";
        io_detail::append_json_string(cell, ds.track_ids[i]);
      }
    }
    cell += ']';
    out += ',';
    append_field(out, cell);
  }
  out += '\n';
}

void check_writable(const dataset& ds, bool with_track_ids) {
  ds.validate();
  if (with_track_ids && ds.track_ids.empty() && ds.songs() != 0) {
    throw usage_error("cannot write a track_ids column: the dataset has no track ids");
  }
}

}  // namespace

csv_writer::csv_writer(const std::string& path, bool with_track_ids)
    : file_(path), with_track_ids_(with_track_ids) {
  append_header(scratch_, with_track_ids_);
}

csv_writer::~csv_writer() = default;

void csv_writer::write(const dataset& chunk) {
  check_writable(chunk, with_track_ids_);
  std::string cell;
  for (std::size_t p = 0; p < chunk.playlists(); ++p) {
    append_row(scratch_, chunk, p, with_track_ids_, cell);
    if (scratch_.size() >= flush_bytes) {
      file_.write(scratch_);
      scratch_.clear();
    }
  }
}

void csv_writer::commit() {
  file_.write(scratch_);
  scratch_.clear();
  file_.commit();
}

void write_csv(const std::string& path, const dataset& ds) {
  csv_writer w(path, !ds.track_ids.empty());
  w.write(ds);
  w.commit();
}

std::string to_csv(const dataset& ds) {
  const bool with_track_ids = !ds.track_ids.empty();
  check_writable(ds, with_track_ids);
  std::string out;
  append_header(out, with_track_ids);
  std::string cell;
  for (std::size_t p = 0; p < ds.playlists(); ++p) append_row(out, ds, p, with_track_ids, cell);
  return out;
}

}  // namespace playaug
