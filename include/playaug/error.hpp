#pragma once
/// @file error.hpp
/// Exception types thrown by playaug. Every error the library raises derives from
/// playaug::error, so a caller can catch one type.
///
/// The command-line tool maps them to exit codes: usage_error -> 2, everything else -> 1.

#include <cstdint>
#include <stdexcept>
#include <string>

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
/// record starts; 0 when the problem concerns the file as a whole.
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

}  // namespace playaug
