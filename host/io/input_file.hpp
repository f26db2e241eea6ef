#pragma once
// Opening an input for reading, the same way for every file the tool reads (datasets,
// catalogs, models, genres): a directory is refused by name, and a regular file that ends
// before the size it had when it was opened, or shrinks while it is read, is an error
// rather than a silently shorter input.

#include <cstddef>
#include <cstdint>
#include <string>

namespace playaug::io_detail {

class input_file {
 public:
  /// Open `path` ("-": standard input, named "<stdin>" in messages). Throws data_error
  /// (line 0) for a directory ("is a directory") or when the file cannot be opened.
  explicit input_file(const std::string& path);
  ~input_file();
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;

  /// Read up to `n` bytes into `buf`; 0 at the end of the input. `line` is where the reader
  /// is, for messages. At the end of a regular file, throws data_error when fewer bytes were
  /// read than the file held when it was opened, or when it is now shorter than what was read.
  std::size_t read(char* buf, std::size_t n, std::uint64_t line);

  /// The name used in messages ("<stdin>" for "-").
  const std::string& name() const noexcept { return name_; }
  /// Bytes read so far.
  std::uint64_t offset() const noexcept { return offset_; }
  /// The size when opened, for a regular file; 0 otherwise.
  std::uint64_t size_at_open() const noexcept { return size_at_open_; }

 private:
  void check_complete(std::uint64_t line) const;

  std::string name_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool regular_ = false;
  std::uint64_t size_at_open_ = 0;
  std::uint64_t offset_ = 0;
};

/// The whole of `path` (opened as input_file does), at most `max_bytes` bytes; `what`
/// names the kind of file in messages ("PCA model", "genres file"). Throws data_error
/// naming the file for a directory, an unreadable or shrinking file, a file larger than
/// `max_bytes`, or when memory runs out.
std::string read_file_text(const std::string& path, const char* what, std::size_t max_bytes);

}  // namespace playaug::io_detail
