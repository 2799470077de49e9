// CPU attention kernels: one implementation (attention_impl.h) compiled per instruction
// set (attention_generic.cc, attention_avx2.cc, attention_avx512.cc); the variant is
// chosen at run time from what the CPU supports (dispatch.cc). The entry points take the
// plain parameter structs of attention_params.h and run OpenMP-parallel on the calling
// thread's omp_get_max_threads() threads.
#pragma once
#include <vector>

#include "kernels/cpu/attention_params.h"

namespace drt::kernels::cpu {

enum class Isa { kGeneric, kAvx2, kAvx512 };

// The best variant this CPU can run (AVX-512 > AVX2 > generic), honouring the
// DRT_KERNEL_ISA environment variable (generic | avx2 | avx512) as an upper bound.
Isa best_isa();
// The variant the kernels use now; set_isa() overrides it (tests run every variant).
// Throws drt::Error when the CPU cannot run `isa`.
Isa active_isa();
void set_isa(Isa isa);
bool cpu_supports(Isa isa);
// Every variant this CPU can run, best first (tests check each against the reference).
std::vector<Isa> supported_isas();
const char* isa_name(Isa isa);

// Forward: writes p.out and p.lse.
template <typename T> void window_forward(const WindowParams<T>& p);
// Backward: reads q, k, v, out_in, lse_in, d_out; writes dq, dk, dv.
template <typename T> void window_backward(const WindowParams<T>& p);
// Forward: writes p.out and p.lse.
template <typename T> void gca_forward(const GcaParams<T>& p);
// Backward: reads q, memory, indices, weights, lse_in, d_out; writes dq, dk, dv, dw_heads.
template <typename T> void gca_backward(const GcaParams<T>& p);

// Float32 GFLOP/s of back-to-back vector FMAs on all threads (no memory traffic) with the
// active instruction set, measured for `seconds`: the ceiling for the kernels' GFLOP/s.
double fma_peak_gflops(double seconds = 0.2);

// One instruction set's entry points (defined in each attention_<isa>.cc).
struct KernelTable {
  bool compiled;  // false where the compiler could not build this instruction set
  void (*window_forward_f)(const WindowParams<float>&);
  void (*window_backward_f)(const WindowParams<float>&);
  void (*gca_forward_f)(const GcaParams<float>&);
  void (*gca_backward_f)(const GcaParams<float>&);
  void (*window_forward_d)(const WindowParams<double>&);
  void (*window_backward_d)(const WindowParams<double>&);
  void (*gca_forward_d)(const GcaParams<double>&);
  void (*gca_backward_d)(const GcaParams<double>&);
  double (*fma_peak_gflops)(double seconds);
};
namespace generic { const KernelTable& kernel_table(); }
namespace avx2 { const KernelTable& kernel_table(); }
namespace avx512 { const KernelTable& kernel_table(); }

}  // namespace drt::kernels::cpu
