// atomic_file and the files it writes to: existing files keep their mode, symbolic links
// stay links, character devices and FIFOs are written through, stale temporaries of dead
// processes are removed, and remove_temporary_files() unlinks every live temporary.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>  // makedev
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "test_support.hpp"

namespace {

using playaug::atomic_file;
using playaug::test::read_file;
using playaug::test::temp_dir;
namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

void write_atomically(const std::string& path, const std::string& text) {
  atomic_file f(path);
  f.write(text);
  f.commit();
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

/// The names in `dir` that look like temporaries (".<name>.tmp-...").
std::set<std::string> temporaries(const temp_dir& dir) {
  std::set<std::string> out;
  for (const auto& e : dir.entries()) {
    if (e.find(".tmp-") != std::string::npos) out.insert(e);
  }
  return out;
}

/// The pid of a process that has exited and been reaped: kill(pid, 0) answers ESRCH.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

/// Sets the umask for the lifetime of the object.
class scoped_umask {
 public:
  explicit scoped_umask(mode_t m) : old_(::umask(m)) {}
  ~scoped_umask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(AtomicFilePermissions, ExistingFileKeepsItsMode) {
  temp_dir dir;
  scoped_umask mask(022);
  for (const mode_t mode : {0600, 0640, 0444, 0755}) {
    const std::string path = dir.file("out.csv");
    write_text(path, "old\n");
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    write_atomically(path, "new\n");
    EXPECT_EQ(mode_of(path), mode) << std::oct << mode;
    EXPECT_EQ(read_file(path), "new\n");
    ::chmod(path.c_str(), 0600);
    fs::remove(path);
  }
}

TEST(AtomicFilePermissions, ExistingFileKeepsItsOwnerWherePermitted) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root may give a file to another user";
  temp_dir dir;
  const std::string path = dir.file("theirs.csv");
  write_text(path, "old\n");
  ASSERT_EQ(::chown(path.c_str(), 12345, 54321), 0);
  ASSERT_EQ(::chmod(path.c_str(), 04640), 0);  // set-user-ID survives the chown order
  write_atomically(path, "new\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 12345u);
  EXPECT_EQ(st.st_gid, 54321u);
  EXPECT_EQ(st.st_mode & 07777, 04640u);
  EXPECT_EQ(read_file(path), "new\n");
}

TEST(AtomicFilePermissions, TemporaryOfAPrivateFileIsPrivate) {
  temp_dir dir;
  scoped_umask mask(0);
  const std::string path = dir.file("secret.csv");
  write_text(path, "old\n");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  atomic_file f(path);
  f.write("partial");
  const auto tmp = temporaries(dir);
  ASSERT_EQ(tmp.size(), 1u);
  EXPECT_EQ(mode_of(dir.file(*tmp.begin())), 0600u);  // not 0666 minus a zero umask
  f.commit();
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(AtomicFilePermissions, NewFileFollowsTheUmask) {
  temp_dir dir;
  for (const mode_t m : {000, 022, 027, 077}) {
    scoped_umask mask(m);
    const std::string path = dir.file("new" + std::to_string(m) + ".csv");
    write_atomically(path, "x");
    EXPECT_EQ(mode_of(path), 0666u & ~m) << "umask " << std::oct << m;
  }
}

TEST(AtomicFileSpecialFiles, SymlinkStaysALinkAndItsTargetIsReplaced) {
  temp_dir dir;
  write_text(dir.file("target.csv"), "old\n");
  ASSERT_EQ(::chmod(dir.file("target.csv").c_str(), 0600), 0);
  fs::create_directory(dir.file("sub"));
  fs::create_symlink("target.csv", dir.file("link.csv"));        // relative target
  fs::create_symlink("../link.csv", dir.file("sub/chain.csv"));  // a link to the link
  write_atomically(dir.file("link.csv"), "one\n");
  EXPECT_TRUE(fs::is_symlink(dir.file("link.csv")));
  EXPECT_EQ(fs::read_symlink(dir.file("link.csv")), "target.csv");
  EXPECT_EQ(read_file(dir.file("target.csv")), "one\n");
  EXPECT_EQ(mode_of(dir.file("target.csv")), 0600u);
  write_atomically(dir.file("sub/chain.csv"), "two\n");
  EXPECT_TRUE(fs::is_symlink(dir.file("sub/chain.csv")));
  EXPECT_TRUE(fs::is_symlink(dir.file("link.csv")));
  EXPECT_EQ(read_file(dir.file("target.csv")), "two\n");
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"link.csv", "sub", "target.csv"}));
  // Absolute link target.
  fs::create_symlink(dir.file("target.csv"), dir.file("abs.csv"));
  write_atomically(dir.file("abs.csv"), "three\n");
  EXPECT_TRUE(fs::is_symlink(dir.file("abs.csv")));
  EXPECT_EQ(read_file(dir.file("target.csv")), "three\n");
}

TEST(AtomicFileSpecialFiles, DanglingSymlinkCreatesItsTarget) {
  temp_dir dir;
  fs::create_directory(dir.file("data"));
  fs::create_symlink("data/new.csv", dir.file("link.csv"));
  write_atomically(dir.file("link.csv"), "created\n");
  EXPECT_TRUE(fs::is_symlink(dir.file("link.csv")));
  EXPECT_EQ(read_file(dir.file("data/new.csv")), "created\n");
  EXPECT_EQ(fs::directory_iterator(dir.file("data"))->path().filename(), "new.csv");
  // A link loop is an error, not a hang.
  fs::create_symlink("loop2", dir.file("loop1"));
  fs::create_symlink("loop1", dir.file("loop2"));
  EXPECT_THROW(atomic_file(dir.file("loop1")), playaug::error);
}

TEST(AtomicFileSpecialFiles, DevNullIsWrittenThrough) {
  // As root a regression would replace the real /dev/null: root writes to a node of the
  // same device in a temporary directory, other users (who could not replace it) to
  // /dev/null itself.
  temp_dir dir;
  std::string null_dev = "/dev/null";
  if (::geteuid() == 0) {
    null_dev = dir.file("null");
    if (::mknod(null_dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0 || !std::ofstream(null_dev)) {
      GTEST_SKIP() << "cannot make a usable device node in " << dir.path() << " (nodev?)";
    }
  }
  struct stat before {};
  ASSERT_EQ(::stat(null_dev.c_str(), &before), 0);
  ASSERT_TRUE(S_ISCHR(before.st_mode));
  {
    atomic_file f(null_dev);
    f.write("discarded\n");
    f.commit();
  }
  struct stat after {};
  ASSERT_EQ(::stat(null_dev.c_str(), &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode)) << null_dev;
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_rdev, before.st_rdev);
  if (null_dev != "/dev/null") {
    EXPECT_EQ(dir.entries(), std::set<std::string>{"null"});
  }
}

TEST(AtomicFileSpecialFiles, FifoIsWrittenThroughToItsReader) {
  temp_dir dir;
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_file(fifo); });  // opening blocks until the writer opens
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + "\n";  // more than a pipe holds
  {
    atomic_file f(fifo);
    f.write(text);
    f.commit();
  }
  reader.join();
  EXPECT_EQ(received, text);
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"pipe"});
}

