// The AVX2 + FMA build of the CPU attention kernels (compile flags: cmake/drt_options.cmake).
#if defined(__AVX2__) && defined(__FMA__)
#define DRT_ISA_NS avx2
#define DRT_VEC_BYTES 32
#include "kernels/cpu/attention_impl.h"
#else
#include "kernels/cpu/attention_cpu.h"
namespace drt::kernels::cpu::avx2 {
const KernelTable& kernel_table() {
  static const KernelTable table{};  // not compiled: dispatch never selects it
  return table;
}
}  // namespace drt::kernels::cpu::avx2
#endif
