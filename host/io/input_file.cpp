#include "io/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "playaug/error.hpp"

namespace playaug::io_detail {

input_file::input_file(const std::string& path) : name_(path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    name_ = "<stdin>";
  } else {
    do {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) throw data_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
    owns_fd_ = true;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      if (owns_fd_) ::close(fd_);
      throw data_error(name_, 0, "is a directory");
    }
    // Standard input redirected from a file may start anywhere in it; check only what a
    // named file promises.
    if (S_ISREG(st.st_mode) && owns_fd_) {
      regular_ = true;
      size_at_open_ = static_cast<std::uint64_t>(st.st_size);
    }
  }
}

input_file::~input_file() {
  if (owns_fd_) ::close(fd_);
}

std::size_t input_file::read(char* buf, std::size_t n, std::uint64_t line) {
  for (;;) {
    const ssize_t got = ::read(fd_, buf, n);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw data_error(name_, line, std::string("read error: ") + std::strerror(errno));
    }
    if (got == 0 && n != 0) check_complete(line);
    offset_ += static_cast<std::uint64_t>(got);
    return static_cast<std::size_t>(got);
  }
}

void input_file::check_complete(std::uint64_t line) const {
  if (!regular_) return;
  struct stat st {};
  const bool have_size = ::fstat(fd_, &st) == 0;
  const auto now = have_size ? static_cast<std::uint64_t>(st.st_size) : offset_;
  if (offset_ < size_at_open_ || now < offset_) {
    throw data_error(name_, line,
                     "the file shrank while it was being read (" + std::to_string(size_at_open_) +
                         " bytes when opened, " + std::to_string(now) + " now, " + std::to_string(offset_) +
                         " read): the input is incomplete");
  }
}

std::string read_file_text(const std::string& path, const char* what, std::size_t max_bytes) {
  input_file in(path);
  std::string text;
  try {
    if (in.size_at_open() > max_bytes) {
      throw data_error(in.name(), 0,
                       std::string(what) + " of " + std::to_string(in.size_at_open()) + " bytes exceeds the limit of " +
                           std::to_string(max_bytes) + " bytes");
    }
    text.resize(static_cast<std::size_t>(in.size_at_open()) + 1);
    std::size_t used = 0;
    for (;;) {
      if (used == text.size()) {
        if (text.size() > max_bytes) {
          throw data_error(in.name(), 0,
                           std::string(what) + " exceeds the limit of " + std::to_string(max_bytes) + " bytes");
        }
        text.resize(std::max<std::size_t>(4096, text.size() * 2));
      }
      const std::size_t n = in.read(&text[used], text.size() - used, 0);
      if (n == 0) break;
      used += n;
    }
    if (used > max_bytes) {
      throw data_error(in.name(), 0, std::string(what) + " exceeds the limit of " + std::to_string(max_bytes) + " bytes");
    }
    text.resize(used);
  } catch (const std::bad_alloc&) {
    throw data_error(in.name(), 0, std::string("out of memory reading the ") + what);
  }
  return text;
}

}  // namespace playaug::io_detail
