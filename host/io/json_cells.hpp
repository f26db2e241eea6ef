#pragma once
// Parsers and writers for the JSON cells of the playlist CSV format (see playaug/io.hpp).
//
// The parsers accept exactly the JSON grammar (RFC 8259) for the shapes they expect,
// including JSON whitespace anywhere between tokens, and append straight into the flat
// arrays of a dataset: no allocation per number. Problems throw cell_error with the byte
// offset inside the cell; the CSV reader turns it into a playaug::data_error with file,
// line and column.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "playaug/buffer.hpp"

namespace playaug::io_detail {

/// A malformed cell: `offset` is the byte offset inside the cell where the problem is.
/// `syntax` is true for a grammar error, whose position is the useful part of the report,
/// and false for a value error (range, song length) whose message names the value.
class cell_error : public std::exception {
 public:
  cell_error(std::size_t offset, std::string message, bool syntax = true)
      : offset_(offset), message_(std::move(message)), syntax_(syntax) {}
  std::size_t offset() const noexcept { return offset_; }
  bool syntax() const noexcept { return syntax_; }
  const std::string& message() const noexcept { return message_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::size_t offset_;
  std::string message_;
  bool syntax_;
};

/// What a features cell held.
struct features_cell {
  std::size_t songs = 0;  ///< songs appended
  bool is_null = false;   ///< the cell was `[null]`
};

/// Parse a features cell: `[[f, f, ...], ...]`, `[]` (no songs) or `[null]` (no songs,
/// flagged). Every number must be finite and within float32 range (values too small for
/// float32 read as a zero of the same sign). Every song must have `dim` numbers; when `dim`
/// is 0 on entry the first song sets it. Appends songs * dim floats to `out`.
features_cell parse_features_cell(std::string_view cell, std::size_t& dim, buffer<float>& out);

/// Parse a moods cell: `[[int, ...], ...]`, each int within int32. Appends the moods to
/// `moods` and one end offset per segment to `mood_offsets`; returns the number of segments.
std::size_t parse_moods_cell(std::string_view cell, std::vector<std::int32_t>& moods,
                             std::vector<std::uint64_t>& mood_offsets);

/// Parse a list of JSON strings (`["a", "b"]`, `[]` or `[null]`). Appends the decoded
/// strings (UTF-8) to `out` and returns how many; sets `is_null` for `[null]`.
std::size_t parse_string_list_cell(std::string_view cell, std::vector<std::string>& out, bool& is_null);

/// Append `s` as a JSON string literal (quotes, backslash and control characters escaped;
/// other bytes copied as they are).
void append_json_string(std::string& out, std::string_view s);

}  // namespace playaug::io_detail
