// libFuzzer target for the CSV reader and the JSON cell parsers (see CMakeLists.txt here).
//
// Every input is used four ways:
//  1. as a whole CSV file: parse_csv either throws playaug::error or returns a valid
//     dataset, which must survive to_csv -> parse_csv unchanged;
//  2-4. as one features / moods_states / track_ids cell: our parser is compared with
//     nlohmann::json. Whatever we accept must be JSON with the same values; whatever
//     nlohmann accepts with the right shape and in range we must accept too.

#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/json_cells.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace {

using nlohmann::json;
namespace io = playaug::io_detail;

[[noreturn]] void report(const char* what, std::string_view input) {
  std::fprintf(stderr, "fuzz_reader: %s\ninput (%zu bytes): %.*s\n", what, input.size(),
               static_cast<int>(input.size() > 500 ? 500 : input.size()), input.data());
  std::abort();
}

json parse_reference(std::string_view text) {
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

bool is_number(const json& v) { return v.is_number_integer() || v.is_number_unsigned() || v.is_number_float(); }

/// `v` is a JSON number whose float32 rounding is finite (leaving out a sliver below the
/// overflow threshold, where rounding twice through double may decide differently).
bool float32_in_range(const json& v) {
  const double d = v.get<double>();
  return std::isfinite(d) && std::fabs(d) <= 0.999999 * static_cast<double>(FLT_MAX);
}

/// Our float `x` agrees with the reference `v`: within one float32 step of v rounded to
/// float32 (the reference rounds twice, decimal -> double -> float).
bool same_float(float x, const json& v) {
  const float ref = static_cast<float>(v.get<double>());
  if (x == ref) return true;
  return std::nextafter(ref, INFINITY) == x || std::nextafter(ref, -INFINITY) == x;
}

void check_features(std::string_view cell) {
  std::size_t dim = 0;
  playaug::buffer<float> out;
  io::features_cell res;
  bool ours = true;
  try {
    res = io::parse_features_cell(cell, dim, out);
  } catch (const io::cell_error& e) {
    ours = false;
    if (e.offset() > cell.size()) report("features: error offset past the end of the cell", cell);
  }
  const json ref = parse_reference(cell);
  if (ours) {
    if (ref.is_discarded()) report("features: we accepted a cell that is not JSON", cell);
    if (!ref.is_array()) report("features: we accepted a non-list", cell);
    if (res.is_null) {
      if (ref != json::array({nullptr})) report("features: [null] mismatch", cell);
      return;
    }
    if (ref.size() != res.songs || out.size() != res.songs * dim) report("features: song count mismatch", cell);
    std::size_t k = 0;
    for (const auto& song : ref) {
      if (!song.is_array() || song.size() != dim) report("features: song shape mismatch", cell);
      for (const auto& v : song) {
        if (!is_number(v) || !same_float(out[k++], v)) report("features: value mismatch", cell);
      }
    }
    return;
  }
  // We refused: the reference must fail, or the cell must break a rule beyond JSON.
  if (ref.is_discarded() || !ref.is_array()) return;
  if (ref == json::array({nullptr}) || ref.empty()) report("features: we refused [null] or []", cell);
  std::size_t d = 0;
  for (const auto& song : ref) {
    if (!song.is_array() || song.empty()) return;
    if (d == 0) d = song.size();
    if (song.size() != d) return;
    for (const auto& v : song) {
      if (!is_number(v) || !float32_in_range(v)) return;
    }
  }
  report("features: we refused a valid cell", cell);
}

void check_moods(std::string_view cell) {
  std::vector<std::int32_t> moods;
  std::vector<std::uint64_t> offsets{0};
  std::size_t segments = 0;
  bool ours = true;
  try {
    segments = io::parse_moods_cell(cell, moods, offsets);
  } catch (const io::cell_error&) {
    ours = false;
  }
  const json ref = parse_reference(cell);
  auto int32_value = [](const json& v) {
    if (v.is_number_integer()) {
      const auto i = v.get<std::int64_t>();
      return i >= INT32_MIN && i <= INT32_MAX;
    }
    return v.is_number_unsigned() && v.get<std::uint64_t>() <= INT32_MAX;
  };
  if (ours) {
    if (ref.is_discarded() || !ref.is_array() || ref.size() != segments) report("moods: we accepted a non-list", cell);
    std::size_t k = 0;
    for (std::size_t s = 0; s < segments; ++s) {
      const auto& seg = ref[s];
      if (!seg.is_array() || seg.size() != offsets[s + 1] - offsets[s]) report("moods: segment mismatch", cell);
      for (const auto& v : seg) {
        if (!int32_value(v) || v.get<std::int64_t>() != moods[k++]) report("moods: value mismatch", cell);
      }
    }
    return;
  }
  if (ref.is_discarded() || !ref.is_array()) return;
  for (const auto& seg : ref) {
    if (!seg.is_array()) return;
    for (const auto& v : seg) {
      if (!int32_value(v)) return;
    }
  }
  report("moods: we refused a valid cell", cell);
}

void check_strings(std::string_view cell) {
  for (const char c : cell) {
    if (static_cast<unsigned char>(c) >= 0x80) return;  // we pass UTF-8 through unchecked
  }
  std::vector<std::string> out;
  bool is_null = false;
  bool ours = true;
  try {
    io::parse_string_list_cell(cell, out, is_null);
  } catch (const io::cell_error&) {
    ours = false;
  }
  const json ref = parse_reference(cell);
  if (ours) {
    if (ref.is_discarded()) report("track_ids: we accepted a cell that is not JSON", cell);
    if (is_null) {
      if (ref != json::array({nullptr})) report("track_ids: [null] mismatch", cell);
      return;
    }
    if (ref != json(out)) report("track_ids: value mismatch", cell);
    return;
  }
  if (ref.is_discarded() || !ref.is_array()) return;
  if (ref == json::array({nullptr})) report("track_ids: we refused [null]", cell);
  for (const auto& v : ref) {
    if (!v.is_string()) return;
  }
  report("track_ids: we refused a valid cell", cell);
}

void check_csv(std::string_view text) {
  playaug::dataset ds;
  try {
    ds = playaug::parse_csv(text, "fuzz");
  } catch (const playaug::data_error& e) {
    if (e.file() != "fuzz") report("data_error names another file", text);
    return;
  } catch (const playaug::error&) {
    report("a reading error that is not a data_error", text);
  }
  try {
    ds.validate();
  } catch (const playaug::error& e) {
    report(e.what(), text);
  }
  const std::string again = playaug::to_csv(ds);
  if (!(playaug::parse_csv(again, "again") == ds)) report("to_csv -> parse_csv changed the dataset", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_csv(text);
  // nlohmann::json skips a byte-order mark and stops at a NUL byte; our cells do neither.
  if (size >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) return 0;
  if (text.find('\0') != std::string_view::npos) return 0;
  check_features(text);
  check_moods(text);
  check_strings(text);
  return 0;
}
