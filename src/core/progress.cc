#include "core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

namespace drt {

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(t / 3600), (long long)(t % 3600 / 60));
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(t / 60), (long long)(t % 60));
  else std::snprintf(buf, sizeof buf, "%llds", (long long)t);
  return buf;
}

Progress::Progress(std::string label, int64_t total, int64_t start, std::string unit, bool silent)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_(start), silent_(silent),
      tty_(isatty(STDERR_FILENO) != 0), t0_(std::chrono::steady_clock::now()), last_print_(t0_) {}

void Progress::update(int64_t done, const std::string& status, bool force) {
  if (silent_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  const bool last = done >= total_;
  if (!force && !last && since_print < (tty_ ? 0.2 : 5.0) && drawn_) return;
  const double elapsed = std::chrono::duration<double>(now - t0_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done - start_) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : -1;
  std::ostringstream os;
  os << label_ << " " << done << "/" << total_ << " " << unit_ << " (" << (total_ ? 100 * done / total_ : 100)
     << "%)  " << status << "  elapsed " << format_duration(elapsed) << "  ETA " << format_duration(eta);
  if (tty_) std::cerr << "\r\033[K" << os.str() << (force ? "\n" : "") << std::flush;
  else std::cerr << os.str() << "\n";
  drawn_ = !force || !tty_;
  last_print_ = now;
}

void Progress::finish() {
  if (!silent_ && tty_ && drawn_) std::cerr << "\n";
  drawn_ = false;
}

}  // namespace drt