TEST(AtomicFileSpecialFiles, DirectoryIsRefusedUpFront) {
  temp_dir dir;
  fs::create_directory(dir.file("taken"));
  EXPECT_THROW(atomic_file(dir.file("taken")), playaug::error);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"taken"});
}

TEST(AtomicFileSpecialFiles, FailedRenameAtCommitLeavesNothing) {
  temp_dir dir;
  {
    atomic_file f(dir.file("late"));
    f.write("data");
    fs::create_directories(dir.file("late/x"));  // a non-empty directory appears meanwhile
    EXPECT_THROW(f.commit(), playaug::error);
  }
  EXPECT_EQ(dir.entries(), std::set<std::string>{"late"});
  EXPECT_TRUE(fs::is_directory(dir.file("late/x")));
}

TEST(AtomicFileStale, TemporariesOfDeadProcessesAreRemoved) {
  temp_dir dir;
  const std::string dead = std::to_string(dead_pid());
  ASSERT_EQ(::kill(std::stoi(dead), 0), -1);
  ASSERT_EQ(errno, ESRCH);
  const std::string alive = std::to_string(::getppid());  // our parent: alive
  const std::set<std::string> kept = {
      ".out.csv.tmp-" + alive + "-0",        // a live process's temporary
      ".other.csv.tmp-" + dead + "-0",       // another destination's
      ".out.csv.tmp-" + dead + "-x",         // not the temporary pattern
      ".out.csv.tmp-" + dead + "-1.bak",     // not the temporary pattern
      "out.csv.tmp-" + dead + "-2",          // not hidden: not ours
      ".out.csv.tmp-" + dead + "-3.d",       // a directory: never removed
  };
  for (const auto& name : kept) {
    if (name.back() == 'd') {
      fs::create_directory(dir.file(name));
    } else {
      write_text(dir.file(name), "keep");
    }
  }
  write_text(dir.file(".out.csv.tmp-" + dead + "-0"), "stale");
  write_text(dir.file(".out.csv.tmp-" + dead + "-17"), "stale");
  write_text(dir.file("out.csv"), "old");
  write_atomically(dir.file("out.csv"), "new");
  std::set<std::string> want = kept;
  want.insert("out.csv");
  EXPECT_EQ(dir.entries(), want);
  EXPECT_EQ(read_file(dir.file("out.csv")), "new");
  for (const auto& name : kept) {
    if (name.back() != 'd') {
      EXPECT_EQ(read_file(dir.file(name)), "keep") << name;
    }
  }
}

