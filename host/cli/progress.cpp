#include "cli/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <ostream>
#include <utility>

#include "cli/cli.hpp"

namespace playaug::cli {

namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(250);

/// 1234 -> "1234", 12345 -> "12.3k", 1.5e6 -> "1.50M".
std::string human(double v) {
  static const char* const suffix[] = {"", "k", "M", "G", "T"};
  int s = 0;
  while (v >= 10000.0 && s < 4) {
    v /= 1000.0;
    ++s;
  }
  char buf[32];
  if (s == 0) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, v < 100.0 ? "%.2f%s" : "%.1f%s", v, suffix[s]);
  return buf;
}

/// Seconds as m:ss or h:mm:ss.
std::string clock_text(double seconds) {
  const long long t = std::llround(std::max(0.0, seconds));
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", t / 60, t % 60);
  return buf;
}

}  // namespace

progress::progress(std::string what, std::string unit, bool enabled, std::ostream& out, clock::duration delay)
    : what_(std::move(what)), unit_(std::move(unit)), enabled_(enabled), out_(out), delay_(delay),
      start_(clock::now()), last_draw_(start_) {}

progress::progress(std::string what, std::string unit, bool quiet)
    : progress(std::move(what), std::move(unit), !quiet && stderr_is_tty(), std::cerr) {}

progress::~progress() {
  if (drawn_ && !finished_) {
    out_ << '\n';
    out_.flush();
  }
}

std::string progress::format(const std::string& what, const std::string& unit, std::uint64_t done,
                             double seconds, double fraction) {
  std::string s = what + ": " + human(static_cast<double>(done)) + " " + unit;
  if (seconds > 0.0) s += ", " + human(static_cast<double>(done) / seconds) + " " + unit + "/s";
  if (fraction >= 0.0) {
    const double f = std::min(fraction, 1.0);
    char buf[16];
    std::snprintf(buf, sizeof buf, ", %.0f%%", 100.0 * f);
    s += buf;
    if (f > 0.0 && f < 1.0) s += ", " + clock_text(seconds * (1.0 - f) / f) + " left";
  }
  return s;
}

void progress::draw(const std::string& report) {
  // Carriage return, the text, and blanks over whatever the previous line had beyond it.
  const std::string text = "playaug: " + report;
  out_ << '\r' << text;
  if (text.size() < width_) out_ << std::string(width_ - text.size(), ' ');
  out_.flush();
  width_ = text.size();
  drawn_ = true;
}

void progress::update(std::uint64_t done, double fraction) {
  done_ = done;
  fraction_ = fraction;
  if (!enabled_ || finished_) return;
  const auto now = clock::now();
  if (now - start_ < delay_) return;
  if (drawn_ && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  draw(format(what_, unit_, done_, std::chrono::duration<double>(now - start_).count(), fraction_) + note_);
}

void progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!drawn_) return;
  const double seconds = std::chrono::duration<double>(clock::now() - start_).count();
  draw(format(what_, unit_, done_, seconds, fraction_ >= 0.0 ? 1.0 : -1.0) + note_);
  out_ << '\n';
  out_.flush();
}

}  // namespace playaug::cli
