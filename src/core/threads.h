#pragma once

namespace drt {

// Sets LibTorch's intra-op threads and OpenMP's thread count. n <= 0 means: the DRT_THREADS
// environment variable if set, else the number of cores. LibTorch defaults to 1 thread on
// some machines, so every entry point calls this explicitly.
int set_threads(int n);

// The number of hardware threads of this machine.
int hardware_threads();

}  // namespace drt
