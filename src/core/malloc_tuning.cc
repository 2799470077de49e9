#include "core/malloc_tuning.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace drt {

void tune_malloc() {
  const char* mode = std::getenv("DRT_MALLOC");
  if (mode != nullptr && std::strcmp(mode, "system") == 0) return;
#if defined(__GLIBC__)
  // No block from mmap: all from the heap, where a freed block is reused by the next step.
  mallopt(M_MMAP_MAX, 0);
  // Give the top of the heap back only when over 2 GiB of it is free (mallopt takes an
  // int: this is its largest value), and grow it 512 MiB at a time, not page by page.
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_TOP_PAD, 512 << 20);
#endif
}

}  // namespace drt
