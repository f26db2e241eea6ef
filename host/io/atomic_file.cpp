// atomic_file: a temporary file beside the destination, renamed into place on commit().
//
// What the destination is decides how it is written:
// - a regular file or nothing: a temporary file `.<name>.tmp-<pid>-<n>` in the same
//   directory, renamed over it by commit(); an existing file's mode (and owner, where the
//   process may set it) carries over, a new file gets 0666 minus the umask;
// - a symbolic link: the same for the file it finally points to (created when the link
//   dangles), so the link stays a link;
// - a character device or a FIFO (/dev/null, a named pipe): written directly, without a
//   temporary or a rename, so the special file stays what it is;
// - "-": standard output, written directly.
// Every live temporary is registered (temp_registry.hpp) so that a signal handler can
// remove it; temporaries left by a process that no longer exists (killed by SIGKILL or
// the OOM killer) are removed when a later atomic_file writes the same destination.

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "io/temp_registry.hpp"
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

/// The file `path` finally names: symbolic links followed, one after the other, to the
/// first path that is not a link (which need not exist: the target of a dangling link).
std::string final_target(const std::string& path) {
  std::string p = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    if (hops == 40) throw error("cannot write '" + path + "': too many levels of symbolic links");
    char buf[PATH_MAX];
    const ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) {
      throw error("cannot write '" + path + "': cannot read the symbolic link '" + p + "'");
    }
    std::string link(buf, static_cast<std::size_t>(n));
    if (link.empty()) throw error("cannot write '" + path + "': the symbolic link '" + p + "' is empty");
    if (link[0] != '/') {
      const auto slash = p.find_last_of('/');
      if (slash != std::string::npos) link = p.substr(0, slash + 1) + link;
    }
    p = std::move(link);
  }
}

/// The pid in `name` when it is `prefix` followed by "<pid>-<n>" (decimal digits), else 0.
pid_t temporary_pid(const char* name, const std::string& prefix) {
  if (std::strncmp(name, prefix.c_str(), prefix.size()) != 0) return 0;
  const char* s = name + prefix.size();
  long long pid = 0;
  const char* digits = s;
  for (; *s >= '0' && *s <= '9'; ++s) {
    pid = pid * 10 + (*s - '0');
    if (pid > 0x7fffffff) return 0;
  }
  if (s == digits || *s != '-') return 0;
  const char* counter = ++s;
  for (; *s >= '0' && *s <= '9'; ++s) {
  }
  if (s == counter || *s != '\0') return 0;
  return static_cast<pid_t>(pid);
}

/// Removes the temporaries of destination `base` in `dir` whose process no longer exists:
/// regular files named `.<base>.tmp-<pid>-<n>`, owned by this user, where kill(pid, 0)
/// answers ESRCH. Nothing else is touched; errors are ignored (the file stays).
void remove_stale_temporaries(const std::string& dir, const std::string& base) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const std::string prefix = "." + base + ".tmp-";
  const pid_t self = ::getpid();
  const uid_t me = ::geteuid();
  while (const dirent* e = ::readdir(d)) {
    const pid_t pid = temporary_pid(e->d_name, prefix);
    if (pid <= 0 || pid == self) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    const std::string full = (dir == "/" ? "" : dir) + "/" + e->d_name;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_uid != me && me != 0) continue;
    ::unlink(full.c_str());
  }
  ::closedir(d);
}

std::atomic<unsigned> temp_counter{0};

}  // namespace

atomic_file::atomic_file(const std::string& path) : path_(path) {
  if (path.empty()) throw usage_error("atomic_file: empty path");
  if (path == "-") {  // standard output: written directly, flushed by commit()
    file_ = stdout;
    direct_ = true;
    return;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw error("cannot write '" + path + "': it is a directory");
    if (S_ISBLK(st.st_mode)) {
      throw error("cannot write '" + path +
                  "': it is a block device (playaug writes regular files, character devices and FIFOs)");
    }
    if (!S_ISREG(st.st_mode)) {  // character device, FIFO, socket: write through
      const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (fd < 0) throw error("cannot write '" + path + "': " + errno_text());
      file_ = ::fdopen(fd, "wb");
      if (file_ == nullptr) {
        const std::string why = errno_text();
        ::close(fd);
        throw error("cannot write '" + path + "': " + why);
      }
      direct_ = true;
      return;
    }
  }
  target_ = final_target(path);
  std::string dir, base;
  split_path(target_, dir, base);
  if (base.empty()) throw usage_error("cannot write '" + path + "': the path names a directory");
  struct stat old {};
  const bool replacing = ::lstat(target_.c_str(), &old) == 0 && S_ISREG(old.st_mode);
  remove_stale_temporaries(dir, base);
  // No signal between creating the temporary and registering it, so that a handler
  // calling remove_temporary_files() cannot miss it.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp_path_ = (dir == "/" ? "" : dir) + "/." + base + ".tmp-" + std::to_string(::getpid()) + "-" +
                std::to_string(temp_counter.fetch_add(1));
    // A file being replaced may be private: its temporary is private too until it has the
    // file's owner and mode. A new file gets 0666 minus the umask, as any new file.
    fd = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, replacing ? 0600 : 0666);
    if (fd < 0 && (errno != EEXIST || attempt > 1000)) {
      const std::string why = errno_text();
      pthread_sigmask(SIG_SETMASK, &saved, nullptr);
      tmp_path_.clear();
      throw error("cannot create a temporary file in '" + dir + "' for '" + path + "': " + why);
    }
  }
  slot_ = detail::register_temporary(tmp_path_.c_str());
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (replacing) {
    // The owner first (chown clears set-user-ID bits), and only where permitted: root, or
    // a group this user belongs to. The mode is then the old file's, whatever the umask.
    if (old.st_uid != ::geteuid() || old.st_gid != ::getegid()) {
      if (::fchown(fd, old.st_uid, old.st_gid) != 0) (void)::fchown(fd, static_cast<uid_t>(-1), old.st_gid);
    }
    (void)::fchmod(fd, old.st_mode & 07777);
  }
  file_ = ::fdopen(fd, "wb");
  if (file_ == nullptr) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmp_path_.c_str());
    detail::unregister_temporary(slot_);
    tmp_path_.clear();
    throw error("cannot write '" + path + "': " + why);
  }
}

atomic_file::~atomic_file() {
  if (file_ != nullptr && file_ != stdout) std::fclose(file_);
  if (!tmp_path_.empty()) {
    ::unlink(tmp_path_.c_str());
    detail::unregister_temporary(slot_);
  }
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
  if (direct_) {  // a device or FIFO: nothing to sync or rename
    bool ok = std::fflush(f) == 0;
    std::string why = ok ? std::string() : errno_text();
    if (std::fclose(f) != 0 && ok) {
      ok = false;
      why = errno_text();
    }
    if (!ok) throw error("cannot write '" + path_ + "': " + why);
    return;
  }
  bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::string why = ok ? std::string() : errno_text();
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    why = errno_text();
  }
  if (ok && std::rename(tmp_path_.c_str(), target_.c_str()) != 0) {
    ok = false;
    why = errno_text();
  }
  if (!ok) throw error("cannot write '" + path_ + "': " + why);  // the destructor removes the temporary
  tmp_path_.clear();
  detail::unregister_temporary(slot_);
  slot_ = -1;
  std::string dir, base;
  split_path(target_, dir, base);
  sync_directory(dir);
}

}  // namespace playaug
