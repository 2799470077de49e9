// The two attention forms of DRT, behind one entry point each. The model calls these;
// which implementation runs (the fused kernels or the plain-LibTorch reference that
// serves as their oracle) is chosen by set_kernel_mode() or the DRT_KERNELS environment
// variable ("fused" | "reference").
//
// Layouts: tensors are [batch, position, head, head-dim] as they come out of a linear
// projection viewed per head, so no transpose is needed on either side.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace drt {

enum class KernelMode { kFused, kReference };

KernelMode kernel_mode();
void set_kernel_mode(KernelMode mode);
// Parses "fused" / "reference"; throws drt::Error otherwise.
KernelMode parse_kernel_mode(const std::string& name);
const char* kernel_mode_name(KernelMode mode);

// Sliding-window causal attention with ALiBi (DESIGN §2.3).
//   q:       [B, Tq, H, D]   queries; query i sits at key position q_offset + i
//   k, v:    [B, Tk, H, D]   keys/values at positions 0..Tk-1 (Tk >= q_offset + Tq)
//   slopes:  [H] float32     ALiBi slopes m_h; an undefined tensor means no ALiBi
//   window:  W               query at position p sees keys j with p - W <= j <= p
//   returns  [B, Tq, H, D]
// Scale 1/sqrt(D); logit(p, j) = q.k / sqrt(D) - m_h (p - j).
at::Tensor window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& slopes, int64_t window, int64_t q_offset = 0);

// Grouped Cross Attention (DESIGN §2.7).
//   q:        [B, N, L, H, D]  queries, in N query blocks of L positions; every position
//                              of block n uses the chunks retrieved for block n
//   mem_k/v:  [B, M, S, H, D]  chunk memory: M chunks of S keys/values
//   indices:  [B, N, K] int64  chunk ids in 0..M-1 (slots with weight 0 may hold any
//                              value in range)
//   weights:  [B, N, K]        retrieval weights w (softmax of the scores; 0 = unused slot)
//   null_key: softmax over the S keys plus one implicit key of logit 0 and value 0
//   returns   [B, N, L, H, D]  sum_i w_i softmax(q K_i^T / sqrt(D)) V_i
// Differentiable in q, mem_k, mem_v and weights (dw is what trains the retriever).
at::Tensor gca(const at::Tensor& q, const at::Tensor& mem_k, const at::Tensor& mem_v,
               const at::Tensor& indices, const at::Tensor& weights, bool null_key);

// The fused CPU kernels (src/kernels/cpu), registered as torch::autograd::Functions:
// flash-style blocked online softmax, only the log-sum-exp saved for the backward. They
// take CPU float32 or float64 tensors of one dtype (supports() says whether they can run);
// the entry points above call them in KernelMode::kFused and fall back to the reference
// otherwise (CUDA, half precision, mixed dtypes). Calling them directly on unsupported
// tensors throws drt::Error. Not twice differentiable.
// GCA: a slot with weight exactly 0 is skipped, and its dw is reported as 0 (the
// reference reports <dO, o_slot>; a softmax producing w = 0 multiplies it by 0 anyway).
namespace fused {
bool supports(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
at::Tensor window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& slopes, int64_t window, int64_t q_offset = 0);
at::Tensor gca(const at::Tensor& q, const at::Tensor& mem_k, const at::Tensor& mem_v,
               const at::Tensor& indices, const at::Tensor& weights, bool null_key);
}  // namespace fused

namespace reference {
at::Tensor window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& slopes, int64_t window, int64_t q_offset = 0);
at::Tensor gca(const at::Tensor& q, const at::Tensor& mem_k, const at::Tensor& mem_v,
               const at::Tensor& indices, const at::Tensor& weights, bool null_key);
}  // namespace reference

}  // namespace drt
