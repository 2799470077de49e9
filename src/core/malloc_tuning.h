#pragma once

namespace drt {

// Keeps freed memory in the process instead of handing it back to the kernel.
//
// LibTorch's CPU allocator has no cache: every tensor is a malloc, and glibc serves large
// blocks with mmap and returns them with munmap on free. A training step allocates and
// frees the same large activations every step, so each step faulted them in again, zeroed
// page by page: at batch 16 x 4032 tokens of the tiny model that was ~70% of the step
// (3,757 tokens/s on one thread; 25,968 with this, `bench/malloc_training.sh`). Serving every
// block from the heap (no mmap) and never trimming it makes the memory of one step the
// memory of the next. The cost: the process keeps its peak heap until it exits.
//
// Called once at program start, before any allocation that matters. DRT_MALLOC=system
// leaves glibc's defaults (for comparing, or where memory must go back to the system);
// without glibc it does nothing.
void tune_malloc();

}  // namespace drt
