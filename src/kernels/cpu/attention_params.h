// Plain parameter structs between the tensor glue (src/kernels/fused_ops.cc) and the CPU
// kernels (attention_impl.h), in the style of FlashAttention's Flash_fwd_params: raw
// pointers, element strides and sizes, nothing from LibTorch. A kernel sees these and
// nothing else, so the same kernels can serve training (tensors) and inference (chunk
// memory in RAM or in a mapped file).
//
// Conventions: every tensor has its head dim contiguous (stride 1); all other strides are
// in elements of T. Shapes are written beside each pointer.
#pragma once
#include <cstdint>

// Tiny accessors below are force-inlined: the kernels are compiled once per instruction
// set, and an out-of-line copy of an inline function built with AVX-512 must never be
// the one the linker keeps for the portable build.
#define DRT_KERNEL_INLINE inline __attribute__((always_inline))

namespace drt::kernels::cpu {

// A [batch, position, head, D] tensor (D contiguous).
template <typename T>
struct RowView {
  T* data = nullptr;
  int64_t batch_stride = 0, pos_stride = 0, head_stride = 0;
  DRT_KERNEL_INLINE T* row(int64_t b, int64_t t, int64_t h) const {
    return data + b * batch_stride + t * pos_stride + h * head_stride;
  }
};

// Sliding-window causal attention with ALiBi (DESIGN §2.3): query i sits at key position
// p = q_offset + i and sees keys j with p - window <= j <= p;
// logit(i, j) = q_i . k_j / sqrt(D) - slope_h (p - j).
template <typename T>
struct WindowParams {
  int64_t batch = 0, q_len = 0, k_len = 0, heads = 0, head_dim = 0;
  int64_t window = 0, q_offset = 0;
  RowView<const T> q;      // [B, Tq, H, D]
  RowView<const T> k, v;   // [B, Tk, H, D]
  const T* slopes = nullptr;  // [H] ALiBi slopes; nullptr = no ALiBi
  RowView<T> out;          // [B, Tq, H, D]   forward output
  T* lse = nullptr;        // [B, H, Tq]      log-sum-exp of each query's logits (contiguous)
  // Backward only (lse and out are then inputs).
  RowView<const T> out_in;  // [B, Tq, H, D]  the forward output
  const T* lse_in = nullptr;
  RowView<const T> d_out;  // [B, Tq, H, D]
  RowView<T> dq;           // [B, Tq, H, D]
  RowView<T> dk, dv;       // [B, Tk, H, D]   fully written (keys no query sees get 0)
};

// Grouped Cross Attention (DESIGN §2.7). Query block n of batch b reads the K chunks
// indices[b, n, :] of the chunk memory with weights weights[b, n, :]; a slot whose weight
// is exactly 0 is skipped (its index is not read, its dw is 0).
template <typename T>
struct GcaParams {
  int64_t batch = 0, blocks = 0, block_len = 0, heads = 0, head_dim = 0;  // B, N, L, H, D
  int64_t chunks = 0, chunk_len = 0, topk = 0;                            // M, S, K
  bool null_key = false;

  // q: [B, N, L, H, D]
  const T* q = nullptr;
  int64_t q_b = 0, q_n = 0, q_l = 0, q_h = 0;

  // Chunk memory: [B, M, S, H, D] each for K and V. Chunk m of batch b starts at
  // mem_k + b * mem_b + m * mem_m, unless the per-chunk pointer tables are set (a memory
  // backend that is not one dense tensor: pages in RAM, a mapped file); then it starts at
  // k_chunks[b * M + m]. Inside a chunk, key s of head h is at s * mem_s + h * mem_h.
  const T* mem_k = nullptr;
  const T* mem_v = nullptr;
  const T* const* k_chunks = nullptr;  // [B * M] or nullptr
  const T* const* v_chunks = nullptr;  // [B * M] or nullptr
  int64_t mem_b = 0, mem_m = 0, mem_s = 0, mem_h = 0;

  // indices: [B, N, K] int64; weights: [B, N, K]
  const int64_t* indices = nullptr;
  const T* weights = nullptr;
  int64_t sel_b = 0, sel_n = 0;  // strides of indices and weights (K is contiguous)

  // out: [B, N, L, H, D] (same strides as q)
  T* out = nullptr;
  // lse: [B, N, K, H, L] contiguous: log-sum-exp of query l's logits against chunk slot k
  // (null key included); 0 for skipped slots.
  T* lse = nullptr;

  // Backward only.
  const T* lse_in = nullptr;  // [B, N, K, H, L]
  const T* d_out = nullptr;   // [B, N, L, H, D] (same strides as q)
  T* dq = nullptr;            // [B, N, L, H, D] (same strides as q)
  T* dk = nullptr;            // [B, M, S, H, D] dense memory layout (same strides as mem_k)
  T* dv = nullptr;
  T* dw_heads = nullptr;      // [B, N, K, H] contiguous: dw per head; the glue sums over H

  // Pointer to chunk m's K (or V) block for batch b: [S, H, D] with strides mem_s, mem_h.
  DRT_KERNEL_INLINE const T* k_chunk(int64_t b, int64_t m) const {
    return k_chunks != nullptr ? k_chunks[b * chunks + m] : mem_k + b * mem_b + m * mem_m;
  }
  DRT_KERNEL_INLINE const T* v_chunk(int64_t b, int64_t m) const {
    return v_chunks != nullptr ? v_chunks[b * chunks + m] : mem_v + b * mem_b + m * mem_m;
  }
};

}  // namespace drt::kernels::cpu
