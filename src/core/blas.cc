#include "core/blas.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#if defined(__linux__)
#include <dlfcn.h>
#endif

namespace drt {

std::string blas_core() {
#if defined(__linux__)
  // Looked up, not linked: LibTorch may use MKL, and then there is no OpenBLAS to ask.
  using CoreName = char* (*)();
  auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (fn != nullptr && fn() != nullptr) return fn();
#endif
  return "";
}

std::string cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) return line.substr(line.find(':') + 1);
  return "";
}

bool blas_core_narrower_than_cpu(const std::string& core, const std::string& cpu_flags) {
  // OpenBLAS's x86-64 kernel sets without AVX-512 (its DYNAMIC_ARCH names).
  static const std::set<std::string> kAvx2OrLess = {"Haswell", "Zen", "Sandybridge", "Nehalem", "Core2",
                                                    "Prescott", "Katmai", "Barcelona", "Bulldozer",
                                                    "Piledriver", "Steamroller", "Excavator", "Atom"};
  if (!kAvx2OrLess.count(core)) return false;
  std::set<std::string> flags;
  std::istringstream in(cpu_flags);
  for (std::string f; in >> f;) flags.insert(f);
  for (const char* need : {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})
    if (!flags.count(need)) return false;
  return true;
}

std::string blas_core_note() {
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  const std::string core = blas_core();
  if (forced == nullptr || core.empty() || !blas_core_narrower_than_cpu(core, cpu_flags())) return "";
  return "OPENBLAS_CORETYPE=" + std::string(forced) + " runs OpenBLAS's " + core +
         " kernels on a CPU with AVX-512; unset it for OpenBLAS's own choice (1.27x faster training on Zen 5)";
}

}  // namespace drt
