#pragma once
/// @file error.hpp
/// Exception types thrown by playaug. Every error the library raises derives from
/// playaug::error, so a caller can catch one type.
///
/// The command-line tool maps them to exit codes: usage_error -> 2, everything else -> 1.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace playaug {

/// Base class of every playaug exception.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A caller passed an invalid parameter (p >= 1, phi outside [0, 1], mismatched shapes...).
class usage_error : public error {
 public:
  using error::error;
};

/// A problem in an input file. what() is "FILE:LINE: <message> (playlist '<id>')"; the
/// parts are also available separately. LINE is the 1-based line where the offending
/// record starts; 0 when the problem concerns the file as a whole. In what(), the file
/// name, the message and the id pass through detail::printable (the id cut to
/// detail::printable_id_length); the accessors return them as given.
class data_error : public error {
 public:
  data_error(std::string file, std::uint64_t line, std::string message, std::string playlist = {});

  const std::string& file() const noexcept { return file_; }
  std::uint64_t line() const noexcept { return line_; }
  const std::string& message() const noexcept { return message_; }
  /// The id of the playlist the record belongs to; empty when unknown.
  const std::string& playlist() const noexcept { return playlist_; }

 private:
  std::string file_;
  std::uint64_t line_;
  std::string message_;
  std::string playlist_;
};

/// The CUDA backend was requested but cannot run: the build has no CUDA engine, or the
/// machine has no usable device/driver. reason() says which.
class cuda_unavailable : public error {
 public:
  enum class reason_t { not_built, no_device };
  cuda_unavailable(reason_t why, const std::string& detail);
  reason_t reason() const noexcept { return why_; }

 private:
  reason_t why_;
};

/// A CUDA, cuSOLVER or cuRAND call failed at run time.
class cuda_error : public error {
 public:
  using error::error;
};

/// A numerical routine failed (LAPACK/cuSOLVER info != 0, covariance of fewer than 2 rows).
class numeric_error : public error {
 public:
  using error::error;
};

namespace detail {

/// How much of an id or a cell a message shows (in characters).
inline constexpr std::size_t printable_id_length = 64;
/// No cut: printable() only escapes.
inline constexpr std::size_t printable_no_limit = static_cast<std::size_t>(-1);

/// `text` made safe to echo to a terminal, for messages that quote ids, cells, file names
/// or anything else read from input:
///  - C0 control characters, DEL and bytes that are not valid UTF-8 are shown as \xNN
///    (\e for ESC, \t, \n and \r for tab, line feed and carriage return), so an escape
///    sequence cannot clear the screen or change colours;
///  - C1 controls (U+0080..U+009F) and the invisible direction and line-separator marks
///    (U+200E, U+200F, U+2028..U+202E, U+2066..U+2069, U+FEFF) are shown as \uNNNN;
///  - everything else, valid multi-byte UTF-8 included, is kept.
/// When the result would exceed `max_chars` characters (an escape counts as one), it is
/// cut there, on a character boundary, and "... (N bytes)" is appended, N the size of
/// `text`. Backslashes are not escaped, so printable(printable(s)) == printable(s) for
/// an uncut result.
std::string printable(std::string_view text, std::size_t max_chars = printable_id_length);

}  // namespace detail

}  // namespace playaug
