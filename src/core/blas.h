#pragma once

#include <string>

namespace drt {

// The CPU matrix-multiply kernels LibTorch calls: OpenBLAS's name for them ("Haswell",
// "SkylakeX", "Cooperlake", ...), or "" where LibTorch does not use OpenBLAS (builds with MKL,
// such as the LibTorch inside pip's torch).
//
// OpenBLAS picks them by the CPU when it is loaded, unless OPENBLAS_CORETYPE names them; some
// machines set it (this project's sandbox sets Haswell). Which ones run matters twice:
// - speed: on this project's 2-core Zen 5, OpenBLAS's own choice (Cooperlake, AVX-512) trains
//   the tiny model 1.27x faster than Haswell's AVX2 kernels (42K -> 54K tokens/s, one thread)
//   and reads a 256K-token passkey haystack 1.12x faster;
// - repeatability: the kernels sum in their own order, so another set changes losses in the
//   last bit, and over thousands of steps that is another run (the CPU recipe's session-31
//   rerun under OPENBLAS_CORETYPE=Haswell; with Cooperlake it repeats session 26's bit for bit).
std::string blas_core();

// The CPU's flags as /proc/cpuinfo lists them ("fpu vme ... avx512f ..."); "" off Linux.
std::string cpu_flags();

// Whether OpenBLAS kernels `core` use less of the CPU than it has: AVX2 kernels (Haswell,
// Zen, or older) on a CPU with AVX-512 (F, CD, BW, DQ, VL: what OpenBLAS's SkylakeX kernels
// run on). A pure function of the names, so that it is testable on any machine.
bool blas_core_narrower_than_cpu(const std::string& core, const std::string& cpu_flags);

// A one-line note for a run's summary where OPENBLAS_CORETYPE forces kernels narrower than
// the CPU (how to get OpenBLAS's own choice, and what it costs); "" otherwise.
std::string blas_core_note();

}  // namespace drt
