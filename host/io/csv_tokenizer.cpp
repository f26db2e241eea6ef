#include "io/csv_tokenizer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "playaug/error.hpp"

namespace playaug::io_detail {

namespace {

/// `raw` with every doubled quote collapsed to one.
void unescape(std::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    out += raw[i];
    if (raw[i] == '"') ++i;  // the tokenizer guarantees the pair
  }
}

}  // namespace

std::pair<std::uint64_t, std::uint64_t> csv_record::position(std::size_t f, std::size_t offset) const {
  const char* r = raw_fields[f];
  if (escaped[f] != 0) {
    for (std::size_t i = 0; i < offset && r < raw_end; ++i) r += (*r == '"') ? 2 : 1;
  } else {
    r += offset;
  }
  std::uint64_t l = line;
  const char* line_start = raw_begin;
  for (const char* q = raw_begin; q < r; ++q) {
    if (*q == '\n') {
      ++l;
      line_start = q + 1;
    }
  }
  return {l, static_cast<std::uint64_t>(r - line_start) + 1};
}

csv_tokenizer::csv_tokenizer(std::string_view text, std::string name, std::size_t max_record)
    : name_(std::move(name)), max_record_(std::max<std::size_t>(max_record, 1)), data_(text.data()),
      end_(text.size()), eof_(true) {}

csv_tokenizer::csv_tokenizer(const std::string& path, std::size_t max_record, std::size_t buffer_size)
    : file_(std::make_unique<input_file>(path)), max_record_(std::max<std::size_t>(max_record, 1)) {
  name_ = file_->name();
  // No larger than the limit needs (one record and the byte that ends it).
  capacity_ = std::max<std::size_t>(std::min(buffer_size, max_record_ + 1), 64);
  initial_capacity_ = capacity_;
  storage_.reset(static_cast<char*>(std::malloc(capacity_)));
  if (!storage_) throw data_error(name_, 0, "out of memory allocating the read buffer");
  data_ = storage_.get();
}

csv_tokenizer::~csv_tokenizer() = default;

void csv_tokenizer::free_deleter::operator()(char* p) const noexcept { std::free(p); }

void csv_tokenizer::too_long() const {
  throw data_error(name_, line_,
                   "record longer than the limit of " + std::to_string(max_record_) +
                       " bytes (playaug --max-record-bytes, reader_options::max_record_bytes)");
}

