#pragma once
// An RFC 4180 CSV tokenizer over a file descriptor (through a fixed-size read buffer) or
// over text in memory.
//
// Accepted: fields quoted with '"' (holding commas, line breaks and doubled quotes), LF or
// CRLF line ends, a UTF-8 byte-order mark at the start, a missing final line break.
// Blank lines are skipped (as pandas does). Rejected with playaug::data_error: a quote
// inside an unquoted field, anything but a separator after a closing quote, an
// unterminated quoted field.
//
// A record must fit in the read buffer; the buffer doubles for a record that does not, so
// its size is the larger of the initial size and the longest record. A record longer than
// `max_record` bytes (line end included) is an error naming the file, the line where it
// starts and the limit, raised before the buffer grows past the limit.
//
// Files are opened through input_file: a directory is refused by name, and a regular file
// that shrinks while it is read is an error.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "io/input_file.hpp"

namespace playaug::io_detail {

/// One record. The views point into the tokenizer's buffer and stay valid until the next
/// call to csv_tokenizer::next().
struct csv_record {
  std::vector<std::string_view> fields;  ///< unquoted, unescaped field values
  std::uint64_t line = 0;                ///< 1-based line where the record starts
  const char* raw_begin = nullptr;       ///< the record's bytes as they are in the file
  const char* raw_end = nullptr;
  std::vector<const char*> raw_fields;   ///< where each field's value starts in the raw bytes
  std::vector<std::uint8_t> escaped;     ///< 1 where a field held doubled quotes

  std::vector<std::string> scratch;      ///< unescaped copies of the fields with doubled quotes

  /// The physical line and 1-based column (in bytes) of byte `offset` of field `f`'s value.
  std::pair<std::uint64_t, std::uint64_t> position(std::size_t f, std::size_t offset) const;
};

class csv_tokenizer {
 public:
  static constexpr std::size_t default_buffer = std::size_t{1} << 20;
  static constexpr std::size_t default_max_record = std::size_t{256} << 20;

  /// Tokenize text held in memory (not copied; it must outlive the tokenizer).
  csv_tokenizer(std::string_view text, std::string name, std::size_t max_record = default_max_record);
  /// Read `path` ("-" for standard input) through a buffer of `buffer_size` bytes.
  /// Throws data_error (line 0) when the file cannot be opened or is a directory.
  explicit csv_tokenizer(const std::string& path, std::size_t max_record = default_max_record,
                         std::size_t buffer_size = default_buffer);
  ~csv_tokenizer();
  csv_tokenizer(const csv_tokenizer&) = delete;
  csv_tokenizer& operator=(const csv_tokenizer&) = delete;

  /// The next non-blank record; false at the end of the input.
  bool next(csv_record& rec);

  const std::string& name() const noexcept { return name_; }
  /// The 1-based line after the last record read.
  std::uint64_t line() const noexcept { return line_; }
  /// Bytes of input consumed by the records read so far (for progress reports).
  std::uint64_t bytes_consumed() const noexcept { return bytes_consumed_; }

 private:
  enum class status { complete, blank, need_more, end };
  status tokenize(csv_record& rec, std::size_t& consumed);
  /// Read more input after the current record's start; false at end of input.
  bool refill();
  /// Return the buffer to its initial size when a long record has been consumed.
  void shrink();
  [[noreturn]] void fail(const csv_record& rec, const std::string& message) const;
  [[noreturn]] void too_long() const;
  /// A data_error when the input starts like a Parquet or gzip file rather than text.
  void reject_binary_formats() const;

  struct free_deleter {
    void operator()(char* p) const noexcept;
  };

  std::string name_;
  std::unique_ptr<input_file> file_;
  std::unique_ptr<char, free_deleter> storage_;  ///< malloc'ed, so that growing can realloc in place
  std::size_t capacity_ = 0;
  std::size_t initial_capacity_ = 0;
  std::size_t max_record_ = default_max_record;
  const char* data_ = nullptr;  ///< storage_ or the in-memory text
  std::size_t begin_ = 0;       ///< start of unread bytes in data_
  std::size_t end_ = 0;         ///< end of valid bytes in data_
  bool eof_ = false;
  bool started_ = false;        ///< the byte-order mark check is done
  std::uint64_t line_ = 1;
  std::uint64_t bytes_consumed_ = 0;
};

}  // namespace playaug::io_detail
