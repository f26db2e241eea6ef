#pragma once
// A one-line progress report for long-running commands (augment, requery): items done,
// rate, and time left when the caller knows what fraction of the job is done.
//
// Drawn on stderr only when it is a terminal and the user did not pass --quiet, and only
// once the run has lasted `delay` (2 s by default), so short runs print nothing; then
// redrawn in place at most every 0.25 s. Nothing is ever written to stdout.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>

namespace playaug::cli {

class progress {
 public:
  using clock = std::chrono::steady_clock;

  /// `what` names the job ("augment"), `unit` the items counted ("songs"). A disabled
  /// reporter draws nothing. `out` is where an enabled reporter draws (stderr).
  progress(std::string what, std::string unit, bool enabled, std::ostream& out,
           clock::duration delay = std::chrono::seconds(2));
  /// The usual reporter of a command: on stderr, enabled iff !quiet and stderr is a terminal.
  progress(std::string what, std::string unit, bool quiet);
  /// Ends a drawn line, so that whatever follows (an error message) starts on its own line.
  ~progress();
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

  /// Report `done` items so far; `fraction` of the whole job in [0, 1], or negative when
  /// unknown (then no time left is shown).
  void update(std::uint64_t done, double fraction = -1.0);
  /// Draw the final state (when anything was drawn before) and end the line.
  void finish();
  /// Text appended to every report from now on (e.g. ", 3 retries").
  void set_note(std::string note) { note_ = std::move(note); }

  /// The text of one report, e.g. "augment: 1.25M songs, 3.10M songs/s, 42%, 0:07 left"
  /// (drawn after the tool's "playaug: " prefix).
  static std::string format(const std::string& what, const std::string& unit, std::uint64_t done,
                            double seconds, double fraction);

 private:
  void draw(const std::string& report);

  std::string what_, unit_;
  bool enabled_;
  std::ostream& out_;
  clock::duration delay_;
  clock::time_point start_, last_draw_;
  std::uint64_t done_ = 0;
  double fraction_ = -1.0;
  bool drawn_ = false;
  bool finished_ = false;
  std::size_t width_ = 0;  // length of the last line drawn, to blank what is left of it
  std::string note_;
};

}  // namespace playaug::cli
