// Run-time choice of the CPU kernels' instruction set: the best one that was compiled and
// that this CPU supports, capped by DRT_KERNEL_ISA, overridable with set_isa().
#include <atomic>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "kernels/cpu/attention_cpu.h"

namespace drt::kernels::cpu {

namespace {

const KernelTable& table_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return avx512::kernel_table();
    case Isa::kAvx2:
      return avx2::kernel_table();
    case Isa::kGeneric:
      break;
  }
  return generic::kernel_table();
}

Isa parse_isa(const std::string& name) {
  if (name == "generic") return Isa::kGeneric;
  if (name == "avx2") return Isa::kAvx2;
  if (name == "avx512") return Isa::kAvx512;
  throw Error(str_cat("DRT_KERNEL_ISA='", name, "' is not one of generic, avx2, avx512"));
}

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot(static_cast<int>(best_isa()));
  return slot;
}

}  // namespace

bool cpu_supports(Isa isa) {
  if (isa == Isa::kGeneric) return true;
  if (!table_for(isa).compiled) return false;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (isa == Isa::kAvx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // The AVX-512 file is compiled with -mavx512f -mavx512bw -mavx512vl -mfma.
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kGeneric:
      break;
  }
  return "generic";
}

Isa best_isa() {
  Isa cap = Isa::kAvx512;
  const char* env = std::getenv("DRT_KERNEL_ISA");
  if (env != nullptr && *env != '\0') cap = parse_isa(env);
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kGeneric})
    if (static_cast<int>(isa) <= static_cast<int>(cap) && cpu_supports(isa)) return isa;
  return Isa::kGeneric;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kGeneric})
    if (cpu_supports(isa)) out.push_back(isa);
  return out;
}

Isa active_isa() { return static_cast<Isa>(isa_slot().load()); }

void set_isa(Isa isa) {
  DRT_CHECK(cpu_supports(isa), "kernel instruction set ", isa_name(isa),
            " was not compiled in or is not supported by this CPU");
  isa_slot().store(static_cast<int>(isa));
}

double fma_peak_gflops(double seconds) { return table_for(active_isa()).fma_peak_gflops(seconds); }

template <>
void window_forward<float>(const WindowParams<float>& p) {
  table_for(active_isa()).window_forward_f(p);
}
template <>
void window_backward<float>(const WindowParams<float>& p) {
  table_for(active_isa()).window_backward_f(p);
}
template <>
void gca_forward<float>(const GcaParams<float>& p) {
  table_for(active_isa()).gca_forward_f(p);
}
template <>
void gca_backward<float>(const GcaParams<float>& p) {
  table_for(active_isa()).gca_backward_f(p);
}
template <>
void window_forward<double>(const WindowParams<double>& p) {
  table_for(active_isa()).window_forward_d(p);
}
template <>
void window_backward<double>(const WindowParams<double>& p) {
  table_for(active_isa()).window_backward_d(p);
}
template <>
void gca_forward<double>(const GcaParams<double>& p) {
  table_for(active_isa()).gca_forward_d(p);
}
template <>
void gca_backward<double>(const GcaParams<double>& p) {
  table_for(active_isa()).gca_backward_d(p);
}

}  // namespace drt::kernels::cpu
