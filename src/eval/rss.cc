#include "eval/rss.h"

#include <fstream>
#include <string>

namespace drt {

namespace {
double status_kib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1));
  return 0;
}
}  // namespace

double current_rss_mib() { return status_kib("VmRSS") / 1024.0; }
double peak_rss_mib() { return status_kib("VmHWM") / 1024.0; }

}  // namespace drt
