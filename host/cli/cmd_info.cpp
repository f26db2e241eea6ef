// playaug info FILE [--json]: counts and per-feature min/mean/max of a playlist CSV,
// read in one streaming pass.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/summary.hpp"

namespace playaug::cli {
namespace {

struct info_options {
  std::string file;
  bool json = false;
};

std::string json_array_of_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += ", ";
    out += nlohmann::json(v[i]).dump();
  }
  return out + "]";
}

std::string json_array_of_floats(const std::vector<float>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += ", ";
    append_float(out, v[i]);
  }
  return out + "]";
}

std::string json_array_of_doubles(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += ", ";
    append_double(out, v[i]);
  }
  return out + "]";
}

void print_json(const dataset_summary& s) {
  std::string out = "{\"playlists\": " + std::to_string(s.playlists) +
                    ", \"empty_playlists\": " + std::to_string(s.empty_playlists) +
                    ", \"songs\": " + std::to_string(s.songs) + ", \"features\": " + std::to_string(s.dim) +
                    ", \"feature_names\": " + json_array_of_strings(s.feature_names) +
                    ", \"min\": " + json_array_of_floats(s.min) + ", \"mean\": " + json_array_of_doubles(s.mean) +
                    ", \"max\": " + json_array_of_floats(s.max) + "}\n";
  std::cout << out;
}

/// A number for the table: up to 6 significant digits.
std::string cell(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t len = digits.size();
  for (std::size_t i = 0; i < len; ++i) {
    if (i != 0 && (len - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void print_text(const std::string& file, const dataset_summary& s) {
  std::printf("%s\n", detail::printable(file, detail::printable_no_limit).c_str());
  std::printf("  playlists        %s\n", with_commas(s.playlists).c_str());
  std::printf("  empty playlists  %s\n", with_commas(s.empty_playlists).c_str());
  std::printf("  mood segments    %s\n", with_commas(s.segments).c_str());
  std::printf("  songs            %s\n", with_commas(s.songs).c_str());
  std::printf("  features (d)     %zu\n", s.dim);
  if (s.songs == 0) return;

  std::size_t name_w = 7;  // "feature"
  for (const auto& n : s.feature_names) name_w = std::max(name_w, n.size());
  std::vector<std::array<std::string, 3>> rows;
  std::size_t w = 4;  // "mean"
  for (std::size_t j = 0; j < s.dim; ++j) {
    rows.push_back({cell(s.min[j]), cell(s.mean[j]), cell(s.max[j])});
    for (const auto& c : rows.back()) w = std::max(w, c.size());
  }
  const int nw = static_cast<int>(name_w), cw = static_cast<int>(w);
  std::printf("\n  %-*s  %*s  %*s  %*s\n", nw, "feature", cw, "min", cw, "mean", cw, "max");
  for (std::size_t j = 0; j < s.dim; ++j) {
    std::printf("  %-*s  %*s  %*s  %*s\n", nw, s.feature_names[j].c_str(), cw, rows[j][0].c_str(), cw,
                rows[j][1].c_str(), cw, rows[j][2].c_str());
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opts = std::make_shared<info_options>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Summarise a playlist CSV: counts and per-feature min/mean/max (streams the file)");
  cmd->add_option("FILE", opts->file, "Playlist CSV file ('-' for standard input)")->required();
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of the table");
  cmd->callback([opts] {
    const dataset_summary s = summarize_csv(opts->file);
    if (opts->json) {
      print_json(s);
    } else {
      print_text(opts->file, s);
    }
    std::cout.flush();
  });
}

}  // namespace playaug::cli