void csv_tokenizer::shrink() {
  if (!file_ || capacity_ <= initial_capacity_ || end_ - begin_ >= initial_capacity_) return;
  // A long record grew the buffer; give the memory back once it has been consumed.
  char* buf = storage_.get();
  std::memmove(buf, buf + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
  if (char* smaller = static_cast<char*>(std::realloc(buf, initial_capacity_))) {
    (void)storage_.release();
    storage_.reset(smaller);
    capacity_ = initial_capacity_;
    data_ = smaller;
  }
}

bool csv_tokenizer::refill() {
  if (eof_ || !file_) return false;
  char* buf = storage_.get();
  if (begin_ > 0) {
    std::memmove(buf, buf + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  shrink();
  buf = storage_.get();
  if (end_ == capacity_) {  // one record longer than the buffer: double it, up to the limit
    if (end_ > max_record_) too_long();
    const std::size_t cap = std::min(capacity_ * 2, max_record_ + 1);
    // realloc moves large blocks by remapping pages, without a second copy in memory.
    char* bigger = static_cast<char*>(std::realloc(buf, cap));
    if (bigger == nullptr) {
      throw data_error(name_, line_, "out of memory growing the read buffer to " + std::to_string(cap) +
                                         " bytes for one record");
    }
    (void)storage_.release();
    storage_.reset(bigger);
    capacity_ = cap;
    buf = bigger;
    data_ = buf;
  }
  while (end_ < capacity_) {
    const std::size_t n = file_->read(buf + end_, capacity_ - end_, line_);
    if (n == 0) {
      eof_ = true;
      break;
    }
    end_ += n;
  }
  return true;
}

void csv_tokenizer::fail(const csv_record& rec, const std::string& message) const {
  std::string id;
  if (rec.fields.size() > 1) {  // the id field is complete
    if (rec.escaped[0] != 0) unescape(rec.fields[0], id);
    else id = std::string(rec.fields[0]);
  }
  throw data_error(name_, rec.line, message, id);
}

csv_tokenizer::status csv_tokenizer::tokenize(csv_record& rec, std::size_t& consumed) {
  const char* const p0 = data_ + begin_;
  const char* const end = data_ + end_;
  rec.fields.clear();
  rec.raw_fields.clear();
  rec.escaped.clear();
  rec.line = line_;
  rec.raw_begin = p0;
  rec.raw_end = end;
  if (p0 == end) return eof_ ? status::end : status::need_more;

  const char* p = p0;
  for (;;) {
    if (p < end && *p == '"') {
      const char* q = p + 1;
      bool esc = false;
      for (;;) {
        const void* hit = std::memchr(q, '"', static_cast<std::size_t>(end - q));
        if (hit == nullptr) {
          if (!eof_) return status::need_more;
          rec.raw_fields.push_back(p + 1);
          rec.escaped.push_back(esc ? 1 : 0);
          fail(rec, "unterminated quoted field (field " + std::to_string(rec.fields.size() + 1) + ")");
        }
        const char* r = static_cast<const char*>(hit);
        if (r + 1 == end && !eof_) return status::need_more;  // a doubled quote may follow
        if (r + 1 < end && r[1] == '"') {
          esc = true;
          q = r + 2;
          continue;
        }
        q = r;
        break;
      }
      rec.fields.emplace_back(p + 1, static_cast<std::size_t>(q - (p + 1)));
      rec.raw_fields.push_back(p + 1);
      rec.escaped.push_back(esc ? 1 : 0);
      p = q + 1;
      if (p < end && *p == '\r' && p + 1 == end && !eof_) return status::need_more;
      if (p < end && *p != ',' && *p != '\n' && !(*p == '\r' && (p + 1 == end || p[1] == '\n'))) {
        fail(rec, "unexpected character after the closing quote of field " + std::to_string(rec.fields.size()) +
                      " (a quote inside a quoted field must be doubled)");
      }
    } else {
      const char* q = p;
      while (q < end && *q != ',' && *q != '\n' && *q != '"') ++q;
      if (q < end && *q == '"') {
        rec.fields.emplace_back(p, static_cast<std::size_t>(q - p));
        rec.raw_fields.push_back(p);
        rec.escaped.push_back(0);
        if (!eof_) {
          // Decide only once the whole record is buffered, so that errors are stable.
          const char* nl = static_cast<const char*>(std::memchr(q, '\n', static_cast<std::size_t>(end - q)));
          if (nl == nullptr) return status::need_more;
        }
        fail(rec, "quote inside unquoted field " + std::to_string(rec.fields.size()) +
                      " (a field containing quotes must be quoted and its quotes doubled)");
      }
      if (q == end && !eof_) return status::need_more;
      const char* fe = q;
      if (fe > p && fe[-1] == '\r' && (q == end || *q == '\n')) --fe;  // CRLF, or a final CR
      rec.fields.emplace_back(p, static_cast<std::size_t>(fe - p));
      rec.raw_fields.push_back(p);
      rec.escaped.push_back(0);
      p = q;
    }
    // After a field: a separator, a line end or the end of the input.
    if (p == end) {
      if (!eof_) return status::need_more;
      break;
    }
    if (*p == ',') {
      ++p;
      continue;
    }
    if (*p == '\r') ++p;  // the tokenizer checked that '\n' or the end follows
    if (p < end) ++p;     // '\n'
    break;
  }
  consumed = static_cast<std::size_t>(p - p0);
  rec.raw_end = p;
  if (rec.fields.size() == 1 && rec.fields[0].empty() && rec.escaped[0] == 0 && *p0 != '"') return status::blank;
  return status::complete;
}

void csv_tokenizer::reject_binary_formats() const {
  const std::size_t have = end_ - begin_;
  const char* p = data_ + begin_;
  if (have >= 4 && std::memcmp(p, "PAR1", 4) == 0) {
    throw data_error(name_, 0,
                     "this is a Parquet file; the command-line tool reads the playlist CSV format "
                     "(convert with python -c 'import playaug; playaug.convert(\"IN.parquet\", \"OUT.csv\")')");
  }
  if (have >= 2 && static_cast<unsigned char>(p[0]) == 0x1f && static_cast<unsigned char>(p[1]) == 0x8b) {
    throw data_error(name_, 0, "this is a gzip-compressed file; decompress it first (e.g. zcat FILE | playaug ... -)");
  }
}

bool csv_tokenizer::next(csv_record& rec) {
  if (!started_) {
    while (end_ - begin_ < 4 && refill()) {
    }
    reject_binary_formats();
    if (end_ - begin_ >= 3 && std::memcmp(data_ + begin_, "\xEF\xBB\xBF", 3) == 0) {
      begin_ += 3;
      bytes_consumed_ += 3;
    }
    started_ = true;
  }
  shrink();  // the views of the previous record are no longer used
  for (;;) {
    std::size_t consumed = 0;
    const status s = tokenize(rec, consumed);
    if (s == status::need_more) {
      // Every buffered byte belongs to the unfinished record (or is the byte after it).
      if (end_ - begin_ > max_record_) too_long();
      refill();
      continue;
    }
    if (s == status::end) return false;
    if (consumed > max_record_) too_long();
    const char* p0 = data_ + begin_;
    line_ += static_cast<std::uint64_t>(std::count(p0, p0 + consumed, '\n'));
    begin_ += consumed;
    bytes_consumed_ += consumed;
    if (s == status::blank) continue;
    const std::size_t n = rec.fields.size();
    if (rec.scratch.size() < n) rec.scratch.resize(n);
    for (std::size_t f = 0; f < n; ++f) {
      if (rec.escaped[f] != 0) {
        unescape(rec.fields[f], rec.scratch[f]);
        rec.fields[f] = rec.scratch[f];
      }
    }
    return true;
  }
}

}  // namespace playaug::io_detail
