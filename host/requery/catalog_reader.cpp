// Reading a track catalog CSV by its header (catalog.hpp).

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"

namespace playaug {

namespace {

// One RFC 4180 record at a time. Fields are copied into reused strings; `line` counts
// newlines, including those inside quoted fields.
class record_scanner {
 public:
  record_scanner(std::string_view text, const std::string& name) : text_(text), name_(name) {
    if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 BOM
  }

  // Read the next non-blank record into `fields`; false at end of input. `start` is the
  // 1-based line where it starts.
  bool next(std::vector<std::string>& fields, std::size_t& count, std::uint64_t& start) {
    for (;;) {
      if (pos_ >= text_.size()) return false;
      // Skip blank lines.
      if (text_[pos_] == '\n') {
        ++pos_;
        ++line_;
        continue;
      }
      if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
        pos_ += 2;
        ++line_;
        continue;
      }
      break;
    }
    start = line_;
    count = 0;
    for (;;) {
      if (count == fields.size()) fields.emplace_back();
      std::string& f = fields[count++];
      f.clear();
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size()) {
            throw data_error(name_, start, "unterminated quoted field");
          }
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              f.push_back('"');
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          f.push_back(c);
        }
        if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' &&
            !(text_[pos_] == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n'))) {
          throw data_error(name_, line_, "unexpected character after a closing quote");
        }
      } else {
        const std::size_t b = pos_;
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n') ++pos_;
        std::size_t e = pos_;
        if (e > b && text_[e - 1] == '\r' && (pos_ == text_.size() || text_[pos_] == '\n')) --e;
        f.assign(text_.data() + b, e - b);
      }
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == '\r') ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '\n') {
        ++pos_;
        ++line_;
      }
      return true;
    }
  }

 private:
  std::string_view text_;
  const std::string& name_;
  std::size_t pos_ = 0;
  std::uint64_t line_ = 1;
};

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

// A finite number within float range, or an error message.
bool parse_float(const std::string& cell, float& out) {
  std::string_view v = cell;
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

}  // namespace

track_catalog parse_catalog(std::string_view text, const std::string& name) {
  record_scanner scan(text, name);
  std::vector<std::string> fields;
  std::size_t count = 0;
  std::uint64_t line = 0;
  if (!scan.next(fields, count, line)) throw data_error(name, 0, "empty catalog file (no header)");

  const std::size_t columns = count;
  std::vector<std::string> header(fields.begin(), fields.begin() + static_cast<std::ptrdiff_t>(count));
  for (auto& h : header) h = lower(trim(h));
  auto find = [&](const char* col) -> long {
    long found = -1;
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == col) {
        if (found >= 0) throw data_error(name, line, std::string("column '") + col + "' appears twice in the header");
        found = static_cast<long>(i);
      }
    }
    return found;
  };

  long id_col = find("track_id");
  if (id_col < 0) id_col = find("id");
  if (id_col < 0) throw data_error(name, line, "no track id column (track_id or id) in the header");
  long genre_col = find("track_genre");
  if (genre_col < 0) genre_col = find("genre");

  const feature_schema schema = feature_schema::spotify();
  long feat_col[nn_dim];
  std::string missing;
  for (std::size_t k = 0; k < nn_dim; ++k) {
    feat_col[k] = find(schema[k].name.c_str());
    if (feat_col[k] < 0) missing += (missing.empty() ? "" : ", ") + schema[k].name;
  }
  if (!missing.empty()) throw data_error(name, line, "missing feature column(s) in the header: " + missing);

  track_catalog cat;
  cat.name = name;
  while (scan.next(fields, count, line)) {
    if (count != columns) {
      throw data_error(name, line, "expected " + std::to_string(columns) + " fields as in the header, found " +
                                       std::to_string(count));
    }
    std::string id = trim(fields[static_cast<std::size_t>(id_col)]);
    if (id.empty()) throw data_error(name, line, "empty track id");
    float row[nn_dim];
    for (std::size_t k = 0; k < nn_dim; ++k) {
      const std::string& cell = fields[static_cast<std::size_t>(feat_col[k])];
      if (!parse_float(cell, row[k])) {
        throw data_error(name, line, "track '" + detail::printable(id) + "': " + schema[k].name +
                                             " is not a finite number within float range: '" + detail::printable(cell) + "'");
      }
    }
    cat.ids.push_back(std::move(id));
    if (genre_col >= 0) cat.genres.push_back(trim(fields[static_cast<std::size_t>(genre_col)]));
    cat.features.append(row, row + nn_dim);
    cat.lines.push_back(line);
  }
  if (cat.size() == 0) throw data_error(name, 0, "the catalog holds no tracks");
  return cat;
}

track_catalog read_catalog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data_error(path, 0, "cannot open the catalog file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw data_error(path, 0, "error reading the catalog file");
  const std::string text = ss.str();
  return parse_catalog(text, path);
}

}  // namespace playaug
