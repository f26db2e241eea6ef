// atomic_file: a temporary file beside the destination, renamed into place on commit().

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace playaug {

namespace {

std::string errno_text() { return std::strerror(errno); }

/// The directory part of `path` ("." when it has none) and its last component.
void split_path(const std::string& path, std::string& dir, std::string& base) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    dir = ".";
    base = path;
  } else {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
}

/// fsync a directory so that a rename in it survives a crash (best effort: some file
/// systems refuse to fsync directories).
void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::atomic<unsigned> temp_counter{0};

}  // namespace

atomic_file::atomic_file(const std::string& path) : path_(path) {
  if (path.empty()) throw usage_error("atomic_file: empty path");
  if (path == "-") {  // standard output: written directly, flushed by commit()
    file_ = stdout;
    return;
  }
  std::string dir, base;
  split_path(path, dir, base);
  if (base.empty()) throw usage_error("cannot write '" + path + "': the path names a directory");
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp_path_ = (dir == "/" ? "" : dir) + "/." + base + ".tmp-" + std::to_string(::getpid()) + "-" +
                std::to_string(temp_counter.fetch_add(1));
    fd = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && (errno != EEXIST || attempt > 1000)) {
      const std::string why = errno_text();
      tmp_path_.clear();
      throw error("cannot create a temporary file in '" + dir + "' for '" + path + "': " + why);
    }
  }
  file_ = ::fdopen(fd, "wb");
  if (file_ == nullptr) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmp_path_.c_str());
    tmp_path_.clear();
    throw error("cannot write '" + path + "': " + why);
  }
}

atomic_file::~atomic_file() {
  if (file_ != nullptr && file_ != stdout) std::fclose(file_);
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void atomic_file::write(std::string_view bytes) {
  if (file_ == nullptr) throw usage_error("atomic_file: write to '" + path_ + "' after commit()");
  if (bytes.empty()) return;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    throw error("cannot write '" + path_ + "': " + errno_text());
  }
}

void atomic_file::commit() {
  if (file_ == nullptr) throw usage_error("atomic_file: '" + path_ + "' was already committed");
  if (file_ == stdout) {
    file_ = nullptr;
    if (std::fflush(stdout) != 0) throw error("cannot write to standard output: " + errno_text());
    return;
  }
  std::FILE* f = file_;
  file_ = nullptr;
  bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::string why = ok ? std::string() : errno_text();
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    why = errno_text();
  }
  if (ok && std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    ok = false;
    why = errno_text();
  }
  if (!ok) throw error("cannot write '" + path_ + "': " + why);  // the destructor removes the temporary
  tmp_path_.clear();
  std::string dir, base;
  split_path(path_, dir, base);
  sync_directory(dir);
}

}  // namespace playaug
