// The AVX-512 build of the CPU attention kernels (compile flags: cmake/drt_options.cmake).
#if defined(__AVX512F__) && defined(__FMA__)
#define DRT_ISA_NS avx512
#define DRT_VEC_BYTES 64
#include "kernels/cpu/attention_impl.h"
#else
#include "kernels/cpu/attention_cpu.h"
namespace drt::kernels::cpu::avx512 {
const KernelTable& kernel_table() {
  static const KernelTable table{};  // not compiled: dispatch never selects it
  return table;
}
}  // namespace drt::kernels::cpu::avx512
#endif
