#pragma once
// Raw-buffer forms of append_float / append_double (playaug/io.hpp), for writers that
// reserve room once and format many numbers without a capacity check per number.

namespace playaug::io_detail {

/// The most characters write_float or write_double produces ("-1234567800000000.0" is 19;
/// the longest double forms are 24).
constexpr int max_float_chars = 32;

/// Write `v` as append_float does at `out` (at least max_float_chars bytes of room) and
/// return the end of the text. Not NUL-terminated.
char* write_float(char* out, float v) noexcept;
/// The same for doubles.
char* write_double(char* out, double v) noexcept;

/// write_float's text by way of std::to_chars (the digits) and the same layout: the
/// reference that write_float's own shortest-digit search is tested against.
char* write_float_with_to_chars(char* out, float v) noexcept;

}  // namespace playaug::io_detail
