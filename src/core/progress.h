// A progress line for long jobs: done/total, rate, ETA and a caller's status text. On a
// terminal it redraws one line; otherwise it prints a line at most every few seconds
// (and whenever asked), so logs stay readable.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace drt {

class Progress {
 public:
  Progress(std::string label, int64_t total, int64_t start, std::string unit, bool silent = false);
  // `force`: print now even when rate-limited (e.g. an evaluation result).
  void update(int64_t done, const std::string& status, bool force = false);
  void finish();

 private:
  std::string label_, unit_;
  int64_t total_, start_;
  bool silent_, tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point t0_, last_print_;
};

// "1h02m", "3m20s", "12s".
std::string format_duration(double seconds);

}  // namespace drt
