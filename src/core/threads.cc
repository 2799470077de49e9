#include "core/threads.h"

#include <ATen/Parallel.h>
#include <omp.h>

#include <cstdlib>
#include <thread>

namespace drt {

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int set_threads(int n) {
  if (n <= 0) {
    const char* env = std::getenv("DRT_THREADS");
    if (env != nullptr && std::atoi(env) > 0) n = std::atoi(env);
  }
  if (n <= 0) n = hardware_threads();
  at::set_num_threads(n);
  omp_set_num_threads(n);
  return n;
}

}  // namespace drt