TEST(AtomicFileStale, StaleTemporaryOfALinkTargetIsRemoved) {
  temp_dir dir;
  const std::string dead = std::to_string(dead_pid());
  fs::create_symlink("real.csv", dir.file("link.csv"));
  write_text(dir.file(".real.csv.tmp-" + dead + "-0"), "stale");
  write_atomically(dir.file("link.csv"), "x");
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"link.csv", "real.csv"}));
}

// remove_temporary_files() claims the slots it empties for good (it is meant to be called
// just before the process ends), so this file's tests use only a few of them.
TEST(AtomicFileRegistry, RemoveTemporaryFilesUnlinksEveryLiveTemporary) {
  temp_dir dir;
  temp_dir other;
  const fs::path old = fs::current_path();
  fs::current_path(other.path());
  {
    atomic_file a(dir.file("a.csv"));
    atomic_file b("rel.csv");  // relative: recorded as an absolute path
    a.write("a");
    b.write("b");
    atomic_file c(dir.file("c.csv"));
    c.write("c");
    c.commit();  // committed: no longer a temporary, and not removed
    fs::current_path(old);
    EXPECT_EQ(temporaries(dir).size(), 1u);
    EXPECT_EQ(temporaries(other).size(), 1u);
    playaug::remove_temporary_files();
    EXPECT_TRUE(temporaries(dir).empty());
    EXPECT_TRUE(temporaries(other).empty());
    EXPECT_EQ(read_file(dir.file("c.csv")), "c");
  }  // the destructors find their temporaries gone: nothing to do, no error
  EXPECT_EQ(dir.entries(), std::set<std::string>{"c.csv"});
  EXPECT_TRUE(other.entries().empty());
  // New temporaries are tracked again.
  {
    atomic_file d(dir.file("d.csv"));
    d.write("d");
    EXPECT_EQ(temporaries(dir).size(), 1u);
    playaug::remove_temporary_files();
    EXPECT_TRUE(temporaries(dir).empty());
  }
}

TEST(AtomicFileRegistry, CsvWriterTemporaryIsRemoved) {
  temp_dir dir;
  playaug::dataset ds;
  ds.dim = 2;
  ds.schema = playaug::feature_schema::for_dim(2);
  const float f[] = {0.5f, 1.5f};
  ds.add_playlist("p", {}, f, 1);
  playaug::csv_writer w(dir.file("out.csv"));
  w.write(ds);
  ASSERT_EQ(temporaries(dir).size(), 1u);
  playaug::remove_temporary_files();
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
