// Scopes that switch the kernels a test runs and restore the previous choice on exit.
#pragma once
#include "kernels/cpu/attention_cpu.h"
#include "kernels/ops.h"

namespace drt::test {

// One CPU kernel variant (generic, AVX2, AVX-512) for the lifetime of the scope.
class IsaScope {
 public:
  explicit IsaScope(kernels::cpu::Isa isa) : saved_(kernels::cpu::active_isa()) { kernels::cpu::set_isa(isa); }
  ~IsaScope() { kernels::cpu::set_isa(saved_); }

 private:
  kernels::cpu::Isa saved_;
};

// Fused kernels or the reference path for the lifetime of the scope.
class KernelModeScope {
 public:
  explicit KernelModeScope(KernelMode mode) : saved_(kernel_mode()) { set_kernel_mode(mode); }
  ~KernelModeScope() { set_kernel_mode(saved_); }

 private:
  KernelMode saved_;
};

}  // namespace drt::test
