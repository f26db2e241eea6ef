// Reading a track catalog CSV by its header (catalog.hpp).

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "io/csv_tokenizer.hpp"
#include "io/utf8.hpp"
#include "playaug/catalog.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"

namespace playaug {

namespace {

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A finite number within float range, or false.
bool parse_float(std::string_view v, float& out) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  if (v.empty()) return false;
  double d = 0.0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), d);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size()) return false;
  if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) return false;
  out = static_cast<float>(d);
  return true;
}

/// Read a catalog record by record from `tok` (the CSV tokenizer every reader shares).
track_catalog read_records(io_detail::csv_tokenizer& tok) {
  const std::string& name = tok.name();
  io_detail::csv_record rec;
  if (!tok.next(rec)) throw data_error(name, 0, "empty catalog file (no header)");

  const std::size_t columns = rec.fields.size();
  const std::uint64_t header_line = rec.line;
  std::vector<std::string> header(rec.fields.begin(), rec.fields.end());
  for (auto& h : header) h = lower(trim(h));
  auto find = [&](const char* col) -> long {
    long found = -1;
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == col) {
        if (found >= 0) {
          throw data_error(name, header_line, std::string("column '") + col + "' appears twice in the header");
        }
        found = static_cast<long>(i);
      }
    }
    return found;
  };

  long id_col = find("track_id");
  if (id_col < 0) id_col = find("id");
  if (id_col < 0) throw data_error(name, header_line, "no track id column (track_id or id) in the header");
  long genre_col = find("track_genre");
  if (genre_col < 0) genre_col = find("genre");

  const feature_schema schema = feature_schema::spotify();
  long feat_col[nn_dim];
  std::string missing;
  for (std::size_t k = 0; k < nn_dim; ++k) {
    feat_col[k] = find(schema[k].name.c_str());
    if (feat_col[k] < 0) missing += (missing.empty() ? "" : ", ") + schema[k].name;
  }
  if (!missing.empty()) throw data_error(name, header_line, "missing feature column(s) in the header: " + missing);

  // Ids and genres are written into JSON cells (track_ids) and matched by name: UTF-8 only.
  auto utf8 = [&](const std::string& s, const char* what, std::uint64_t line) {
    const std::string problem = io_detail::utf8_problem(s);
    if (!problem.empty()) throw data_error(name, line, std::string(what) + " is not valid UTF-8 (" + problem + ")");
  };

  track_catalog cat;
  cat.name = name;
  try {
    while (tok.next(rec)) {
      const std::uint64_t line = rec.line;
      if (rec.fields.size() != columns) {
        throw data_error(name, line, "expected " + std::to_string(columns) + " fields as in the header, found " +
                                         std::to_string(rec.fields.size()));
      }
      std::string id = trim(rec.fields[static_cast<std::size_t>(id_col)]);
      if (id.empty()) throw data_error(name, line, "empty track id");
      utf8(id, "the track id", line);
      float row[nn_dim];
      for (std::size_t k = 0; k < nn_dim; ++k) {
        const std::string_view cell = rec.fields[static_cast<std::size_t>(feat_col[k])];
        if (!parse_float(cell, row[k])) {
          throw data_error(name, line, "track '" + detail::printable(id) + "': " + schema[k].name +
                                           " is not a finite number within float range: '" +
                                           detail::printable(cell) + "'");
        }
      }
      if (genre_col >= 0) {
        std::string genre = trim(rec.fields[static_cast<std::size_t>(genre_col)]);
        utf8(genre, "the genre", line);
        cat.genres.push_back(std::move(genre));
      }
      cat.ids.push_back(std::move(id));
      cat.features.append(row, row + nn_dim);
      cat.lines.push_back(line);
    }
  } catch (const std::bad_alloc&) {
    throw data_error(name, tok.line(), "out of memory after " + std::to_string(cat.size()) + " catalog tracks");
  }
  if (cat.size() == 0) throw data_error(name, 0, "the catalog holds no tracks");
  return cat;
}

}  // namespace

track_catalog parse_catalog(std::string_view text, const std::string& name, const reader_options& options) {
  io_detail::csv_tokenizer tok(text, name, options.max_record_bytes);
  return read_records(tok);
}

track_catalog read_catalog(const std::string& path, const reader_options& options) {
  io_detail::csv_tokenizer tok(path, options.max_record_bytes, options.buffer_bytes);
  return read_records(tok);
}

}  // namespace playaug
