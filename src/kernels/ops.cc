#include "kernels/ops.h"

#include <atomic>
#include <cstdlib>

#include "core/error.h"

namespace drt {

namespace {
KernelMode initial_mode() {
  const char* env = std::getenv("DRT_KERNELS");
  if (env == nullptr || *env == '\0') return KernelMode::kFused;
  return parse_kernel_mode(env);
}
std::atomic<int>& mode_slot() {
  static std::atomic<int> slot(static_cast<int>(initial_mode()));
  return slot;
}
}  // namespace

KernelMode kernel_mode() { return static_cast<KernelMode>(mode_slot().load()); }
void set_kernel_mode(KernelMode mode) { mode_slot().store(static_cast<int>(mode)); }

KernelMode parse_kernel_mode(const std::string& name) {
  if (name == "fused") return KernelMode::kFused;
  if (name == "reference") return KernelMode::kReference;
  throw Error(str_cat("unknown kernel mode '", name, "' (expected fused or reference)"));
}

const char* kernel_mode_name(KernelMode mode) { return mode == KernelMode::kFused ? "fused" : "reference"; }

// Fused kernels by default; the reference path where they cannot run (CUDA, other dtypes).
at::Tensor window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& slopes,
                            int64_t window, int64_t q_offset) {
  if (kernel_mode() == KernelMode::kFused && fused::supports(q, k, v))
    return fused::window_attention(q, k, v, slopes, window, q_offset);
  return reference::window_attention(q, k, v, slopes, window, q_offset);
}

at::Tensor gca(const at::Tensor& q, const at::Tensor& mem_k, const at::Tensor& mem_v, const at::Tensor& indices,
               const at::Tensor& weights, bool null_key) {
  if (kernel_mode() == KernelMode::kFused && fused::supports(q, mem_k, mem_v))
    return fused::gca(q, mem_k, mem_v, indices, weights, null_key);
  return reference::gca(q, mem_k, mem_v, indices, weights, null_key);
}

}  // namespace drt
