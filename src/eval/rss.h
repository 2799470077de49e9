// Resident memory of this process, for benchmark tables and progress lines.
#pragma once

namespace drt {

double current_rss_mib();  // VmRSS
double peak_rss_mib();     // VmHWM (high-water mark since start)

}  // namespace drt
