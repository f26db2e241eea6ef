// Signal handling of the playaug tool: on SIGINT, SIGTERM, SIGHUP, SIGPIPE or SIGXFSZ the
// temporary files of unfinished outputs are removed, and the process then dies of the same
// signal, so that its exit status is the usual one (130 for SIGINT, 143 for SIGTERM, 153
// for SIGXFSZ in a shell). The library itself installs no handler (see
// playaug::remove_temporary_files in io.hpp).

#include <signal.h>

#include "cli/cli.hpp"
#include "playaug/io.hpp"

namespace playaug::cli {

namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};

extern "C" void on_fatal_signal(int sig) {
  // Only async-signal-safe calls: unlink (inside), sigaction, raise. The signal is blocked
  // while this runs, so the raise() takes effect, with the default action, on return.
  remove_temporary_files();
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
}

}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (const int s : kSignals) sigaddset(&sa.sa_mask, s);  // one cleanup at a time
  sa.sa_flags = 0;
  for (const int s : kSignals) {
    struct sigaction old {};
    if (::sigaction(s, nullptr, &old) != 0) continue;
    // A signal ignored by whoever started us (nohup, a background job) stays ignored.
    if (old.sa_handler == SIG_IGN) continue;
    ::sigaction(s, &sa, nullptr);
  }
}

}  // namespace playaug::cli
